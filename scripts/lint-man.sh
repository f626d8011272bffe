#!/bin/sh
# Check the manual pages as both formatters that show them would: mandoc -Tlint, and groff,
# which man-db runs on Debian, with every warning on.  groff can also stop formatting part way
# through a page and say so only on the standard error that man hides, so each page is shown
# with man -l as a reader would see it, and every section of its source must be in what is
# shown.
#
# Usage: sh scripts/lint-man.sh PAGE...   Exit status: 0 clean, 1 otherwise.
set -u
for t in mandoc:mandoc groff:groff-base man:man-db col:bsdextrautils; do
	command -v "${t%%:*}" >/dev/null 2>&1 ||
		{ echo "lint: ${t%%:*} not found (apt-get install ${t#*:})"; exit 1; }
done
fail=0
# Each page's footer names the package and the version the header gives (.Os; left empty,
# groff and mandoc would print "BSD" there).
version=$(sed -n 's/^#define PSHM_VERSION_STRING "\(.*\)"/\1/p' "$(dirname "$0")/../include/pshm.h")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! mandoc -Tlint -Wwarning "$@" >"$tmp/out" 2>&1 || [ -s "$tmp/out" ]; then
	cat "$tmp/out"
	fail=1
fi
for p in "$@"; do
	if ! groff -ww -z -mandoc "$p" >"$tmp/out" 2>&1 || [ -s "$tmp/out" ]; then
		sed "s|^|$p: groff: |" "$tmp/out"
		fail=1
	fi
	if ! MANWIDTH=80 man -l "$p" >"$tmp/page" 2>"$tmp/out" || [ -s "$tmp/out" ]; then
		sed "s|^|$p: man -l: |" "$tmp/out"
		fail=1
	fi
	col -bx <"$tmp/page" >"$tmp/text"
	grep -qx ".Os pshm $version" "$p" || { echo "$p: wants .Os pshm $version"; fail=1; }
	tail -n 1 "$tmp/text" | grep -q "^pshm $version .* pshm $version\$" ||
		{ echo "$p: man -l's footer: $(tail -n 1 "$tmp/text")"; fail=1; }
	sed -n 's/^\.Sh[ 	]*//p' "$p" | tr -d '"' >"$tmp/sections"
	while read -r sh; do
		grep -qFx "$sh" "$tmp/text" || { echo "$p: man -l shows no section $sh"; fail=1; }
	done <"$tmp/sections"
done
[ $fail -eq 0 ] || exit 1
echo "lint: manual pages clean (mandoc, groff, and every section shown by man)"
