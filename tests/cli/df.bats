#!/usr/bin/env bats
# pshm df: the shm directory's file system, the memory of each owner by kind, what no name
# reaches any more and who holds it, and the System V limits; as tables, raw lines and JSON.

load helpers

# A python program that maps each file given (read-write; shared, or private with PRIVATE=1)
# and, unless KEEP_FD=1, closes its descriptor (ctypes' mmap: python's own keeps a descriptor);
# then creates the file named first and waits to be killed.
MAP_PY='
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
for path in sys.argv[2:]:
    fd = os.open(path, os.O_RDWR)
    flags = 2 if os.environ.get("PRIVATE") == "1" else 1
    p = libc.mmap(None, os.fstat(fd).st_size, 3, flags, fd, 0)
    if p in (None, ctypes.c_void_p(-1).value):
        sys.exit("mmap: " + os.strerror(ctypes.get_errno()))
    if os.environ.get("KEEP_FD") != "1":
        os.close(fd)
open(sys.argv[1], "w").close()
time.sleep(600)'

# A python program that attaches the System V segment of identifier $1, touches its first page,
# creates the file $2 and waits to be killed.
ATTACH_PY='
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
p = libc.shmat(int(sys.argv[1]), None, 0)
assert p not in (None, ctypes.c_void_p(-1).value)
ctypes.memset(p, 1, 4096)
open(sys.argv[2], "w").close()
time.sleep(600)'

# Start MAP_PY on the objects /NAME... of PSHM_DIR; HOLDER is its PID once they are mapped.
hold_maps() {
	need_python
	local ready=$BATS_TEST_TMPDIR/ready.$RANDOM a paths=()
	for a; do paths+=("$PSHM_DIR/${a#/}"); done
	"$PYTHON" -c "$MAP_PY" "$ready" "${paths[@]}" >/dev/null 2>&1 3>&- &
	HOLDER=$!
	track $HOLDER
	wait_until test -e "$ready"
}

# The entry of .nameless named NAME in the JSON of `pshm df -J` on standard input, or nothing.
nameless() {
	jq -c --arg n "$1" '.nameless[] | select(.name == $n)'
}

# The JSON entry of the owner running the tests.
my_sums() {
	jq -c --arg u "$ME_USER" '.owners[] | select(.owner == $u)'
}

# stderr_view for df, whose warning speaks of memory rather than of process counts.
stderr_df_view() {
	local re tail=$'; memory that processes hold may be more than shown\n'
	if view_complete; then
		[ -z "$stderr" ] || fail_with "unexpected stderr:" "$stderr"
		return
	fi
	re="^(pshm: warning: could not look into [1-9][0-9]* process(es)? of other users$tail)?"
	re+="(pshm: warning: /proc hides the processes of other users \\(hidepid=[a-z0-9]+\\)$tail)?"
	re+="pshm: run as root to see all processes\$"
	[[ $stderr =~ $re ]] && [[ $stderr == *warning* ]] ||
		fail_with "not the warning of a view that is not whole:" "$stderr"
}

# pids_shown as a regular expression.
pids_re() {
	local p
	p=$(pids_shown "$1")
	echo "${p//\?/\\?}"
}

# Run the shell SCRIPT (its $0, $1... the arguments after it) in a new IPC namespace, skipping
# the test where that is not allowed.
in_ipc_ns() {
	unshare --ipc true 2>/dev/null || skip "cannot make an IPC namespace (unshare --ipc)"
	unshare --ipc sh -c "$@"
}

@test "df: an unlinked object that a process holds is memory with no name, shown with its holder" {
	pshm create -s 64K /held
	run --separate-stderr pshm df -J
	[ "$status" -eq 0 ]
	stderr_df_view
	jq_true '.owners | length > 0' <<<"$output"
	[ -z "$(nameless /held <<<"$output")" ]
	posix_before=$(my_sums <<<"$output" | jq .posix)
	[ "$posix_before" -eq 65536 ]

	# Two holders: one with a descriptor and a mapping, one with a mapping only.
	KEEP_FD=1 hold_maps /held
	h1=$HOLDER
	hold_maps /held
	h2=$HOLDER
	pshm rm /held
	dir_holds
	run --separate-stderr pshm df -J
	[ "$status" -eq 0 ]
	stderr_df_view
	e=$(nameless /held <<<"$output")
	[ -n "$e" ] || fail_with "no /held in .nameless:" "$output"
	[ "$(wc -l <<<"$e")" -eq 1 ] || fail_with "/held shown more than once:" "$e"
	jq_true --argjson p1 "$h1" --argjson p2 "$h2" --argjson u "$ME_UID" '.kind == "posix" and
		.size == 65536 and .allocated == 65536 and .estimated == false and .uid == $u and
		(.processes | map(.pid)) == ([$p1, $p2] | sort) and
		all(.processes[]; .command | test("^python"))' <<<"$e"
	# The owner's sums count it without a name, and no longer as a named object; TOTAL has
	# it besides the named objects, segments and memfds.
	jq_true '.noname >= 65536 and .posix == 0 and .total - .posix - .sysv - .memfd >= 65536' \
		<<<"$(my_sums <<<"$output")"
	[ "$(jq .complete <<<"$output")" = "$(whole_json)" ]
	jq_true '[.owners[].total] == ([.owners[].total] | sort | reverse) and
		[.nameless[].allocated] == ([.nameless[].allocated] | sort | reverse)' <<<"$output"

	# The table: kind, size, memory, owner, PIDs (ending in "?" when some processes could not be
	# seen), commands and the name it had.
	run --separate-stderr pshm df
	[ "$status" -eq 0 ]
	pids=$(printf '%s\n' "$h1" "$h2" | sort -n | paste -sd,)
	grep -qE "^posix +64K +64K +$ME_USER +$(pids_re "$pids") +python[0-9.]*,python[0-9.]* +/held\$" \
		<<<"$output" || fail_with "no line for /held:" "$output"

	# Once its holders have gone, so has the memory.
	kill "$h1" "$h2"
	wait "$h1" "$h2" || true
	run --separate-stderr pshm df -J
	[ "$status" -eq 0 ]
	[ -z "$(nameless /held <<<"$output")" ] || fail_with "/held still shown:" "$output"
}

@test "df: an object only mapped, its descriptor closed, is found by the mapping" {
	pshm create -s 12K /mapped
	pshm create -s 20K /bigger
	pshm create -s 8K /private
	hold_maps /mapped /bigger
	PRIVATE=1 hold_maps /private
	pshm rm /mapped /bigger /private
	run --separate-stderr pshm df -J -b
	[ "$status" -eq 0 ]
	# A private mapping holds the file as well as a shared one.
	jq_true --argjson p "$HOLDER" '.processes | map(.pid) == [$p]' \
		<<<"$(nameless /private <<<"$output")"
	jq_true '.processes | length == 1' <<<"$(nameless /mapped <<<"$output")"
	# The most memory first.
	jq_true '[.nameless[].name | select(. == "/mapped" or . == "/bigger")] ==
		["/bigger", "/mapped"]' <<<"$output"
	# Only root may look at the file itself; others are told its size from the mapping.
	jq_true --argjson root "$([ "$ME_UID" -eq 0 ] && echo true || echo false)" \
		'.size == 12288 and .allocated == 12288 and .estimated == ($root | not)' \
		<<<"$(nameless /mapped <<<"$output")"
}

@test "df: a memfd is memory with no name, under MEMFD and NONAME; shared anonymous memory is not" {
	need_python
	"$PYTHON" -c 'import os, sys, time
import mmap
fd = os.memfd_create("pshm-bats-df")
os.write(fd, b"x" * 20000)
anon = mmap.mmap(-1, 65536, flags=mmap.MAP_SHARED)
anon[:] = b"y" * 65536
print(fd, flush=True)
time.sleep(600)' >"$BATS_TEST_TMPDIR/fd" 2>/dev/null 3>&- &
	pid=$!
	track $pid
	wait_until test -s "$BATS_TEST_TMPDIR/fd"
	run --separate-stderr pshm df -J
	[ "$status" -eq 0 ]
	stderr_df_view
	e=$(jq -c --argjson p "$pid" '.nameless[] | select(.name == "memfd:pshm-bats-df" and
		any(.processes[]; .pid == $p))' <<<"$output")
	[ -n "$e" ] || fail_with "no memfd of $pid in:" "$output"
	jq_true '.kind == "memfd" and .size == 20000 and .allocated == 20480' <<<"$e"
	jq_true '.memfd >= 20480 and .noname >= .memfd and .total >= .memfd' \
		<<<"$(my_sums <<<"$output")"
	# Its shared anonymous mapping (/proc shows it as "/dev/zero (deleted)") is not listed.
	grep -q ' /dev/zero (deleted)$' "/proc/$pid/maps"
	jq_true --argjson p "$pid" '[.nameless[] | select(any(.processes[]; .pid == $p))] |
		length == 1' <<<"$output"
}

@test "df: a System V segment marked for removal while attached is shown with its holder" {
	need_python
	key=$(sysv_key)
	pshm create -s 8192 "sysv:$key"
	id=$(ipcs -m | awk -v k="$key" '$1 == k {print $2}')
	sysv_track_id "$id"
	"$PYTHON" -c "$ATTACH_PY" "$id" "$BATS_TEST_TMPDIR/ready" >/dev/null 2>&1 3>&- &
	pid=$!
	track $pid
	wait_until test -e "$BATS_TEST_TMPDIR/ready"
	run --separate-stderr pshm df -J
	[ -z "$(nameless "sysv:id=$id" <<<"$output")" ]
	jq_true '.sysv_limits.shmmni.used >= 1 and .sysv_limits.shmall.used >= 2 and
		.sysv_limits.shmmax.used >= 8192' <<<"$output"
	pshm rm "sysv:$key"
	run --separate-stderr pshm df -J
	[ "$status" -eq 0 ]
	stderr_df_view
	e=$(nameless "sysv:id=$id" <<<"$output")
	jq_true --argjson p "$pid" '.kind == "sysv" and .size == 8192 and .allocated == 4096 and
		(.processes | map(.pid)) == [$p]' <<<"$e"
	jq_true '.sysv >= 4096 and .noname >= 4096' <<<"$(my_sums <<<"$output")"
	run --separate-stderr pshm df
	grep -qE "^sysv +8K +4K +$ME_USER +$(pids_re "$pid") +python[0-9.]* +sysv:id=$id\$" \
		<<<"$output" || fail_with "no line for sysv:id=$id:" "$output"
	# At its last detach the kernel removes it.
	kill "$pid"
	wait "$pid" || true
	run --separate-stderr pshm df -J
	[ -z "$(nameless "sysv:id=$id" <<<"$output")" ]
}

@test "df and who: the holders of System V segment 0, the first of an IPC namespace" {
	need_python
	export PYTHON ATTACH_PY
	in_ipc_ns 'cd "$0" || exit 1
		"$PSHM" create -s 4096 sysv:0x5e0000d3 || exit 1
		id=$(awk "\$1 == 1577058515 { print \$2 }" /proc/sysvipc/shm)
		"$PYTHON" -c "$ATTACH_PY" "$id" ready >/dev/null 2>&1 &
		pid=$!
		trap "kill $pid" EXIT
		echo "$pid $id" >ids
		i=0
		until [ -e ready ] || [ "$i" -ge 1200 ]; do sleep 0.05; i=$((i + 1)); done
		"$PSHM" who -n sysv:0x5e0000d3 >who.txt && "$PSHM" rm sysv:0x5e0000d3 &&
			"$PSHM" df -J >df.json' "$BATS_TEST_TMPDIR"
	read -r pid id <"$BATS_TEST_TMPDIR/ids"
	[ "$id" = 0 ]
	grep -qE "^sysv:0x5e0000d3 +$pid +" "$BATS_TEST_TMPDIR/who.txt" ||
		fail_with "who: no $pid in" "$(cat "$BATS_TEST_TMPDIR/who.txt")"
	jq_true --argjson p "$pid" '.kind == "sysv" and (.processes | map(.pid)) == [$p]' \
		<<<"$(nameless sysv:id=0 <"$BATS_TEST_TMPDIR/df.json")"
}

@test "df: the System V limits are the kernel's, against the segments' use" {
	# In an IPC namespace of its own, the segments are those made here.
	in_ipc_ns '"$PSHM" create -s 10000 sysv:0x5e0000d1 && "$PSHM" create -s 100 sysv:0x5e0000d2 &&
		cat /proc/sys/kernel/shmmni /proc/sys/kernel/shmall /proc/sys/kernel/shmmax \
			>"$0/limits" && "$PSHM" df -J >"$0/df.json" && "$PSHM" df -r -n >"$0/df.txt"' \
		"$BATS_TEST_TMPDIR"
	{ read -r mni && read -r all && read -r max; } <"$BATS_TEST_TMPDIR/limits"
	pg=$(getconf PAGESIZE)
	# Pages: each segment's size rounded up to whole pages, as the kernel counts them.
	jq_true --argjson mni "$mni" --argjson all "$all" --argjson max "$max" \
		--argjson pages $(((10000 + pg - 1) / pg + 1)) '.sysv_limits == {"shmmni": {"limit": $mni, "used": 2},
		"shmall": {"limit": $all, "used": $pages}, "shmmax": {"limit": $max, "used": 10000}}' \
		<"$BATS_TEST_TMPDIR/df.json"
	jq_true --arg u "$ME_USER" '.owners[] | select(.owner == $u) | .sysv == 0' \
		<"$BATS_TEST_TMPDIR/df.json"
	# Raw lines: name, description (its spaces escaped), limit, use, percentage rounded up.
	grep -qxE "shmmni number\\\\x20of\\\\x20System\\\\x20V\\\\x20segments $mni 2 1%" \
		"$BATS_TEST_TMPDIR/df.txt" || fail_with "no shmmni line:" "$(cat "$BATS_TEST_TMPDIR/df.txt")"
}

@test "df: the directory line is df(1)'s numbers for the shm directory's file system" {
	in_tmpfs '"$PSHM" create -s 1M /a && "$PSHM" create -s 100K /b || exit 1
		df -B1 --output=size,used,avail "$PSHM_DIR" | tail -n 1 >df.out
		"$PSHM" df -J >pshm.json && "$PSHM" df -b -n >pshm.txt && "$PSHM" df -n >human.txt'
	read -r size used avail <"$BATS_TEST_TMPDIR/df.out"
	[ "$used" -ge $((1024 * 1024 + 100 * 1024)) ]
	jq_true --argjson s "$size" --argjson u "$used" --argjson a "$avail" '.directory |
		.size == $s and .used == $u and .avail == $a and
		.use_percent == ((($u * 100) / ($u + $a)) | ceil)' <"$BATS_TEST_TMPDIR/pshm.json"
	jq_true '.directory.size == 4194304' <"$BATS_TEST_TMPDIR/pshm.json"
	# -b: bytes; without it, units as ls -h shows them.
	read -r d s u a p <"$BATS_TEST_TMPDIR/pshm.txt"
	[ "$s $u $a" = "$size $used $avail" ]
	[ "$d" = "$BATS_TEST_TMPDIR/tmpfs" ]
	read -r d s u a p <"$BATS_TEST_TMPDIR/human.txt"
	[ "$s" = 4M ]
	# The named objects are the owner's POSIX memory.
	jq_true '.posix == 1150976' <<<"$(my_sums <"$BATS_TEST_TMPDIR/pshm.json")"
}

@test "df on a full directory that ls shows empty names the processes holding its memory" {
	need_python
	export PYTHON MAP_PY
	in_tmpfs 'n=0
		while [ "$n" -lt 8 ] && "$PSHM" create -s 1M "/fill$n" 2>err; do n=$((n + 1)); done
		grep -q "No space left on device" err || exit 1
		"$PYTHON" -c "$MAP_PY" ready "$PSHM_DIR"/fill* >/dev/null 2>&1 &
		pid=$!
		trap "kill $pid" EXIT
		echo "$pid" >pid
		i=0
		until [ -e ready ] || [ "$i" -ge 1200 ]; do sleep 0.05; i=$((i + 1)); done
		for f in "$PSHM_DIR"/fill*; do "$PSHM" rm "/${f##*/}" || exit 1; done
		"$PSHM" ls -k posix -n >ls.out
		"$PSHM" create -s 1M /more 2>create.err && exit 1
		"$PSHM" df -J >df.json && "$PSHM" df >df.txt'
	[ ! -s "$BATS_TEST_TMPDIR/ls.out" ] || fail_with "ls shows:" "$(cat "$BATS_TEST_TMPDIR/ls.out")"
	grep -q "No space left on device" "$BATS_TEST_TMPDIR/create.err"
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	json=$(cat "$BATS_TEST_TMPDIR/df.json")
	n=$(jq '[.nameless[] | select(.name | startswith("/fill"))] | length' <<<"$json")
	[ "$n" -ge 2 ]
	# Each unlinked object is there with its holder, and together they are what fills it.
	jq_true --argjson p "$pid" '[.nameless[] | select(.name | startswith("/fill"))] |
		all(.kind == "posix" and .allocated == 1048576 and
		    (.processes | map(.pid)) == [$p])' <<<"$json"
	jq_true '.directory.used >= ([.nameless[] | select(.kind == "posix") | .allocated] | add)
		and .directory.avail < 1048576' <<<"$json"
	grep -qE "^posix +1M +1M +$ME_USER +$pid(,\\?)? +python[0-9.]* +/fill0\$" \
		"$BATS_TEST_TMPDIR/df.txt" || fail_with "no /fill0 line:" "$(cat "$BATS_TEST_TMPDIR/df.txt")"
}

@test "df: unlinked files elsewhere count only on memory file systems" {
	need_python
	export PYTHON MAP_PY
	# One on another tmpfs (this test's shm directory on /dev/shm, while df looks at a tmpfs
	# of its own) and one in the test's temporary directory, on a disk unless it is a tmpfs.
	pshm create -s 8K /other
	printf '%8192s' x >"$BATS_TEST_TMPDIR/disk"
	OUTER=$PSHM_DIR
	export OUTER
	in_tmpfs '"$PYTHON" -c "$MAP_PY" ready "$OUTER/other" "$PWD/disk" >/dev/null 2>&1 &
		pid=$!
		trap "kill $pid" EXIT
		echo "$pid" >pid
		i=0
		until [ -e ready ] || [ "$i" -ge 1200 ]; do sleep 0.05; i=$((i + 1)); done
		rm "$OUTER/other" "$PWD/disk" && "$PSHM" df -J >df.json'
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	json=$(cat "$BATS_TEST_TMPDIR/df.json")
	jq_true --argjson p "$pid" '.kind == "file" and .allocated == 8192 and
		(.processes | map(.pid)) == [$p]' <<<"$(nameless "$OUTER/other" <<<"$json")"
	case $(stat -f -c %T "$BATS_TEST_TMPDIR") in
	tmpfs | ramfs | hugetlbfs) ;;
	*) [ -z "$(nameless "$BATS_TEST_TMPDIR/disk" <<<"$json")" ] ||
		fail_with "a file on disk is shown:" "$json" ;;
	esac
}

@test "df -J: one document, numbers as numbers, sizes in bytes" {
	pshm create -s 3000 /j
	run --separate-stderr pshm df -J
	[ "$status" -eq 0 ]
	jq_true '(.directory | (.size, .used, .avail, .use_percent) | type == "number") and
		(.directory.path | type == "string") and
		all(.owners[]; (.owner | type) == "string" and
		    ([.posix, .sysv, .memfd, .noname, .total] | all(type == "number"))) and
		all(.nameless[]; (.size | type) == "number" and (.processes | type) == "array") and
		(.complete | type) == "boolean"' <<<"$output"
	jq_true '.posix == 4096' <<<"$(my_sums <<<"$output")"
	# -b changes nothing in JSON; -o chooses its members too.
	run --separate-stderr pshm df -J -o OWNER,UID,OBJECTS
	jq_true --argjson u "$ME_UID" '.owners[] | select(.uid == $u) | keys == ["objects",
		"owner", "uid"] and .objects >= 1' <<<"$output"
}

@test "df -o, -r, -n, -b: the owners' columns, raw lines, no headings, bytes" {
	pshm create -s 5000 /o
	run --separate-stderr pshm df -o UID,posix
	[ "$status" -eq 0 ]
	grep -qE '^ *UID +POSIX$' <<<"$output"
	grep -qE "^ *$ME_UID +[0-9.]+[KMGT]?B?\$" <<<"$output"
	run --separate-stderr pshm df -o +objects -b -n -r
	[ "$status" -eq 0 ]
	[ "$(grep -cE '^(OWNER|DIRECTORY|NONAME|RESOURCE) ' <<<"$output")" -eq 0 ]
	line=$(grep -E "^$ME_USER " <<<"$output")
	# Sums that may be low (not root) end in "?".
	read -r owner posix sysv memfd noname total objects <<<"${line//\?/}"
	[ "$posix" -ge 8192 ] && [ "$objects" -ge 1 ]
	[ "$total" -ge "$posix" ]
	# Raw output: spaces in cells become \x20.
	run pshm df -r
	grep -q '^RESOURCE DESCRIPTION LIMIT USED USE%$' <<<"$output"
}

@test "df: usage errors exit 2 with a message" {
	run --separate-stderr pshm df -o OWNER,BOGUS
	[ "$status" -eq 2 ]
	stdout_empty
	stderr_has "^pshm df: unknown column 'BOGUS': columns are OWNER, UID, .* and OBJECTS$"
	run --separate-stderr pshm df -o ''
	[ "$status" -eq 2 ]
	run --separate-stderr pshm df /x
	[ "$status" -eq 2 ]
	stderr_has "^pshm df: unexpected argument '/x'"
	run --separate-stderr pshm df --bogus
	[ "$status" -eq 2 ]
	# --help names every column.
	run pshm df --help
	[ "$status" -eq 0 ]
	for c in OWNER UID POSIX SYSV MEMFD NONAME TOTAL OBJECTS; do
		grep -qE "^  $c " <<<"$output" || fail_with "--help lacks $c"
	done
	grep -qx 'Default columns: OWNER,POSIX,SYSV,MEMFD,NONAME,TOTAL' <<<"$output"
}

@test "df: a missing shm directory is a failure, and the rest is still shown" {
	PSHM_DIR=$BATS_TEST_TMPDIR/none run --separate-stderr pshm df -J
	[ "$status" -eq 1 ]
	stderr_has "^pshm: df $BATS_TEST_TMPDIR/none: No such file or directory$"
	jq_true '.directory == null and (.sysv_limits.shmmni.limit | type) == "number"' <<<"$output"
	# A table without lines is left out; the limits are still there.
	PSHM_DIR=$BATS_TEST_TMPDIR/none run --separate-stderr pshm df
	[ "$status" -eq 1 ]
	[ "$(grep -c '^DIRECTORY ' <<<"$output")" -eq 0 ]
	grep -q '^RESOURCE ' <<<"$output"
}

# Run a program as uid 65534 in its place, for the background: $! is then its PID (as_nobody's
# would be a shell's). Skip the test without setpriv.
setpriv_nobody() {
	exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

require_setpriv() {
	command -v setpriv >/dev/null || skip "setpriv is missing (util-linux)"
}

@test "df with too few descriptors to look into processes: a failure, never quietly short" {
	for n in 4 5 6 8 16; do
		run --separate-stderr bash -c "ulimit -n $n && exec \"\$0\" df -J" "$PSHM" 3>&-
		case $status in
		0) jq_true '(.complete | type) == "boolean"' <<<"$output" ;;
		1)
			stderr_has '^pshm: df /proc: Too many open files$'
			stderr_has 'raise the limit on open files \(ulimit -n\)$'
			jq_true '.complete == false' <<<"$output"
			;;
		*) fail_with "ulimit -n $n: exit $status" "$stderr" ;;
		esac
		# With one descriptor to spare beside 0, 1 and 2, not one process can be read.
		[ "$n" -ne 4 ] || [ "$status" -eq 1 ]
	done
}

@test "df as another user: a warning of what it could not see, complete false, exit 0" {
	require_root
	require_setpriv
	share_dir
	run --separate-stderr as_nobody "$PSHM" df -J
	[ "$status" -eq 0 ]
	jq_true '.complete == false' <<<"$output"
	stderr_has '^pshm: warning: (could not look into [1-9][0-9]* process(es)? of other users|/proc hides the processes of other users \(hidepid=[a-z0-9]+\)); memory that processes hold may be more than shown$'
	stderr_has '^pshm: run as root to see all processes$'
	# An object of its own, unlinked and held by a process of its own: what it found is shown,
	# the lists and sums that may be short marked in the table.
	as_nobody "$PSHM" create -s 4K /nb
	as_nobody "$PSHM" create -s 8K /nbheld
	setpriv_nobody sleep 600 4<"$PSHM_DIR/nbheld" >/dev/null 2>&1 3>&- &
	pid=$!
	track $pid
	wait_comm $pid sleep
	as_nobody "$PSHM" rm /nbheld
	run --separate-stderr as_nobody "$PSHM" df -J
	[ "$status" -eq 0 ]
	jq_true --argjson p "$pid" '.complete == false and
		(.owners[] | select(.owner == "nobody") | .posix == 4096 and .noname >= 8192) and
		(.nameless[] | select(.name == "/nbheld") | (.processes | map(.pid)) == [$p] and
		 .owner == "nobody" and .allocated == 8192)' <<<"$output"
	run --separate-stderr as_nobody "$PSHM" df -b -o +OBJECTS
	[ "$status" -eq 0 ]
	grep -qE '^nobody +4096 +[0-9]+ +[0-9]+\? +[0-9]+\? +[0-9]+\? +[0-9]+\?$' <<<"$output" ||
		fail_with "no line for nobody:" "$output"
	grep -qE "^posix +8192 +8192 +nobody +$pid,\\? +sleep +/nbheld\$" <<<"$output" ||
		fail_with "no line for /nbheld:" "$output"
}

# A python interpreter that uid 65534 may run, in PYTHON; skip without one.
nobody_python() {
	local p
	need_python
	for p in "$PYTHON" /usr/bin/python3; do
		if [ -x "$p" ] && as_nobody "$p" -c '' 2>/dev/null; then
			PYTHON=$p
			return
		fi
	done
	skip "no python3 that uid 65534 may run"
}

@test "df as another user: a file only mapped is as large as its mappings, owned by its mapper" {
	require_root
	require_setpriv
	nobody_python
	share_dir
	as_nobody "$PSHM" create -s 24K /est
	setpriv_nobody "$PYTHON" -c "$MAP_PY" "$PSHM_DIR/ready" "$PSHM_DIR/est" >/dev/null 2>&1 3>&- &
	pid=$!
	track $pid
	wait_until test -e "$PSHM_DIR/ready"
	as_nobody "$PSHM" rm /est
	run --separate-stderr as_nobody "$PSHM" df -J
	[ "$status" -eq 0 ]
	jq_true --argjson p "$pid" '.kind == "posix" and .estimated == true and .size == 24576 and
		.allocated == 24576 and .owner == "nobody" and (.processes | map(.pid)) == [$p]' \
		<<<"$(nameless /est <<<"$output")"
	# Root looks at the file itself.
	run --separate-stderr pshm df -J
	jq_true '.estimated == false and .size == 24576' <<<"$(nameless /est <<<"$output")"
}
