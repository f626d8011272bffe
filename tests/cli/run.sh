#!/bin/sh
# Run the bats tests of the pshm command: sh tests/cli/run.sh [PATH-TO-PSHM] [BATS-ARGS...]
# The binary defaults to build/pshm.  Exits non-zero if any test fails.
here=$(cd "$(dirname "$0")" && pwd)
# As root they run in namespaces of their own (tests/isolate.sh).
[ -n "${PSHM_TEST_NS:-}" ] || exec sh "$here/../isolate.sh" bash "$0" "$@"
bin=${1:-build/pshm}
[ $# -gt 0 ] && shift
case $bin in
/*) ;;
*) bin=$(pwd)/$bin ;;
esac
if [ ! -x "$bin" ]; then
	echo "cli: no pshm binary at $bin" >&2
	exit 1
fi
missing=""
command -v bats >/dev/null 2>&1 || missing="$missing bats"
command -v jq >/dev/null 2>&1 || missing="$missing jq"
command -v hexdump >/dev/null 2>&1 || missing="$missing bsdextrautils"
if [ -n "$missing" ]; then
	echo "cli: missing tools; install with: apt-get install -y$missing" >&2
	exit 1
fi
PSHM_BIN=$bin
export PSHM_BIN
# The interpreter behind any python3 shim, found once rather than in every test.
if [ -z "${PSHM_TEST_PYTHON:-}" ]; then
	PSHM_TEST_PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
	export PSHM_TEST_PYTHON
fi
# TAP on standard output as it comes, then one closing "N passed, N failed, N skipped" line.
log=$(mktemp)
trap 'rm -f "$log" "$log.rc"' EXIT
{
	bats "$@" "$here"
	echo $? >"$log.rc"
} | tee "$log"
status=$(cat "$log.rc")
[ "$status" -eq 0 ] || status=1
bats_status=$(grep -c '^not ok' "$log")
skipped=$(grep -c '^ok .* # skip' "$log")
passed=$(($(grep -c '^ok ' "$log") - skipped))
echo "cli: $passed passed, $bats_status failed, $skipped skipped"
exit $status
