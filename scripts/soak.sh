#!/bin/sh
# soak.sh: the real server on loopback, SOAK_TIME seconds of mixed load,
# and a check that it neither crashes, nor errs, nor grows.
#
#   make soak                   600 s (the default)
#   SOAK_TIME=60 make soak      a shorter run
#
# The load: full and resumed TLS handshakes, Gopher, bad Gemini and Gopher
# requests, and clients that reset the connection mid-handshake and
# mid-response, each from its own loadclient, all at once.  The server's
# process tree (parent and workers) is sampled from /proc: resident memory
# and open descriptors before the load, after the warm-up, near the end
# and once the load is over.  It fails when
#   - a worker died (a "killed by signal", "exited with status" or
#     "restarting worker" line in the error log), or the server exited;
#   - a client counted an error (a wrong status, a cut response, a
#     timeout, a refused connection...);
#   - the tree's RSS near the end exceeds the one after the warm-up by
#     more than SOAK_RSS_SLACK_KB (default 4096) plus SOAK_RSS_SLACK_PCT
#     percent (default 5);
#   - once idle again, the tree holds more descriptors than before the
#     load (after SOAK_SETTLE seconds for lingering connections to close).
# Traffic goes to 127.0.0.1 only.
set -u

BUILD=${BUILD:-build}
SOAK_TIME=${SOAK_TIME:-600}
SOAK_WARMUP=${SOAK_WARMUP:-$((SOAK_TIME / 10 > 5 ? SOAK_TIME / 10 : 5))}
SOAK_RSS_SLACK_KB=${SOAK_RSS_SLACK_KB:-4096}
SOAK_RSS_SLACK_PCT=${SOAK_RSS_SLACK_PCT:-5}
SOAK_SETTLE=${SOAK_SETTLE:-15}
CAPSULED=$BUILD/capsuled
LOADCLIENT=$BUILD/tests/loadclient

cd "$(dirname "$0")/.." || exit 1
for b in "$CAPSULED" "$LOADCLIENT"; do
	[ -x "$b" ] || { echo "soak: $b is missing: make all $b" >&2; exit 2; }
done
if [ "$SOAK_TIME" -lt $((SOAK_WARMUP + 20)) ]; then
	echo "soak: SOAK_TIME must be at least the warm-up ($SOAK_WARMUP s) + 20" >&2
	exit 2
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/capsuled-soak.XXXXXX")
SERVER=""
CLIENTS=""
cleanup() {
	for p in $CLIENTS; do kill "$p" 2>/dev/null; done
	[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER"
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The sample capsule, plus a file larger than the socket buffers so that
# a client leaving mid-response leaves the server with data to write.
mkdir -p "$DIR/capsule"
cp -R capsule/. "$DIR/capsule/"
head -c 8388608 /dev/zero >"$DIR/capsule/big.bin"
cat >"$DIR/capsuled.yaml" <<YAML
hostname: localhost
root: $DIR/capsule
tls:
  certdir: $DIR/certs
gemini:
  listen: ["127.0.0.1:0"]
gopher:
  listen: ["127.0.0.1:0"]
workers: 2
log:
  access: off
  error: $DIR/error.log
timeouts:
  handshake: 5
  request: 5
  write: 10
# Every client here is this machine: the per-address limits would answer
# most of the load with 44 and never exercise the rest of the server.
limits:
  exempt: [127.0.0.0/8, "::1"]
YAML

"$CAPSULED" -f -c "$DIR/capsuled.yaml" >"$DIR/stderr" 2>&1 &
SERVER=$!
i=0
until grep -q "ready:" "$DIR/error.log" 2>/dev/null; do
	i=$((i + 1))
	if [ "$i" -gt 300 ] || ! kill -0 "$SERVER" 2>/dev/null; then
		echo "soak: the server did not start:" >&2
		cat "$DIR/stderr" "$DIR/error.log" >&2 2>/dev/null
		exit 1
	fi
	sleep 0.05
done
ready=$(grep "ready:" "$DIR/error.log" | tail -n 1)
GEMINI=$(echo "$ready" | sed -n 's/.*gemini on [^ ]*:\([0-9]*\).*/\1/p')
GOPHER=$(echo "$ready" | sed -n 's/.*gopher on [^ ]*:\([0-9]*\).*/\1/p')
URL="gemini://localhost:$GEMINI"

# tree_pids: the server and its workers.
tree_pids() {
	echo "$SERVER"
	pgrep -P "$SERVER"
}

# sample NAME: RSS (KiB) and descriptors of the tree into $DIR/NAME.
sample() {
	rss=0
	fds=0
	n=0
	for p in $(tree_pids); do
		r=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$p/status" \
		    2>/dev/null)
		f=$(ls "/proc/$p/fd" 2>/dev/null | wc -l)
		rss=$((rss + ${r:-0}))
		fds=$((fds + f))
		n=$((n + 1))
	done
	echo "$rss $fds $n" >"$DIR/$1"
}

# client NAME ARGS...: one loadclient for the whole run, in the background.
client() {
	name=$1
	shift
	"$LOADCLIENT" -d "$SOAK_TIME" -t 10 "$@" >"$DIR/lc.$name" 2>&1 &
	CLIENTS="$CLIENTS $!"
	NAMES="${NAMES:-} $name"
}

sample before
client full-tls     -c 2 -e 20 127.0.0.1 "$GEMINI" \
    "$URL/blog/serving-markdown-over-gemini.gmi\r\n"
client resumed-tls  -c 2 -m resume -e 20 127.0.0.1 "$GEMINI" "$URL/blog/\r\n"
client atom         -c 1 -m resume -e 20 127.0.0.1 "$GEMINI" \
    "$URL/blog/atom.xml\r\n"
client gopher       -c 2 -m plain -e i 127.0.0.1 "$GOPHER" "/blog/\r\n"
client gopher-post  -c 1 -m plain 127.0.0.1 "$GOPHER" \
    "/blog/notes-on-gopher.gmi\r\n"
client bad-gemini   -c 1 -m resume -e 59 127.0.0.1 "$GEMINI" \
    "$URL/../../etc/passwd\x00\r\n"
client bad-host     -c 1 -m resume -e 53 127.0.0.1 "$GEMINI" \
    "gemini://elsewhere.example/\r\n"
client bad-gopher   -c 1 -m plain -e 3 127.0.0.1 "$GOPHER" \
    "/nothing/here\t\xff\r\n"
client abort-hello  -c 1 -P 10 -a handshake 127.0.0.1 "$GEMINI" "$URL/\r\n"
client abort-body   -c 1 -P 20 -a response 127.0.0.1 "$GEMINI" "$URL/big.bin\r\n"
client abort-gopher -c 1 -P 20 -m plain -a response 127.0.0.1 "$GOPHER" \
    "/big.bin\r\n"

sleep "$SOAK_WARMUP"
sample warm
sleep $((SOAK_TIME - SOAK_WARMUP - 5))
sample end
for p in $CLIENTS; do wait "$p"; done
CLIENTS=""
# Lingering connections close within their linger time; wait for them.
i=0
sample idle
while [ "$(cut -d' ' -f2 "$DIR/idle")" -gt "$(cut -d' ' -f2 "$DIR/before")" ] &&
    [ "$i" -lt $((SOAK_SETTLE * 10)) ]; do
	sleep 0.1
	i=$((i + 1))
	sample idle
done

# The report.
failed=0
crashes=$(grep -c "killed by signal\|exited with status\|restarting worker" \
    "$DIR/error.log")
alive=yes
kill -0 "$SERVER" 2>/dev/null || { alive=no; failed=1; }
warnings=$(grep -v "ready:\|running as root\|generated a self-signed\|raised the open-file" \
    "$DIR/error.log" | wc -l)

printf '\n%-14s %10s %10s %10s %10s\n' "server tree" before warm end idle
for k in 1:rss_kib 2:fds 3:processes; do
	col=${k%%:*}
	printf '%-14s' "${k#*:}"
	for s in before warm end idle; do
		printf ' %10s' "$(cut -d' ' -f"$col" "$DIR/$s")"
	done
	printf '\n'
done

printf '\n%-14s %10s %10s %10s  %s\n' client requests aborted errors statuses
errors=0
for n in $NAMES; do
	f=$DIR/lc.$n
	req=$(sed -n 's/^requests: //p' "$f")
	ab=$(sed -n 's/^aborted: //p' "$f")
	e=$(sed -n 's/^errors_[a-z_]*: //p' "$f" | awk '{s += $1} END {print s + 0}')
	st=$(sed -n 's/^statuses: //p' "$f")
	if [ -z "$req" ]; then
		echo "soak: client $n failed: $(cat "$f")" >&2
		e=1
	fi
	errors=$((errors + e))
	printf '%-14s %10s %10s %10s  %s\n' "$n" "${req:--}" "${ab:--}" "$e" "$st"
done

warm_rss=$(cut -d' ' -f1 "$DIR/warm")
end_rss=$(cut -d' ' -f1 "$DIR/end")
limit=$((warm_rss + SOAK_RSS_SLACK_KB + warm_rss * SOAK_RSS_SLACK_PCT / 100))
before_fds=$(cut -d' ' -f2 "$DIR/before")
idle_fds=$(cut -d' ' -f2 "$DIR/idle")

printf '\nduration %ss (warm-up %ss); server alive: %s; worker crashes: %s; ' \
    "$SOAK_TIME" "$SOAK_WARMUP" "$alive" "$crashes"
printf 'client errors: %s; error-log lines: %s\n' "$errors" "$warnings"
printf 'RSS after warm-up %s KiB, near the end %s KiB (limit %s KiB)\n' \
    "$warm_rss" "$end_rss" "$limit"
printf 'descriptors idle before %s, idle after %s\n' "$before_fds" "$idle_fds"
[ "$crashes" -eq 0 ] || failed=1
[ "$errors" -eq 0 ] || failed=1
[ "$end_rss" -le "$limit" ] || { echo "soak: RSS grew"; failed=1; }
[ "$idle_fds" -le "$before_fds" ] || { echo "soak: descriptors grew"; failed=1; }
if [ "$warnings" -gt 0 ]; then
	echo "error log (first 10 lines of note):"
	grep -v "ready:\|running as root\|generated a self-signed\|raised the open-file" \
	    "$DIR/error.log" | head -n 10
fi
if [ "$failed" -eq 0 ]; then
	echo "soak: PASS"
else
	echo "soak: FAIL"
fi
exit "$failed"
