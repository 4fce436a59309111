#!/bin/bash
# bench/run.sh: capsuled next to a peer server, same content, same load
# client, one run.  `make bench` runs it after building build/capsuled and
# build/tests/loadclient.
#
#   Gemini: capsuled and Molly Brown (Go), full handshakes at c = 16, 64,
#           256, resumed sessions at c = 64, and capsuled's rendered post
#           next to the same text as a static page.
#   Gopher: capsuled and Gophernicus run per connection under socat, as
#           inetd would, on a 4.4 KB text file and a 20-entry menu.
#
#   bench/run.sh           a warm-up, then BENCH_RUNS (3) runs of
#                          BENCH_SECONDS (10) per server and setting
#   bench/run.sh --smoke   one 1-second run of every setting, no warm-up:
#                          an end-to-end check, under a minute
#
# Environment: CAPSULED and LOADCLIENT (the binaries, default build/...),
# BENCH_SECONDS, BENCH_RUNS, BENCH_WARMUP (seconds), BENCH_THREADS (load
# client threads, 2), BENCH_RESULTS (where the raw JSON lines go; default
# a new file under $TMPDIR, printed at the end).
#
# Only ratios within one run mean anything: the load client shares the
# machine with the server, and a shared VM's absolute numbers move from
# one hour to the next (DESIGN.md §8).
set -eu

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

capsuled=${CAPSULED:-build/capsuled}
loadclient=${LOADCLIENT:-build/tests/loadclient}
threads=${BENCH_THREADS:-2}
if [ "$smoke" = 1 ]; then
	secs=1 runs=1 warm=0
else
	secs=${BENCH_SECONDS:-10} runs=${BENCH_RUNS:-3} warm=${BENCH_WARMUP:-1}
fi

tls_floor=${TLS_FLOOR:-build/bench/tls_floor}
idle_conns=${BENCH_IDLE:-10000}
for tool in "$capsuled" "$loadclient" "$tls_floor"; do
	[ -x "$tool" ] || die "$tool is missing: run make bench"
done
for tool in molly-brown gophernicus socat openssl ss; do
	command -v "$tool" >/dev/null 2>&1 ||
	    die "$tool is missing: run sh scripts/deps.sh bench"
done
# socat execs the program itself: an absolute path spares a PATH search
# (a handful of failed execve calls) on every Gopher request.
gophernicus=$(command -v gophernicus)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/capsuled-bench.XXXXXX")
results=${BENCH_RESULTS:-$(mktemp "${TMPDIR:-/tmp}/capsuled-bench-results.XXXXXX")}
: >"$results"

# --- Servers: started once, stopped on any exit -----------------------------

pids=""

# SIGTERM, then SIGKILL if a server has not gone after 5 seconds: a
# benchmark that hangs on exit is worse than one that kills.
stop_all() {
	local pid i
	for pid in $pids; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $pids; do
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	pids=""
	rm -rf "$tmp"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The same capsule for every server, copied so that nothing a server does
# can touch the repository's copy.
cp -R bench/content "$tmp/capsule"

# One ECDSA P-256 certificate for both TLS servers: the key type sets the
# cost of a handshake, so both must use the same.
bench_cert "$tmp"

# Ports are fixed: the namespace is ours alone.
cap_gemini=1965 cap_gopher=7070 molly_port=1966 goph_port=7071

# Every server writes an access log to a file, so that each pays for one.
cat >"$tmp/capsuled.yaml" <<EOF
hostname: localhost
root: $tmp/capsule
tls:
  cert: $tmp/cert.pem
  key: $tmp/key.pem
gemini:
  listen: ["127.0.0.1:$cap_gemini"]
gopher:
  listen: ["127.0.0.1:$cap_gopher"]
# Two workers for two cores; the load client shares them.
workers: 2
# Room for the idle test's 10,000 connections; its own copy of this file
# sets the deadlines they are held to.
timeouts:
  handshake: 60
  request: 60
log:
  access: $tmp/capsuled-access.log
  error: $tmp/capsuled-error.log
limits:
  connections: 12000
  # The load comes from one address: the per-address limits would stop it.
  exempt: [127.0.0.0/8]
EOF
"$capsuled" -f -c "$tmp/capsuled.yaml" >"$tmp/capsuled.log" 2>&1 &
cap_pid=$!
pids="$pids $cap_pid"

# Molly Brown reads TOML; it listens on ":Port", every address.
cat >"$tmp/molly.conf" <<EOF
Port = $molly_port
Hostname = "localhost"
CertPath = "$tmp/cert.pem"
KeyPath = "$tmp/key.pem"
DocBase = "$tmp/capsule/"
AccessLog = "$tmp/molly-access.log"
ErrorLog = "$tmp/molly-error.log"
EOF
molly-brown -c "$tmp/molly.conf" >"$tmp/molly.log" 2>&1 &
molly_pid=$!
pids="$pids $molly_pid"

# Gophernicus is an inetd service: one process per connection, the socket
# on its standard input and output.  socat's nofork execs it on the
# accepted socket itself, as inetd does, rather than relaying through a
# second process.  backlog=4096 is what systemd's socket (Debian's way of
# running it) gets; socat's default of 5 drops SYNs at c = 64 and then
# measures TCP's one-second retransmission timer instead of the server.
#   -nv   no virtual hosting: one capsule, as for the others
#   -nr   it refuses to run as root otherwise; the namespace is private
#   -nx   never execute anything: a file whose name contains "gophermap"
#         is run as a gophermap, and a gemtext "=> x" line in one is a
#         shell command that truncates x
#   -i 0 -k 0  no throttling: by default it sleeps once one address has
#         made 4096 requests, which a benchmark reaches in seconds
#   -ns -l     log to a file, not to syslog
socat "TCP-LISTEN:$goph_port,bind=127.0.0.1,fork,reuseaddr,backlog=4096" \
    "EXEC:$gophernicus -h localhost -p $goph_port -r $tmp/capsule -nv -nr -nx -i 0 -k 0 -ns -l $tmp/gophernicus-access.log,nofork" \
    >"$tmp/socat.log" 2>&1 &
goph_pid=$!
pids="$pids $goph_pid"

wait_port capsuled "$cap_pid" "$cap_gemini" "$tmp/capsuled.log"
wait_port capsuled "$cap_pid" "$cap_gopher" "$tmp/capsuled.log"
wait_port molly-brown "$molly_pid" "$molly_port" "$tmp/molly.log"
wait_port socat "$goph_pid" "$goph_port" "$tmp/socat.log"

# --- The machine -----------------------------------------------------------

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
machine() {
	echo "machine:  $(nproc) CPUs, ${cpu_model:-unknown CPU}"
	echo "kernel:   $(uname -sr)"
	echo "openssl:  $(openssl version)"
	echo "capsuled: $("$capsuled" -V | head -n 1), $threads load client threads, 2 workers"
	echo "peers:    molly-brown $(dpkg-query -W -f '${Version}' molly-brown 2>/dev/null || echo '?')," \
	    "$("$gophernicus" -v 2>&1 | head -n 1), $(socat -V | sed -n 's/^socat version \([^ ]*\).*/socat \1/p')"
	echo "runs:     $runs x ${secs} s per server and setting, ${warm} s warm-up, interleaved"
}
machine

# What else the machine is doing: the load client and the server share
# its CPUs with whatever runs beside them, and the figures move with it.
cpu_busy() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat
}
read -r busy0 idle0 <<<"$(cpu_busy)"
sleep 1
read -r busy1 idle1 <<<"$(cpu_busy)"
awk -v b="$((busy1 - busy0))" -v i="$((idle1 - idle0))" 'BEGIN {
	p = b + i > 0 ? 100 * b / (b + i) : 0
	note = p > 10 ? " (something else is running: expect noise)" : ""
	printf "busy:     %.0f%% of the CPUs over 1 s before the start%s\n", p,
	    note
}'
echo

# --- Memory at rest --------------------------------------------------------

# rss_kib PID...: the resident set of these processes, in KiB, summed.
rss_kib() {
	local pid total=0 v
	for pid in "$@"; do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}
# tree_kib PID: PID and its children (capsuled's parent and workers).
tree_kib() {
	# shellcheck disable=SC2046
	rss_kib "$1" $(pgrep -P "$1")
}
cap_workers=$(pgrep -P "$cap_pid" | wc -l)
cap_worker_kib=$(( $(rss_kib $(pgrep -P "$cap_pid")) / (cap_workers > 0 ? cap_workers : 1) ))
echo "idle RSS: capsuled $(tree_kib "$cap_pid") KiB in all," \
    "$cap_worker_kib KiB per worker ($cap_workers workers);" \
    "molly-brown $(rss_kib "$molly_pid") KiB"

# --- OpenSSL's own floor ---------------------------------------------------

# What OpenSSL alone spends per request with both ends in memory, on the
# same certificate: the figure capsuled's server CPU is measured against.
# It is measured once before each full-handshake setting, so that its
# three runs see the same stretch of the machine's time as the runs they
# are compared with, and reported as the median and range of those.
floor_fulls="" floor_resumeds="" floor_idle=-
floor_get() { sed -n "s/^$1: //p" "$tmp/floor.txt"; }
floor_run() {
	"$tls_floor" -n "$([ "$smoke" = 1 ] && echo 200 || echo 3000)" \
	    "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/floor.txt" ||
	    die "tls_floor failed"
	floor_fulls+=" $(floor_get openssl_full_us_per_request)"
	floor_resumeds+=" $(floor_get openssl_resumed_us_per_request)"
	floor_idle=$(floor_get openssl_idle_bytes_per_connection)
}

# --- Load ------------------------------------------------------------------

# json_get KEY LINE: a number (or null) from loadclient's flat JSON line.
json_get() {
	printf '%s\n' "$2" | sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"
}

# A row of the table is "setting|server"; its runs' figures accumulate in
# these, space-separated, in run order.
declare -A rps p50 p99 scpu susr ssys ccpu errs resumed
rows=()
current_setting=""

# setting NAME: start a group of servers under one name.
setting() {
	current_setting=$1
}

# One (server, load) pair of the current setting:
#   target SERVER PID PORT MODE CONNS EXPECT REQUEST
declare -a t_server t_pid t_port t_mode t_conns t_expect t_req
target() {
	t_server+=("$1") t_pid+=("$2") t_port+=("$3") t_mode+=("$4")
	t_conns+=("$5") t_expect+=("$6") t_req+=("$7")
}

# run_load I SECONDS RUN: one loadclient run against target I.  Run 0 is
# the warm-up, thrown away; any other run's JSON line, tagged with the
# setting, server and run, goes to the results file and its figures to
# the table.  A failing loadclient stops everything, with the server's log.
run_load() {
	local i=$1 d=$2 run=$3 key out rc line sni=()
	key="$current_setting|${t_server[$i]}"
	# The TLS servers are asked for localhost by name (SNI); plain TCP
	# has no name to send.
	[ "${t_mode[$i]}" = plain ] || sni=(-s localhost)
	set +e
	out=$("$loadclient" -j -T "$threads" -c "${t_conns[$i]}" -d "$d" \
	    -m "${t_mode[$i]}" -e "${t_expect[$i]}" -p "${t_pid[$i]}" \
	    "${sni[@]}" 127.0.0.1 "${t_port[$i]}" "${t_req[$i]}" 2>"$tmp/lc.err")
	rc=$?
	set -e
	line=$(printf '%s\n' "$out" | tail -n 1)
	# A run in which not one response completed says nothing about speed:
	# the server is broken or stuck, and its log says which.
	if [ "$rc" -eq 0 ] && [ "$(json_get requests "$line")" = 0 ]; then
		echo "bench/run.sh: not one request completed on $key" >&2
		rc=none
	fi
	if [ "$rc" != 0 ] || [ "${line#\{}" = "$line" ]; then
		echo "bench/run.sh: $key: loadclient says (exit status $rc):" >&2
		cat "$tmp/lc.err" >&2
		printf '%s\n' "$out" >&2
		echo "the server's log:" >&2
		case ${t_server[$i]} in
		capsuled*) cat "$tmp/capsuled.log" "$tmp/capsuled-error.log" ;;
		molly*) cat "$tmp/molly.log" "$tmp/molly-error.log" ;;
		*) cat "$tmp/socat.log" ;;
		esac >&2 2>/dev/null || true
		exit 1
	fi
	[ "$run" -eq 0 ] && return 0
	printf '{"setting":"%s","server":"%s","run":%d,%s\n' \
	    "$current_setting" "${t_server[$i]}" "$run" "${line#\{}" >>"$results"
	if [ -z "${rps[$key]+set}" ]; then
		rows+=("$key")
		rps[$key]="" p50[$key]="" p99[$key]="" scpu[$key]=""
		susr[$key]="" ssys[$key]=""
		ccpu[$key]="" errs[$key]="" resumed[$key]=""
	fi
	rps[$key]+=" $(json_get requests_per_s "$line")"
	p50[$key]+=" $(json_get latency_p50_us "$line")"
	p99[$key]+=" $(json_get latency_p99_us "$line")"
	scpu[$key]+=" $(json_get server_cpu_per_request_us "$line")"
	susr[$key]+=" $(json_get server_user_cpu_per_request_us "$line")"
	ssys[$key]+=" $(json_get server_sys_cpu_per_request_us "$line")"
	ccpu[$key]+=" $(json_get client_cpu_per_request_us "$line")"
	errs[$key]+=" $(json_get errors "$line")"
	resumed[$key]+=" $(json_get resumed_fraction "$line")"
	printf '  %-20s %-14s run %d: %8s req/s, %s errors\n' \
	    "$current_setting" "${t_server[$i]}" "$run" \
	    "$(json_get requests_per_s "$line")" "$(json_get errors "$line")"
}

# run_setting: run the targets of the current setting.  Each gets its
# warm-up, then the runs alternate between them (A B A B ...), so that a
# machine that slows down halfway through slows both sides of a ratio
# alike.
run_setting() {
	local i run
	if [ "$warm" -gt 0 ]; then
		for i in "${!t_server[@]}"; do
			run_load "$i" "$warm" 0
		done
	fi
	for run in $(seq "$runs"); do
		for i in "${!t_server[@]}"; do
			run_load "$i" "$secs" "$run"
		done
	done
	t_server=() t_pid=() t_port=() t_mode=() t_conns=() t_expect=() t_req=()
}

gem_cap() { printf 'gemini://localhost:%s/%s\\r\\n' "$cap_gemini" "$1"; }
gem_molly() { printf 'gemini://localhost:%s/%s\\r\\n' "$molly_port" "$1"; }
gem_ok='20 text/gemini'
# The text file's first bytes: both Gopher servers send it as it is
# (Gophernicus with CR LF line ends and a final dot).
txt_ok='# A Quiet Server'

for c in 16 64 256; do
	floor_run
	setting "gemini full c=$c"
	target capsuled "$cap_pid" "$cap_gemini" full "$c" "$gem_ok" "$(gem_cap page.gmi)"
	target molly-brown "$molly_pid" "$molly_port" full "$c" "$gem_ok" "$(gem_molly page.gmi)"
	run_setting
done

# Go's TLS server issues TLS 1.3 tickets by default, so Molly Brown
# resumes too; the table's resumed column says how often.
setting "gemini resume c=64"
target capsuled "$cap_pid" "$cap_gemini" resume 64 "$gem_ok" "$(gem_cap page.gmi)"
target molly-brown "$molly_pid" "$molly_port" resume 64 "$gem_ok" "$(gem_molly page.gmi)"
run_setting

# The rendered post against the static page, back to back: the render is
# cached per worker, so the two should cost the same.
setting "gemini post c=64"
target "capsuled/page" "$cap_pid" "$cap_gemini" full 64 "$gem_ok" "$(gem_cap page.gmi)"
target "capsuled/post" "$cap_pid" "$cap_gemini" full 64 "$gem_ok" "$(gem_cap post.gmi)"
run_setting

setting "gopher text c=64"
target capsuled "$cap_pid" "$cap_gopher" plain 64 "$txt_ok" '/page.txt\r\n'
target gophernicus "$goph_pid" "$goph_port" plain 64 "$txt_ok" '/page.txt\r\n'
run_setting

setting "gopher menu c=64"
target capsuled "$cap_pid" "$cap_gopher" plain 64 i '/notes/\r\n'
target gophernicus "$goph_pid" "$goph_port" plain 64 i '/notes/\r\n'
run_setting

# --- Idle connections ------------------------------------------------------

# established PORT: connections the kernel holds open to PORT.
established() {
	ss -Htn state established "( sport = :$1 )" | wc -l
}

# p99_ms: the p99 latency of 16 clients fetching the page for secs
# seconds with full handshakes, in milliseconds.
p99_ms() {
	local line
	line=$("$loadclient" -j -T "$threads" -c 16 -d "$secs" -m full \
	    -e "$gem_ok" -s localhost 127.0.0.1 "$cap_gemini" \
	    "$(gem_cap page.gmi)" 2>>"$tmp/lc.err" | tail -n 1)
	awk -v v="$(json_get latency_p99_us "$line")" \
	    'BEGIN { if (v == "" || v == "null") print "-"; else printf "%.1f\n", v / 1000 }'
}

# idle_run MODE HOLD: hold idle_conns connections that finish the
# handshake (full) or send nothing at all (plain) for HOLD seconds, past
# the server's deadline for them; measure capsuled's RSS before and while
# they are held, the p99 of 16 other clients meanwhile, and how many the
# server closed (at their deadline: all of them).
declare -A idle_before idle_held idle_p99 idle_closed
idle_run() {
	local mode=$1 hold=$2 sni=() i before held out n
	[ "$mode" = plain ] || sni=(-s localhost)
	idle_start
	before=$(tree_kib "$cap_pid")
	"$loadclient" -j -T "$threads" -i "$idle_conns" -m "$mode" \
	    -W "$((hold - 1))" -d 1 "${sni[@]}" 127.0.0.1 "$cap_gemini" \
	    >"$tmp/idle-$mode.json" 2>"$tmp/idle-$mode.err" &
	local lc=$!
	for i in $(seq 600); do
		n=$(established "$cap_gemini")
		[ "$n" -ge "$idle_conns" ] && break
		kill -0 "$lc" 2>/dev/null || break
		sleep 0.1
	done
	# Let the last handshakes finish before reading the RSS.
	sleep 1
	held=$(tree_kib "$cap_pid")
	idle_p99[$mode]=$(p99_ms)
	wait "$lc" || die "idle loadclient failed: $(cat "$tmp/idle-$mode.err")"
	out=$(tail -n 1 "$tmp/idle-$mode.json")
	idle_before[$mode]=$before
	idle_held[$mode]=$held
	idle_closed[$mode]="$(json_get idle_closed_by_server "$out") of $(json_get idle_opened "$out")"
	printf '  %-20s %-14s held %s connections\n' "idle $mode" capsuled \
	    "$(json_get idle_opened "$out")"
}

# A fresh capsuled for each idle run, so that the heap earlier load grew
# cannot hide what the held connections cost.  It serves the same ports
# and the same config as the one under load before it, but for the
# deadlines: every held connection must meet its own within the hold.
idle_start() {
	kill -TERM "$cap_pid"
	wait "$cap_pid" 2>/dev/null || true
	sed -e "s/^  handshake: .*/  handshake: $idle_deadline/" \
	    -e "s/^  request: .*/  request: $idle_deadline/" \
	    "$tmp/capsuled.yaml" >"$tmp/capsuled-idle.yaml"
	"$capsuled" -f -c "$tmp/capsuled-idle.yaml" >"$tmp/capsuled.log" 2>&1 &
	cap_pid=$!
	pids="$pids $cap_pid"
	wait_port capsuled "$cap_pid" "$cap_gemini" "$tmp/capsuled.log"
	# One request per worker would not reach every worker; let them
	# settle instead, so the baseline is a server at rest.
	sleep 1
}

# Opening 10,000 handshakes takes about as many seconds as a thousand
# handshakes a second allows; the other clients' run starts once all are
# open, and ends before the first deadline.  The hold then outlasts the
# last connection's deadline, opened a few seconds after the first.
idle_deadline=$((secs + 12))
idle_hold_full=$((idle_deadline + 12)) idle_hold_plain=$((idle_deadline + 4))
if [ "$smoke" = 1 ]; then
	idle_conns=${BENCH_IDLE:-500} idle_deadline=4
	idle_hold_full=7 idle_hold_plain=6
fi
idle_p99_base=$(p99_ms)
idle_run full "$idle_hold_full"
idle_run plain "$idle_hold_plain"

# --- Report ----------------------------------------------------------------

# agg KIND VALUES: median, min or max of space-separated numbers; "-"
# when there are none (a per-request figure is null when nothing
# completed).
agg() {
	printf '%s\n' "$2" | tr ' ' '\n' | sort -g | awk -v k="$1" '
	    NF && $1 != "null" { v[++n] = $1 }
	    END {
		if (n == 0) print "-"
		else if (k == "min") print v[1]
		else if (k == "max") print v[n]
		else if (n % 2) print v[(n + 1) / 2]
		else print (v[n / 2] + v[n / 2 + 1]) / 2
	    }'
}

# fmt SCALE DECIMALS VALUE: VALUE / SCALE, or "-".
fmt() {
	if [ "$3" = - ]; then echo -; else awk -v v="$3" -v s="$1" -v d="$2" \
	    'BEGIN { printf "%.*f\n", d, v / s }'; fi
}

sum() {
	printf '%s\n' "$1" | tr ' ' '\n' | awk '{ s += $1 } END { print s + 0 }'
}

floor_full=$(agg median "$floor_fulls")
floor_resumed=$(agg median "$floor_resumeds")
# floor_range LIST: "[min-max]" of a list of floor figures.
floor_range() {
	echo "[$(fmt 1 1 "$(agg min "$1")")-$(fmt 1 1 "$(agg max "$1")")]"
}
echo
echo "floor:    OpenSSL alone, server side, in memory, median [min-max] of 3 runs:" \
    "$(fmt 1 1 "$floor_full") us $(floor_range "$floor_fulls") per full handshake" \
    "+ 5 KB reply, $(fmt 1 1 "$floor_resumed") us $(floor_range "$floor_resumeds")" \
    "resumed, $floor_idle bytes per connection waiting for its request"

echo
# srv us/req is the server's CPU per request; usr+sys splits it into
# user space (OpenSSL and the server's own code) and the kernel (loopback
# TCP, epoll, files), each the median of its own runs.
printf '%-20s %-14s %-24s %8s %8s %10s %11s %10s %8s %7s\n' setting server \
    'req/s median [min-max]' 'p50 ms' 'p99 ms' 'srv us/req' 'usr+sys' \
    'cli us/req' resumed errors
for key in "${rows[@]}"; do
	printf '%-20s %-14s %-24s %8s %8s %10s %11s %10s %8s %7s\n' \
	    "${key%%|*}" "${key#*|}" \
	    "$(fmt 1 0 "$(agg median "${rps[$key]}")") [$(fmt 1 0 "$(agg min "${rps[$key]}")")-$(fmt 1 0 "$(agg max "${rps[$key]}")")]" \
	    "$(fmt 1000 1 "$(agg median "${p50[$key]}")")" \
	    "$(fmt 1000 1 "$(agg median "${p99[$key]}")")" \
	    "$(fmt 1 0 "$(agg median "${scpu[$key]}")")" \
	    "$(fmt 1 0 "$(agg median "${susr[$key]}")")+$(fmt 1 0 "$(agg median "${ssys[$key]}")")" \
	    "$(fmt 1 0 "$(agg median "${ccpu[$key]}")")" \
	    "$(fmt 0.01 0 "$(agg median "${resumed[$key]}")")%" \
	    "$(sum "${errs[$key]}")"
done

# ratio LABEL A B: median A / median B, "-" when either is missing.
ratio() {
	local a=$2 b=$3
	if [ "$a" = - ] || [ "$b" = - ] || awk -v b="$b" 'BEGIN { exit b != 0 }'; then
		printf '%-48s -\n' "$1:"
	else
		# Two decimals, none from 10x up, four below 0.1x.
		awk -v l="$1:" -v a="$a" -v b="$b" 'BEGIN {
			r = a / b
			d = 2
			if (r >= 10) d = 0
			if (r < 0.1) d = 4
			printf "%-48s %." d "fx\n", l, r
		}'
	fi
}
m() {
	local -n arr=$1
	agg median "${arr[$2]:-}"
}

echo
for c in 16 64 256; do
	ratio "capsuled/molly req/s at c=$c" \
	    "$(m rps "gemini full c=$c|capsuled")" "$(m rps "gemini full c=$c|molly-brown")"
done
for c in 16 64 256; do
	ratio "capsuled CPU/req vs molly at c=$c" \
	    "$(m scpu "gemini full c=$c|capsuled")" "$(m scpu "gemini full c=$c|molly-brown")"
done
ratio "capsuled/molly req/s resumed at c=64" \
    "$(m rps "gemini resume c=64|capsuled")" "$(m rps "gemini resume c=64|molly-brown")"
ratio "resumed/full capsuled req/s at c=64" \
    "$(m rps "gemini resume c=64|capsuled")" "$(m rps "gemini full c=64|capsuled")"
ratio "resumed/full molly req/s at c=64" \
    "$(m rps "gemini resume c=64|molly-brown")" "$(m rps "gemini full c=64|molly-brown")"
ratio "post/page req/s (goal >= 0.95x)" \
    "$(m rps "gemini post c=64|capsuled/post")" "$(m rps "gemini post c=64|capsuled/page")"
ratio "post/page server CPU/req" \
    "$(m scpu "gemini post c=64|capsuled/post")" "$(m scpu "gemini post c=64|capsuled/page")"
ratio "gopher capsuled/gophernicus req/s, text" \
    "$(m rps "gopher text c=64|capsuled")" "$(m rps "gopher text c=64|gophernicus")"
ratio "gopher capsuled/gophernicus req/s, menu" \
    "$(m rps "gopher menu c=64|capsuled")" "$(m rps "gopher menu c=64|gophernicus")"
ratio "gopher capsuled CPU/req vs gophernicus, text" \
    "$(m scpu "gopher text c=64|capsuled")" "$(m scpu "gopher text c=64|gophernicus")"

# The floor has no sockets: its like for like is the server's user time,
# so each ratio is given for all the server's CPU and for its user part.
# floor_ratios WHAT ARRAY: "" for all of it, "user " with susr.
floor_ratios() {
	local c
	for c in 16 64 256; do
		ratio "capsuled ${1}CPU/req vs OpenSSL floor at c=$c" \
		    "$(m "$2" "gemini full c=$c|capsuled")" "$floor_full"
	done
	ratio "capsuled ${1}CPU/req resumed vs OpenSSL floor" \
	    "$(m "$2" "gemini resume c=64|capsuled")" "$floor_resumed"
}
floor_ratios "" scpu
floor_ratios "user " susr

echo
echo "idle connections: $idle_conns held by one client while 16 others" \
    "fetch the page; the server's deadline for them: $idle_deadline s"
printf '%-34s %10s %10s %12s %10s %16s\n' kind 'RSS before' 'RSS held' \
    'per conn' 'p99 ms' 'closed by server'
printf '%-34s %10s %10s %12s %10s %16s\n' 'none (16 clients alone)' - - - \
    "$idle_p99_base" -
for mode in full plain; do
	case $mode in
	full) label='TLS handshake done, no request' ;;
	plain) label='connected, nothing sent' ;;
	esac
	printf '%-34s %8s K %8s K %10s B %10s %16s\n' "$label" \
	    "${idle_before[$mode]}" "${idle_held[$mode]}" \
	    "$(( (idle_held[$mode] - idle_before[$mode]) * 1024 / idle_conns ))" \
	    "${idle_p99[$mode]}" "${idle_closed[$mode]}"
done
echo "(OpenSSL alone keeps $floor_idle bytes per connection waiting for its request)"

echo
echo "raw loadclient JSON, one line per run: $results"
echo "took:     $SECONDS s"
