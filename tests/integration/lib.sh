# lib.sh: start the real capsuled on loopback and talk to it as clients do.
# Sourced by run.sh.  Every server gets its own directory under $WORK with
# its config, certificates, capsule and log; ports are chosen by the kernel
# (port 0) and read back from the server's "ready" line.

BUILD=${BUILD:?}
CAPSULED=$BUILD/capsuled
GEMCLIENT=$BUILD/tests/gemclient
WORK=$(mktemp -d "${TMPDIR:-/tmp}/capsuled-it.XXXXXX")
SERVER_PID=""
SERVER_DIR=""
GEMINI_PORT=""
GOPHER_PORT=""
FAILMSG=""

cleanup_all() {
	stop_server
	rm -rf "$WORK"
}

# fail MESSAGE: record why the current test failed (the test then returns 1).
fail() {
	FAILMSG="${FAILMSG}${FAILMSG:+; }$*"
	return 1
}

# make_capsule DIR: the sample capsule plus what the tests need.
make_capsule() {
	mkdir -p "$1"
	cp -R capsule/. "$1/"
	mkdir -p "$1/plain dir" "$1/empty"
	printf 'a file with a space\n' >"$1/plain dir/two words.txt"
	printf 'secret\n' >"$1/.hidden"
	mkdir -p "$1/.git"
	printf 'secret\n' >"$1/.git/config"
	printf 'outside\n' >"$WORK/outside.txt"
	ln -s "$WORK/outside.txt" "$1/escape.txt"
	ln -s ../ "$1/up"
	ln -s about.gmi "$1/inside-link.gmi"
	mkfifo "$1/fifo.gmi"
	head -c 300000 /dev/urandom >"$1/big.bin"
	# Larger than any socket buffer, so a client can leave mid-response.
	truncate -s 64M "$1/huge.bin"
}

# write_config DIR [EXTRA_YAML]: a config for a server in DIR on free ports.
# Loopback is exempt from the per-address limits, as in make run, unless
# EXTRA_YAML has a limits: section of its own.
write_config() {
	_limits='limits:
  exempt: [127.0.0.0/8, "::1"]'
	case "${2:-}" in *"limits:"*) _limits="" ;; esac
	cat >"$1/capsuled.yaml" <<YAML
hostname: localhost
aliases: [127.0.0.1]
root: $1/capsule
lang: en
tls:
  certdir: $1/certs
gemini:
  listen: ["127.0.0.1:0"]
gopher:
  listen: ["127.0.0.1:0"]
workers: 2
log:
  access: "-"
  error: "-"
timeouts:
  handshake: 3
  request: 2
  write: 5
${_limits}
${2:-}
YAML
}

# wait_log PATTERN [SECONDS]: wait until the server log has a line matching.
wait_log() {
	_deadline=$(( $(date +%s) + ${2:-10} ))
	while ! grep -q -- "$1" "$SERVER_DIR/log" 2>/dev/null; do
		[ "$(date +%s)" -ge "$_deadline" ] && return 1
		# Give the server the CPU; this is a poll, not a fixed wait.
		sleep 0.02
	done
	return 0
}

# wait_log_count PATTERN N [SECONDS]: wait until the server log has at
# least N lines matching; access lines leave when a worker is idle.
wait_log_count() {
	_deadline=$(( $(date +%s) + ${3:-10} ))
	while [ "$(grep -c -- "$1" "$SERVER_DIR/log" 2>/dev/null)" -lt "$2" ]; do
		[ "$(date +%s)" -ge "$_deadline" ] && return 1
		sleep 0.02
	done
	return 0
}

# start_server [EXTRA_YAML]: start a fresh server and wait until it is ready.
start_server() {
	stop_server
	SERVER_DIR=$(mktemp -d "$WORK/srv.XXXXXX")
	make_capsule "$SERVER_DIR/capsule"
	write_config "$SERVER_DIR" "${1:-}"
	"$CAPSULED" -f -c "$SERVER_DIR/capsuled.yaml" >"$SERVER_DIR/log" 2>&1 &
	SERVER_PID=$!
	if ! wait_log "ready:" 15; then
		echo "server did not start:"
		cat "$SERVER_DIR/log"
		return 1
	fi
	read_ports
}

read_ports() {
	_line=$(grep "ready:\|reloaded:" "$SERVER_DIR/log" | tail -n 1)
	GEMINI_PORT=$(echo "$_line" | sed -n 's/.*gemini on [^ ]*:\([0-9]*\).*/\1/p')
	GOPHER_PORT=$(echo "$_line" | sed -n 's/.*gopher on [^ ]*:\([0-9]*\).*/\1/p')
}

stop_server() {
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID"
		wait "$SERVER_PID" 2>/dev/null
	fi
	SERVER_PID=""
}

# url PATH: the Gemini URL of PATH on the test server.
url() {
	printf 'gemini://localhost:%s%s' "$GEMINI_PORT" "$1"
}

# gem [gemclient options] REQUEST: our client against the server.
gem() {
	"$GEMCLIENT" -s localhost "$@"
}

# gem_at OUTPUT PATH: ask for PATH, print the chosen part of the response.
gem_header() {
	gem -o header 127.0.0.1 "$GEMINI_PORT" "$(url "$1")\r\n"
}

gem_body() {
	gem -o body 127.0.0.1 "$GEMINI_PORT" "$(url "$1")\r\n"
}

# expect_header REQUEST_BYTES WANT: send raw bytes, compare the header line.
expect_header() {
	_got=$(gem -o header 127.0.0.1 "$GEMINI_PORT" "$1")
	case "$_got" in
	$2) return 0 ;;
	*) fail "request '$1': want header '$2', got '$_got'" ;;
	esac
}

# alive: the server still answers a normal request and has all its workers.
alive() {
	[ -n "$SERVER_PID" ] || return 0
	kill -0 "$SERVER_PID" 2>/dev/null || { fail "server died"; return 1; }
	_h=$(gem_header /)
	[ "${_h%% *}" = 20 ] || fail "server no longer answers (got '$_h')"
}

# log_has PATTERN: the server log has a matching line (waits briefly,
# since the access line is written as the connection closes).
log_has() {
	wait_log "$1" 5 || fail "log has no line matching '$1'"
}
