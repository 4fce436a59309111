#!/bin/sh
# Build every fuzz target with clang's libFuzzer (plus ASan and UBSan) and
# run each for FUZZ_TIME seconds (default 60), starting from its committed
# corpus.  New inputs go to build-fuzz/corpus/NAME, never into the
# committed corpus; a crash is saved as build-fuzz/crash-NAME-* and stops
# the run.  Usage: scripts/fuzz.sh [NAME ...]
set -eu

time=${FUZZ_TIME:-60}
out=build-fuzz
pkgs="openssl yaml-0.1 md4c libevent"
mkdir -p "$out"

targets=$*
if [ -z "$targets" ]; then
	for f in tests/fuzz/fuzz_*.c; do
		n=${f#tests/fuzz/fuzz_}
		targets="$targets ${n%.c}"
	done
fi

lib=$(ls src/*.c | grep -v '^src/main\.c$')
summary=""
for t in $targets; do
	echo "== building fuzz_$t"
	# shellcheck disable=SC2086
	clang -g -O1 -std=c17 -D_GNU_SOURCE -Iinclude \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    "tests/fuzz/fuzz_$t.c" $lib $(pkg-config --cflags --libs $pkgs) \
	    -o "$out/fuzz_$t"
	mkdir -p "$out/corpus/$t"
	echo "== fuzzing $t for $time s"
	"$out/fuzz_$t" -max_total_time="$time" -print_final_stats=1 \
	    -artifact_prefix="$out/crash-$t-" "$out/corpus/$t" \
	    "tests/fuzz/corpus/$t" >"$out/$t.log" 2>&1 || {
		tail -n 40 "$out/$t.log"
		echo "fuzz_$t found a crash: see $out/crash-$t-*"
		exit 1
	}
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
	summary="$summary$t: $runs runs in $time s, no crash
"
done
printf '%s' "$summary"
