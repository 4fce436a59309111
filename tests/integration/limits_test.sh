# Limits: each test crosses one and checks the answer and the log line.

LOADCLIENT=$BUILD/tests/loadclient

# restart_edited SED_SCRIPT: restart the current server with its config
# edited (for the keys write_config fixes, such as workers and timeouts).
restart_edited() {
	stop_server
	sed -i "$1" "$SERVER_DIR/capsuled.yaml"
	: >"$SERVER_DIR/log"
	"$CAPSULED" -f -c "$SERVER_DIR/capsuled.yaml" >"$SERVER_DIR/log" 2>&1 &
	SERVER_PID=$!
	wait_log "ready:" 15 || { fail "did not restart"; return 1; }
	read_ports
}

# accepted PORT: connections to PORT that a worker has accepted.
accepted() {
	ss -Htnp state established "( sport = :$1 )" | grep -c capsuled
}

# wait_accepted PORT N: until at least N connections to PORT are accepted.
wait_accepted() {
	_deadline=$(( $(date +%s) + 10 ))
	while [ "$(accepted "$1")" -lt "$2" ]; do
		[ "$(date +%s)" -ge "$_deadline" ] && return 1
		sleep 0.05
	done
}

# now_ms: a clock in milliseconds.
now_ms() {
	echo $(( $(date +%s%N) / 1000000 ))
}

test_rate_limit_answers_44_across_workers() {
	start_server "limits:
  rate: 10
  rate_window: 3600
  connections_per_address: 0" || return 1
	_ok=0
	_slow=0
	for _i in $(seq 1 14); do
		_h=$(gem -N -o header 127.0.0.1 "$GEMINI_PORT" "$(url /)\r\n")
		_rc=$?
		[ "$_rc" -eq 0 ] || fail "request $_i: exit $_rc (4: no close_notify)"
		case "$_h" in
		"20 "*) _ok=$((_ok + 1)) ;;
		"44 "[0-9]*) _slow=$((_slow + 1)) ;;
		*) fail "request $_i: header '$_h'" ;;
		esac
	done
	# Two workers, one budget: ten requests in all, wherever they land.
	[ "$_ok" = 10 ] && [ "$_slow" = 4 ] ||
	    fail "$_ok answered 20 and $_slow 44, want 10 and 4"
	grep -q 'worker 0: .*gemini "' "$SERVER_DIR/log" &&
	    grep -q 'worker 1: .*gemini "' "$SERVER_DIR/log" ||
	    fail "only one worker served"
	log_has 'gemini "gemini://localhost:[0-9]*/\\r\\n" 44 [0-9]* [0-9]*us rate limited'
	start_server
}

test_rate_limit_gopher_type_3_on_both_ports() {
	start_server "limits:
  rate: 1
  rate_window: 3600" || return 1
	"$GEMCLIENT" -P -t 10 127.0.0.1 "$GOPHER_PORT" "/\r\n" | head -n 1 |
	    grep -q '^i' || fail "first request not served"
	for _p in "$GOPHER_PORT" "$GEMINI_PORT"; do
		_r=$("$GEMCLIENT" -P -t 10 127.0.0.1 "$_p" "/\r\n"; echo x)
		case "$_r" in
		"3Too many requests: wait "[0-9]*" seconds"$'\t'*$'\r\n.\r\nx') ;;
		*) fail "port $_p: '${_r:0:80}'" ;;
		esac
	done
	_want='gopher "/\\r\\n" 3 [0-9]* [0-9]*us rate limited'
	wait_log_count "$_want" 2 5
	[ "$(grep -c -- "$_want" "$SERVER_DIR/log")" = 2 ] ||
	    fail "want two rate-limited lines"
	start_server
}

test_rate_limit_exempt_address() {
	start_server "limits:
  rate: 1
  connections_per_address: 1
  exempt: [\"::1\", 127.0.0.0/8]" || return 1
	for _i in 1 2 3 4 5; do
		[ "$(gem -o status 127.0.0.1 "$GEMINI_PORT" "$(url /)\r\n")" = 20 ] ||
		    fail "request $_i from an exempt address refused"
	done
	grep -q 'rate limited' "$SERVER_DIR/log" && fail "exempt address limited"
	start_server
}

test_connections_per_address_closed_at_once() {
	start_server "limits:
  connections_per_address: 3
  rate: 0" || return 1
	# The held connections must outlive the whole test.
	restart_edited 's/^  request: 2$/  request: 30/' || return 1
	exec 6<>"/dev/tcp/127.0.0.1/$GOPHER_PORT" 7<>"/dev/tcp/127.0.0.1/$GOPHER_PORT" \
	    8<>"/dev/tcp/127.0.0.1/$GEMINI_PORT"
	wait_accepted "$GOPHER_PORT" 2 && wait_accepted "$GEMINI_PORT" 1 ||
	    fail "the three connections were not accepted"
	_t0=$(now_ms)
	_r=$("$GEMCLIENT" -P -t 10 127.0.0.1 "$GOPHER_PORT" "/\r\n")
	_ms=$(( $(now_ms) - _t0 ))
	[ -z "$_r" ] || fail "fourth connection answered: ${_r:0:40}"
	[ "$_ms" -lt 1500 ] || fail "fourth connection closed after $_ms ms"
	"$GEMCLIENT" -s localhost -t 10 127.0.0.1 "$GEMINI_PORT" "$(url /)\r\n" \
	    >/dev/null 2>&1
	[ $? = 2 ] || fail "TLS connection over the cap not closed at once"
	log_has "127\.0\.0\.1:[0-9]*: closed: 3 connections already open from this address (limits.connections_per_address)"
	# A flood of refusals writes a line a second per worker at most, and
	# the next line counts the ones left out.
	_t0=$(date +%s)
	"$LOADCLIENT" -i 60 -m plain -d 1 -t 5 127.0.0.1 "$GOPHER_PORT" >/dev/null
	_s=$(( $(date +%s) - _t0 + 2 ))
	_n=$(grep -c 'connections already open' "$SERVER_DIR/log")
	[ "$_n" -le $((2 * _s)) ] || fail "$_n refusal lines in $_s s"
	sleep 1.1
	"$LOADCLIENT" -i 20 -m plain -d 1 -t 5 127.0.0.1 "$GOPHER_PORT" >/dev/null
	log_has 'connections already open .* (and [0-9]* more since the last line)'
	# Closing the held ones gives the address its connections back.
	exec 6>&- 7>&- 8>&-
	_deadline=$(( $(date +%s) + 5 ))
	until "$GEMCLIENT" -P -t 10 127.0.0.1 "$GOPHER_PORT" "/\r\n" |
	    head -n 1 | grep -q '^i'; do
		[ "$(date +%s)" -ge "$_deadline" ] && { fail "not released"; break; }
		sleep 0.05
	done
	start_server
}

test_rate_limit_survives_reload() {
	start_server "limits:
  rate: 3
  rate_window: 3600" || return 1
	for _i in 1 2 3; do
		gem -o status 127.0.0.1 "$GEMINI_PORT" "$(url /)\r\n" >/dev/null
	done
	kill -HUP "$SERVER_PID"
	wait_log "reloaded:" 10 || { fail "no reload"; return 1; }
	# The budget spent before the reload is still spent after it.
	expect_header "$(url /)\r\n" "44 *"
	start_server
}

test_killed_worker_leaves_no_stuck_counts() {
	start_server "limits:
  connections_per_address: 2
  rate: 0" || return 1
	restart_edited 's/^  request: 2$/  request: 30/' || return 1
	exec 6<>"/dev/tcp/127.0.0.1/$GOPHER_PORT" 7<>"/dev/tcp/127.0.0.1/$GOPHER_PORT"
	wait_accepted "$GOPHER_PORT" 2 || fail "connections not accepted"
	"$GEMCLIENT" -P -t 10 127.0.0.1 "$GOPHER_PORT" "/\r\n" 2>/dev/null |
	    grep -q . && fail "third connection not refused"
	# Killed holding the counts, the workers cannot give them back.
	for _w in $(pgrep -P "$SERVER_PID"); do kill -KILL "$_w"; done
	exec 6>&- 7>&-
	wait_log "killed by signal 9" 5 || fail "death not logged"
	_deadline=$(( $(date +%s) + 10 ))
	until "$GEMCLIENT" -P -t 10 127.0.0.1 "$GOPHER_PORT" "/\r\n" 2>/dev/null |
	    head -n 1 | grep -q '^i'; do
		[ "$(date +%s)" -ge "$_deadline" ] && { fail "address still shut out"; break; }
		sleep 0.05
	done
	start_server
}

test_connections_per_worker_wait_in_queue() {
	start_server "limits:
  connections: 2
  exempt: [127.0.0.0/8]" || return 1
	restart_edited 's/^workers: 2$/workers: 1/' || return 1
	exec 6<>"/dev/tcp/127.0.0.1/$GOPHER_PORT" 7<>"/dev/tcp/127.0.0.1/$GOPHER_PORT"
	wait_log "2 connections open, limits.connections reached: new ones wait" 5 ||
	    fail "no line about limits.connections"
	# The third waits in the queue until the request deadline (2 s)
	# closes the silent ones.
	_t0=$(now_ms)
	"$GEMCLIENT" -P -t 10 127.0.0.1 "$GOPHER_PORT" "/\r\n" | head -n 1 |
	    grep -q '^i' || fail "third connection not served"
	_ms=$(( $(now_ms) - _t0 ))
	[ "$_ms" -ge 1000 ] || fail "third connection served after $_ms ms"
	exec 6>&- 7>&-
	log_has 'gopher "" 0 0 [0-9]*us request timeout'
	start_server
}

test_write_deadline_closes_stalled_reader() {
	restart_edited 's/^  write: 5$/  write: 1/' || return 1
	exec 6<>"/dev/tcp/127.0.0.1/$GOPHER_PORT"
	printf '/huge.bin\r\n' >&6
	# The client reads nothing: the server's writes stall, then it closes.
	wait_log 'gopher "/huge.bin\\r\\n" 0 [0-9]* [0-9]*us write timeout' 10 ||
	    fail "no write timeout in the log"
	timeout 10 cat <&6 >/dev/null 2>&1
	[ $? -ne 124 ] || fail "connection still open after the write timeout"
	exec 6>&-
	start_server
}

test_handshake_deadline_closes_and_logs() {
	restart_edited 's/^  handshake: 3$/  handshake: 1/; s/^  error: "-"$/  error: "-"\n  debug: true/' ||
	    return 1
	exec 6<>"/dev/tcp/127.0.0.1/$GEMINI_PORT"
	# The first byte of a TLS record, then nothing.
	printf '\026' >&6
	_t0=$(now_ms)
	timeout 10 cat <&6 >/dev/null 2>&1
	_rc=$?
	_ms=$(( $(now_ms) - _t0 ))
	exec 6>&-
	[ "$_rc" -ne 124 ] || fail "never closed"
	[ "$_ms" -ge 500 ] && [ "$_ms" -lt 5000 ] ||
	    fail "closed after $_ms ms, want about 1000"
	log_has '127\.0\.0\.1:[0-9]*: handshake timeout'
	start_server
}

test_gopher_selector_limit_1024() {
	_s=/$(printf 'a%.0s' $(seq 1 1023))
	_r=$("$GEMCLIENT" -P -t 10 127.0.0.1 "$GOPHER_PORT" "$_s\r\n")
	case "$_r" in 3Not\ found*) ;; *) fail "1024 bytes: ${_r:0:40}" ;; esac
	# With a bare LF the 1025-byte selector still fits the 1026 bytes read.
	_r=$("$GEMCLIENT" -P -t 10 127.0.0.1 "$GOPHER_PORT" "${_s}b\n"; echo x)
	case "$_r" in
	"3selector too long"*$'\r\n.\r\nx') ;;
	*) fail "1025 bytes: ${_r:0:40}" ;;
	esac
	log_has 'gopher "/aaaa*b\\n" 3 [0-9]* [0-9]*us selector too long'
}

test_front_matter_size_and_depth_limits() {
	_d=$SERVER_DIR/capsule/blog
	{ printf -- '---\ntitle: Small enough\ndescription: '
	  head -c 60000 /dev/zero | tr '\0' 'x'
	  printf '\n---\nBody one.\n'; } >"$_d/fm-ok.md"
	{ printf -- '---\ntitle: Too big\ndescription: '
	  head -c 70000 /dev/zero | tr '\0' 'x'
	  printf '\n---\nBody two.\n'; } >"$_d/fm-big.md"
	{ printf -- '---\ntitle: Too deep\nx: '
	  for _i in $(seq 1 20); do printf '{a: '; done
	  printf '1'
	  for _i in $(seq 1 20); do printf '}'; done
	  printf '\n---\nBody three.\n'; } >"$_d/fm-deep.md"
	[ "$(gem_body /blog/fm-ok.gmi | sed -n 1p)" = "# Small enough" ] ||
	    fail "60 KB front matter not read"
	[ "$(gem -o status 127.0.0.1 "$GEMINI_PORT" "$(url /blog/fm-big.gmi)\r\n")" = 20 ] ||
	    fail "post with 70 KB front matter not served"
	_b=$(gem_body /blog/fm-big.gmi)
	case "$_b" in "# Fm big"*"Body two."*) ;; *) fail "fm-big: ${_b:0:60}" ;; esac
	log_has 'blog/fm-big\.md:2: front matter: larger than 64 KiB; ignored'
	_b=$(gem_body /blog/fm-deep.gmi)
	case "$_b" in *"Body three."*) ;; *) fail "fm-deep: ${_b:0:60}" ;; esac
	log_has 'blog/fm-deep\.md:3: front matter: nested deeper than 16 levels'
	rm -f "$_d/fm-ok.md" "$_d/fm-big.md" "$_d/fm-deep.md"
}

# A table too wide for a grid becomes a list repeating its header on every
# row: a few bytes of input make a hundred of output.
wide_table() {
	printf '| %s | %s |\n|---|---|\n' "$(printf 'h%.0s' $(seq 1 60))" \
	    "$(printf 'g%.0s' $(seq 1 60))"
	yes '|a|b|' | head -n "$1"
}

test_rendered_output_limit_4x() {
	_d=$SERVER_DIR/capsule/blog
	wide_table 300 >"$_d/grow-ok.md"
	wide_table 30000 >"$_d/grow-big.md"
	expect_header "$(url /blog/grow-ok.gmi)\r\n" "20 *"
	expect_header "$(url /blog/grow-big.gmi)\r\n" "40 *"
	log_has 'blog/grow-big\.md: cannot render: '
	grep -q 'grow-ok\.md: cannot render' "$SERVER_DIR/log" &&
	    fail "the small table failed too"
	rm -f "$_d/grow-ok.md" "$_d/grow-big.md"
	return 0
}

test_links_per_post_limit() {
	_f=$SERVER_DIR/capsule/blog/many-links.md
	seq 1 5000 | awk '{ printf "[l%d](gemini://example.org/p%d)\n\n", $1, $1 }' >"$_f"
	expect_header "$(url /blog/many-links.gmi)\r\n" "20 *"
	_n=$(gem_body /blog/many-links.gmi | grep -c '^=> gemini://example.org/p')
	[ "$_n" = 4096 ] || fail "$_n link lines, want 4096"
	# The later links keep their text.
	gem_body /blog/many-links.gmi | grep -q '^l5000$' || fail "text of link 5000 lost"
	rm -f "$_f"
}

# p99 PORT: one client asking for / over and over for 3 s; prints the
# loadclient report.
p99_run() {
	"$LOADCLIENT" -c 1 -d 3 -t 10 -e 20 127.0.0.1 "$1" \
	    "gemini://localhost:$1/\r\n"
}

# field NAME REPORT: the value of one loadclient key.
field() {
	echo "$2" | sed -n "s/^$1: //p"
}

# slowloris OUT N PORT REQUEST [loadclient options]: N connections to PORT
# that each send REQUEST a byte every 2 s, in the background until killed.
slowloris() {
	_out=$1 _n=$2 _port=$3 _req=$4
	shift 4
	"$LOADCLIENT" -i "$_n" -S 2000 -d 120 -t 10 "$@" 127.0.0.1 "$_port" \
	    "$_req" >"$_out" 2>&1 &
}

test_slowloris_does_not_starve_others() {
	start_server "limits:
  connections: 4096
  connections_per_address: 2000
  rate: 0" || return 1
	# The default deadlines, as a server on the internet has them.
	restart_edited 's/^  handshake: 3$/  handshake: 10/; s/^  request: 2$/  request: 10/' ||
	    return 1
	_quiet=$(p99_run "$GEMINI_PORT")
	# A thousand connections, each sending a byte every 2 s: a TLS
	# handshake record that never ends, a Gopher selector, and, after a
	# complete handshake, a Gemini request.
	slowloris "$SERVER_DIR/slow1" 450 "$GEMINI_PORT" \
	    '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x11\x22\x33\x44' -m plain
	_pids=$!
	slowloris "$SERVER_DIR/slow2" 450 "$GOPHER_PORT" '/blog/\r\n' -m plain
	_pids="$_pids $!"
	slowloris "$SERVER_DIR/slow3" 100 "$GEMINI_PORT" "$(url /)\r\n"
	_pids="$_pids $!"
	wait_accepted "$GEMINI_PORT" 540 && wait_accepted "$GOPHER_PORT" 440 ||
	    fail "slowloris connections not accepted: $(cat "$SERVER_DIR"/slow[123] | head -c 600)"
	_loaded=$(p99_run "$GEMINI_PORT")
	_held=$(( $(accepted "$GEMINI_PORT") + $(accepted "$GOPHER_PORT") ))
	# shellcheck disable=SC2086
	kill -TERM $_pids
	# shellcheck disable=SC2086
	wait $_pids
	_q=$(field latency_p99_us "$_quiet")
	_l=$(field latency_p99_us "$_loaded")
	echo "slowloris: p99 unloaded ${_q} us ($(field requests "$_quiet") requests)," \
	    "with $_held slow connections ${_l} us ($(field requests "$_loaded") requests)"
	for _r in "$_quiet" "$_loaded"; do
		[ "$(field errors "$_r")" = 0 ] && [ "$(field requests "$_r")" -gt 0 ] ||
		    fail "requests failed: $(echo "$_r" | grep -E '^(requests|errors|statuses)')"
	done
	# Generous: the machine is shared, so only a gross delay fails.
	[ "$_l" -le $((2 * _q + 250000)) ] ||
	    fail "p99 $_l us under slowloris, $_q us without"
	start_server
}
