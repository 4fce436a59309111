# Gemini over TLS: statuses, static files, TLS behaviour, deadlines.

test_openssl_s_client_gets_index() {
	_out=$(printf '%s\r\n' "$(url /)" | timeout 10 openssl s_client -quiet \
	    -connect "127.0.0.1:$GEMINI_PORT" -servername localhost 2>/dev/null)
	case "$_out" in
	"20 text/gemini; charset=utf-8; lang=en"$'\r\n'"# capsuled"*) ;;
	*) fail "s_client got: $(printf '%s' "$_out" | head -c 120)" ;;
	esac
}

test_index_body_is_the_capsule_index() {
	gem_body / | cmp -s - "$SERVER_DIR/capsule/index.gmi" ||
	    fail "body differs from index.gmi"
}

test_url_without_path_is_the_root() {
	expect_header "gemini://localhost:$GEMINI_PORT\r\n" "20 text/gemini*"
}

test_host_alias_and_case_accepted() {
	gem -s '' -o header 127.0.0.1 "$GEMINI_PORT" \
	    "gemini://127.0.0.1:$GEMINI_PORT/\r\n" | grep -q '^20 ' ||
	    fail "alias 127.0.0.1 not accepted"
	expect_header "GEMINI://LocalHost:$GEMINI_PORT/\r\n" "20 *"
}

test_static_gmi_file() {
	[ "$(gem_header /about.gmi)" = "20 text/gemini; charset=utf-8; lang=en" ] ||
	    fail "about.gmi header"
	gem_body /about.gmi | cmp -s - "$SERVER_DIR/capsule/about.gmi" ||
	    fail "about.gmi body differs"
}

test_image_served_byte_exact() {
	[ "$(gem_header /assets/capsule.png)" = "20 image/png" ] ||
	    fail "png header: $(gem_header /assets/capsule.png)"
	gem_body /assets/capsule.png |
	    cmp -s - "$SERVER_DIR/capsule/assets/capsule.png" ||
	    fail "png body differs"
}

test_large_binary_streamed_whole() {
	[ "$(gem_header /big.bin)" = "20 application/octet-stream" ] ||
	    fail "big.bin header"
	gem_body /big.bin | cmp -s - "$SERVER_DIR/capsule/big.bin" ||
	    fail "big.bin body differs"
}

test_directory_without_slash_redirects_31() {
	expect_header "$(url /docs)\r\n" "31 /docs/"
	expect_header "$(url '/plain%20dir')\r\n" "31 /plain%20dir/"
	expect_header "$(url '/docs?x=1')\r\n" "31 /docs/?x=1"
}

test_directory_listing_generated() {
	_b=$(gem_body "/plain%20dir/")
	case "$_b" in
	*"=> two%20words.txt two words.txt"*) ;;
	*) fail "listing lacks the encoded entry: $_b" ;;
	esac
	_b=$(gem_body /)
	_b=$(gem_body /empty/)
	case "$_b" in *"empty"*) ;; *) fail "empty listing: $_b" ;; esac
}

test_listing_puts_directories_first_and_hides_dotfiles() {
	rm -f "$SERVER_DIR/capsule/index.gmi"
	_b=$(gem_body /)
	case "$_b" in
	"# Index of /"*) ;;
	*) fail "root listing header: $(echo "$_b" | head -n 1)" ;;
	esac
	_first_file=$(echo "$_b" | grep -n '^=> [^ ]*[^/] ' | head -n 1 | cut -d: -f1)
	_last_dir=$(echo "$_b" | grep -n '^=> [^ ]*/ ' | tail -n 1 | cut -d: -f1)
	[ "$_last_dir" -lt "$_first_file" ] || fail "directories not first"
	echo "$_b" | grep -q '\.hidden\|\.git' && fail "dotfile listed"
	echo "$_b" | grep -q 'fifo' && fail "fifo listed"
	cp capsule/index.gmi "$SERVER_DIR/capsule/index.gmi"
}

test_missing_file_51() {
	expect_header "$(url /no-such-page.gmi)\r\n" "51 *"
	expect_header "$(url /docs/no/such/thing)\r\n" "51 *"
	expect_header "$(url /about.gmi/)\r\n" "51 *"
}

test_dotfiles_not_served() {
	expect_header "$(url /.hidden)\r\n" "51 *"
	expect_header "$(url /.git/config)\r\n" "51 *"
	expect_header "$(url /%2ehidden)\r\n" "51 *"
}

test_symlink_escape_refused() {
	expect_header "$(url /escape.txt)\r\n" "51 *"
	expect_header "$(url /up/outside.txt)\r\n" "51 *"
}

test_symlink_inside_capsule_served() {
	expect_header "$(url /inside-link.gmi)\r\n" "20 text/gemini*"
}

test_fifo_not_served_and_no_hang() {
	expect_header "$(url /fifo.gmi)\r\n" "51 *"
}

test_other_scheme_53() {
	expect_header "https://localhost:$GEMINI_PORT/\r\n" "53 *"
	expect_header "gopher://localhost:$GEMINI_PORT/\r\n" "53 *"
}

test_other_host_53() {
	gem -s example.org -o header 127.0.0.1 "$GEMINI_PORT" \
	    "gemini://example.org:$GEMINI_PORT/\r\n" | grep -q '^53 ' ||
	    fail "other host not 53"
}

test_other_port_53() {
	expect_header "gemini://localhost:1/\r\n" "53 *"
	expect_header "gemini://localhost:1965/\r\n" "53 *"
}

test_url_without_port_accepted() {
	# A URL without a port is what a client sends when a forwarded port
	# brought it here; only a port that is named is checked.
	expect_header "gemini://localhost/\r\n" "20 *"
}

test_sni_mismatch_53() {
	gem -s other.example -o header 127.0.0.1 "$GEMINI_PORT" \
	    "$(url /)\r\n" | grep -q '^53 ' || fail "SNI mismatch not 53"
}

test_request_too_long_59() {
	_u=$(url /)
	# A 1024-byte URL is the longest allowed; 1025 bytes is one too many.
	_pad=$((1024 - ${#_u}))
	_a=$(printf 'a%.0s' $(seq 1 "$_pad"))
	expect_header "$_u$_a\r\n" "51 *"
	expect_header "$_u${_a}b\r\n" "59 *"
	# Read stops at 1026 bytes, so the line logged lacks its last byte.
	log_has "${_a:0:20}a*b\\\\r\" 59 [0-9]* [0-9]*us "
}

test_no_crlf_within_limit_59() {
	_h=$(gem -o header -R "x:2000" 127.0.0.1 "$GEMINI_PORT" "$(url /)")
	[ "${_h%% *}" = 59 ] || fail "2000 bytes without CRLF: '$_h'"
	log_has '"gemini://localhost:[0-9]*/xxxx.*" 59'
}

test_empty_request_59() {
	expect_header "\r\n" "59 *"
}

test_bare_lf_59() {
	expect_header "$(url /)\n" "59 *"
}

test_relative_url_59() {
	expect_header "/index.gmi\r\n" "59 *"
	expect_header "localhost/\r\n" "59 *"
}

test_userinfo_59() {
	expect_header "gemini://user@localhost:$GEMINI_PORT/\r\n" "59 *"
}

test_fragment_59() {
	expect_header "$(url /#top)\r\n" "59 *"
}

test_nul_59() {
	expect_header "$(url /)\0\r\n" "59 *"
	expect_header "$(url /a%00b)\r\n" "59 *"
}

test_bad_percent_encoding_59() {
	expect_header "$(url /%zz)\r\n" "59 *"
	expect_header "$(url /%4)\r\n" "59 *"
}

test_path_climbing_59() {
	expect_header "$(url /../../etc/passwd)\r\n" "59 *"
	expect_header "$(url /%2e%2e/%2e%2e/etc/passwd)\r\n" "59 *"
	expect_header "$(url /docs/../../x)\r\n" "59 *"
	expect_header "$(url /..%2f..%2fetc/passwd)\r\n" "59 *"
}

test_dot_segments_inside_root_resolve() {
	expect_header "$(url /docs/../about.gmi)\r\n" "20 text/gemini*"
}

test_slow_drip_request_served() {
	_h=$(gem -d 20 -o header 127.0.0.1 "$GEMINI_PORT" "$(url /)\r\n")
	[ "${_h%% *}" = 20 ] || fail "dripped request: '$_h'"
}

test_close_notify_sent() {
	gem -N -v -o status 127.0.0.1 "$GEMINI_PORT" "$(url /)\r\n" \
	    >/dev/null 2>"$SERVER_DIR/cn" || fail "no close_notify on 20"
	gem -N -o status 127.0.0.1 "$GEMINI_PORT" "\r\n" >/dev/null ||
	    fail "no close_notify on 59"
	gem -N -o status 127.0.0.1 "$GEMINI_PORT" "$(url /nothing)\r\n" \
	    >/dev/null || fail "no close_notify on 51"
}

# The TLS 1.3 session ticket waits for the response and leaves with it,
# and still resumes the next connection.
test_ticket_leaves_with_the_response() {
	_sess=$SERVER_DIR/held.sess
	rm -f "$_sess"
	gem -v -w 300 -r "$_sess" -o status 127.0.0.1 "$GEMINI_PORT" \
	    "$(url /)\r\n" >"$SERVER_DIR/held.out" 2>"$SERVER_DIR/held.err" ||
	    fail "request after a wait failed: $(cat "$SERVER_DIR/held.err")"
	grep -qx 20 "$SERVER_DIR/held.out" || fail "no 20 after the wait"
	grep -qx 'early_bytes: 0' "$SERVER_DIR/held.err" ||
	    fail "bytes arrived before the request: $(grep early \
	    "$SERVER_DIR/held.err")"
	grep -qx 'session_saved: yes' "$SERVER_DIR/held.err" ||
	    fail "no ticket with the response"
	gem -v -r "$_sess" -o status 127.0.0.1 "$GEMINI_PORT" "$(url /)\r\n" \
	    >/dev/null 2>"$SERVER_DIR/held.err"
	grep -qx 'resumed: yes' "$SERVER_DIR/held.err" ||
	    fail "the held ticket did not resume"
}

test_tls_versions() {
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$GEMINI_PORT" \
	    -servername localhost -tls1_2 >/dev/null 2>&1 ||
	    fail "TLS 1.2 refused"
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$GEMINI_PORT" \
	    -servername localhost -tls1_3 >/dev/null 2>&1 ||
	    fail "TLS 1.3 refused"
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$GEMINI_PORT" \
	    -servername localhost -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' \
	    >/dev/null 2>&1 && fail "TLS 1.1 accepted"
	return 0
}

test_silent_client_closed_at_request_deadline() {
	_t0=$(date +%s%N)
	gem -n -t 10 -o all 127.0.0.1 "$GEMINI_PORT" >/dev/null
	_rc=$?
	_ms=$(( ($(date +%s%N) - _t0) / 1000000 ))
	[ "$_rc" -eq 0 ] || fail "client saw exit $_rc (3 = not closed in time)"
	# The test config sets the request deadline to 2 s.
	[ "$_ms" -ge 1500 ] && [ "$_ms" -lt 6000 ] ||
	    fail "closed after $_ms ms, want about 2000"
	log_has "request timeout"
}

test_no_crlf_then_silence_closed_without_status() {
	_out=$(gem -t 10 -o all 127.0.0.1 "$GEMINI_PORT" "$(url /)")
	[ -z "$_out" ] || fail "got a reply to an unfinished request: $_out"
}

test_silent_tcp_client_closed_at_handshake_deadline() {
	_t0=$(date +%s%N)
	timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$GEMINI_PORT; cat <&3" \
	    >/dev/null 2>&1
	_rc=$?
	_ms=$(( ($(date +%s%N) - _t0) / 1000000 ))
	[ "$_rc" -ne 124 ] || fail "TCP client never closed"
	[ "$_ms" -lt 8000 ] || fail "closed after $_ms ms"
}

test_disconnect_mid_handshake_costs_nothing() {
	for _i in 1 2 3 4 5; do
		printf '\026\003\001\002\000\001\000\001\374\003\003' |
		    timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$GEMINI_PORT; cat >&3"
		gem -x 127.0.0.1 "$GEMINI_PORT" >/dev/null 2>&1
	done
	return 0
}

test_disconnect_mid_response_costs_nothing() {
	for _i in 1 2 3; do
		gem -X 1000 -o all 127.0.0.1 "$GEMINI_PORT" \
		    "$(url /huge.bin)\r\n" >/dev/null
	done
	log_has "huge.bin.* 20 .*client went away"
}

test_slow_client_does_not_block_others() {
	gem -w 1500 -o status 127.0.0.1 "$GEMINI_PORT" "$(url /)\r\n" \
	    >/dev/null &
	_slow=$!
	_t0=$(date +%s%N)
	for _i in 1 2 3 4; do
		[ "$(gem -o status 127.0.0.1 "$GEMINI_PORT" "$(url /)\r\n")" = 20 ] ||
		    fail "request $_i failed"
	done
	_ms=$(( ($(date +%s%N) - _t0) / 1000000 ))
	wait "$_slow"
	[ "$_ms" -lt 1400 ] || fail "4 requests took $_ms ms beside a slow one"
}

test_access_log_escapes_wire_bytes() {
	gem -o status 127.0.0.1 "$GEMINI_PORT" "$(url /)\x1b[31m\"\r\n" >/dev/null
	log_has '/\\x1b\[31m\\"\\r\\n" 59'
	grep -q "$(printf '\033')" "$SERVER_DIR/log" && fail "raw ESC in log"
	return 0
}

test_access_log_line_fields() {
	gem_header /about.gmi >/dev/null
	log_has '127\.0\.0\.1:[0-9]* localhost gemini "gemini://localhost:[0-9]*/about.gmi\\r\\n" 20 [0-9][0-9]* [0-9][0-9]*us'
}
