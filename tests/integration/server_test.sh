# The process: start-up checks, certificates, signals, reload, workers.

test_generated_certificate() {
	start_server
	_crt=$SERVER_DIR/certs/localhost.crt
	_key=$SERVER_DIR/certs/localhost.key
	[ -f "$_crt" ] && [ -f "$_key" ] || { fail "no certificate generated"; return; }
	[ "$(stat -c %a "$_key")" = 600 ] || fail "key mode $(stat -c %a "$_key")"
	openssl x509 -in "$_crt" -noout -ext subjectAltName 2>/dev/null |
	    grep -q 'DNS:localhost' || fail "SAN is not DNS:localhost"
	openssl x509 -in "$_crt" -noout -text | grep -q 'prime256v1\|P-256' ||
	    fail "not a P-256 key"
	openssl x509 -in "$_crt" -noout -checkend $((3600 * 24 * 365 * 50)) \
	    >/dev/null || fail "certificate expires within 50 years"
	log_has "generated a self-signed ECDSA P-256 certificate"
	# The server presents exactly that certificate.
	_fp=$(echo | openssl s_client -connect "127.0.0.1:$GEMINI_PORT" \
	    -servername localhost 2>/dev/null | openssl x509 -noout -fingerprint)
	[ "$_fp" = "$(openssl x509 -in "$_crt" -noout -fingerprint)" ] ||
	    fail "served certificate is not the generated one"
}

test_certificate_reused_on_restart() {
	_fp=$(openssl x509 -in "$SERVER_DIR/certs/localhost.crt" -noout -fingerprint)
	kill -TERM "$SERVER_PID"; wait "$SERVER_PID"
	: >"$SERVER_DIR/log"
	"$CAPSULED" -f -c "$SERVER_DIR/capsuled.yaml" >"$SERVER_DIR/log" 2>&1 &
	SERVER_PID=$!
	wait_log "ready:" 15 || { fail "restart failed"; return; }
	read_ports
	[ "$_fp" = "$(openssl x509 -in "$SERVER_DIR/certs/localhost.crt" -noout -fingerprint)" ] ||
	    fail "certificate changed on restart"
	grep -q "generated a self-signed" "$SERVER_DIR/log" &&
	    fail "generated again"
	return 0
}

test_group_readable_key_refused() {
	stop_server
	chmod 640 "$SERVER_DIR/certs/localhost.key"
	_out=$("$CAPSULED" -f -c "$SERVER_DIR/capsuled.yaml" 2>&1)
	_rc=$?
	[ "$_rc" -eq 1 ] || fail "exit $_rc with a group-readable key"
	case "$_out" in
	*"readable by group or others"*"chmod 600"*) ;;
	*) fail "message: $_out" ;;
	esac
	start_server
}

test_missing_root_stops_startup() {
	_d=$(mktemp -d "$WORK/noroot.XXXXXX")
	write_config "$_d"
	_out=$("$CAPSULED" -f -c "$_d/capsuled.yaml" 2>&1)
	_rc=$?
	[ "$_rc" -eq 1 ] || fail "exit $_rc with a missing root"
	case "$_out" in
	*"$_d/capsule"*) ;;
	*) fail "message does not name the root: $_out" ;;
	esac
}

test_bad_config_stops_startup_with_position() {
	_d=$(mktemp -d "$WORK/badcfg.XXXXXX")
	printf 'hostname: localhost\nroot: capsule\nworkers: many\n' \
	    >"$_d/bad.yaml"
	_out=$("$CAPSULED" -n -c "$_d/bad.yaml" 2>&1)
	_rc=$?
	[ "$_rc" -eq 1 ] || fail "-n exit $_rc on a bad config"
	case "$_out" in
	"$_d/bad.yaml:3:"*) ;;
	*) fail "-n message lacks file:line:col: $_out" ;;
	esac
	_out=$("$CAPSULED" -f -c "$_d/bad.yaml" 2>&1)
	[ $? -eq 1 ] || fail "start-up did not fail on a bad config"
	case "$_out" in
	*"$_d/bad.yaml:3:"*) ;;
	*) fail "start-up message lacks file:line:col: $_out" ;;
	esac
	printf 'hostnme: localhost\n' >"$_d/typo.yaml"
	_out=$("$CAPSULED" -n -c "$_d/typo.yaml" 2>&1)
	case "$_out" in
	*"typo.yaml:1:1:"*hostnme*hostname*) ;;
	*) fail "unknown key message: $_out" ;;
	esac
}

test_example_config_checks_ok() {
	"$CAPSULED" -n -c capsuled.yaml >/dev/null 2>&1 ||
	    fail "capsuled -n rejects the example config"
}

test_help_lists_every_flag() {
	_h=$("$CAPSULED" -h)
	for _f in -c -f -n -H -g -G -d -w -h -V; do
		case "$_h" in *"$_f "*) ;; *) fail "-h does not list $_f" ;; esac
	done
	"$CAPSULED" -V | grep -q "OpenSSL 3" || fail "-V lacks OpenSSL"
}

test_quick_mode_serves_a_folder() {
	_d=$(mktemp -d "$WORK/quick.XXXXXX")
	mkdir "$_d/site"
	printf '# Quick\n' >"$_d/site/index.gmi"
	"$CAPSULED" -f -H localhost -g 127.0.0.1:0 -d "$_d/certs" -w 1 \
	    "$_d/site" >"$_d/log" 2>&1 &
	_pid=$!
	_old=$SERVER_DIR
	SERVER_DIR=$_d
	if wait_log "ready:" 15; then
		_p=$(sed -n 's/.*gemini on [^ ]*:\([0-9]*\).*/\1/p' "$_d/log" | head -n 1)
		_b=$(gem -o body 127.0.0.1 "$_p" "gemini://localhost:$_p/\r\n")
		[ "$_b" = "# Quick" ] || fail "quick mode body: $_b"
		[ -f "$_d/certs/localhost.key" ] || fail "no cert in -d dir"
	else
		fail "quick mode did not start: $(cat "$_d/log")"
	fi
	SERVER_DIR=$_old
	kill -TERM "$_pid"
	wait "$_pid" || fail "quick mode did not exit 0"
}

test_sigterm_exits_zero() {
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID"
	_rc=$?
	SERVER_PID=""
	[ "$_rc" -eq 0 ] || fail "exit status $_rc after SIGTERM"
	grep -q "stopped" "$SERVER_DIR/log" || fail "no 'stopped' line"
	start_server
}

test_sigterm_lets_inflight_request_finish() {
	# A client that waits before sending is in flight when SIGTERM comes.
	gem -w 800 -o status 127.0.0.1 "$GEMINI_PORT" "$(url /)\r\n" \
	    >"$SERVER_DIR/inflight" &
	_c=$!
	# Wait until the connection is established, so a worker owns it.
	_deadline=$(( $(date +%s) + 5 ))
	until ss -Htn state established "( sport = :$GEMINI_PORT )" |
	    grep -q .; do
		[ "$(date +%s)" -ge "$_deadline" ] && break
		sleep 0.02
	done
	sleep 0.2
	kill -TERM "$SERVER_PID"
	wait "$_c"
	wait "$SERVER_PID"
	_rc=$?
	SERVER_PID=""
	[ "$(cat "$SERVER_DIR/inflight")" = 20 ] ||
	    fail "in-flight request got '$(cat "$SERVER_DIR/inflight")'"
	[ "$_rc" -eq 0 ] || fail "exit status $_rc"
	start_server
}

test_killed_worker_is_replaced() {
	_w=$(pgrep -P "$SERVER_PID" | head -n 1)
	[ -n "$_w" ] || { fail "no worker processes"; return; }
	kill -KILL "$_w"
	wait_log "killed by signal 9" 5 || fail "death not logged"
	_deadline=$(( $(date +%s) + 5 ))
	while [ "$(pgrep -P "$SERVER_PID" | wc -l)" -lt 2 ]; do
		[ "$(date +%s)" -ge "$_deadline" ] && { fail "not replaced"; break; }
		sleep 0.05
	done
	for _i in 1 2 3 4 5 6; do
		[ "$(gem -o status 127.0.0.1 "$GEMINI_PORT" "$(url /)\r\n")" = 20 ] ||
		    fail "request $_i after the kill failed"
	done
}

test_sighup_invalid_config_keeps_serving() {
	cp "$SERVER_DIR/capsuled.yaml" "$SERVER_DIR/good.yaml"
	printf 'workers: [1\n' >>"$SERVER_DIR/capsuled.yaml"
	kill -HUP "$SERVER_PID"
	wait_log "reload failed" 5 || fail "no 'reload failed' line"
	grep -q "capsuled.yaml:[0-9]*:[0-9]*:" "$SERVER_DIR/log" ||
	    fail "reload error without file:line:col"
	[ "$(gem_header /)" = "20 text/gemini; charset=utf-8; lang=en" ] ||
	    fail "old config not serving"
	cp "$SERVER_DIR/good.yaml" "$SERVER_DIR/capsuled.yaml"
}

test_sighup_valid_config_applies() {
	sed -i 's/^lang: en/lang: fr/' "$SERVER_DIR/capsuled.yaml"
	kill -HUP "$SERVER_PID"
	wait_log "reloaded:" 10 || { fail "no 'reloaded' line"; return; }
	# Old workers drain; new ones answer with the new language.
	_deadline=$(( $(date +%s) + 5 ))
	until [ "$(gem_header /)" = "20 text/gemini; charset=utf-8; lang=fr" ]; do
		[ "$(date +%s)" -ge "$_deadline" ] && { fail "lang=fr not served"; break; }
		sleep 0.05
	done
	sed -i 's/^lang: fr/lang: en/' "$SERVER_DIR/capsuled.yaml"
	start_server
}

# resumed FILE: one request offering the session saved in FILE; prints
# "yes" or "no".
resumed() {
	gem -r "$1" -v -o status 127.0.0.1 "$GEMINI_PORT" "$(url /)\r\n" \
	    2>&1 >/dev/null | sed -n 's/^resumed: //p'
}

test_session_resumes_on_every_worker() {
	_s=$SERVER_DIR/session
	[ "$(resumed "$_s")" = no ] || fail "first connection resumed"
	_yes=0
	for _i in 1 2 3 4 5 6 7 8; do
		[ "$(resumed "$_s")" = yes ] && _yes=$((_yes + 1))
	done
	[ "$_yes" = 8 ] || fail "$_yes of 8 connections resumed"
	# Both workers took part: the kernel spreads connections over them.
	[ "$(grep -c 'worker 0: .*gemini "' "$SERVER_DIR/log")" -gt 0 ] &&
	    [ "$(grep -c 'worker 1: .*gemini "' "$SERVER_DIR/log")" -gt 0 ] ||
	    fail "only one worker served"
}

# A TLS 1.3 client uses each ticket once (OpenSSL's own client cache drops
# it), so a resumed connection must bring a fresh ticket, or the next one
# is a full handshake again.  s_client reports every ticket it receives.
test_resumed_session_gets_a_new_ticket() {
	_s=$SERVER_DIR/session3
	printf '%s\r\n' "$(url /)" | openssl s_client -connect \
	    "127.0.0.1:$GEMINI_PORT" -servername localhost -ign_eof \
	    -sess_out "$_s" >/dev/null 2>&1
	_out=$(printf '%s\r\n' "$(url /)" | openssl s_client -connect \
	    "127.0.0.1:$GEMINI_PORT" -servername localhost -ign_eof \
	    -sess_in "$_s" 2>&1)
	printf '%s\n' "$_out" | grep -q '^Reused, TLSv1.3' ||
	    fail "second connection did not resume"
	printf '%s\n' "$_out" | grep -q 'New Session Ticket arrived' ||
	    fail "no new ticket after a resumption"
}

test_session_resumes_after_reload() {
	_s=$SERVER_DIR/session2
	resumed "$_s" >/dev/null
	kill -HUP "$SERVER_PID"
	wait_log "reloaded:" 10 || { fail "no reload"; return; }
	[ "$(resumed "$_s")" = yes ] || fail "ticket lost across SIGHUP"
	start_server
}

test_worker_survives_sighup_sent_to_it() {
	_w=$(pgrep -P "$SERVER_PID" | head -n 1)
	kill -HUP "$_w"
	kill -0 "$_w" 2>/dev/null || fail "a worker died of SIGHUP"
	grep -q "killed by signal 1" "$SERVER_DIR/log" && fail "death logged"
	return 0
}

test_workers_drop_to_user_and_chroot() {
	[ "$(id -u)" = 0 ] || return 0
	_u=$(id -u nobody) || { fail "no user nobody"; return; }
	start_server "user: nobody
chroot: $SERVER_DIR/capsule"
	# start_server made a fresh directory: point chroot at its capsule.
	stop_server
	sed -i "s|^chroot: .*|chroot: $SERVER_DIR/capsule|" "$SERVER_DIR/capsuled.yaml"
	chmod 755 "$SERVER_DIR"
	: >"$SERVER_DIR/log"
	"$CAPSULED" -f -c "$SERVER_DIR/capsuled.yaml" >"$SERVER_DIR/log" 2>&1 &
	SERVER_PID=$!
	wait_log "ready:" 15 || { fail "did not start"; return; }
	read_ports
	for _w in $(pgrep -P "$SERVER_PID"); do
		_uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$_w/status")
		[ "$_uid" = "$_u$_u$_u$_u" ] || fail "worker $_w uids $_uid"
		[ "$(readlink "/proc/$_w/root")" = "$SERVER_DIR/capsule" ] ||
		    fail "worker $_w root $(readlink "/proc/$_w/root")"
	done
	# The parent keeps root, for reloads.
	[ "$(awk '/^Uid:/ {print $2}' "/proc/$SERVER_PID/status")" = 0 ] ||
	    fail "parent dropped root"
	_b=$(gem_body /blog/my-journey-into-data-engineering.gmi | sed -n 1p)
	[ "$_b" = "# My Journey into Data Engineering" ] ||
	    fail "chrooted worker does not serve posts: $_b"
	start_server
}

test_out_of_descriptors_backs_off_and_recovers() {
	stop_server
	: >"$SERVER_DIR/log"
	# 48 descriptors: a few dozen clients exhaust them.
	prlimit --nofile=48:48 "$CAPSULED" -f -c "$SERVER_DIR/capsuled.yaml" \
	    >"$SERVER_DIR/log" 2>&1 &
	SERVER_PID=$!
	wait_log "ready:" 15 || { fail "did not start"; return; }
	read_ports
	# 200 silent connections at once, held for 3 s.
	"$BUILD/tests/loadclient" -m plain -i 200 -d 3 -t 5 127.0.0.1 \
	    "$GEMINI_PORT" >/dev/null 2>&1 &
	_pids=$!
	wait_log "accept: Too many open files" 5 || fail "EMFILE not logged"
	# Backing off, the workers stay nearly idle instead of spinning.
	_w=$(pgrep -P "$SERVER_PID" | head -n 1)
	_t0=$(awk '{print $14 + $15}' "/proc/$_w/stat")
	sleep 1
	_t1=$(awk '{print $14 + $15}' "/proc/$_w/stat")
	[ $((_t1 - _t0)) -lt 50 ] || fail "worker used $((_t1 - _t0)) ticks in 1 s"
	# shellcheck disable=SC2086
	wait $_pids 2>/dev/null
	[ "$(grep -c 'accept: Too many open files' "$SERVER_DIR/log")" -lt 30 ] ||
	    fail "EMFILE logged too often"
	_h=$(gem_header /)
	[ "${_h%% *}" = 20 ] || fail "no recovery after the clients left: '$_h'"
	start_server
}
