#!/bin/sh
# Golden tests for the conversions: every tests/golden/md2gmi/NAME.md is
# rendered with "capsuled render" and compared with NAME.gmi, and every
# tests/golden/gopher/NAME.md with "capsuled render --gopher" and compared
# with NAME.txt.  Usage: run.sh BUILDDIR.  CAPSULED_RENDER may name another
# command that takes the .md file as its last argument.

builddir=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
render=${CAPSULED_RENDER:-"$builddir/capsuled render"}
pass=0
fail=0
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT INT TERM

# golden DIR EXT OPTIONS: compare every DIR/NAME.md rendered with OPTIONS
# against DIR/NAME.EXT.
golden() {
	for md in "$here/$1"/*.md; do
		[ -e "$md" ] || continue
		want=${md%.md}.$2
		name=$1/$(basename "$md" .md)
		# shellcheck disable=SC2086
		if ! $render $3 "$md" >"$out" 2>/dev/null; then
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
}

golden md2gmi gmi ""
golden gopher txt --gopher

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
