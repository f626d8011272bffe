#!/bin/sh
# scripts/check-architecture.sh on a small tree outside git: it passes when the page names
# every file, by path or by file name in backquotes, and fails naming the one it does not.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/docs" "$t/src/lib" "$t/tests/unit"
: >"$t/src/lib/a.c"
: >"$t/tests/unit/b.h"
printf '| `a.c` | one |\nand tests/unit/b.h\n' >"$t/docs/ARCHITECTURE.md"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "check-architecture-test: $*" >&2; fail=$((fail + 1)); }
sh "$here/scripts/check-architecture.sh" "$t" >/dev/null 2>&1 && ok || bad "named files refused"
: >"$t/src/lib/c.c"
if out=$(sh "$here/scripts/check-architecture.sh" "$t" 2>&1); then
	bad "an unnamed file was let through"
else
	case $out in *"src/lib/c.c is not named"*) ok ;; *) bad "no name in: $out" ;; esac
fi
# A file name that only appears inside a longer word does not count.
printf '| `a.c` | one |\nand tests/unit/b.h, abc.c\n' >"$t/docs/ARCHITECTURE.md"
sh "$here/scripts/check-architecture.sh" "$t" >/dev/null 2>&1 && bad "c.c counted as named" || ok
echo "check-architecture-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
