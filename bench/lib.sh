# shellcheck shell=bash
# bench/lib.sh: sourced first by the benchmark scripts, with their
# arguments.  It runs the script again inside a private network namespace
# whose only interface is its own loopback, brings loopback up there, and
# defines what both scripts use.
#
# Molly Brown listens on every address and cannot be told otherwise, the
# ports are fixed, and a benchmark must not put a single packet on a real
# network: nothing in the namespace is reachable from outside, and it goes
# away with the last process.  Root gets one with unshare --net; anyone
# else may get one inside a user namespace, where the kernel allows it.
if [ "${CAPSULED_BENCH_NETNS:-}" != 1 ]; then
	export CAPSULED_BENCH_NETNS=1
	if [ "$(id -u)" -eq 0 ]; then
		exec unshare --net -- bash "$0" "$@"
	fi
	exec unshare --map-root-user --net -- bash "$0" "$@"
fi
# However we got here, serve nothing unless loopback is all there is.
if ip -o link show | grep -qv ': lo:'; then
	echo "$0: not in a private network namespace; refusing to start" >&2
	exit 1
fi
ip link set lo up

bench_name=bench/$(basename "$0")

die() {
	echo "$bench_name: $*" >&2
	exit 1
}

# bench_cert DIR: a P-256 certificate for localhost, DIR/cert.pem and
# DIR/key.pem, the key type every server in the benchmarks is given.
bench_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -keyout "$1/key.pem" -out "$1/cert.pem" -days 2 \
	    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
	    2>"$1/openssl.log" ||
	    { cat "$1/openssl.log" >&2; die "openssl could not make a certificate"; }
}

# wait_port NAME PID PORT LOG [SECONDS]: poll until PORT is listening,
# and fail with the server's log if the server exits first or takes more
# than SECONDS (10).  ss reads the kernel's socket table, so no
# connection disturbs the server (Gophernicus would fork for a probe).
wait_port() {
	local name=$1 pid=$2 port=$3 log=$4 secs=${5:-10} _
	for _ in $(seq $((secs * 10))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "$bench_name: $name exited at start-up; its log:" >&2
			cat "$log" >&2
			exit 1
		fi
		if [ -n "$(ss -Hltn "sport = :$port")" ]; then
			return 0
		fi
		sleep 0.1
	done
	echo "$bench_name: $name is not listening on port $port after $secs s; its log:" >&2
	cat "$log" >&2
	exit 1
}

# The one argument every benchmark takes: --smoke, each setting once and
# short, as an end-to-end check.
# smoke is read by the scripts that source this file.
# shellcheck disable=SC2034
smoke=0
# shellcheck disable=SC2034
case "${1:-}" in
--smoke) smoke=1 ;;
"") ;;
*)	echo "usage: $bench_name [--smoke]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.." || exit 1
