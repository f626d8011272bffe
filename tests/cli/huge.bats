#!/usr/bin/env bats
# Huge pages in the command: create, chan create and hold --create with --huge[=SIZE], the page
# size in ls and stat, the pools in df, and the errors: no huge pages where the object would
# live, an empty or short pool, a page size this machine does not have.

load helpers

POOLS=/sys/kernel/mm/hugepages
P2M=$POOLS/hugepages-2048kB
P1G=$POOLS/hugepages-1048576kB

# helpers.bash's teardown, run by this file's own after the objects are gone.
eval "helpers_$(declare -f teardown)"

teardown() {
	helpers_teardown
	# Pages are given back only once every object on them is gone.
	if [ -s "$BATS_TEST_TMPDIR/hugepool" ]; then
		sh "$REPO_ROOT/tests/hugepool.sh" release "$(cat "$BATS_TEST_TMPDIR/hugepool")" $$
	fi
	return 0
}

# Count N of pool DIR.
pool() {
	cat "$1/$2"
}

# Make sure N pages of 2 MiB are free for this test: as root, grow the pool by N (given back
# in teardown); otherwise skip unless that many are free already.
need_pages() {
	[ -d "$P2M" ] || skip "this kernel has no pool of 2 MiB huge pages"
	if [ "$ME_UID" -eq 0 ]; then
		sh "$REPO_ROOT/tests/hugepool.sh" grow "$1" $$ ||
			skip "the pool of 2 MiB huge pages cannot grow by $1 here"
		echo "$1" >"$BATS_TEST_TMPDIR/hugepool"
		return
	fi
	local avail=$(($(pool "$P2M" free_hugepages) - $(pool "$P2M" resv_hugepages)))
	[ "$avail" -ge "$1" ] ||
		skip "not root, and fewer than $1 free 2 MiB huge pages (vm.nr_hugepages)"
}

# The page sizes of /sys's pools as create's messages name them: "2M, 1G".
machine_sizes() {
	local d kb out=
	for d in "$POOLS"/hugepages-*kB; do
		kb=${d##*-}
		kb=${kb%kB}
		echo "$kb"
	done | sort -n | while read -r kb; do
		if ((kb % 1048576 == 0)); then
			printf '%s%dG' "$out" $((kb / 1048576))
		else
			printf '%s%dM' "$out" $((kb / 1024))
		fi
		out=', '
	done
}

# Skip unless the 1 GiB pool exists and has no page free: asking for one then fails.
need_empty_1g() {
	[ -d "$P1G" ] || skip "this kernel has no pool of 1 GiB huge pages"
	[ "$(pool "$P1G" free_hugepages)" -eq 0 ] || skip "the 1 GiB pool has free pages"
}

# Run SCRIPT with PSHM_DIR on a new mount, made with mount ARGS... in a private mount
# namespace; exit 99 when it cannot be mounted.
in_mount() {
	local script=$1
	shift
	mkdir -p "$BATS_TEST_TMPDIR/mnt"
	unshare -m --propagation private sh -c 'd=$1 s=$2; shift 2
		mount "$@" "$d" || exit 99
		export PSHM_DIR="$d"; cd "$d/.." || exit 99; eval "$s"' \
		sh "$BATS_TEST_TMPDIR/mnt" "$script" "$@"
}

@test "create --huge=2M: a System V segment of huge pages, rounded up to a whole page" {
	need_pages 1
	key=$(sysv_key)
	run --separate-stderr pshm create --huge=2M -s 3000 "sysv:$key"
	[ "$status" -eq 0 ] || fail_with "create failed:" "$stderr"
	stdout_empty
	[ -z "$stderr" ]
	# The page size of a segment shows only to a process that has it attached: here, none.
	run --separate-stderr pshm stat -J "sysv:$key"
	[ "$status" -eq 0 ]
	jq_true '.[0] | .size == 2097152 and (.page_size == 2097152 or .page_size == null)' \
		<<<"$output"
	run --separate-stderr pshm stat -o SIZE "sysv:$key"
	[ "$output" = $'size: 2097152\nsize_human: 2M' ] || fail_with "stat -o SIZE:" "$output"
}

@test "PAGESIZE of a System V segment: told while another process has it attached, else empty" {
	key=$(sysv_key)
	pshm create -s 8K "sysv:$key"
	run --separate-stderr pshm stat -J -o PAGESIZE "sysv:$key"
	jq_true '.[0].page_size == null' <<<"$output"
	run --separate-stderr pshm stat -o PAGESIZE "sysv:$key"
	[ "$output" = "page_size: ?" ]
	# Attached by pshm hold --map: its mapping tells, to stat and ls in other processes.
	"$PSHM" hold --map "sysv:$key" -- sh -c 'echo held >"$1" && exec sleep 600' sh \
		"$BATS_TEST_TMPDIR/held" 3>&- &
	local hpid=$!
	track "$hpid"
	wait_until test -s "$BATS_TEST_TMPDIR/held"
	page=$(getconf PAGESIZE)
	run --separate-stderr pshm stat -J -o PAGESIZE,NATTCH "sysv:$key"
	jq_true --argjson p "$page" '.[0] | .page_size == $p and .nattch == 1' <<<"$output"
	run --separate-stderr pshm ls -n -o PAGESIZE "sysv:$key"
	[ "$(echo $output)" = "$((page / 1024))K" ]
	# Detached again: nobody shows it.
	kill "$hpid"
	wait "$hpid" || true
	run --separate-stderr pshm ls -J -o PAGESIZE,NATTCH "sysv:$key"
	jq_true '.objects[0] | .pagesize == null and .nattch == 0' <<<"$output"
}

@test "create --huge: the default huge page size; ordinary objects show the system's pages" {
	[ "$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo)" = 2048 ] ||
		skip "the default huge page size is not 2 MiB"
	need_pages 2
	"$PSHM" hold --create --huge -s 2097153 memfd: -- sleep 600 >"$BATS_TEST_TMPDIR/addr" \
		2>&1 3>&- &
	track $!
	wait_until grep -q '^memfd:' "$BATS_TEST_TMPDIR/addr"
	run --separate-stderr pshm stat -J -o SIZE,PAGESIZE "$(cat "$BATS_TEST_TMPDIR/addr")"
	jq_true '.[0] | .page_size == 2097152 and .size == 4194304' <<<"$output"
	pshm create -s 100 /plain
	page=$(getconf PAGESIZE)
	run --separate-stderr pshm stat -J -o PAGESIZE /plain
	jq_true --argjson p "$page" '.[0].page_size == $p' <<<"$output"
	run --separate-stderr pshm ls -n -o PAGESIZE /plain
	[ "$(echo $output)" = "$((page / 1024))K" ]
}

@test "hold --create --huge: a memfd of huge pages, its page size in stat and ls" {
	need_pages 1
	"$PSHM" hold --create --huge=2M -s 1M memfd: -- sleep 600 >"$BATS_TEST_TMPDIR/addr" \
		2>&1 3>&- &
	track $!
	wait_until grep -q '^memfd:' "$BATS_TEST_TMPDIR/addr"
	addr=$(cat "$BATS_TEST_TMPDIR/addr")
	run --separate-stderr pshm stat -J -o KIND,SIZE,PAGESIZE "$addr"
	[ "$status" -eq 0 ] || fail_with "stat $addr:" "$stderr"
	jq_true '.[0] | .kind == "memfd" and .size == 2097152 and .page_size == 2097152' \
		<<<"$output"
	run --separate-stderr pshm stat -o PAGESIZE "$addr"
	[ "$output" = "page_size: 2097152" ]
	# ls: PAGESIZE in units, in bytes with -b, a number in JSON.
	run --separate-stderr pshm ls -n -o ADDRESS,PAGESIZE "$addr"
	[[ $output =~ ^$addr\ +2M$ ]] || fail_with "ls -o ADDRESS,PAGESIZE:" "$output"
	run --separate-stderr pshm ls -n -b -o PAGESIZE "$addr"
	[ "$(echo $output)" = 2097152 ]
	run --separate-stderr pshm ls -J -o ADDRESS,PAGESIZE "$addr"
	jq_true '[.[][]] | .[0].pagesize == 2097152' <<<"$output"
}

@test "df: a table of the huge page pools, as /sys counts them" {
	[ -d "$P2M" ] || skip "this kernel has no huge pages"
	# Other programs may change a pool meanwhile: compare a run that /sys is the same around.
	for try in 1 2 3 4 5; do
		before=$(cat "$POOLS"/*/{nr,free,resv,surplus}_hugepages)
		run --separate-stderr pshm df -J
		after=$(cat "$POOLS"/*/{nr,free,resv,surplus}_hugepages)
		[ "$before" = "$after" ] && break
	done
	[ "$status" -eq 0 ]
	want=$(for d in "$POOLS"/hugepages-*kB; do
		kb=${d##*-}
		printf '{"page_size":%d,"total":%d,"free":%d,"reserved":%d,"surplus":%d}\n' \
			$((${kb%kB} * 1024)) "$(pool "$d" nr_hugepages)" "$(pool "$d" free_hugepages)" \
			"$(pool "$d" resv_hugepages)" "$(pool "$d" surplus_hugepages)"
	done | jq -s -c 'sort_by(.page_size)')
	[ "$(jq -c .huge_pages <<<"$output")" = "$want" ] ||
		fail_with "huge_pages is not $want:" "$output"
	# Text: a table of its own, page sizes in units, or bytes with -b.
	run --separate-stderr pshm df
	grep -qE '^PAGESIZE +TOTAL +FREE +RSVD +SURPLUS$' <<<"$output" ||
		fail_with "no table of pools:" "$output"
	grep -qE '^ *2M +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$' <<<"$output"
	run --separate-stderr pshm df -b -r
	grep -qE '^2097152 [0-9]+ [0-9]+ [0-9]+ [0-9]+$' <<<"$output"
}

@test "create --huge: an empty pool fails, says so and how to grow it, and leaves nothing" {
	need_empty_1g
	# A memfd (hold --create) needs no privilege.
	run --separate-stderr pshm hold --create --huge=1G -s 1 memfd: -- true
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has '^pshm: hold memfd:: the pool of 1G huge pages is empty$'
	stderr_has "^pshm: grow it as root: echo 1 >$P1G/nr_hugepages\$"
	[ "$ME_UID" -eq 0 ] || return 0
	# System V, as root (others may not lock that much: EPERM).
	key=$(sysv_key)
	run --separate-stderr pshm create --huge=1G -s 1 "sysv:$key"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: create sysv:$key: the pool of 1G huge pages is empty\$"
	! sysv_exists "$key"
}

@test "create --huge: a short pool says how many pages it has and what to grow it to" {
	[ "$ME_UID" -eq 0 ] || skip "needs root: others may not lock a large System V segment"
	need_pages 1
	key=$(sysv_key)
	run --separate-stderr pshm create --huge=2M -s 1G "sysv:$key"
	[ "$status" -eq 1 ]
	n='[0-9]+'
	re="^pshm: create sysv:$key: the pool of 2M huge pages is short: $n pages, $n free, "
	stderr_has "$re$n of them reserved\$"
	stderr_has "^pshm: grow it as root: (sysctl vm.nr_hugepages=$n, or )?echo $n >$P2M/nr_hugepages\$"
	! sysv_exists "$key"
}

@test "create --huge: a directory without huge pages is EOPNOTSUPP, with the fix" {
	if grep -q huge= <<<"$(findmnt -no OPTIONS -T "$PSHM_DIR" 2>/dev/null)"; then
		skip "$PSHM_DIR is on a file system of huge pages"
	fi
	run --separate-stderr pshm create --huge -s 4K /h
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has '^pshm: create /h: the shm directory gives no huge pages$'
	stderr_has '^pshm: mount a hugetlbfs .*, or a tmpfs with huge=within_size, and set PSHM_DIR to it$'
	[ -z "$(ls -A "$PSHM_DIR")" ] || fail_with "left behind:" "$(ls -A "$PSHM_DIR")"
	run --separate-stderr pshm chan create --huge /c
	[ "$status" -eq 1 ]
	stderr_has '^pshm: chan create /c: the shm directory gives no huge pages$'
	run --separate-stderr pshm create --huge -s 4K "file:$PSHM_DIR/f"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: create file:$PSHM_DIR/f: $PSHM_DIR gives no huge pages\$"
	[ -z "$(ls -A "$PSHM_DIR")" ]
}

@test "--huge=SIZE: a size this machine has no pages of is a usage error naming those it has" {
	[ -d "$POOLS" ] || skip "this kernel has no huge pages"
	sizes=$(machine_sizes)
	for bad in 3M 4M 1K; do
		run --separate-stderr pshm create --huge="$bad" -s 4K /b
		[ "$status" -eq 2 ]
		stderr_has "^pshm create: invalid huge page size '$bad': this machine has $sizes\$"
	done
	run --separate-stderr pshm create --huge=lots /b
	[ "$status" -eq 2 ]
	stderr_has "^pshm create: invalid huge page size 'lots': not a size"
	run --separate-stderr pshm chan create --huge=3M /b
	[ "$status" -eq 2 ]
	stderr_has "^pshm chan create: invalid huge page size '3M': this machine has $sizes\$"
	run --separate-stderr pshm hold --huge /b -- true
	[ "$status" -eq 2 ]
	stderr_has '^pshm hold: -s, -m and --huge are for objects it creates: add --create$'
	[ -z "$(ls -A "$PSHM_DIR")" ]
}

@test "create and chan create --huge on a tmpfs of huge pages: transparent huge pages" {
	[ "$ME_UID" -eq 0 ] || skip "needs root to mount a tmpfs with huge="
	pmd=$(cat /sys/kernel/mm/transparent_hugepage/hpage_pmd_size 2>/dev/null) ||
		skip "this kernel has no transparent huge pages"
	run in_mount '"$PSHM" create --huge -s 3000 /t && "$PSHM" chan create --huge \
		--capacity 4K /c && "$PSHM" stat -J -o SIZE,PAGESIZE /t /c &&
		"$PSHM" ls -n -o ADDRESS,KIND /c' -t tmpfs -o size=32m,huge=within_size tmpfs
	[ "$status" -ne 99 ] || skip "cannot mount a tmpfs with huge= here"
	[ "$status" -eq 0 ] || fail_with "failed:" "$output"
	json=$(sed '$d' <<<"$output")
	jq_true --argjson p "$pmd" 'all(.[]; .page_size == $p) and .[0].size == $p and
		(.[1].size % $p) == 0' <<<"$json"
	[[ $(tail -n 1 <<<"$output") =~ ^/c\ +chan$ ]]
}

@test "create --huge on a hugetlbfs: its page size, and another size refused" {
	[ "$ME_UID" -eq 0 ] || skip "needs root to mount a hugetlbfs"
	need_pages 2
	run in_mount '"$PSHM" create --huge -s 1 /h && "$PSHM" chan create --huge --capacity 4K \
		/c && "$PSHM" stat -J -o SIZE,PAGESIZE /h /c; "$PSHM" create --huge=1G -s 1 /g;
		echo "status $?"; ls -A "$PSHM_DIR"' -t hugetlbfs -o pagesize=2M none
	[ "$status" -ne 99 ] || skip "cannot mount a hugetlbfs here"
	[ "$status" -eq 0 ] || fail_with "failed:" "$output"
	grep -q '^status 1$' <<<"$output"
	grep -q '^pshm: create /g: its hugetlbfs has 2M pages only$' <<<"$output"
	! grep -qx g <<<"$output"
	json=$(sed -n '/^\[/,/^\]/p' <<<"$output")
	jq_true 'all(.[]; .page_size == 2097152 and .size == 2097152)' <<<"$json"
}
