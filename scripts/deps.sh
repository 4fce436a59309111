#!/bin/sh
# Install the Debian packages capsuled needs, if any are missing.
#   scripts/deps.sh          what building and running need
#   scripts/deps.sh check    that, plus what the test suite needs
#   scripts/deps.sh bench    that, plus what the benchmarks need
# Runs apt-get as root, through sudo otherwise, and says what to do when
# neither is possible.
set -eu

build="gcc make pkg-config libssl-dev libyaml-dev libmd4c-dev libevent-dev openssl"
tests="clang libclang-rt-14-dev curl libxml2-utils iproute2 mandoc systemd haproxy"

bench="libmd4c-html0-dev molly-brown gophernicus socat iproute2 valgrind"

want=$build
[ "${1:-}" = check ] && want="$build $tests"
[ "${1:-}" = bench ] && want="$build $tests $bench"

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "capsuled needs these Debian packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
	run=""
elif command -v sudo >/dev/null 2>&1; then
	run="sudo"
else
	echo "Install them as root with:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
$run apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $run apt-get install -y -qq $missing

# Debian's gophernicus enables a socket unit on port 70, every address; the
# benchmark runs its own copy in a private namespace, so switch that off.
case "$missing" in
*gophernicus*)
	if [ -d /run/systemd/system ]; then
		$run systemctl disable --now gophernicus.socket >/dev/null 2>&1 ||
		    true
	fi
	;;
esac

# Debian's haproxy starts a system service; the tests run their own copy
# on loopback ports, so the service has no business running here.
case "$missing" in
*haproxy*)
	if [ -d /run/systemd/system ]; then
		$run systemctl disable --now haproxy.service >/dev/null 2>&1 ||
		    true
	else
		$run service haproxy stop >/dev/null 2>&1 || true
	fi
	;;
esac
