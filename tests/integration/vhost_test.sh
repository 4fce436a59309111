# Virtual hosts, path rules and client certificates.
#
# The tests share one server (vhost_server): the default config plus two
# more vhosts and path rules on paths the other suites never ask for, so
# the server left running is still a default one for the tests after.

PKI=$WORK/pki
VHOSTS=$WORK/vhosts
VHOST_PID=""

# key NAME: a P-256 key in $PKI/NAME.key.
key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$PKI/$1.key" 2>/dev/null
}

# ca_sign NAME START END: a certificate for CN=NAME signed by the test CA,
# valid from START to END (YYYYMMDDHHMMSSZ), made with openssl ca.
ca_sign() {
	key "$1"
	openssl req -new -key "$PKI/$1.key" -subj "/CN=$1" -out "$PKI/$1.csr"
	openssl ca -batch -config "$PKI/ca.cnf" -cert "$PKI/ca.crt" \
	    -keyfile "$PKI/ca.key" -in "$PKI/$1.csr" -out "$PKI/$1.crt" \
	    -startdate "$2" -enddate "$3" -notext 2>/dev/null
}

# make_pki: a CA and the client certificates the tests present: alice
# (signed by the CA), bob (self-signed, listed by fingerprint), mallory
# (self-signed, unlisted), old (signed, expired), early (signed, valid only
# from 2090).
make_pki() {
	[ -f "$PKI/done" ] && return 0
	mkdir -p "$PKI"
	key ca
	openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=Test CA" \
	    -days 30 -out "$PKI/ca.crt"
	cat >"$PKI/ca.cnf" <<EOF
[ca]
default_ca = test
[test]
database = $PKI/index.txt
new_certs_dir = $PKI
serial = $PKI/serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
EOF
	: >"$PKI/index.txt"
	echo 1000 >"$PKI/serial"
	ca_sign alice "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" \
	    "$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)"
	ca_sign old 20200101000000Z 20210101000000Z
	ca_sign early 20900101000000Z 20910101000000Z
	for _c in bob mallory; do
		key "$_c"
		openssl req -x509 -new -key "$PKI/$_c.key" -subj "/CN=$_c" \
		    -days 30 -out "$PKI/$_c.crt"
	done
	# c.test brings its own certificate instead of a generated one.
	key c.test
	openssl req -x509 -new -key "$PKI/c.test.key" -subj "/CN=c.test own" \
	    -days 30 -out "$PKI/c.test.crt"
	touch "$PKI/done"
}

# fingerprint NAME: the SHA-256 fingerprint of NAME's certificate, as
# openssl prints it (upper case, colons).
fingerprint() {
	openssl x509 -in "$PKI/$1.crt" -noout -fingerprint -sha256 |
	    sed 's/.*=//'
}

vhost_yaml() {
	cat <<YAML
types: {nfo: text/x-nfo}
paths:
  - prefix: /old/
    redirect: /docs/
    status: 31
  - prefix: /moved
    redirect: "gemini://b.test/"
  - prefix: /members/
    client_cert:
      ca: $PKI/ca.crt
      fingerprints: ["$(fingerprint bob)"]
  - prefix: /fr/
    lang: fr
    charset: iso-8859-1
    default_type: text/plain
    types: {nfo: text/x-nfo-fr}
vhosts:
  - hostname: b.test
    aliases: [www.b.test]
    root: $VHOSTS/b
  - hostname: c.test
    root: $VHOSTS/c
    lang: de
    tls:
      cert: $PKI/c.test.crt
      key: $PKI/c.test.key
YAML
}

# vhost_server: make sure the shared server of this suite is running.
vhost_server() {
	if [ -n "$SERVER_PID" ] && [ "$SERVER_PID" = "$VHOST_PID" ] &&
	    kill -0 "$SERVER_PID" 2>/dev/null; then
		return 0
	fi
	make_pki
	mkdir -p "$VHOSTS/b" "$VHOSTS/c"
	printf '# Capsule B\n' >"$VHOSTS/b/index.gmi"
	printf '# Capsule C\n' >"$VHOSTS/c/index.gmi"
	chmod 600 "$PKI/c.test.key"
	start_server "$(vhost_yaml)" || return 1
	_c=$SERVER_DIR/capsule
	mkdir -p "$_c/members" "$_c/fr"
	printf '# Members only\n' >"$_c/members/secret.gmi"
	printf '# Bonjour\n' >"$_c/fr/index.gmi"
	printf 'art\n' >"$_c/fr/a.nfo"
	printf 'plain\n' >"$_c/fr/noext"
	printf 'art\n' >"$_c/x.nfo"
	VHOST_PID=$SERVER_PID
}

# served_subject SNI: the subject of the certificate the server presents
# for that SNI name ("" for none).
served_subject() {
	if [ -n "$1" ]; then
		_sn="-servername $1"
	else
		_sn="-noservername"
	fi
	# shellcheck disable=SC2086
	echo | openssl s_client -connect "127.0.0.1:$GEMINI_PORT" $_sn \
	    2>/dev/null | openssl x509 -noout -subject
}

# vhost_header HOST PATH: the header for PATH on HOST, with HOST as SNI.
vhost_header() {
	gem -s "$1" -o header 127.0.0.1 "$GEMINI_PORT" \
	    "gemini://$1:$GEMINI_PORT$2\r\n"
}

# with_cert NAME PATH: the header for PATH with NAME's certificate, sent
# by openssl s_client ("none": no certificate).
with_cert() {
	_cert=""
	[ "$1" != none ] && _cert="-cert $PKI/$1.crt -key $PKI/$1.key"
	# shellcheck disable=SC2086
	printf 'gemini://localhost:%s%s\r\n' "$GEMINI_PORT" "$2" |
	    timeout 10 openssl s_client -quiet -connect \
	    "127.0.0.1:$GEMINI_PORT" -servername localhost $_cert 2>/dev/null |
	    head -n 1 | tr -d '\r'
}

test_vhost_sni_picks_the_certificate() {
	vhost_server || return 1
	[ "$(served_subject localhost)" = "subject=CN = localhost" ] ||
	    fail "localhost: $(served_subject localhost)"
	[ "$(served_subject b.test)" = "subject=CN = b.test" ] ||
	    fail "b.test: $(served_subject b.test)"
	[ "$(served_subject WWW.b.test)" = "subject=CN = b.test" ] ||
	    fail "alias: $(served_subject WWW.b.test)"
	[ "$(served_subject c.test)" = "subject=CN = c.test own" ] ||
	    fail "c.test: $(served_subject c.test)"
	# No SNI, or a name no vhost has: the first vhost's certificate.
	[ "$(served_subject "")" = "subject=CN = localhost" ] ||
	    fail "no SNI: $(served_subject "")"
	[ "$(served_subject nowhere.test)" = "subject=CN = localhost" ] ||
	    fail "unknown SNI: $(served_subject nowhere.test)"
	# Generated per hostname, only where none was configured.
	openssl x509 -in "$SERVER_DIR/certs/b.test.crt" -noout \
	    -ext subjectAltName 2>/dev/null | grep -q 'DNS:b.test' ||
	    fail "no generated certificate for b.test"
	[ ! -e "$SERVER_DIR/certs/c.test.crt" ] ||
	    fail "generated a certificate for c.test, which has its own"
}

test_vhost_serves_its_own_capsule() {
	vhost_server || return 1
	_b=$(gem -s b.test -o body 127.0.0.1 "$GEMINI_PORT" \
	    "gemini://b.test:$GEMINI_PORT/\r\n")
	[ "$_b" = "# Capsule B" ] || fail "b.test body: $_b"
	_b=$(gem -s www.b.test -o body 127.0.0.1 "$GEMINI_PORT" \
	    "gemini://www.b.test:$GEMINI_PORT/\r\n")
	[ "$_b" = "# Capsule B" ] || fail "www.b.test body: $_b"
	[ "$(vhost_header c.test /)" = "20 text/gemini; charset=utf-8; lang=de" ] ||
	    fail "c.test header: $(vhost_header c.test /)"
	_b=$(gem -s c.test -o body 127.0.0.1 "$GEMINI_PORT" \
	    "gemini://c.test:$GEMINI_PORT/\r\n")
	[ "$_b" = "# Capsule C" ] || fail "c.test body: $_b"
	# Each vhost has only its own files and rules.
	vhost_header b.test /about.gmi | grep -q '^51 ' ||
	    fail "b.test serves the default capsule's about.gmi"
	vhost_header b.test /old/x | grep -q '^51 ' ||
	    fail "b.test applies the default vhost's rules"
	# Without SNI the request's host still picks the capsule.
	_b=$(gem -s '' -o body 127.0.0.1 "$GEMINI_PORT" \
	    "gemini://b.test:$GEMINI_PORT/\r\n")
	[ "$_b" = "# Capsule B" ] || fail "b.test without SNI: $_b"
	log_has "b.test gemini \"gemini://b.test:[0-9]*/\\\\r\\\\n\" 20 "
}

test_vhost_unknown_host_53() {
	vhost_server || return 1
	vhost_header nowhere.test / | grep -q '^53 ' || fail "unknown host not 53"
	# A name of another vhost than the handshake's: today's 53.
	gem -s b.test -o header 127.0.0.1 "$GEMINI_PORT" \
	    "gemini://c.test:$GEMINI_PORT/\r\n" | grep -q '^53 ' ||
	    fail "SNI b.test with host c.test not 53"
}

test_vhost_redirect_carries_the_path() {
	vhost_server || return 1
	expect_header "$(url /old/requests.gmi)\r\n" "31 /docs/requests.gmi"
	expect_header "$(url '/old/a%20b/c.gmi?x=1')\r\n" "31 /docs/a%20b/c.gmi?x=1"
	expect_header "$(url /old)\r\n" "31 /docs/"
	expect_header "$(url //old//requests.gmi)\r\n" "31 /docs/requests.gmi"
	expect_header "$(url /moved/a/b.gmi)\r\n" "30 gemini://b.test/a/b.gmi"
	expect_header "$(url /moved)\r\n" "30 gemini://b.test/"
	# Not a prefix of whole segments: no redirect.
	expect_header "$(url /older)\r\n" "51 *"
	# The target is served.
	expect_header "$(url /docs/requests.gmi)\r\n" "20 text/gemini*"
	log_has '"gemini://localhost:[0-9]*/old/requests.gmi\\r\\n" 31 .*redirected by a path rule'
}

test_vhost_lang_charset_and_types() {
	vhost_server || return 1
	expect_header "$(url /fr/)\r\n" \
	    "20 text/gemini; charset=iso-8859-1; lang=fr"
	expect_header "$(url /fr/a.nfo)\r\n" "20 text/x-nfo-fr; charset=iso-8859-1"
	expect_header "$(url /fr/noext)\r\n" "20 text/plain; charset=iso-8859-1"
	expect_header "$(url /x.nfo)\r\n" "20 text/x-nfo"
	# Outside the rules, the defaults.
	expect_header "$(url /about.gmi)\r\n" "20 text/gemini; charset=utf-8; lang=en"
	expect_header "$(url /big.bin)\r\n" "20 application/octet-stream"
}

test_vhost_client_cert_missing_60() {
	vhost_server || return 1
	_h=$(with_cert none /members/secret.gmi)
	[ "$_h" = "60 A client certificate is required" ] || fail "no cert: '$_h'"
	_h=$(with_cert none /members)
	[ "${_h%% *}" = 60 ] || fail "/members without slash: '$_h'"
}

test_vhost_client_cert_signed_by_the_ca_20() {
	vhost_server || return 1
	_h=$(with_cert alice /members/secret.gmi)
	[ "$_h" = "20 text/gemini; charset=utf-8; lang=en" ] ||
	    fail "alice: '$_h'"
	_fp=$(fingerprint alice | tr -d : | tr 'A-F' 'a-f')
	log_has "members/secret.gmi\\\\r\\\\n\" 20 .* cert=SHA256:$_fp subject=\"CN=alice\""
}

test_vhost_client_cert_listed_20() {
	vhost_server || return 1
	_h=$(with_cert bob /members/secret.gmi)
	[ "${_h%% *}" = 20 ] || fail "bob: '$_h'"
	# Our own client too, with the body.
	_b=$(gem -c "$PKI/bob.crt" -k "$PKI/bob.key" -o body 127.0.0.1 \
	    "$GEMINI_PORT" "$(url /members/secret.gmi)\r\n")
	[ "$_b" = "# Members only" ] || fail "bob body: $_b"
}

test_vhost_client_cert_unknown_61() {
	vhost_server || return 1
	_h=$(with_cert mallory /members/secret.gmi)
	[ "$_h" = "61 This certificate is not authorised here" ] ||
	    fail "mallory: '$_h'"
	log_has "61 .* cert=SHA256:[0-9a-f]\{64\} subject=\"CN=mallory\""
}

test_vhost_client_cert_out_of_dates_62() {
	vhost_server || return 1
	_h=$(with_cert old /members/secret.gmi)
	[ "$_h" = "62 This certificate is expired or not yet valid" ] ||
	    fail "expired: '$_h'"
	_h=$(with_cert early /members/secret.gmi)
	[ "${_h%% *}" = 62 ] || fail "not yet valid: '$_h'"
}

test_vhost_client_cert_asked_only_where_a_rule_needs_it() {
	vhost_server || return 1
	# s_client prints the server's CertificateRequest algorithms.
	echo | openssl s_client -connect "127.0.0.1:$GEMINI_PORT" \
	    -servername localhost 2>/dev/null |
	    grep -q '^Requested Signature Algorithms' ||
	    fail "localhost, which has a client_cert rule, did not ask"
	echo | openssl s_client -connect "127.0.0.1:$GEMINI_PORT" \
	    -servername b.test 2>/dev/null |
	    grep -q '^Requested Signature Algorithms' &&
	    fail "b.test, without a client_cert rule, asked"
	# Elsewhere on a vhost that asks, a certificate changes nothing.
	_h=$(with_cert mallory /about.gmi)
	[ "${_h%% *}" = 20 ] || fail "mallory on /about.gmi: '$_h'"
	return 0
}

test_vhost_client_cert_survives_resumption() {
	vhost_server || return 1
	_s=$SERVER_DIR/alice.session
	for _i in 1 2; do
		_o=$(gem -c "$PKI/alice.crt" -k "$PKI/alice.key" -r "$_s" -v \
		    -o status 127.0.0.1 "$GEMINI_PORT" \
		    "$(url /members/secret.gmi)\r\n" 2>&1)
		case "$_o" in
		20*) ;;
		*) fail "connection $_i: $_o" ;;
		esac
	done
	case "$_o" in
	*"resumed: yes"*) ;;
	*) fail "second connection not resumed: $_o" ;;
	esac
	# Resumption works on a vhost other than the first, too.
	_s=$SERVER_DIR/b.session
	gem -s b.test -r "$_s" -o status 127.0.0.1 "$GEMINI_PORT" \
	    "gemini://b.test:$GEMINI_PORT/\r\n" >/dev/null
	gem -s b.test -r "$_s" -v -o status 127.0.0.1 "$GEMINI_PORT" \
	    "gemini://b.test:$GEMINI_PORT/\r\n" 2>&1 | grep -q 'resumed: yes' ||
	    fail "b.test session not resumed"
}

test_vhost_gopher_serves_the_default_vhost() {
	vhost_server || return 1
	_r=$("$GEMCLIENT" -P -t 10 127.0.0.1 "$GOPHER_PORT" "/members/secret.gmi\r\n")
	case "$_r" in
	"3This page needs a client certificate"*) ;;
	*) fail "protected path over Gopher: $_r" ;;
	esac
	# A redirect within the capsule is followed: selectors cannot move.
	_r=$("$GEMCLIENT" -P -t 10 127.0.0.1 "$GOPHER_PORT" "/old/requests.gmi\r\n")
	_d=$("$GEMCLIENT" -P -t 10 127.0.0.1 "$GOPHER_PORT" "/docs/requests.gmi\r\n")
	[ -n "$_d" ] && [ "$_r" = "$_d" ] || fail "/old/ over Gopher: $_r"
	_r=$("$GEMCLIENT" -P -t 10 127.0.0.1 "$GOPHER_PORT" "/moved/x\r\n")
	case "$_r" in
	"3This page has moved"*) ;;
	*) fail "moved away over Gopher: $_r" ;;
	esac
}

test_vhost_reload_applies_vhost_changes() {
	vhost_server || return 1
	mkdir -p "$VHOSTS/later"
	printf '# Capsule Later\n' >"$VHOSTS/later/index.gmi"
	cat >>"$SERVER_DIR/capsuled.yaml" <<YAML
  - hostname: later.test
    root: $VHOSTS/later
YAML
	: >"$SERVER_DIR/log"
	kill -HUP "$SERVER_PID"
	wait_log "reloaded:" 10 || { fail "no reload"; return; }
	_b=$(gem -s later.test -o body 127.0.0.1 "$GEMINI_PORT" \
	    "gemini://later.test:$GEMINI_PORT/\r\n")
	[ "$_b" = "# Capsule Later" ] || fail "later.test after reload: $_b"
	[ "$(served_subject later.test)" = "subject=CN = later.test" ] ||
	    fail "later.test certificate: $(served_subject later.test)"
}

# check_error YAML WANT: capsuled -n on YAML fails with a message
# matching the pattern WANT (file:line:col first).
check_error() {
	_f=$CHECK_DIR/bad.yaml
	printf '%s\n' "$1" >"$_f"
	_out=$("$CAPSULED" -n -c "$_f" 2>&1)
	_rc=$?
	[ "$_rc" -eq 1 ] || fail "-n exit $_rc for: $1"
	case "$_out" in
	"$_f":$2) ;;
	*) fail "-n said: $_out (wanted $2)" ;;
	esac
}

test_vhost_bad_configs_fail_the_check() {
	CHECK_DIR=$(mktemp -d "$WORK/vhcheck.XXXXXX")
	mkdir -p "$CHECK_DIR/a" "$CHECK_DIR/b"
	_top="root: $CHECK_DIR/a
tls: {certdir: $CHECK_DIR/certs}"
	printf '%s\nvhosts:\n  - {hostname: b.test, root: %s/b}\n' "$_top" \
	    "$CHECK_DIR" >"$CHECK_DIR/good.yaml"
	"$CAPSULED" -n -c "$CHECK_DIR/good.yaml" | grep -q "configuration OK" ||
	    fail "a good config does not check"
	check_error "$_top
vhosts:
  - {hostname: b.test, root: b}
  - {hostname: B.TEST, root: b}" \
	    "5:16: host name 'b.test' is already served by the vhost at line 4; give each name to one vhost, once"
	check_error "$_top
aliases: [www.b.test]
vhosts:
  - {hostname: b.test, aliases: [www.b.test], root: b}" \
	    "5:34: host name 'www.b.test' is already served by the top-level vhost*"
	check_error "$_top
vhosts:
  - hostname: b.test" \
	    "4:5: vhost 'b.test' has no 'root'; add root: DIRECTORY*"
	check_error "$_top
vhosts:
  - {hostname: b.test, root: $CHECK_DIR/none}" \
	    "4:30: root '$CHECK_DIR/none' cannot be used: No such file or directory; create the directory or correct the path"
	check_error "root: $CHECK_DIR/a
tls:
  certdir: $CHECK_DIR/no/certs" \
	    "3:12: certificate directory '$CHECK_DIR/no/certs' does not exist and cannot be made*mkdir -p*"
	check_error "$_top
vhosts:
  - {hostname: b.test, root: b, lnag: en}" \
	    "4:33: unknown key 'lnag' in a 'vhosts' entry (did you mean 'lang'?)*"
	check_error "$_top
paths:
  - {prefix: /a/, client_cert: {fingerprints: [abc]}}" \
	    "4:48: 'client_cert.fingerprints' entry 'abc' is not a SHA-256 fingerprint*"
	check_error "$_top
paths:
  - {prefix: /a/, client_cert: {ca: $CHECK_DIR/none.crt}}" \
	    "4:37: client_cert CA file '$CHECK_DIR/none.crt' cannot be read*"
	# Start-up says the same, and stops.
	_out=$("$CAPSULED" -f -c "$CHECK_DIR/bad.yaml" 2>&1)
	[ $? -eq 1 ] || fail "start-up did not fail on a bad config"
	case "$_out" in
	*"$CHECK_DIR/bad.yaml:4:37: client_cert CA file"*) ;;
	*) fail "start-up message: $_out" ;;
	esac
}
