# proxy_test.sh: the PROXY protocol and the scale-out set-up of the README,
# for real: Debian's haproxy in TCP mode on loopback in front of two
# capsuled instances that share one certificate, one session-ticket key
# file and one capsule.  haproxy sends PROXY v2 to the Gemini listeners and
# v1 to the Gopher ones.  Sourced by run.sh after lib.sh.
#
# Each test builds what it needs under $WORK and stops it before it
# returns; the shared server of run.sh is left alone.

PX=""		# this test's directory
PX_PIDS=""	# what it started, stopped by px_down
PX_FRONT=""	# haproxy's ports: gemini, gemini to A only, to B only, gopher

# px_dir: a fresh directory with the shared capsule, key and certificate.
px_dir() {
	PX=$(mktemp -d "$WORK/proxy.XXXXXX")
	PX_PIDS=""
	mkdir -p "$PX/capsule"
	printf '# One capsule\n\nServed by whichever instance you reach.\n' \
	    >"$PX/capsule/index.gmi"
	openssl rand 80 >"$PX/ticket.key"
	chmod 600 "$PX/ticket.key"
}

# px_poll FILE PATTERN: wait up to 10 s for a line matching in FILE.
px_poll() {
	_deadline=$(( $(date +%s) + 10 ))
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		[ "$(date +%s)" -ge "$_deadline" ] && return 1
		sleep 0.02
	done
}

# px_poll_count FILE PATTERN N: wait up to 10 s for N lines matching.
px_poll_count() {
	_deadline=$(( $(date +%s) + 10 ))
	while [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -lt "$3" ]; do
		[ "$(date +%s)" -ge "$_deadline" ] && return 1
		sleep 0.02
	done
}

# px_start NAME [DEBUG]: a capsuled whose listeners all expect a PROXY
# header and trust 127.0.0.1 only, logging debug lines unless DEBUG is
# false.  The first one generates the shared certificate.
px_start() {
	mkdir -p "$PX/$1"
	cat >"$PX/$1/capsuled.yaml" <<YAML
hostname: localhost
root: $PX/capsule
tls:
  certdir: $PX/certs
  ticket_key: $PX/ticket.key
gemini:
  listen: [{address: "127.0.0.1:0", proxy_protocol: true}]
gopher:
  listen: [{address: "127.0.0.1:0", proxy_protocol: true}]
proxy_from: [127.0.0.1]
workers: 1
log: {access: "-", error: "-", debug: ${2:-true}}
timeouts: {handshake: 2, request: 2, write: 5}
YAML
	"$CAPSULED" -f -c "$PX/$1/capsuled.yaml" >"$PX/$1/log" 2>&1 &
	PX_PIDS="$PX_PIDS $!"
	if ! px_poll "$PX/$1/log" "ready:"; then
		cat "$PX/$1/log"
		fail "capsuled $1 did not start"
		return 1
	fi
	_line=$(grep "ready:" "$PX/$1/log")
	echo "$_line" | sed -n 's/.*gemini on [^ ]*:\([0-9]*\).*/\1/p' \
	    >"$PX/$1/gemini"
	echo "$_line" | sed -n 's/.*gopher on [^ ]*:\([0-9]*\).*/\1/p' \
	    >"$PX/$1/gopher"
}

# px_port NAME PROTO: the port instance NAME listens on for PROTO.
px_port() {
	cat "$PX/$1/$2"
}

# px_log NAME: instance NAME's log.
px_log() {
	cat "$PX/$1/log"
}

# px_free_ports N: N distinct ports nothing listens on, from below the
# range the kernel hands out to outgoing connections.
px_free_ports() {
	_want=$1
	_got=""
	_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
	[ "$_low" -gt 20000 ] || _low=30000
	while [ "$_want" -gt 0 ]; do
		_p=$(od -An -N2 -tu2 /dev/urandom)
		_p=$(( 10000 + _p % (_low - 10000) ))
		case " $_got " in *" $_p "*) continue ;; esac
		[ -z "$(ss -Htln "sport = :$_p")" ] || continue
		_got="$_got $_p"
		_want=$((_want - 1))
	done
	echo $_got
}

# px_haproxy_config GEM_A GEM_B GOPHER_A GOPHER_B: haproxy.cfg on the
# ports in PX_FRONT.  Its log names, for each connection, the client's
# address (%ci:%cp) and the one haproxy connected from (%bi:%bp).
px_haproxy_config() {
	set -- $PX_FRONT "$@"
	cat >"$PX/haproxy.cfg" <<CFG
global
	log stdout format raw local0
	maxconn 256

defaults
	mode tcp
	log global
	log-format "%ci:%cp %bi:%bp %b/%s"
	timeout connect 3s
	timeout client 10s
	timeout server 10s

frontend gemini
	bind 127.0.0.1:$1
	default_backend gemini
frontend gemini_a
	bind 127.0.0.1:$2
	default_backend gemini_a
frontend gemini_b
	bind 127.0.0.1:$3
	default_backend gemini_b
frontend gopher
	bind 127.0.0.1:$4
	default_backend gopher

backend gemini
	balance roundrobin
	server a 127.0.0.1:$5 send-proxy-v2
	server b 127.0.0.1:$6 send-proxy-v2
backend gemini_a
	server a 127.0.0.1:$5 send-proxy-v2
backend gemini_b
	server b 127.0.0.1:$6 send-proxy-v2
backend gopher
	balance roundrobin
	server a 127.0.0.1:$7 send-proxy
	server b 127.0.0.1:$8 send-proxy
CFG
}

# px_haproxy: start haproxy in front of a and b; another program may take
# a port between the check and the bind, so a failed start is retried.
px_haproxy() {
	for _try in 1 2 3; do
		PX_FRONT=$(px_free_ports 4)
		px_haproxy_config "$(px_port a gemini)" "$(px_port b gemini)" \
		    "$(px_port a gopher)" "$(px_port b gopher)"
		haproxy -db -f "$PX/haproxy.cfg" >"$PX/haproxy.log" 2>&1 &
		_pid=$!
		set -- $PX_FRONT
		_deadline=$(( $(date +%s) + 10 ))
		while kill -0 "$_pid" 2>/dev/null &&
		    [ "$(date +%s)" -lt "$_deadline" ]; do
			if [ -n "$(ss -Htln "sport = :$4")" ]; then
				PX_PIDS="$PX_PIDS $_pid"
				return 0
			fi
			sleep 0.02
		done
		kill "$_pid" 2>/dev/null
		wait "$_pid" 2>/dev/null
	done
	cat "$PX/haproxy.log"
	fail "haproxy did not start"
	return 1
}

# px_up: two instances, then haproxy in front of them.
px_up() {
	px_dir
	px_start a && px_start b && px_haproxy
}

px_down() {
	for _pid in $PX_PIDS; do
		kill -TERM "$_pid" 2>/dev/null
		wait "$_pid" 2>/dev/null
	done
	PX_PIDS=""
}

# px_front N: haproxy's N-th port (1 gemini, 2 gemini to a, 3 to b, 4 gopher).
px_front() {
	echo "$PX_FRONT" | cut -d' ' -f"$1"
}

has_haproxy() {
	command -v haproxy >/dev/null 2>&1 && return 0
	echo "     skipped: haproxy is not installed (apt-get install haproxy)"
	return 1
}

# px_via_haproxy BACKEND: the client and backend-side addresses of the
# last connection haproxy logged for BACKEND, as "CLIENT HAPROXY".
px_via_haproxy() {
	px_poll "$PX/haproxy.log" " $1/" || return 1
	grep " $1/" "$PX/haproxy.log" | tail -n 1 | cut -d' ' -f1,2
}

# px_check_client PROTO BACKEND VERSION: the instance that served the last
# request through BACKEND logged haproxy's client, not haproxy.
px_check_client() {
	_pair=$(px_via_haproxy "$2") ||
	    { fail "haproxy logged no $2"; return 1; }
	_client=${_pair% *}
	_hap=${_pair#* }
	[ "$_client" != "$_hap" ] || fail "client and haproxy are both $_client"
	_srv=$(grep " $2/" "$PX/haproxy.log" | tail -n 1 | sed 's|.*/||')
	_log="$PX/$_srv/log"
	px_poll "$_log" "^.* $_client [^ ]* $1 " ||
	    fail "$_srv's access log has no $1 line from $_client"
	grep -q "$_client: through $_hap (PROXY v$3)" "$_log" ||
	    fail "$_srv did not log $_client as coming through $_hap"
	if grep "$_hap .* $1 " "$_log" | grep -qv ": through"; then
		fail "$_srv logged haproxy's own address $_hap for a request"
	fi
}

_px_real_client_address() {
	_g=$(px_front 1)
	for _i in 1 2; do
		_h=$(gem -o header 127.0.0.1 "$_g" 'gemini://localhost/\r\n')
		[ "$_h" = "20 text/gemini; charset=utf-8" ] ||
		    fail "through haproxy: header '$_h'"
		px_check_client gemini gemini 2
		_b=$(curl -s "gopher://127.0.0.1:$(px_front 4)/")
		case "$_b" in
		*"Served by whichever instance"*) ;;
		*) fail "gopher through haproxy: '$_b'" ;;
		esac
		px_check_client gopher gopher 1
	done
	# Round robin: both instances served, each with the real client.
	for _s in a b; do
		grep -q ' localhost gemini "gemini://' "$PX/$_s/log" ||
		    fail "instance $_s served no Gemini request"
		grep -q ' - gopher "' "$PX/$_s/log" ||
		    fail "instance $_s served no Gopher request"
	done
}

# Logs (and rate limits) see the client haproxy accepted, with its port.
test_proxy_real_client_address() {
	has_haproxy || return 0
	px_up || { px_down; return 1; }
	_px_real_client_address
	_rc=$?
	px_down
	return $_rc
}

_px_ticket_resumes() {
	_sess="$PX/session.pem"
	printf 'gemini://localhost/\r\n' | openssl s_client -ign_eof \
	    -connect "127.0.0.1:$(px_front 2)" -servername localhost \
	    -sess_out "$_sess" >"$PX/first.out" 2>&1
	grep -q '^New, TLSv1.3' "$PX/first.out" ||
	    fail "first connection: $(grep -m1 'New\|Reused\|error' \
	    "$PX/first.out")"
	[ -s "$_sess" ] ||
	    { fail "no session saved from instance a"; return 1; }
	printf 'gemini://localhost/\r\n' | openssl s_client -ign_eof \
	    -connect "127.0.0.1:$(px_front 3)" -servername localhost \
	    -sess_in "$_sess" >"$PX/second.out" 2>&1
	grep -q '^Reused, TLSv1.3' "$PX/second.out" ||
	    fail "a's ticket did not resume on b: $(grep -m1 \
	    'New\|Reused\|error' "$PX/second.out")"
	grep -q '^20 text/gemini' "$PX/second.out" ||
	    fail "no response on the resumed session"
	px_poll "$PX/b/log" ' localhost gemini "gemini://localhost/' ||
	    fail "instance b did not serve the resumed request"
	grep -q "generated a self-signed" "$PX/b/log" &&
	    fail "instance b made its own certificate instead of sharing a's"
	return 0
}

# A ticket from instance a resumes on instance b: same key file.
test_proxy_ticket_resumes_across_instances() {
	has_haproxy || return 0
	px_up || { px_down; return 1; }
	_px_ticket_resumes
	_rc=$?
	px_down
	return $_rc
}

_px_malformed() {
	_out=$("$GEMCLIENT" -P -t 5 127.0.0.1 "$(px_port a gopher)" \
	    'PROXY TCP4 192.0.2.1 127.0.0.1 4000 70\n/\r\n' 2>/dev/null)
	[ -z "$_out" ] || fail "bad v1 header got a reply: '$_out'"
	px_poll "$PX/a/log" "closed on a PROXY protocol listener: version 1 \
line ends in LF without CR" || fail "no log line for the bad v1 header"
	_out=$("$GEMCLIENT" -P -t 5 127.0.0.1 "$(px_port a gemini)" \
	    '\r\n\r\n\0\r\nQUIT\n\x22\x11\x00\x0c' 2>/dev/null)
	[ -z "$_out" ] || fail "bad v2 header got a reply: '$_out'"
	px_poll "$PX/a/log" "closed on a PROXY protocol listener: version 2 \
command is neither LOCAL nor PROXY" || fail "no log line for the bad v2 header"
	grep -q '192\.0\.2\.1' "$PX/a/log" &&
	    fail "an address from a bad header reached the log"
	# A good header still works after them.
	_out=$("$GEMCLIENT" -P -t 5 127.0.0.1 "$(px_port a gopher)" \
	    'PROXY TCP4 192.0.2.9 127.0.0.1 4000 70\r\n/\r\n' 2>/dev/null)
	case "$_out" in
	*"Served by whichever instance"*) ;;
	*) fail "a good v1 header got '$_out'" ;;
	esac
	px_poll "$PX/a/log" '192\.0\.2\.9:4000 - gopher "/' ||
	    fail "the v1 source address is not in the access log"
}

# A malformed header closes the connection without a reply, with a reason.
test_proxy_malformed_header_closes() {
	px_dir
	px_start a || { px_down; return 1; }
	_px_malformed
	_rc=$?
	px_down
	return $_rc
}

_px_pieces() {
	# One byte at a time: v1, then v2 (TCP over IPv6, with a TLV), each
	# followed at once by the Gopher request that must still be read.
	_out=$("$GEMCLIENT" -P -d 2 -t 10 127.0.0.1 "$(px_port a gopher)" \
	    'PROXY TCP4 198.51.100.4 127.0.0.1 4001 70\r\n/\r\n' 2>/dev/null)
	case "$_out" in
	*"Served by whichever instance"*) ;;
	*) fail "v1 in pieces got '$_out'" ;;
	esac
	px_poll "$PX/a/log" '198\.51\.100\.4:4001 - gopher "/' ||
	    fail "v1 in pieces: source not in the access log"
	_out=$("$GEMCLIENT" -P -d 2 -t 10 127.0.0.1 "$(px_port a gopher)" \
	    '\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x2a'\
'\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x07'\
'\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01'\
'\x9c\x41\x00\x46\x04\x00\x03\0\0\0/\r\n' 2>/dev/null)
	case "$_out" in
	*"Served by whichever instance"*) ;;
	*) fail "v2 in pieces got '$_out'" ;;
	esac
	px_poll "$PX/a/log" '\[2001:db8::7\]:40001 - gopher "/' ||
	    fail "v2 in pieces: source not in the access log"
}

# A header that arrives in pieces is put together, and nothing after it
# is lost.
test_proxy_header_in_pieces() {
	px_dir
	px_start a || { px_down; return 1; }
	_px_pieces
	_rc=$?
	px_down
	return $_rc
}

_px_checks() {
	# What a balancer's health check does: a header, then goodbye.
	"$GEMCLIENT" -P -X 0 127.0.0.1 "$(px_port a gemini)" \
	    '\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00' >/dev/null 2>&1
	"$GEMCLIENT" -P -X 0 127.0.0.1 "$(px_port a gopher)" \
	    'PROXY TCP4 127.0.0.1 127.0.0.1 40000 70\r\n' >/dev/null 2>&1
	# Then a real request, whose line comes after any about the checks.
	"$GEMCLIENT" -P 127.0.0.1 "$(px_port a gopher)" \
	    'PROXY TCP4 192.0.2.44 127.0.0.1 4444 70\r\n/\r\n' >/dev/null 2>&1
	px_poll "$PX/a/log" "192\.0\.2\.44:4444 - gopher" ||
	    fail "no access line for the request after the checks"
	_noise=$(grep -v "192\.0\.2\.44\|running as root\|ready:\|generated a \
self-signed\|session-ticket keys" "$PX/a/log")
	[ -z "$_noise" ] || fail "health checks were logged: $_noise"
}

# Health checks (a header, then nothing) are accepted and logged only at
# the debug level, so they do not fill the logs.
test_proxy_health_checks_quiet() {
	px_dir
	px_start a false || { px_down; return 1; }
	_px_checks
	_rc=$?
	px_down
	return $_rc
}

_px_missing() {
	# TLS straight to the listener: its ClientHello is not a header.
	gem -t 5 127.0.0.1 "$(px_port a gemini)" 'gemini://localhost/\r\n' \
	    >/dev/null 2>&1
	_rc=$?
	[ "$_rc" -eq 2 ] || fail "TLS without a header: gemclient exit $_rc"
	px_poll "$PX/a/log" "127\.0\.0\.1:[0-9]*: closed on a PROXY protocol \
listener: no PROXY protocol header" ||
	    fail "no log line for TLS without a header"
	# Gopher straight to the listener.
	_out=$("$GEMCLIENT" -P -t 5 127.0.0.1 "$(px_port a gopher)" '/\r\n' \
	    2>/dev/null)
	[ -z "$_out" ] || fail "gopher without a header got '$_out'"
	px_poll_count "$PX/a/log" "closed on a PROXY protocol listener: no \
PROXY protocol header" 2 || fail "no log line for Gopher without a header"
	# Nothing at all: closed at the handshake deadline (2 s here).
	"$GEMCLIENT" -P -n -t 6 127.0.0.1 "$(px_port a gopher)" >/dev/null 2>&1
	_rc=$?
	[ "$_rc" -eq 0 ] ||
	    fail "silent client: gemclient exit $_rc (3 is a timeout)"
	px_poll "$PX/a/log" "no complete PROXY header before the handshake \
deadline" || fail "no log line for the missing header"
}

# A connection to a proxy listener that sends no header is closed.
test_proxy_missing_header_closes() {
	px_dir
	px_start a || { px_down; return 1; }
	_px_missing
	_rc=$?
	px_down
	return $_rc
}

_px_other_source() {
	# 127.0.0.2 is loopback too, but not in proxy_from.
	_out=$(curl -s --max-time 5 --interface 127.0.0.2 \
	    "gopher://127.0.0.1:$(px_port a gopher)/")
	[ -z "$_out" ] || fail "an untrusted source got '$_out'"
	px_poll "$PX/a/log" "127\.0\.0\.2:[0-9]*: closed on a PROXY protocol \
listener: refused: address not in proxy_from" ||
	    fail "no log line for the refused source"
	_out=$(curl -s --max-time 5 --interface 127.0.0.1 \
	    "gopher://127.0.0.1:$(px_port a gopher)/")
	[ -z "$_out" ] || fail "a trusted source without a header got '$_out'"
	grep -q "127\.0\.0\.1:[0-9]*: closed on a PROXY protocol listener: \
refused" "$PX/a/log" && fail "127.0.0.1 was refused too"
	return 0
}

# Only the addresses in proxy_from may talk to a proxy listener.
test_proxy_refuses_other_sources() {
	px_dir
	px_start a || { px_down; return 1; }
	_px_other_source
	_rc=$?
	px_down
	return $_rc
}
