#!/bin/bash
# Integration tests: the real binary on loopback, real clients.
#   tests/integration/run.sh BUILD_DIR
# Every function named test_* in the suite files runs in turn against the
# shared server (a test may start its own and must leave a default one
# running); after each, the server must still answer.
set -u
BUILD=${1:?usage: run.sh BUILD_DIR}
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
trap cleanup_all EXIT

for suite in tests/integration/*_test.sh; do
	. "$suite"
done

passed=0
failed=0
only=${ONLY:-}
start_server || { echo "0 passed, 1 failed"; exit 1; }
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
	[ -n "$only" ] && [ "$t" != "$only" ] && continue
	FAILMSG=""
	[ -n "$SERVER_PID" ] || start_server
	"$t"
	rc=$?
	alive
	if [ "$rc" -eq 0 ] && [ -z "$FAILMSG" ]; then
		passed=$((passed + 1))
		echo "ok   $t"
	else
		failed=$((failed + 1))
		echo "FAIL $t: ${FAILMSG:-returned $rc}"
		echo "---- server log (last 15 lines)"
		tail -n 15 "$SERVER_DIR/log"
		echo "----"
		start_server
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
