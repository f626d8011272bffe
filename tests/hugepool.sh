#!/bin/sh
# Lend tests 2 MiB huge pages: grow the kernel's pool for a test and give the pages back after,
# never leaving the pool changed, however many test processes do so at once.
#
# Usage: sh tests/hugepool.sh grow N [OWNER]     add N pages to the pool for OWNER
#        sh tests/hugepool.sh release N [OWNER]  give back N of the pages OWNER was lent
#        sh tests/hugepool.sh repair             give back what dead owners were lent
#        sh tests/hugepool.sh base               the pool without what is lent now
#        sh tests/hugepool.sh status             the pool and the record, for a person
#
# OWNER is the process the pages are lent to (default: the caller, $PPID); once it is dead,
# repair gives its pages back, so a test killed midway is cleaned up by the next repair (the
# unit test runner calls it at its end). Every change to the pool and to the record happens
# under an flock on $HUGEPOOL_LOCK, and the record ($HUGEPOOL_RECORD, lines "OWNER PAGES
# STARTTIME") says what was added and for whom; STARTTIME (from /proc/OWNER/stat) tells a dead
# owner from a new process that got its number. grow adds all N pages or none (exit 1: the
# kernel found fewer free; the pool is as before). "base" is what a test compares before and
# after to prove it left the pool as it found it while others borrow pages too: the pool's
# size less every page lent, both read under the lock (a page still in use when it was given
# back stays counted, as surplus, until it is freed). Changes need root; exit 2 on usage errors.
set -eu

pool=${HUGEPOOL_SYSFS:-/sys/kernel/mm/hugepages/hugepages-2048kB}
lock=${HUGEPOOL_LOCK:-/run/pshm-hugepool.lock}
record=${HUGEPOOL_RECORD:-/run/pshm-hugepool.record}

usage() {
	echo "usage: hugepool.sh grow|release N [OWNER] | repair | status" >&2
	exit 2
}

# The start time of process $1 (field 22 of /proc/PID/stat), or nothing when it is gone.
start_time() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'
}

# Set the pool to $1 pages; print how many it has afterwards.
set_pool() {
	echo "$1" >"$pool/nr_hugepages" 2>/dev/null || true
	cat "$pool/nr_hugepages"
}

# What the record lends owner $1 (0 if nothing).
lent() {
	awk -v o="$1" '$1 == o { n += $2 } END { print n + 0 }' "$record"
}

# Set owner $1's entry to $2 pages (started at $3), dropping it at 0.
record_set() {
	tmp=$record.tmp
	awk -v o="$1" '$1 != o' "$record" >"$tmp"
	if [ "$2" -gt 0 ]; then echo "$1 $2 $3" >>"$tmp"; fi
	mv "$tmp" "$record"
}

grow() { # owner n
	before=$(cat "$pool/nr_hugepages")
	now=$(set_pool $((before + $2)))
	if [ "$now" -lt $((before + $2)) ]; then
		set_pool "$before" >/dev/null
		echo "hugepool: the kernel found $((now - before)) of $2 free 2 MiB pages" >&2
		return 1
	fi
	record_set "$1" $(($(lent "$1") + $2)) "$(start_time "$1")"
}

release() { # owner n
	have=$(lent "$1")
	n=$2
	[ "$n" -le "$have" ] || n=$have
	now=$(cat "$pool/nr_hugepages")
	[ "$n" -le "$now" ] || n=$now
	set_pool $((now - n)) >/dev/null
	started=$(awk -v o="$1" '$1 == o { print $3 }' "$record")
	record_set "$1" $((have - n)) "${started:-0}"
}

repair() {
	awk '{ print $1, $3 }' "$record" | while read -r owner started; do
		[ -n "$owner" ] || continue
		now=$(start_time "$owner")
		if [ -z "$now" ] || [ "$now" != "$started" ]; then
			echo "hugepool: giving back $(lent "$owner") pages lent to $owner, now gone" >&2
			release "$owner" "$(lent "$owner")"
		fi
	done
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
grow | release)
	[ $# -ge 1 ] && [ $# -le 2 ] || usage
	case $1 in '' | *[!0-9]*) usage ;; esac
	owner=${2:-$PPID}
	case $owner in '' | *[!0-9]*) usage ;; esac
	[ -n "$(start_time "$owner")" ] || {
		echo "hugepool: no process $owner to lend pages to" >&2
		exit 1
	}
	;;
repair | status | base) [ $# -eq 0 ] || usage ;;
*) usage ;;
esac

if [ ! -w "$pool/nr_hugepages" ]; then
	[ "$cmd" = status ] || [ "$cmd" = base ] || [ "$cmd" = repair ] || {
		echo "hugepool: cannot change $pool/nr_hugepages (needs root)" >&2
		exit 1
	}
fi

if [ ! -w "${lock%/*}" ] && [ ! -w "$lock" ]; then
	[ "$cmd" = base ] || [ "$cmd" = status ] || exit 1
	# Not root: nobody to exclude, and nothing recorded that this user could change.
	[ -f "$record" ] || record=/dev/null
else
	exec 9>>"$lock"
	flock 9
	[ -f "$record" ] || : >"$record"
fi
case $cmd in
grow) grow "$owner" "$1" ;;
release) release "$owner" "$1" ;;
repair) [ ! -s "$record" ] || repair ;;
base) echo $(($(cat "$pool/nr_hugepages") - $(awk '{ n += $2 } END { print n + 0 }' "$record"))) ;;
status)
	echo "pool: $(cat "$pool/nr_hugepages") pages, $(cat "$pool/free_hugepages") free"
	cat "$record"
	;;
esac
