#!/bin/sh
# Run every unit test program in DIR: exit 0 passes, 77 skips, anything else fails.
# Prints one line per program and a closing "N passed, N failed, N skipped" line.
dir=${1:-build/tests}
pass=0 fail=0 skip=0 failed=""
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	name=${t##*/}
	log=$(mktemp)
	"$t" >"$log" 2>&1
	rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name" ;;
	77) skip=$((skip + 1)); echo "SKIP $name: $(grep -i skip "$log" | head -n 1)" ;;
	*) fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name (exit $rc)"; cat "$log" ;;
	esac
	rm -f "$log"
done
echo "unit: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
