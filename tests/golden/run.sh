#!/bin/sh
# Golden tests for the Markdown to gemtext conversion: every
# tests/golden/md2gmi/NAME.md is rendered with "capsuled render" and
# compared with NAME.gmi.  Usage: run.sh BUILDDIR.  CAPSULED_RENDER may
# name another command that takes the .md file as its last argument.

builddir=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
render=${CAPSULED_RENDER:-"$builddir/capsuled render"}
pass=0
fail=0
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT INT TERM

for md in "$here"/md2gmi/*.md; do
	[ -e "$md" ] || continue
	want=${md%.md}.gmi
	name=$(basename "$md" .md)
	if ! $render "$md" >"$out" 2>/dev/null; then
		echo "FAIL $name: render exited non-zero"
		fail=$((fail + 1))
		continue
	fi
	if [ ! -f "$want" ]; then
		echo "FAIL $name: no $(basename "$want")"
		fail=$((fail + 1))
		continue
	fi
	if diff -u "$want" "$out" >"$out.diff"; then
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		cat "$out.diff"
		fail=$((fail + 1))
	fi
	rm -f "$out.diff"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
