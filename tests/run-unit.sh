#!/bin/sh
# Run every unit test program in DIR: exit 0 passes, 77 skips, anything else fails.
# Prints one line per program and a closing "N passed, N failed, N skipped" line.
# As root they run in namespaces of their own (tests/isolate.sh).
[ -n "${PSHM_TEST_NS:-}" ] || exec sh "$(dirname "$0")/isolate.sh" sh "$0" "$@"
dir=${1:-build/tests}
pass=0 fail=0 skip=0 failed=""
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	name=${t##*/}
	log=$(mktemp)
	"$t" >"$log" 2>&1
	rc=$?
	case $rc in
	0)
		pass=$((pass + 1))
		echo "PASS $name"
		# Single tests that skipped, with their reasons.
		grep '^SKIP: ' "$log" | sed 's/^SKIP: /  skipped: /'
		;;
	77) skip=$((skip + 1)); echo "SKIP $name: $(grep -i skip "$log" | head -n 1)" ;;
	*) fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name (exit $rc)"; cat "$log" ;;
	esac
	rm -f "$log"
done
# Pages a killed test_huge did not give back to the huge page pool go back now.
[ "$(id -u)" -ne 0 ] || sh "$(dirname "$0")/hugepool.sh" repair || true
echo "unit: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
