# Faults: a post rewritten while it is served, a worker killed under load.

# lc_key FILE KEY: a value from loadclient's "key: value" report.
lc_key() {
	sed -n "s/^$2: //p" "$1"
}

# An author saves a post while visitors read it: in place (truncate, then
# write, as a shell redirection or a naive editor does) and by rename.  A
# post is rendered whole before its header goes out, so every answer is a
# complete page, ending with its footer and close_notify, or a 40; never
# a 20 cut short.
test_post_rewritten_while_served_never_truncated() {
	_f=$SERVER_DIR/capsule/blog/churn.md
	_big=$SERVER_DIR/churn-big.md
	_small=$SERVER_DIR/churn-small.md
	{ printf -- '---\ntitle: Churn\n---\n'
	  for _i in $(seq 1 1000); do
		printf 'Paragraph %d with some text to make it long.\n\n' "$_i"
	  done; } >"$_big"
	printf -- '---\ntitle: Churn\n---\nshort\n' >"$_small"
	cp "$_big" "$_f"
	(
		_end=$(( $(date +%s) + 20 ))
		while [ "$(date +%s)" -lt "$_end" ] && [ -e "$_f" ]; do
			cat "$_small" >"$_f"
			cat "$_big" >"$_f"
			cp "$_small" "$_f.tmp" && mv "$_f.tmp" "$_f"
			cp "$_big" "$_f.tmp" && mv "$_f.tmp" "$_f"
		done
	) &
	_writer=$!
	_n20=0
	for _i in $(seq 1 30); do
		gem -N -o all 127.0.0.1 "$GEMINI_PORT" \
		    "$(url /blog/churn.gmi)\r\n" >"$SERVER_DIR/churn.out"
		_rc=$?
		_head=$(head -n 1 "$SERVER_DIR/churn.out" | tr -d '\r')
		case "$_head" in
		"20 "*)
			_n20=$((_n20 + 1))
			[ "$_rc" -eq 0 ] ||
			    fail "request $_i: 20 without close_notify ($_rc)"
			[ "$(tail -n 1 "$SERVER_DIR/churn.out")" = "=> ./ All posts" ] ||
			    fail "request $_i: 20 with a cut body ($(wc -c <"$SERVER_DIR/churn.out") bytes)"
			;;
		"40 "*) ;;
		*) fail "request $_i: header '$_head'" ;;
		esac
	done
	kill "$_writer" 2>/dev/null
	wait "$_writer" 2>/dev/null
	rm -f "$_f" "$_f.tmp"
	[ "$_n20" -gt 0 ] || fail "no request was answered 20"
}

# SIGKILL one worker while loadclient keeps eight requests in flight: the
# parent logs it and starts another, the other worker keeps answering,
# and only the connections the dead worker held are lost.
test_worker_killed_under_load_is_replaced() {
	_out=$SERVER_DIR/load.out
	"$BUILD/tests/loadclient" -c 8 -d 4 -t 5 -e 20 127.0.0.1 \
	    "$GEMINI_PORT" "$(url /about.gmi)\r\n" >"$_out" 2>&1 &
	_lc=$!
	sleep 1
	_w=$(pgrep -P "$SERVER_PID" | head -n 1)
	[ -n "$_w" ] || { fail "no worker processes"; return; }
	kill -0 "$_lc" 2>/dev/null || { fail "the load ended before the kill"; return; }
	kill -KILL "$_w"
	wait_log "worker [01] (pid $_w) killed by signal 9" 5 ||
	    fail "death not logged"
	wait_log "restarting worker" 5 || fail "restart not logged"
	wait "$_lc" || { fail "loadclient failed: $(cat "$_out")"; return; }
	_req=$(lc_key "$_out" requests)
	_bad=0
	for _k in errors_connect errors_handshake errors_write errors_read \
	    errors_timeout errors_status errors_no_close_notify; do
		_bad=$((_bad + $(lc_key "$_out" "$_k")))
	done
	# A slow sanitizer build on a busy machine still makes a few dozen.
	[ "${_req:-0}" -ge 20 ] || fail "only ${_req:-0} requests under load"
	# At most what was in flight on the killed worker (and its backlog).
	[ "$_bad" -le 16 ] || fail "$_bad failed requests: $(cat "$_out")"
	[ "$(pgrep -P "$SERVER_PID" | wc -l)" -eq 2 ] ||
	    fail "$(pgrep -P "$SERVER_PID" | wc -l) workers, want 2"
	pgrep -P "$SERVER_PID" | grep -qx "$_w" && fail "killed worker still listed"
	return 0
}
