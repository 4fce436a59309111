# Logs: access-log formats, client addresses, files, syslog, SIGUSR1 and
# an access log that cannot be written.

# start_logged LOG_YAML [WORKERS] [ERROR_LOG]: a fresh server whose log
# section is LOG_YAML (indented keys).  Its standard error is
# $SERVER_DIR/log, where wait_log looks: with the error log in a file,
# name it as ERROR_LOG and $SERVER_DIR/log becomes a link to it.
start_logged() {
	stop_server
	SERVER_DIR=$(mktemp -d "$WORK/srv.XXXXXX")
	make_capsule "$SERVER_DIR/capsule"
	write_config "$SERVER_DIR"
	sed -i -e '/^log:$/,/^  error:/d' \
	    -e "s/^workers: .*/workers: ${2:-2}/" "$SERVER_DIR/capsuled.yaml"
	printf 'log:\n%s\n' "$1" >>"$SERVER_DIR/capsuled.yaml"
	_out=$SERVER_DIR/log
	if [ -n "${3:-}" ]; then
		_out=$SERVER_DIR/stderr
		ln -s "$3" "$SERVER_DIR/log"
	fi
	"$CAPSULED" -f -c "$SERVER_DIR/capsuled.yaml" >"$_out" 2>&1 &
	SERVER_PID=$!
	wait_log "ready:" 15 || { fail "server did not start"; return 1; }
	read_ports
}

# file_has FILE PATTERN: FILE gets a matching line within a few seconds.
file_has() {
	_deadline=$(( $(date +%s) + 5 ))
	until grep -q -- "$2" "$1" 2>/dev/null; do
		[ "$(date +%s)" -ge "$_deadline" ] && {
			fail "$(basename "$1") has no line matching '$2'"
			return 1
		}
		sleep 0.02
	done
}

test_log_format_common() {
	start_logged "  access: $WORK/common.log
  error: \"-\"
  format: common" || return
	gem_header /about.gmi >/dev/null
	file_has "$WORK/common.log" 'about' || return
	# CLIENT - - [TIME] "REQUEST" STATUS BYTES, nothing else.
	grep -Eq '^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} \+0000\] "gemini://localhost:[0-9]+/about\.gmi" 20 [0-9]+$' \
	    "$WORK/common.log" || fail "line: $(cat "$WORK/common.log")"
	"$GEMCLIENT" -P -t 10 127.0.0.1 "$GOPHER_PORT" '/blog/\r\n' >/dev/null
	file_has "$WORK/common.log" '"/blog/" 0 [0-9]*$'
	start_server
}

test_log_format_combined() {
	start_logged "  access: $WORK/combined.log
  error: \"-\"
  format: combined" || return
	expect_header "$(url '/a"b')\r\n" '59 *'
	file_has "$WORK/combined.log" 'a\\"b' || return
	grep -Eq '^127\.0\.0\.1 - - \[[^]]+\] "gemini://localhost:[0-9]+/a\\"b" 59 [0-9]+ "-" "-"$' \
	    "$WORK/combined.log" || fail "line: $(cat "$WORK/combined.log")"
	start_server
}

test_log_ip_anonymize_and_off() {
	start_logged '  access: "-"
  error: "-"
  ip: anonymize' || return
	gem_header /about.gmi >/dev/null
	log_has ' 127\.0\.0\.0 localhost gemini "gemini://[^"]*/about\.gmi\\r\\n" 20 ' ||
	    return
	grep -v "ready:" "$SERVER_DIR/log" | grep -q '127\.0\.0\.1' &&
	    fail "a full address is in the log"
	start_logged '  access: "-"
  error: "-"
  format: common
  ip: off' || return
	gem_header /about.gmi >/dev/null
	log_has '^- - - \[' || return
	grep -v "ready:" "$SERVER_DIR/log" | grep -q '127\.0\.0\.1' &&
	    fail "an address is in the log"
	start_server
}

# logrotate renames the files, then sends SIGUSR1: new files from then on.
test_sigusr1_reopens_log_files() {
	start_logged "  access: $WORK/rot-access.log
  error: $WORK/rot-error.log" 2 "$WORK/rot-error.log" || return
	gem_header /about.gmi >/dev/null
	file_has "$WORK/rot-access.log" 'about\.gmi' || return
	mv "$WORK/rot-access.log" "$WORK/rot-access.log.1"
	mv "$WORK/rot-error.log" "$WORK/rot-error.log.1"
	_old=$(pgrep -P "$SERVER_PID" | tr '\n' ' ')
	kill -USR1 "$SERVER_PID"
	file_has "$WORK/rot-error.log" "log files reopened" || return
	# The replaced workers finish and exit; the new ones hold the files.
	_deadline=$(( $(date +%s) + 10 ))
	for _p in $_old; do
		while kill -0 "$_p" 2>/dev/null; do
			[ "$(date +%s)" -ge "$_deadline" ] && {
				fail "old worker $_p still running"; break; }
			sleep 0.05
		done
	done
	[ "$(pgrep -P "$SERVER_PID" | wc -l)" -eq 2 ] ||
	    fail "$(pgrep -P "$SERVER_PID" | wc -l) workers after SIGUSR1"
	for _i in 1 2 3 4; do
		[ "$(gem_header /index.gmi)" = "20 text/gemini; charset=utf-8; lang=en" ] ||
		    fail "request $_i after SIGUSR1 failed"
	done
	file_has "$WORK/rot-access.log" 'index\.gmi' || return
	grep -q 'index\.gmi' "$WORK/rot-access.log.1" &&
	    fail "a request after SIGUSR1 went to the rotated file"
	start_server
}

# SIGUSR1 is for the parent; one sent to every process (systemctl kill
# without --kill-whom=main) must neither end a worker nor make it reopen.
test_worker_ignores_sigusr1_sent_to_it() {
	_w=$(pgrep -P "$SERVER_PID" | head -n 1)
	kill -USR1 "$_w"
	# A worker that dies of it is reaped and logged within moments.
	wait_log "killed by signal 10" 2 && fail "a worker died of SIGUSR1"
	kill -0 "$_w" 2>/dev/null || fail "the worker is gone"
	return 0
}

# /dev/full fails every write with ENOSPC, like a full disk.
test_full_access_log_does_not_stop_serving() {
	start_logged '  access: /dev/full
  error: "-"' 1 || return
	for _i in 1 2 3 4 5 6; do
		[ "$(gem -o status 127.0.0.1 "$GEMINI_PORT" "$(url /about.gmi)\r\n")" = 20 ] ||
		    fail "request $_i not answered"
	done
	log_has "cannot write the access log /dev/full: No space left on device; still serving" ||
	    return
	_n=$(grep -c "cannot write the access log" "$SERVER_DIR/log")
	[ "$_n" -eq 1 ] || fail "said $_n times, want once"
	start_server
}

# log: syslog, with the real binary: a private mount namespace puts our
# listener's socket at /dev/log, where syslog(3) sends.
test_syslog_gets_error_and_access_lines() {
	_d=$(mktemp -d "$WORK/syslog.XXXXXX")
	"$BUILD/tests/loglisten" -t 60 "$_d/log.sock" >"$_d/out" &
	_lp=$!
	_deadline=$(( $(date +%s) + 5 ))
	until [ -S "$_d/log.sock" ]; do
		[ "$(date +%s)" -ge "$_deadline" ] && { fail "no listener"; return; }
		sleep 0.02
	done
	stop_server
	SERVER_DIR=$_d
	make_capsule "$_d/capsule"
	write_config "$_d"
	sed -i -e 's/^  access: "-"/  access: syslog/' \
	    -e 's/^  error: "-"/  error: syslog/' "$_d/capsuled.yaml"
	ln -s "$_d/out" "$_d/log"
	unshare -m sh -c 'mount -t tmpfs none /dev && touch /dev/log &&
	    mount --bind "$1" /dev/log && exec "$2" -f -c "$3"' \
	    sh "$_d/log.sock" "$CAPSULED" "$_d/capsuled.yaml" \
	    >"$_d/stderr" 2>&1 &
	SERVER_PID=$!
	wait_log "ready:" 15 || { fail "no ready line in syslog: $(cat "$_d/stderr")"; kill "$_lp"; return; }
	read_ports
	gem_header /about.gmi >/dev/null
	log_has '^<30>.* capsuled\[[0-9]*\]: worker [01]: 127\.0\.0\.1:[0-9]* localhost gemini "gemini://[^"]*/about\.gmi\\r\\n" 20 '
	grep -q '^<30>.* capsuled\[[0-9]*\]: main: ready:' "$_d/out" ||
	    fail "ready line not from syslog(3): $(head -n 1 "$_d/out")"
	[ -s "$_d/stderr" ] && fail "wrote to stderr: $(cat "$_d/stderr")"
	stop_server
	kill "$_lp" 2>/dev/null
	wait "$_lp" 2>/dev/null
	start_server
}
