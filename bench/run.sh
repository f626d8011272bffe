#!/bin/sh
# Run the benchmarks built in DIR and print their results, with the machine they ran on.
#
# Usage: sh bench/run.sh DIR [OPTION...]
#
# The overhead benchmark runs three times: raw calls against themselves (the noise floor of
# this machine, to read the others against), then the library against raw calls with the
# space reserved, then without reservation. Further options (-n ROUNDS, -s SIZE) are passed
# to every run. Exit status: 0 when every run completed, 1 otherwise.
set -u

dir=${1:?usage: sh bench/run.sh DIR [OPTION...]}
shift
bin=$dir/bench_overhead
if [ ! -x "$bin" ]; then
	echo "run.sh: $bin: not built (make bench)" >&2
	exit 1
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}"
echo "kernel:  $(uname -sr)"
echo "libc:    $(getconf GNU_LIBC_VERSION 2>/dev/null || echo unknown)"
echo "shm dir: ${PSHM_DIR:-/dev/shm}"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"

status=0
for variant in --calibrate "" --sparse; do
	echo
	# $variant is deliberately unquoted: the empty variant is no argument at all.
	# shellcheck disable=SC2086
	"$bin" $variant "$@" || status=1
done
exit $status
