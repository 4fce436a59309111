# Titan uploads: an author publishes from a Gemini client.
#
# The tests share one server (titan_server): the default config plus
# upload rules, which reads never see, so the server left running still
# serves every path as the default one does.

TITAN_PKI=$WORK/titan-pki
TITAN_OUTSIDE=$WORK/titan-outside
TITAN_TOKEN="s3cret token"
TITAN_PID=""

# titan_cert NAME: a self-signed P-256 certificate, as Gemini clients
# make them, in $TITAN_PKI/NAME.crt and .key.
titan_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout "$TITAN_PKI/$1.key" -out "$TITAN_PKI/$1.crt" \
	    -subj "/CN=$1" -days 30 2>/dev/null
}

titan_fp() {
	openssl x509 -in "$TITAN_PKI/$1.crt" -noout -fingerprint -sha256 |
	    sed 's/.*=//'
}

titan_yaml() {
	cat <<YAML
paths:
  - prefix: /notes/
    client_cert:
      fingerprints: ["$(titan_fp author)"]
    titan:
      token: "$TITAN_TOKEN"
      max_size: 2048
  - glob: "/pics/*.png"
    client_cert: {fingerprints: ["$(titan_fp author)"]}
    titan: {}
YAML
}

# titan_server: make sure the shared server of this suite is running.
titan_server() {
	if [ -n "$SERVER_PID" ] && [ "$SERVER_PID" = "$TITAN_PID" ] &&
	    kill -0 "$SERVER_PID" 2>/dev/null; then
		return 0
	fi
	if [ ! -f "$TITAN_PKI/done" ]; then
		mkdir -p "$TITAN_PKI"
		titan_cert author && titan_cert stranger || return 1
		touch "$TITAN_PKI/done"
	fi
	start_server "$(titan_yaml)" || return 1
	mkdir -p "$SERVER_DIR/capsule/notes/sub" "$SERVER_DIR/capsule/pics" \
	    "$SERVER_DIR/capsule/notes/dir.md" "$TITAN_OUTSIDE"
	printf -- '---\ntitle: First\ndate: 2026-01-01\n---\nfirst\n' \
	    >"$SERVER_DIR/capsule/notes/first.md"
	ln -s "$TITAN_OUTSIDE" "$SERVER_DIR/capsule/notes/out"
	TITAN_PID=$SERVER_PID
}

# titan_send WHO TARGET [gemclient options]: send "titan://host:port
# TARGET" and CRLF (with WHO's certificate, or none) and print the header.
titan_send() {
	_who=$1
	_target=$2
	shift 2
	_cert=""
	[ "$_who" != none ] &&
	    _cert="-c $TITAN_PKI/$_who.crt -k $TITAN_PKI/$_who.key"
	# shellcheck disable=SC2086
	gem $_cert -o header "$@" 127.0.0.1 "$GEMINI_PORT" \
	    "titan://localhost:$GEMINI_PORT$_target\r\n"
}

# titan_leftovers DIR: how many temporary upload files DIR holds.
titan_leftovers() {
	ls -A "$1" | grep -c '^\.titan-'
}

# titan_expect WANT WHO TARGET [options]: the header must match WANT.
titan_expect() {
	_want=$1
	shift
	_h=$(titan_send "$@")
	case "$_h" in
	$_want) return 0 ;;
	*) fail "$2: want '$_want', got '$_h'" ;;
	esac
}

test_titan_upload_then_read_rendered() {
	titan_server || return 1
	_n=$SERVER_DIR/capsule/notes
	_post=$SERVER_DIR/post.md
	printf -- '---\ntitle: Hello from Titan\ndate: 2026-03-04\n---\n' >"$_post"
	printf 'Written in a *Gemini* client.\n' >>"$_post"
	_size=$(wc -c <"$_post")
	titan_expect "30 gemini://localhost:$GEMINI_PORT/notes/hello.gmi" \
	    author "/notes/hello.md;size=$_size;mime=text/markdown;token=s3cret%20token" \
	    -T "$_post"
	cmp -s "$_post" "$_n/hello.md" || fail "the file is not what was sent"
	# Readers need no certificate: the upload rule is not theirs.
	_b=$(gem_body /notes/hello.gmi)
	case "$_b" in
	"# Hello from Titan"*"Written in a Gemini client."*) ;;
	*) fail "rendered post: $_b" ;;
	esac
	gem_body /notes/ | grep -q '^=> hello.gmi 2026-03-04 - Hello from Titan$' ||
	    fail "the new post is not in its directory's index"
	log_has "\"titan://localhost:[0-9]*/notes/hello.md;size=$_size;mime=text/markdown;token=\*\{14\}\\\\r\\\\n\" 30 .* cert=SHA256:[0-9a-f]\{64\} subject=\"CN=author\" stored $_size bytes (text/markdown)"
	grep -q 's3cret' "$SERVER_DIR/log" && fail "the token reached the log"
	# A second upload replaces the first; the next read sees it.
	printf -- '---\ntitle: Hello again\n---\nsecond\n' >"$_post"
	titan_expect "30 *" author \
	    "/notes/hello.md;size=$(wc -c <"$_post");token=s3cret%20token" \
	    -T "$_post"
	gem_body /notes/hello.gmi | grep -q '^# Hello again$' ||
	    fail "the replaced post is not served"
	# An image, bytes as they are, under the glob rule (no token).
	head -c 1500 /dev/urandom >"$SERVER_DIR/pic.png"
	titan_expect "30 gemini://localhost:$GEMINI_PORT/pics/a.png" author \
	    "/pics/a.png;size=1500;mime=image/png" -T "$SERVER_DIR/pic.png"
	cmp -s "$SERVER_DIR/pic.png" "$SERVER_DIR/capsule/pics/a.png" ||
	    fail "the image is not what was sent"
	[ "$(gem_header /pics/a.png)" = "20 image/png" ] ||
	    fail "image header: $(gem_header /pics/a.png)"
	[ "$(titan_leftovers "$_n")" = 0 ] || fail "temporary files left"
}

test_titan_with_openssl_s_client() {
	titan_server || return 1
	_h=$( (printf 'titan://localhost:%s/notes/s.txt;size=5;token=s3cret%%20token\r\nhello' \
	    "$GEMINI_PORT") | timeout 10 openssl s_client -quiet \
	    -connect "127.0.0.1:$GEMINI_PORT" -servername localhost \
	    -cert "$TITAN_PKI/author.crt" -key "$TITAN_PKI/author.key" \
	    2>/dev/null | head -n 1 | tr -d '\r')
	[ "$_h" = "30 gemini://localhost:$GEMINI_PORT/notes/s.txt" ] ||
	    fail "s_client upload: '$_h'"
	[ "$(cat "$SERVER_DIR/capsule/notes/s.txt")" = hello ] ||
	    fail "s_client upload content"
}

test_titan_too_big_59() {
	titan_server || return 1
	titan_expect "59 Upload is larger than the limit of 2048 bytes here" \
	    author "/notes/big.md;size=2049;token=s3cret%20token" -R x:2049
	log_has '"titan://[^"]*/notes/big.md;[^"]*" 59 .*upload of 2049 bytes is above max_size 2048'
	titan_expect "59 size is above the largest upload capsuled accepts (67108864 bytes)" \
	    author "/notes/big.md;size=67108865;token=s3cret%20token"
	# The limit itself passes.
	titan_expect "30 *" author "/notes/max.md;size=2048;token=s3cret%20token" \
	    -R x:2048
	[ "$(wc -c <"$SERVER_DIR/capsule/notes/max.md")" = 2048 ] ||
	    fail "max.md is not 2048 bytes"
	[ ! -e "$SERVER_DIR/capsule/notes/big.md" ] || fail "big.md was written"
}

test_titan_bad_size_59() {
	titan_server || return 1
	titan_expect "59 size is missing" author "/notes/a.md;token=s3cret%20token"
	titan_expect "59 size must be a decimal number" author \
	    "/notes/a.md;size=+5;token=s3cret%20token"
	titan_expect "59 size must be a decimal number" author \
	    "/notes/a.md;size=5x;token=s3cret%20token"
	titan_expect "59 size must not start with 0" author \
	    "/notes/a.md;size=05;token=s3cret%20token"
	titan_expect "59 size=0 (deleting) is not supported" author \
	    "/notes/first.md;size=0;token=s3cret%20token"
	[ -f "$SERVER_DIR/capsule/notes/first.md" ] || fail "first.md is gone"
	[ ! -e "$SERVER_DIR/capsule/notes/a.md" ] || fail "a.md was written"
}

test_titan_wrong_token_59() {
	titan_server || return 1
	titan_expect "59 Wrong or missing token" author \
	    "/notes/t.md;size=2;token=s3cret" -R x:2
	titan_expect "59 Wrong or missing token" author \
	    "/notes/t.md;size=2;token=s3cret%20token%20" -R x:2
	titan_expect "59 Wrong or missing token" author "/notes/t.md;size=2" -R x:2
	log_has '"titan://[^"]*/notes/t.md;size=2;token=\*\{6\}\\r\\n" 59 .*subject="CN=author" Wrong or missing token'
	[ ! -e "$SERVER_DIR/capsule/notes/t.md" ] || fail "t.md was written"
}

test_titan_no_cert_60() {
	titan_server || return 1
	titan_expect "60 A client certificate is required" none \
	    "/notes/c.md;size=2;token=s3cret%20token" -R x:2
	titan_expect "60 A client certificate is required" none \
	    "/pics/c.png;size=2" -R x:2
	log_has '"titan://[^"]*/notes/c.md;[^"]*" 60 '
	[ ! -e "$SERVER_DIR/capsule/notes/c.md" ] || fail "c.md was written"
}

test_titan_unlisted_cert_61() {
	titan_server || return 1
	titan_expect "61 This certificate is not authorised here" stranger \
	    "/notes/c.md;size=2;token=s3cret%20token" -R x:2
	# openssl s_client with the same certificate: the same answer.
	_h=$(printf 'titan://localhost:%s/notes/c.md;size=2;token=s3cret%%20token\r\nxx' \
	    "$GEMINI_PORT" | timeout 10 openssl s_client -quiet \
	    -connect "127.0.0.1:$GEMINI_PORT" -servername localhost \
	    -cert "$TITAN_PKI/stranger.crt" -key "$TITAN_PKI/stranger.key" \
	    2>/dev/null | head -n 1 | tr -d '\r')
	[ "$_h" = "61 This certificate is not authorised here" ] ||
	    fail "s_client stranger: '$_h'"
	log_has '"titan://[^"]*/notes/c.md;[^"]*" 61 .*subject="CN=stranger"'
	[ ! -e "$SERVER_DIR/capsule/notes/c.md" ] || fail "c.md was written"
}

test_titan_client_leaves_half_way() {
	titan_server || return 1
	_n=$SERVER_DIR/capsule/notes
	_before=$(cat "$_n/first.md")
	# Ten bytes of a thousand, then close_notify and close.
	gem -c "$TITAN_PKI/author.crt" -k "$TITAN_PKI/author.key" -q \
	    127.0.0.1 "$GEMINI_PORT" \
	    "titan://localhost:$GEMINI_PORT/notes/first.md;size=1000;token=s3cret%20token\r\n0123456789"
	log_has '/notes/first.md;[^"]*" 0 0 .*client closed during the upload; nothing kept' ||
	    return 1
	[ "$(cat "$_n/first.md")" = "$_before" ] ||
	    fail "first.md changed by an abandoned upload"
	[ "$(titan_leftovers "$_n")" = 0 ] ||
	    fail "a temporary file was left: $(ls -A "$_n")"
}

test_titan_deadline_mid_upload() {
	titan_server || return 1
	_n=$SERVER_DIR/capsule/notes
	# The client sends part of the body and waits for an answer that
	# never comes: the request deadline (2 s here) ends it.
	gem -c "$TITAN_PKI/author.crt" -k "$TITAN_PKI/author.key" -t 10 \
	    -o header 127.0.0.1 "$GEMINI_PORT" \
	    "titan://localhost:$GEMINI_PORT/notes/slow.md;size=100;token=s3cret%20token\r\nhalf" \
	    >"$SERVER_DIR/slow.out" &
	_pid=$!
	# Meanwhile the body has a temporary file: the check below means it.
	_t=0
	while [ "$(titan_leftovers "$_n")" = 0 ] && [ $_t -lt 100 ]; do
		sleep 0.05
		_t=$((_t + 1))
	done
	[ "$(titan_leftovers "$_n")" = 1 ] || fail "no temporary file during the upload"
	wait "$_pid"
	[ -s "$SERVER_DIR/slow.out" ] && fail "got an answer: $(cat "$SERVER_DIR/slow.out")"
	log_has '/notes/slow.md;[^"]*" 0 0 .*request timeout during the upload; nothing kept' ||
	    return 1
	[ ! -e "$_n/slow.md" ] || fail "slow.md was written"
	[ "$(titan_leftovers "$_n")" = 0 ] ||
	    fail "a temporary file was left: $(ls -A "$_n")"
}

test_titan_path_traversal() {
	titan_server || return 1
	_c=$SERVER_DIR/capsule
	_about=$(cat "$_c/about.gmi")
	titan_expect "59 Uploads are not accepted here" author \
	    "/notes/../about.gmi;size=2;token=s3cret%20token" -R x:2
	titan_expect "59 Uploads are not accepted here" author \
	    "/notes/%2e%2e/about.gmi;size=2;token=s3cret%20token" -R x:2
	titan_expect "59 path goes above the root" author \
	    "/notes/%2e%2e/%2e%2e/x.md;size=2;token=s3cret%20token" -R x:2
	titan_expect "59 Uploads are not accepted here" author \
	    "/notesx/a.md;size=2;token=s3cret%20token" -R x:2
	titan_expect "51 No such directory: create it before uploading into it" \
	    author "/notes/out/x.md;size=2;token=s3cret%20token" -R x:2
	titan_expect "51 No such directory: create it before uploading into it" \
	    author "/notes/none/x.md;size=2;token=s3cret%20token" -R x:2
	titan_expect "59 Hidden files and directories cannot be uploaded to" \
	    author "/notes/.x.md;size=2;token=s3cret%20token" -R x:2
	titan_expect "59 Only .gmi, .md, .txt and image files*" author \
	    "/notes/x.sh;size=2;token=s3cret%20token" -R x:2
	titan_expect "59 This name is taken by a directory or a special file" \
	    author "/notes/dir.md;size=2;token=s3cret%20token" -R x:2
	titan_expect "59 Uploads are not accepted here" author \
	    "/pics/a.gmi;size=2" -R x:2
	[ "$(cat "$_c/about.gmi")" = "$_about" ] || fail "about.gmi changed"
	[ -z "$(ls -A "$TITAN_OUTSIDE")" ] ||
	    fail "wrote outside the capsule: $(ls -A "$TITAN_OUTSIDE")"
	[ ! -e "$_c/x.md" ] && [ ! -e "$WORK/x.md" ] || fail "x.md was written"
	# A subdirectory that exists is fine.
	titan_expect "30 gemini://localhost:$GEMINI_PORT/notes/sub/" author \
	    "/notes/sub/index.gmi;size=2;token=s3cret%20token" -R x:2
}

test_titan_off_by_default() {
	# The default config has no upload rule.
	start_server || return 1
	_h=$(gem -o header 127.0.0.1 "$GEMINI_PORT" \
	    "titan://localhost:$GEMINI_PORT/blog/x.md;size=2\r\nxx")
	[ "$_h" = "59 Uploads are not accepted here" ] || fail "default: '$_h'"
	[ ! -e "$SERVER_DIR/capsule/blog/x.md" ] || fail "x.md was written"
	log_has '"titan://[^"]*/blog/x.md;size=2\\r\\n" 59 .*no titan rule for this path'
}

test_titan_bad_configs_fail_the_check() {
	_d=$(mktemp -d "$WORK/titancheck.XXXXXX")
	mkdir -p "$_d/a"
	_top="root: $_d/a
tls: {certdir: $_d/certs}"
	printf '%s\npaths:\n  - prefix: /notes/\n    titan: {token: x}\n' \
	    "$_top" >"$_d/bad.yaml"
	_out=$("$CAPSULED" -n -c "$_d/bad.yaml" 2>&1)
	[ $? -eq 1 ] || fail "-n accepted titan without client_cert"
	case "$_out" in
	"$_d/bad.yaml:5:12: 'paths.titan' needs 'client_cert' in the same entry, or anyone could upload; add e.g. client_cert:"*) ;;
	*) fail "-n said: $_out" ;;
	esac
	printf '%s\npaths:\n  - prefix: /notes/\n    client_cert: {fingerprints: ["%s"]}\n    titan: {max_size: 99999999}\n' \
	    "$_top" "$(printf '%064d' 0)" >"$_d/bad.yaml"
	_out=$("$CAPSULED" -n -c "$_d/bad.yaml" 2>&1)
	case "$_out" in
	"$_d/bad.yaml:6:23: 'titan.max_size' must be a number of bytes from 1 to 67108864"*) ;;
	*) fail "-n said: $_out" ;;
	esac
	printf '%s\npaths:\n  - prefix: /notes/\n    client_cert: {fingerprints: ["%s"]}\n    titan: {}\n' \
	    "$_top" "$(printf '%064d' 0)" >"$_d/good.yaml"
	"$CAPSULED" -n -c "$_d/good.yaml" | grep -q "configuration OK" ||
	    fail "a good upload rule does not check"
}
