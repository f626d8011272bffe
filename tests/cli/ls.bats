#!/usr/bin/env bats
# pshm ls, stat and who: what they show of objects, holders and mappings, as tables, raw lines
# and JSON.

load helpers

# ls limited to POSIX objects, so that System V segments of other programs do not interfere.
lsp() {
	pshm ls -k posix "$@"
}

# Start a process that holds /NAME open on descriptor 3 (read-only) and wait for it.
hold_ro() {
	sleep 30 3<"$PSHM_DIR/${1#/}" >/dev/null 2>&1 &
	HOLDER=$!
	track $HOLDER
	wait_comm $HOLDER sleep
}

# Start a python process that maps /NAME (ACCESS: rw or ro), closes the file and waits.
map_it() {
	need_python
	local ready=$BATS_TEST_TMPDIR/ready.$RANDOM
	"$PYTHON" -c '
import mmap, sys, time
f = open(sys.argv[1], "r+b" if sys.argv[2] == "rw" else "rb")
m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_WRITE if sys.argv[2] == "rw" else mmap.ACCESS_READ)
f.close()
open(sys.argv[3], "w").close()
time.sleep(30)' "$PSHM_DIR/${1#/}" "$2" "$ready" >/dev/null 2>&1 3>&- &
	MAPPER=$!
	track $MAPPER
	wait_until test -e "$ready"
}

@test "ls: the objects with their size, kind, perms, owner; sorted by address" {
	pshm create -s 10K -m 640 /bbb
	pshm create -s 100 /aaa
	pshm create /ccc
	run --separate-stderr lsp
	[ "$status" -eq 0 ]
	stderr_view
	[ "${#lines[@]}" -eq 4 ]
	read -ra h <<<"${lines[0]}"
	[ "${h[*]}" = "ADDRESS KIND SIZE ALLOC SPARSE PERMS OWNER GROUP MTIME STATUS NPROCS PIDS" ]
	read -ra a <<<"${lines[1]}"
	[ "${a[*]:0:3}" = "/aaa posix 100B" ]
	[ "${a[4]}" = rw------- ] && [ "${a[5]}" = "$ME_USER" ] && [ "${a[6]}" = "$ME_GROUP" ]
	read -ra b <<<"${lines[2]}"
	[ "${b[*]:0:4}" = "/bbb posix 10K 12K" ]
	[ "${b[4]}" = rw-r----- ]
	[ "${b[7]} ${b[8]} ${b[9]}" = "$(date -r "$PSHM_DIR/bbb" '+%Y-%m-%d %H:%M:%S %z')" ]
	[ "${b[10]}" = "$(procs_shown 0)" ]
	[ "${b[11]:-}" = "$(pids_shown '')" ]
	read -ra c <<<"${lines[3]}"
	[ "${c[*]:0:4}" = "/ccc posix 0B 0B" ]
}

@test "ls: no objects in an empty directory (at most the heading; JSON an empty list)" {
	run lsp
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -le 1 ]
	[ "${#lines[@]}" -eq 0 ] || [[ ${lines[0]} == ADDRESS* ]]
	run lsp -n
	[ -z "$output" ]
	run lsp -J
	jq_true '.objects == []' <<<"$output"
}

@test "ls -J: valid JSON, numbers as numbers, booleans as booleans" {
	pshm create -s 4096 -m 644 /j1
	pshm create -s 1M --sparse /j2
	run --separate-stderr lsp -J
	[ "$status" -eq 0 ]
	stderr_view
	jq_true . >/dev/null <<<"$output"
	jq_true '.objects|length == 2' <<<"$output"
	jq_true '.objects[0].size|type=="number"' <<<"$output"
	jq_true --arg u "$ME_USER" --arg g "$ME_GROUP" --argjson whole "$(whole_json)" '.objects[0] |
		.address == "/j1" and .kind == "posix" and .size == 4096 and .alloc == 4096 and
		.sparse == false and .perms == "rw-r--r--" and .owner == $u and .group == $g and
		if $whole then .nprocs == 0 and .pids == [] else
		.nprocs == null and .pids == null and .complete == false end' <<<"$output"
	jq_true '.objects[1] | .address == "/j2" and .size == 1048576 and .alloc == 0
		and .sparse == true' <<<"$output"
	jq_true '.objects[1].mtime | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-][0-9]{2}:[0-9]{2}$")' \
		<<<"$output"
	# The keys are the column names in lower case, in order (and "complete" when false).
	keys='"address","kind","size","alloc","sparse","perms","owner","group","mtime","status"'
	keys+=',"nprocs","pids"'
	view_complete || keys+=',"complete"'
	[ "$(jq -c '.objects[0]|keys_unsorted' <<<"$output")" = "[$keys]" ]
}

@test "ls -J with an awkward name: still valid JSON" {
	pshm create '/we"ird\name	tab'
	run --separate-stderr lsp -J
	stderr_view
	# A backslash is shown as the text \x5c (see ESCAPES in pshm(1)).
	jq_true '.objects[0].address == "/we\"ird\\x5cname\ttab"' <<<"$output"
}

@test "ls -o COLUMNS: those columns, in that order, case-insensitive" {
	pshm create -s 2K -m 604 /a
	run lsp -o size,ADDRESS,Mode,UID,GID
	[ "$status" -eq 0 ]
	read -ra h <<<"${lines[0]}"
	[ "${h[*]}" = "SIZE ADDRESS MODE UID GID" ]
	read -ra r <<<"${lines[1]}"
	[ "${r[*]}" = "2K /a 0604 $ME_UID $ME_GID" ]
	run lsp -J -o size,mode,uid
	[ "$(jq -c '.objects' <<<"$output")" = "[{\"size\":2048,\"mode\":\"0604\",\"uid\":$ME_UID}]" ]
	# Without ADDRESS the rows are still sorted by it, and ADDRESS is not shown.
	pshm create -s 1 /0first
	pshm create -s 3 /zlast
	run lsp -n -o size -b
	[ "$(tr -d ' ' <<<"$output" | tr '\n' ,)" = "1,2048,3," ]
}

@test "ls -o +COLUMNS adds to the default columns" {
	pshm create -s 1 -m 640 /a
	run --separate-stderr lsp -o +MODE,UID
	stderr_view
	read -ra h <<<"${lines[0]}"
	[ "${h[*]}" = "ADDRESS KIND SIZE ALLOC SPARSE PERMS OWNER GROUP MTIME STATUS NPROCS PIDS MODE UID" ]
	run --separate-stderr lsp -J -o +mode
	stderr_view
	jq_true '.objects[0] | .mode == "0640" and .address == "/a" and .size == 1' <<<"$output"
}

@test "ls -o: every column, with the values of stat" {
	pshm create -s 5000 -m 640 /c
	run --separate-stderr lsp -J -b -o ADDRESS,KIND,SIZE,ALLOC,SPARSE,PERMS,MODE,OWNER,GROUP,UID,GID,MTIME,CTIME,NPROCS,PIDS,KEY,ID,NATTCH,CPID,LPID,SEALS
	[ "$status" -eq 0 ]
	stderr_view
	o=$(jq -c '.objects[0]' <<<"$output")
	jq_true --arg u "$ME_USER" --arg g "$ME_GROUP" --argjson uid "$ME_UID" \
		--argjson gid "$ME_GID" --argjson whole "$(whole_json)" '.address == "/c" and
		.kind == "posix" and .size == 5000
		and .alloc == 8192 and .sparse == false and .perms == "rw-r-----" and .mode == "0640"
		and .owner == $u and .group == $g and .uid == $uid and .gid == $gid
		and (if $whole then .nprocs == 0 and .pids == [] and (has("complete") | not) else
		.nprocs == null and .pids == null and .complete == false end)
		and .key == null and .id == null
		and .nattch == null and .cpid == null and .lpid == null and .seals == null' <<<"$o"
	[ "$(jq -r .ctime <<<"$o")" = "$(date -d "@$(stat -c %Z "$PSHM_DIR/c")" '+%Y-%m-%dT%H:%M:%S%:z')" ]
}

@test "ls -r: raw output, one space between cells" {
	pshm create -s 100 /a
	pshm create -s 2K /b
	run lsp -r -o ADDRESS,SIZE,PERMS
	[ "${lines[0]}" = "ADDRESS SIZE PERMS" ]
	[ "${lines[1]}" = "/a 100B rw-------" ]
	[ "${lines[2]}" = "/b 2K rw-------" ]
	run lsp --raw -b -n -o ADDRESS,SIZE
	[ "$output" = "$(printf '/a 100\n/b 2048')" ]
}

@test "ls -b: sizes in bytes; human sizes otherwise" {
	pshm create -s 1536 /a
	pshm create -s 3M --sparse /b
	pshm create -s 1000 /c
	run lsp -b -n -o ADDRESS,SIZE
	[ "$(tr -s ' ' <<<"$output")" = "$(printf '/a 1536\n/b 3145728\n/c 1000')" ]
	run lsp --bytes -n -o ADDRESS,SIZE
	[ "$(tr -s ' ' <<<"$output")" = "$(printf '/a 1536\n/b 3145728\n/c 1000')" ]
	run lsp -n -o ADDRESS,SIZE
	[ "$(tr -s ' ' <<<"$output")" = "$(printf '/a 1.5K\n/b 3M\n/c 1000B')" ]
}

@test "ls -n and --noheadings: no heading line" {
	pshm create /a
	run --separate-stderr lsp -n
	stderr_view
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == "/a "* ]]
	run lsp --noheadings -o ADDRESS
	[ "$output" = /a ]
}

@test "ls -k: posix, sysv, sem and lists of kinds" {
	key=$(sysv_key)
	pshm create -s 123 "sysv:$key"
	pshm create -s 10 /p
	echo s >"$PSHM_DIR/sem.s"
	run --separate-stderr pshm ls -k posix -J
	stderr_view
	[ "$(jq -c '[.objects[].address]' <<<"$output")" = '["/p"]' ]
	run --separate-stderr pshm ls -k sysv -J
	stderr_view
	jq_true 'all(.objects[]; .kind == "sysv")' <<<"$output"
	jq_true --arg a "sysv:$key" '[.objects[] | select(.address == $a)] | length == 1 and
		.[0].size == 123' <<<"$output"
	run --separate-stderr pshm ls -k sem -J
	stderr_view
	[ "$(jq -c '[.objects[] | [.address, .kind]]' <<<"$output")" = '[["sem:/s","sem"]]' ]
	run --separate-stderr pshm ls --kinds posix,sem -J
	stderr_view
	[ "$(jq -c '[.objects[].address]' <<<"$output")" = '["/p","sem:/s"]' ]
	# By default: POSIX objects and System V segments, no semaphores.
	run --separate-stderr pshm ls -J
	stderr_view
	jq_true 'all(.objects[]; .kind == "posix" or .kind == "sysv")' <<<"$output"
	jq_true --arg a "sysv:$key" 'any(.objects[]; .address == $a)' <<<"$output"
	jq_true 'any(.objects[]; .address == "/p")' <<<"$output"
	# sysv rows carry the System V columns.
	run --separate-stderr pshm ls -k sysv -J -o ADDRESS,KEY,ID,NATTCH,CPID
	[ -z "$stderr" ]
	id=$(ipcs -m | awk -v k="$key" '$1 == k {print $2}')
	jq_true --arg a "sysv:$key" --arg k "$key" --argjson id "$id" '.objects[] |
		select(.address == $a) | .key == $k and .id == $id and .nattch == 0 and
		(.cpid|type) == "number"' <<<"$output"
}

@test "ls -a: semaphores and the memfds processes hold" {
	need_python
	pshm create /p
	echo x >"$PSHM_DIR/sem.x"
	"$PYTHON" -c 'import os, sys, time
fd = os.memfd_create("pshm-bats")
os.ftruncate(fd, 4096)
print(fd, flush=True)
time.sleep(30)' >"$BATS_TEST_TMPDIR/fd" 2>/dev/null 3>&- &
	pid=$!
	track $pid
	wait_until test -s "$BATS_TEST_TMPDIR/fd"
	fd=$(cat "$BATS_TEST_TMPDIR/fd")
	run --separate-stderr pshm ls -a -J
	[ "$status" -eq 0 ]
	stderr_view
	jq_true '.objects[] | select(.address == "sem:/x") | .kind == "sem" and .size == 2' <<<"$output"
	jq_true '.objects[] | select(.address == "/p") | .kind == "posix"' <<<"$output"
	m=$(jq -c --arg a "memfd:$pid:$fd" '.objects[] | select(.address == $a)' <<<"$output")
	[ -n "$m" ] || fail_with "no memfd:$pid:$fd in" "$output"
	jq_true --argjson pid "$pid" --argjson whole "$(whole_json)" '.kind == "memfd" and
		.size == 4096 and if $whole then .nprocs == 1 and .pids == [$pid] else
		.nprocs == null and .pids == null and .complete == false end' <<<"$m"
	# The same through --all and the table, and -k memfd alone.
	run pshm ls --all -o ADDRESS,KIND
	grep -qE "^memfd:$pid:$fd +memfd$" <<<"$output"
	grep -qE '^sem:/x +sem$' <<<"$output"
	run --separate-stderr pshm ls -k memfd -J
	stderr_view
	jq_true 'all(.objects[]; .kind == "memfd")' <<<"$output"
	# Without -a neither shows.
	run --separate-stderr pshm ls -J
	stderr_view
	jq_true 'all(.objects[]; .kind != "memfd" and .kind != "sem")' <<<"$output"
}

@test "ls: a sparse object is flagged (SPARSE yes, JSON true), a reserved one is not" {
	pshm create -s 1M --sparse /hole
	pshm create -s 1M /full
	run lsp -o ADDRESS,SPARSE
	[ "$(tr -s ' ' <<<"${lines[1]}")" = "/full " ] || [ "$(tr -s ' ' <<<"${lines[1]}")" = /full ]
	[ "$(tr -s ' ' <<<"${lines[2]}")" = "/hole yes" ]
	run lsp -J -o ADDRESS,SPARSE
	[ "$(jq -c '.objects' <<<"$output")" = \
		'[{"address":"/full","sparse":false},{"address":"/hole","sparse":true}]' ]
	# Writing every byte makes it whole.
	head -c 1M /dev/zero | pshm write /hole
	run lsp -J -o ADDRESS,SPARSE
	jq_true '.objects[1].sparse == false' <<<"$output"
}

@test "ls: NPROCS and PIDS of processes holding or mapping an object" {
	pshm create -s 4096 /held
	pshm create /idle
	hold_ro /held
	h1=$HOLDER
	map_it /held rw
	run --separate-stderr lsp -o ADDRESS,NPROCS,PIDS
	stderr_view
	want="/held $(procs_shown 2) $(pids_shown "$(printf '%s\n' $h1 $MAPPER | sort -n | paste -sd,)")"
	read -ra r <<<"${lines[1]}"
	[ "${r[*]}" = "$want" ] || fail_with "got: ${lines[1]}, want $want"
	read -ra r <<<"${lines[2]}"
	if view_complete; then [ "${r[*]}" = "/idle 0" ]; else [ "${r[*]}" = "/idle 0? ?" ]; fi
	run --separate-stderr lsp -J -o ADDRESS,NPROCS,PIDS
	stderr_view
	if view_complete; then
		jq_true --argjson a "$h1" --argjson b "$MAPPER" '.objects[0] | .nprocs == 2 and
			(.pids|sort) == ([$a, $b]|sort) and (.pids[0]|type) == "number"' <<<"$output"
		jq_true '.objects[1] | .nprocs == 0 and .pids == []' <<<"$output"
	else
		jq_true 'all(.objects[]; .nprocs == null and .pids == null and .complete == false)' \
			<<<"$output"
	fi
	# Once they are gone, so are they from the list.
	kill $h1 $MAPPER
	wait $h1 $MAPPER 2>/dev/null || true
	run --separate-stderr lsp -n -o ADDRESS,NPROCS,PIDS
	read -ra r <<<"${lines[0]}"
	if view_complete; then [ "${r[*]}" = "/held 0" ]; else [ "${r[*]}" = "/held 0? ?" ]; fi
	run --separate-stderr lsp -J -o ADDRESS,NPROCS
	jq_true --argjson whole "$(whole_json)" '.objects[0].nprocs == if $whole then 0 else null end' \
		<<<"$output"
}

@test "ls: an unknown column or kind is exit 2 naming it" {
	pshm create /a
	run --separate-stderr pshm ls -o ADDRESS,BOGUS
	[ "$status" -eq 2 ]
	stdout_empty
	stderr_has "^pshm ls: unknown column 'BOGUS'"
	run --separate-stderr pshm ls -o +nope
	[ "$status" -eq 2 ]
	stderr_has "unknown column 'nope'"
	run --separate-stderr pshm ls -k posix,bogus
	[ "$status" -eq 2 ]
	stdout_empty
	stderr_has "^pshm ls: unknown kind 'bogus'"
	run --separate-stderr pshm ls -k ''
	[ "$status" -eq 2 ]
	run --separate-stderr pshm ls -o ''
	[ "$status" -eq 2 ]
	run --separate-stderr pshm ls extra
	[ "$status" -eq 1 ]
	stderr_has "^pshm: ls extra: no such object"
}

@test "ls as another user: root's private objects are listed (not read)" {
	require_root
	share_dir
	pshm create -s 77 -m 600 /private
	run --separate-stderr as_nobody "$PSHM" ls -k posix -J -b
	[ "$status" -eq 0 ]
	jq_true '.objects[0] | .address == "/private" and .size == 77 and .owner == "root"' \
		<<<"$output"
}

@test "ls skips what is not an object: FIFOs, directories, symlinks" {
	pshm create /real
	mkfifo "$PSHM_DIR/fifo"
	mkdir "$PSHM_DIR/dir"
	ln -s real "$PSHM_DIR/link"
	run --separate-stderr timeout 60 "$PSHM" ls -a -J
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.objects[] | select(.kind == "posix") | .address]' <<<"$output")" = '["/real"]' ]
}

# ---- stat ----------------------------------------------------------------------------------

@test "stat: key: value lines describing the object" {
	pshm create -s 3000 -m 640 /s
	run --separate-stderr pshm stat /s
	[ "$status" -eq 0 ]
	stderr_view
	# Every line is "key: value".
	! grep -vE '^[a-z_]+: ' <<<"$output"
	val() { sed -n "s/^$1: //p" <<<"$output"; }
	[ "$(val address)" = /s ]
	[ "$(val kind)" = posix ]
	[ "$(val size)" = 3000 ]
	[ "$(val size_human)" = 2.9K ]
	[ "$(val allocated)" = 4096 ]
	[ "$(val sparse)" = false ]
	[ "$(val mode)" = 0640 ]
	[ "$(val perms)" = rw-r----- ]
	[ "$(val owner)" = "$ME_USER" ] && [ "$(val uid)" = "$ME_UID" ]
	[ "$(val group)" = "$ME_GROUP" ] && [ "$(val gid)" = "$ME_GID" ]
	[ "$(val inode)" = "$(stat -c %i "$PSHM_DIR/s")" ]
	[ "$(val links)" = 1 ]
	[ "$(val device)" = "$(($(stat -c 0x%t "$PSHM_DIR/s"))):$(($(stat -c 0x%T "$PSHM_DIR/s")))" ] ||
		[ "$(val device)" = "$(stat -c %d "$PSHM_DIR/s" | awk '{print int($1/256)":"$1%256}')" ]
	[ "$(val modify_time)" = "$(date -r "$PSHM_DIR/s" '+%Y-%m-%d %H:%M:%S %z')" ]
	[ "$(val processes)" = "$(procs_shown 0)" ]
	grep -qx "pids: $(pids_shown '')" <<<"$output"
	[ "$(val complete)" = "$(whole_json)" ]
	# -b leaves out the human size.
	run pshm stat -b /s
	! grep -q '^size_human:' <<<"$output"
	grep -qx 'size: 3000' <<<"$output"
}

@test "stat -J: an array of objects, numbers as numbers" {
	pshm create -s 10 /a
	pshm create -s 2M --sparse /b
	run --separate-stderr pshm stat -J /a /b
	[ "$status" -eq 0 ]
	stderr_view
	jq_true 'type == "array" and length == 2' <<<"$output"
	jq_true --argjson uid "$ME_UID" --argjson gid "$ME_GID" --argjson whole "$(whole_json)" \
		'.[0] | .address == "/a" and
		.size == 10 and (.size|type) == "number" and .allocated == 4096 and
		.sparse == false and .mode == "0600" and .uid == $uid and .gid == $gid and
		(.inode|type) == "number" and .links == 1 and .complete == $whole and
		if $whole then .processes == 0 and .pids == [] else .processes == null and
		.pids == null end' <<<"$output"
	jq_true '.[1] | .address == "/b" and .size == 2097152 and .sparse == true' <<<"$output"
	# JSON sizes are bytes only.
	jq_true 'all(.[]; has("size_human") | not)' <<<"$output"
}

@test "stat of several operands: each described, blank line between" {
	pshm create -s 1 /a
	pshm create -s 2 /b
	run pshm stat /a /b posix:/a
	[ "$status" -eq 0 ]
	[ "$(grep -c '^address: ' <<<"$output")" -eq 3 ]
	[ "$(grep -c '^$' <<<"$output")" -eq 2 ]
	[ "$(sed -n 's/^size: //p' <<<"$output" | paste -sd,)" = 1,2,1 ]
}

@test "stat of a missing object: exit 1, a message naming it, the others shown" {
	pshm create -s 5 /here
	run --separate-stderr pshm stat /gone /here
	[ "$status" -eq 1 ]
	stderr_has '^pshm: stat /gone: No such file or directory$'
	grep -qx 'address: /here' <<<"$output"
	run --separate-stderr pshm stat -J /here /gone
	[ "$status" -eq 1 ]
	jq_true 'length == 1 and .[0].address == "/here"' <<<"$output"
	run --separate-stderr pshm stat -J /gone
	[ "$status" -eq 1 ]
	jq_true '. == []' <<<"$output"
}

@test "stat: bad names, sem: and sysv: addresses" {
	for name in . a/b bogus:x "/$(printf 'n%.0s' $(seq 300))"; do
		run --separate-stderr pshm stat "$name"
		[ "$status" -eq 1 ] || fail_with "stat '$name' exited $status"
		grep -qF "pshm: stat $name: " <<<"$stderr"
	done
	run --separate-stderr pshm stat a/b
	stderr_has 'names are /NAME'
	echo sem >"$PSHM_DIR/sem.lock"
	run --separate-stderr pshm stat -J sem:/lock
	stderr_view
	jq_true '.[0] | .kind == "sem" and .size == 4' <<<"$output"
	key=$(sysv_key)
	pshm create -s 99 -m 640 "sysv:$key"
	run --separate-stderr pshm stat -J "sysv:$key"
	stderr_view
	id=$(ipcs -m | awk -v k="$key" '$1 == k {print $2}')
	jq_true --arg k "$key" --argjson id "$id" '.[0] | .kind == "sysv" and .size == 99 and
		.key == $k and .id == $id and .mode == "0640" and .nattch == 0 and .removed == false
		and (.cpid|type) == "number"' <<<"$output"
}

@test "stat of a FIFO squatting under a name: exit 1 at once" {
	mkfifo "$PSHM_DIR/fifo"
	run --separate-stderr timeout 60 "$PSHM" stat /fifo
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has '^pshm: stat /fifo: '
	stderr_has 'is a FIFO, not a shared memory object'
}

@test "stat: processes and pids of holders" {
	pshm create -s 4096 /h
	hold_ro /h
	run --separate-stderr pshm stat /h
	stderr_view
	grep -qx "processes: $(procs_shown 1)" <<<"$output"
	grep -qx "pids: $(pids_shown "$HOLDER")" <<<"$output"
	run --separate-stderr pshm stat -J /h
	stderr_view
	jq_true --argjson p "$HOLDER" --argjson whole "$(whole_json)" '.[0] | if $whole then
		.processes == 1 and .pids == [$p] else .processes == null and .pids == null end and
		.complete == $whole' <<<"$output"
}

# ---- who -----------------------------------------------------------------------------------

@test "who: a process holding a descriptor, read-only and read-write" {
	pshm create -s 4096 /w
	hold_ro /w
	ro=$HOLDER
	sleep 30 4<>"$PSHM_DIR/w" >/dev/null 2>&1 &
	rw=$!
	track $rw
	wait_comm $rw sleep
	run --separate-stderr pshm who /w
	[ "$status" -eq 0 ]
	stderr_view
	who_unmark /w
	read -ra h <<<"${lines[0]}"
	[ "${h[*]}" = "ADDRESS PID USER COMMAND ACCESS" ]
	[ "${#lines[@]}" -eq 3 ]
	grep -qE "^/w +$ro +$ME_USER +sleep +fd 3 ro$" <<<"$output" || fail_with "$output"
	grep -qE "^/w +$rw +$ME_USER +sleep +fd 4 rw$" <<<"$output" || fail_with "$output"
	run --separate-stderr pshm who -n /w
	[ "${#lines[@]}" -eq $((2 + $(who_markers 1))) ]
	who_unmark /w
	[ "${#lines[@]}" -eq 2 ]
}

@test "who: a process mapping the object, rw and ro" {
	pshm create -s 8192 /m
	map_it /m rw
	rw=$MAPPER
	map_it /m ro
	ro=$MAPPER
	run --separate-stderr pshm who /m
	[ "$status" -eq 0 ]
	stderr_view
	who_unmark /m
	grep -qE "^/m +$rw +$ME_USER +python[0-9.]* +map rw$" <<<"$output" || fail_with "$output"
	grep -qE "^/m +$ro +$ME_USER +python[0-9.]* +map ro$" <<<"$output" || fail_with "$output"
	# Nobody else (python's mmap keeps a descriptor of its own: "fd N").
	[ "$(grep -cvE "^/m +($rw|$ro) +$ME_USER +python[0-9.]* +(map|fd [0-9]+) r[ow]$" \
		<<<"${output#*$'\n'}")" -eq 0 ]
	[ "$(grep -c ' map r' <<<"$output")" -eq 2 ]
}

@test "who: the example writer, mapping the object it made" {
	writer=$(dirname "$PSHM")/examples/writer
	[ -x "$writer" ] || skip "no $writer (make examples)"
	"$writer" /ex 'hello from the writer' >"$BATS_TEST_TMPDIR/w.out" 2>&1 3>&- &
	pid=$!
	track $pid
	wait_until grep -q 'waiting for a reader' "$BATS_TEST_TMPDIR/w.out"
	run --separate-stderr pshm who -J /ex
	stderr_view
	who_json_unmark /ex
	jq_true --argjson p "$pid" '.processes | length >= 1 and all(.[]; .pid == $p) and
		any(.[]; .access == "map rw" and .command == "writer" and .address == "/ex")' \
		<<<"$output"
	# pshm can read what it wrote.
	pshm read /ex | grep -aq 'hello from the writer'
}

@test "who -J: the processes as JSON, pid a number" {
	pshm create -s 4096 /j
	pshm create /k
	hold_ro /j
	h1=$HOLDER
	hold_ro /k
	h2=$HOLDER
	run --separate-stderr pshm who -J /j /k
	[ "$status" -eq 0 ]
	stderr_view
	who_json_unmark /j /k
	jq_true '.processes | length == 2' <<<"$output"
	jq_true --argjson p "$h1" --arg u "$ME_USER" '.processes[0] | .address == "/j" and
		.pid == $p and (.pid|type) == "number" and .user == $u and .command == "sleep" and
		.access == "fd 3 ro"' <<<"$output"
	jq_true --argjson p "$h2" '.processes[1] | .address == "/k" and .pid == $p' <<<"$output"
}

@test "who: nobody holding it prints nothing (JSON: an empty list), exit 0" {
	pshm create /lonely
	run --separate-stderr pshm who /lonely
	[ "$status" -eq 0 ]
	stderr_view
	# When it could not look into every process, the marker line is all it prints.
	who_unmark /lonely
	! grep -q '^/lonely' <<<"$output"
	run --separate-stderr pshm who -J /lonely
	stderr_view
	who_json_unmark /lonely
	jq_true '.processes == []' <<<"$output"
}

@test "who: missing objects and bad names are exit 1 naming them; the rest shown" {
	pshm create /here
	hold_ro /here
	run --separate-stderr pshm who /gone /here a/b bogus:x
	[ "$status" -eq 1 ]
	stderr_has '^pshm: who /gone: No such file or directory$'
	stderr_has '^pshm: who a/b: '
	stderr_has '^pshm: who bogus:x: Malformed'
	grep -qE "^/here +$HOLDER " <<<"$output"
}

@test "who: a System V segment attached by a process" {
	need_python
	key=$(sysv_key)
	pshm create -s 4096 "sysv:$key"
	id=$(ipcs -m | awk -v k="$key" '$1 == k {print $2}')
	"$PYTHON" -c '
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
p = libc.shmat(int(sys.argv[1]), None, 0)
assert p not in (None, ctypes.c_void_p(-1).value)
open(sys.argv[2], "w").close()
time.sleep(30)' "$id" "$BATS_TEST_TMPDIR/ready" >/dev/null 2>&1 3>&- &
	pid=$!
	track $pid
	wait_until test -e "$BATS_TEST_TMPDIR/ready"
	run --separate-stderr pshm who -J "sysv:$key"
	stderr_view
	who_json_unmark "sysv:$key"
	jq_true --argjson p "$pid" --arg a "sysv:$key" --arg u "$ME_USER" '.processes == [{
		"address": $a, "pid": $p,
		"user": $u, "command": .processes[0].command, "access": "map rw"}]' <<<"$output"
	run --separate-stderr pshm ls -k sysv -J -o ADDRESS,NATTCH,NPROCS,PIDS
	stderr_view
	jq_true --argjson p "$pid" --arg a "sysv:$key" --argjson whole "$(whole_json)" \
		'.objects[] | select(.address == $a) | .nattch == 1 and if $whole then
		.nprocs == 1 and .pids == [$p] else .nprocs == null and .pids == null and
		.complete == false end' <<<"$output"
	run --separate-stderr pshm ls -k sysv -n -o ADDRESS,NPROCS,PIDS
	[ "$(awk -v a="sysv:$key" '$1 == a { print $2, $3 }' <<<"$output")" = \
		"$(procs_shown 1) $(pids_shown "$pid")" ] || fail_with "$output"
}
