#!/bin/sh
# Run every test program of one build and add up their results.
#   tests/run.sh BUILD_DIR
# Each suite prints "N passed, M failed" as its last line; a suite that
# dies before printing it counts as one failure.  Ends with the total line.
set -u
build=${1:?usage: tests/run.sh BUILD_DIR}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# count NAME CMD...: run a suite, echo its lines, add its totals.
count() {
	name=$1
	shift
	echo "== $name"
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
		passed=$((passed + p))
		failed=$((failed + f))
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "$name: exit status $rc"
			failed=$((failed + 1))
		elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
			echo "$name: ran no test"
			failed=$((failed + 1))
		fi
	elif [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		echo "$name: exit status $rc"
		failed=$((failed + 1))
	fi
}

for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	count "unit $(basename "$t")" "$t"
done

for r in "$build"/tests/replay_*; do
	[ -x "$r" ] || continue
	name=${r##*/replay_}
	[ -d "tests/fuzz/corpus/$name" ] || continue
	count "fuzz corpus $name" "$r" "tests/fuzz/corpus/$name"
done

for g in tests/golden/run*.sh; do
	[ -f "$g" ] || continue
	count "golden $(basename "$g")" sh "$g" "$build"
done

if [ -f tests/integration/run.sh ]; then
	count "integration" bash tests/integration/run.sh "$build"
fi

echo "$build: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
