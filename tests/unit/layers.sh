#!/bin/sh
# layers.sh: the #include graph of src/ against the layers README.md draws.
#
# README.md has a block between "<!-- layers -->" and "<!-- /layers -->":
# one line per layer, top first, "name: module module ...". A module is a
# src/ file name without .c/.h. This test fails when
#   - a src/ file belongs to no layer, or a listed module has no file;
#   - a file includes a header of a higher layer (layers point down);
#   - the modules include each other in a cycle (checked with tsort), even
#     within one layer.
set -u
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
readme=$top/README.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/layers.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

# module -> layer number (top = 1)
sed -n '/<!-- layers -->/,/<!-- \/layers -->/p' "$readme" | grep -E '^[a-z-]+: ' |
    awk '{ n++; for (i = 2; i <= NF; i++) print $i, n }' >"$tmp/layers"
[ -s "$tmp/layers" ] || { echo "FAIL: no layer block in $readme" >&2; exit 1; }

for f in "$top"/src/*.c "$top"/src/*.h; do
	m=$(basename "$f" | sed 's/\.[ch]$//')
	grep -q "^$m " "$tmp/layers" || { echo "FAIL: src/$(basename "$f") is in no layer" >&2; fail=1; }
done
while read -r m n; do
	[ -e "$top/src/$m.c" ] || [ -e "$top/src/$m.h" ] ||
	    { echo "FAIL: layer module $m has no src/$m.c or src/$m.h" >&2; fail=1; }
done <"$tmp/layers"

# edges "from to" between different modules
for f in "$top"/src/*.c "$top"/src/*.h; do
	m=$(basename "$f" | sed 's/\.[ch]$//')
	sed -n 's/^#include "\([a-z_0-9]*\)\.h".*/\1/p' "$f" | while read -r inc; do
		[ "$inc" = autoconf ] || [ "$inc" = "$m" ] || echo "$m $inc $(basename "$f")"
	done
done >"$tmp/edges"

while read -r from to file; do
	lf=$(awk -v m="$from" '$1 == m { print $2 }' "$tmp/layers")
	lt=$(awk -v m="$to" '$1 == m { print $2 }' "$tmp/layers")
	[ -n "$lf" ] && [ -n "$lt" ] || continue
	if [ "$lt" -lt "$lf" ]; then
		echo "FAIL: src/$file includes $to.h, a higher layer" >&2
		fail=1
	fi
done <"$tmp/edges"

awk '{ print $1, $2 }' "$tmp/edges" | sort -u >"$tmp/pairs"
if ! tsort "$tmp/pairs" >/dev/null 2>"$tmp/tsort"; then
	echo "FAIL: include cycle between modules:" >&2
	cat "$tmp/tsort" >&2
	fail=1
fi
[ "$fail" -eq 0 ] && echo "layers: $(wc -l <"$tmp/layers") modules, $(wc -l <"$tmp/pairs") module edges, all pointing down"
exit "$fail"
