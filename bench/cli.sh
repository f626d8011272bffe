#!/bin/bash
# Time pshm read, write and ls against the commands a user would otherwise run, in the same
# script, and print median times and ratios.
#
# Usage: bench/cli.sh BUILD_DIR [--quick]
#   BUILD_DIR holds pshm and bench/mapper.  --quick uses 256 MiB and 2,000 objects.
set -eu
build=${1:-build}
pshm=$build/pshm
mapper=$build/bench/mapper
size_mb=1024 nobj=10000 nproc=200 reps=7
if [ "${2:-}" = --quick ]; then size_mb=256 nobj=2000 reps=3; fi

work=$(mktemp -d /dev/shm/pshm-bench.XXXXXX)
src=$(mktemp /var/tmp/pshm-bench-src.XXXXXX)
pids=()
cleanup() {
	[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work" "$src"
}
trap cleanup EXIT INT TERM

now_ns() { date +%s%N; }
# median of the numbers on standard input
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
# time_ms CMD...: one run's wall time in milliseconds
time_ms() {
	local s e
	s=$(now_ns)
	"$@" >/dev/null
	e=$(now_ns)
	echo $(((e - s) / 1000000))
}
results=()
# compare LABEL TARGET 'baseline command' 'pshm command': alternate the two REPS times each
compare() {
	local label=$1 target=$2 base=$3 ours=$4 b=() o=() i
	for ((i = 0; i < reps; i++)); do
		b+=("$(time_ms bash -c "$base")")
		o+=("$(time_ms bash -c "$ours")")
	done
	local bm om ratio verdict
	bm=$(printf '%s\n' "${b[@]}" | median)
	om=$(printf '%s\n' "${o[@]}" | median)
	ratio=$(awk -v o="$om" -v b="$bm" 'BEGIN {printf "%.2f", (b > 0) ? o / b : 0}')
	verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN {print (r <= t) ? "PASS" : "FAIL"}')
	printf '%-44s %9s ms %9s ms %6sx  (target <= %sx) %s\n' "$label" "$bm" "$om" "$ratio" "$target" "$verdict"
	results+=("$label|$bm|$om|$ratio|$target|$verdict")
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)"
echo "method: each pair alternated $reps times in this script; medians of wall time"
printf '%-44s %12s %12s %7s\n' "operation" "baseline" "pshm" "ratio"

head -c $((size_mb << 20)) /dev/urandom >"$src"
cat "$src" >/dev/null # both sides read it from the page cache
export PSHM_DIR=$work
compare "write ${size_mb} MiB from stdin (vs cat > file)" 1.2 \
	"rm -f $work/base; cat $src > $work/base" \
	"$pshm rm -f /obj; $pshm create /obj && $pshm write /obj < $src"
compare "read ${size_mb} MiB to /dev/null (vs cat)" 1.2 \
	"cat $work/base > /dev/null" \
	"$pshm read /obj > /dev/null"
rm -f "$work/base"
$pshm rm /obj

# Many objects: make them with plain file creation so the set-up is quick.
mkdir "$work/many"
(cd "$work/many" && seq -f "obj%05g" 1 "$nobj" | xargs touch)
compare "ls, ${nobj} objects (vs ls -l)" 2.0 \
	"ls -l $work/many" \
	"PSHM_DIR=$work/many $pshm ls -k posix"

# The same with processes mapping objects: pshm ls reads every process's maps and fds.
for ((i = 0; i < nproc; i++)); do
	PSHM_DIR=$work/many "$mapper" "/obj$(printf %05d $((i + 1)))" &
	pids+=($!)
done
sleep 1
n=$(PSHM_DIR=$work/many $pshm ls -n -o nprocs | awk '$1 > 0' | wc -l)
compare "ls, ${nobj} objects, ${nproc} processes mapping" 2.0 \
	"ls -l $work/many" \
	"PSHM_DIR=$work/many $pshm ls -k posix"
echo "($n objects seen as mapped by a process)"
