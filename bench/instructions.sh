#!/bin/bash
# bench/instructions.sh: instructions per Gemini request, counted by
# callgrind, for capsuled and for the OpenSSL floor.  `make
# bench-instructions` runs it after building the three binaries.
#
# Time on a shared VM moves by tens of percent from one run to the next;
# an instruction count does not: the same binaries on the same input give
# the same figure within a fraction of a percent, whatever else the
# machine is doing.  So this shows where capsuled's CPU goes next to
# OpenSSL's own cost, as make bench cannot: how much of a request is the
# handshake, how much is capsuled, and how far the whole is from the
# floor.  It counts user-space instructions only; the kernel's share (TCP
# on loopback, accept, epoll) and the cost of a cache miss are not in it,
# and make bench's times are.
#
#   capsuled  one worker under callgrind, its counters zeroed after a
#             warm-up, then one load client thread with 2 connections
#             for BENCH_SECONDS (5) per mode (full handshakes on the page,
#             then on the rendered post, resumed sessions on the page);
#             divided by the requests its access log counts
#   floor     bench/tls_floor -k MODE under callgrind, counting only the
#             server's calls of the measured connections
#
#   bench/instructions.sh           full handshakes and resumed sessions
#   bench/instructions.sh --smoke   the same, 1 second and 20 connections
#
# Environment: CAPSULED, LOADCLIENT, TLS_FLOOR (the binaries, default
# build/...), BENCH_SECONDS.
set -eu

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

capsuled=${CAPSULED:-build/capsuled}
loadclient=${LOADCLIENT:-build/tests/loadclient}
tls_floor=${TLS_FLOOR:-build/bench/tls_floor}
if [ "$smoke" = 1 ]; then
	secs=1 floor_n=20
else
	secs=${BENCH_SECONDS:-5} floor_n=300
fi

for tool in "$capsuled" "$loadclient" "$tls_floor"; do
	[ -x "$tool" ] || die "$tool is missing: run make bench-instructions"
done
for tool in valgrind callgrind_annotate callgrind_control openssl ss; do
	command -v "$tool" >/dev/null 2>&1 ||
	    die "$tool is missing: run sh scripts/deps.sh bench"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/capsuled-instr.XXXXXX")
vg_pid=""
stop() {
	if [ -n "$vg_pid" ]; then
		kill -TERM "$vg_pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$vg_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$vg_pid" 2>/dev/null || true
		wait "$vg_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cp -R bench/content "$tmp/capsule"
bench_cert "$tmp"

# The floor: the server's calls alone, as tls_floor counts them.
floor_count() {
	local out
	out=$(valgrind --tool=callgrind --collect-atstart=no \
	    --callgrind-out-file="$tmp/floor-$1.cg" "$tls_floor" -k "$1" \
	    -n "$floor_n" "$tmp/cert.pem" "$tmp/key.pem" 2>"$tmp/floor.log") ||
	    { cat "$tmp/floor.log" >&2; die "tls_floor failed under callgrind"; }
	case "$out" in
	*"callgrind_counts_server_calls: yes"*) ;;
	*)	die "$tls_floor was built without valgrind/callgrind.h: remove it and run make bench-instructions" ;;
	esac
}

cat >"$tmp/capsuled.yaml" <<EOF
hostname: localhost
root: $tmp/capsule
tls:
  cert: $tmp/cert.pem
  key: $tmp/key.pem
gemini:
  listen: ["127.0.0.1:1965"]
gopher:
  listen: ["127.0.0.1:7070"]
# One worker, so that one process holds every request's instructions.
workers: 1
log:
  access: $tmp/access.log
  error: $tmp/error.log
limits:
  exempt: [127.0.0.0/8]
EOF

valgrind --tool=callgrind --trace-children=yes \
    --callgrind-out-file="$tmp/capsuled.%p.cg" \
    "$capsuled" -f -c "$tmp/capsuled.yaml" >"$tmp/capsuled.log" 2>&1 &
vg_pid=$!
# Under valgrind, start-up takes a few seconds more.
wait_port capsuled "$vg_pid" 1965 "$tmp/capsuled.log" 30
worker=$(pgrep -P "$vg_pid" | head -n 1)
[ -n "$worker" ] || die "no capsuled worker under callgrind"

# load MODE SECONDS PAGE: loadclient's full or resume mode on one page.
load() {
	"$loadclient" -T 1 -c 2 -d "$2" -m "$1" -e 20 127.0.0.1 1965 \
	    "gemini://localhost/$3\r\n" >"$tmp/load.out" 2>&1 ||
	    { cat "$tmp/load.out" >&2; die "loadclient failed ($1)"; }
	grep -q '^errors: 0$' "$tmp/load.out" ||
	    { cat "$tmp/load.out" >&2; die "loadclient saw errors ($1)"; }
}

# Access lines leave in batches when the worker is idle: wait until the
# count stops moving.
served() {
	local n m
	n=$(wc -l <"$tmp/access.log")
	while sleep 0.5; m=$(wc -l <"$tmp/access.log"); [ "$m" != "$n" ]; do
		n=$m
	done
	echo "$n"
}

# capsuled_count NAME MODE PAGE: zero the worker's counters, load it,
# dump them.
dumps=0
capsuled_count() {
	local before after
	load "$2" 1 "$3"
	before=$(served)
	callgrind_control -z "$worker" >/dev/null 2>&1 ||
	    die "callgrind_control could not zero the worker's counters"
	load "$2" "$secs" "$3"
	after=$(served)
	callgrind_control -d "$worker" >/dev/null 2>&1 ||
	    die "callgrind_control could not dump the worker's counters"
	dumps=$((dumps + 1))
	echo $((after - before)) >"$tmp/requests-$1"
	ln -sf "$tmp/capsuled.$worker.cg.$dumps" "$tmp/capsuled-$1.cg"
}

# total FILE: the instructions callgrind counted in FILE.
total() {
	callgrind_annotate "$1" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}

# by_object FILE: "object instructions" per ELF object, self cost, the
# program's own code as "own".  A
# dump taken while the worker runs lists the functions on its stack then
# (main down to the event loop) with the whole total as their own: those
# lines are left out.
by_object() {
	callgrind_annotate --auto=no --inclusive=no --threshold=100 "$1" |
	    awk -v total="$(total "$1")" '/\[.*\]$/ {
		n = $1; gsub(",", "", n)
		if (n + 0 >= total + 0)
			next
		o = $NF; gsub(/[][]/, "", o); sub(/.*\//, "", o)
		sub(/\.so.*/, "", o)
		if (o == "capsuled" || o == "tls_floor")
			o = "own"
		sum[o] += n
	    } END { for (o in sum) printf "%s %.0f\n", o, sum[o] }'
}

capsuled_count full full page.gmi
capsuled_count post full post.gmi
capsuled_count resume resume page.gmi
floor_count full
floor_count resumed

per() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a / b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
kilo() { awk -v a="$1" 'BEGIN { printf "%.0fk", a / 1000 }'; }

# row MODE WHO FILE REQUESTS: one line of the table; the per-request
# total goes to $tmp/last.
row() {
	local all n=$4 o v rest cells=""
	all=$(total "$3")
	rest=$all
	by_object "$3" >"$tmp/objects"
	for o in libcrypto libssl libc libevent-2.1 own; do
		v=$(awk -v o="$o" '$1 == o { print $2 }' "$tmp/objects")
		v=${v:-0}
		rest=$((rest - v))
		cells="$cells $(printf '%9s' "$(kilo "$(per "$v" "$n")")")"
	done
	per "$all" "$n" >"$tmp/last"
	printf '%-7s %-9s %9s %s %9s %9s\n' "$1" "$2" \
	    "$(kilo "$(cat "$tmp/last")")" "$cells" \
	    "$(kilo "$(per "$rest" "$n")")" "$n"
}

echo "instructions per request (callgrind, user space only): page.gmi, 4.4 KB;"
echo "post: the same text as post.md, rendered and kept"
echo "capsuled: $("$capsuled" -V | head -n 1), 1 worker; $(openssl version)"
echo
printf '%-7s %-9s %9s %9s %9s %9s %9s %9s %9s %9s\n' mode server "in all" \
    libcrypto libssl libc libevent own other requests
for mode in full resume; do
	fmode=$mode
	[ "$mode" = resume ] && fmode=resumed
	n=$(cat "$tmp/requests-$mode")
	[ "$n" -gt 0 ] || die "no request served in mode $mode"
	row "$mode" capsuled "$tmp/capsuled-$mode.cg" "$n"
	cap=$(cat "$tmp/last")
	row "$mode" floor "$tmp/floor-$fmode.cg" "$floor_n"
	flo=$(cat "$tmp/last")
	printf '%-7s %-9s %8sx\n' "$mode" "vs floor" "$(ratio "$cap" "$flo")"
	[ "$mode" = full ] || continue
	n=$(cat "$tmp/requests-post")
	[ "$n" -gt 0 ] || die "no request served in mode post"
	row post capsuled "$tmp/capsuled-post.cg" "$n"
	printf '%-7s %-9s %8sx\n' post "vs page" "$(ratio "$(cat "$tmp/last")" "$cap")"
done
echo
echo "own: capsuled's code (or tls_floor's, nearly none); other: the"
echo "dynamic loader and libc code callgrind names by file alone."
