# shellcheck shell=sh
# expect.sh - sourced by the tests of the project's check scripts (tests/check-syscalls-test.sh,
# tests/abi-check-test.sh): the verdict on one case.
#
# expect NAME RC WANT OUT [WORD...]: the case passes when the check exited RC = WANT and its
# output, in the file OUT, holds each WORD (as fixed text); prints PASS or FAIL with the output,
# and counts it in the caller's pass or fail.
expect() {
	name=$1 rc=$2 want=$3 out=$4
	shift 4
	ok=true
	[ "$rc" -eq "$want" ] || ok=false
	for word in "$@"; do
		grep -qF -- "$word" "$out" || ok=false
	done
	if $ok; then
		pass=$((pass + 1))
		echo "PASS $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name (exit $rc, expected $want)"
		sed 's/^/  /' "$out"
	fi
}
