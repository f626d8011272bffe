#!/usr/bin/env bats
# pshm ls and pshm rm with operands: addresses of every kind, shell-style patterns with and
# without a kind, -k with operands, operands that select nothing, rm -v and -f, and the
# library's own files (channels' beacons and FIFOs), which no pattern may select.

load helpers

# The addresses ls shows for ARGS..., one a line (status and stderr left in $status, $stderr).
ls_addr() {
	run --separate-stderr pshm ls -n -o ADDRESS "$@"
}

# Assert that the last run printed exactly the lines given.
output_is() {
	local want
	want=$(printf '%s\n' "$@")
	[ "$output" = "$want" ] || fail_with "expected:" "$want" "got:" "$output"
}

@test "ls ADDR: each kind of address lists that object only" {
	local key id
	key=$(sysv_key)
	pshm create /a /b
	echo x >"$PSHM_DIR/sem.s"
	pshm create -s 1K "sysv:$key"
	id=$(ipcs -m | awk -v k="$key" '$1 == k { print $2 }')
	: >"$BATS_TEST_TMPDIR/f"
	ls_addr /a
	[ "$status" -eq 0 ]
	output_is /a
	ls_addr posix:/b
	[ "$status" -eq 0 ]
	output_is /b
	ls_addr sem:/s
	[ "$status" -eq 0 ]
	output_is sem:/s
	# A key in decimal and an identifier name the segment ls shows by its key in hex.
	ls_addr "sysv:$((key))"
	[ "$status" -eq 0 ]
	output_is "sysv:$key"
	ls_addr "sysv:id=$id"
	[ "$status" -eq 0 ]
	output_is "sysv:$key"
	# A file is in no listing: named, it is shown all the same, once for two spellings.
	ls_addr "file:$BATS_TEST_TMPDIR/f" "file:$BATS_TEST_TMPDIR/./f" /a
	[ "$status" -eq 0 ]
	output_is "/a" "file:$BATS_TEST_TMPDIR/f"
	[ -z "$stderr" ]
}

@test "ls memfd:PID:FD lists the memfd a process holds" {
	need_python
	"$PYTHON" -c 'import os, time
fd = os.memfd_create("pshm-bats")
os.ftruncate(fd, 8192)
print(fd, flush=True)
time.sleep(60)' >"$BATS_TEST_TMPDIR/fd" 2>/dev/null 3>&- &
	local pid=$!
	track $pid
	wait_until test -s "$BATS_TEST_TMPDIR/fd"
	local fd
	fd=$(cat "$BATS_TEST_TMPDIR/fd")
	pshm create /a
	run --separate-stderr pshm ls -b -n -o ADDRESS,KIND,SIZE "memfd:$pid:$fd"
	[ "$status" -eq 0 ]
	[[ $output =~ ^memfd:[0-9]+:[0-9]+\ +memfd\ +8192$ ]] || fail_with "got: $output"
	[ "${#lines[@]}" -eq 1 ]
	# A pattern on the address selects it too, without -a.
	ls_addr "memfd:$pid:*"
	[ "$status" -eq 0 ]
	output_is "memfd:$pid:$fd"
}

@test "ls PATTERN: * ? and [ ] on POSIX names, in the usual order" {
	pshm create /app-1 /app-2 /app-10 /apple /other /.hidden
	ls_addr '/app-*'
	[ "$status" -eq 0 ]
	output_is /app-1 /app-10 /app-2
	ls_addr '/app-?'
	[ "$status" -eq 0 ]
	output_is /app-1 /app-2
	ls_addr '/app-[02-9]*'
	[ "$status" -eq 0 ]
	output_is /app-2
	ls_addr '/[!a]*'
	[ "$status" -eq 0 ]
	output_is /other
	# As in the shell, a leading dot is matched only when spelled out.
	ls_addr '/*'
	[ "$status" -eq 0 ]
	output_is /app-1 /app-10 /app-2 /apple /other
	ls_addr '/.*'
	[ "$status" -eq 0 ]
	output_is /.hidden
	# A backslash makes a wildcard a plain character.
	pshm create '/star*'
	ls_addr '/star\*'
	[ "$status" -eq 0 ]
	output_is '/star*'
}

@test "ls PATTERN: kind prefixes; without one, POSIX objects only" {
	local key
	key=$(sysv_key)
	pshm create /x1 /y
	echo s >"$PSHM_DIR/sem.x2"
	pshm create -s 1K "sysv:$key"
	ls_addr 'posix:/x?'
	[ "$status" -eq 0 ]
	output_is /x1
	ls_addr 'sem:/x*'
	[ "$status" -eq 0 ]
	output_is sem:/x2
	ls_addr "sysv:${key:0:8}*"
	[ "$status" -eq 0 ]
	output_is "sysv:$key"
	# No kind: the POSIX objects, neither the semaphore nor the segment.
	ls_addr '/x*'
	[ "$status" -eq 0 ]
	output_is /x1
	ls_addr '*'
	[ "$status" -eq 0 ]
	output_is /x1 /y
	stderr_has "^pshm: warning: '\*' has no leading '/'"
}

@test "ls -k with operands lists what both select" {
	pshm create /plain /other
	pshm chan create /ch
	run --separate-stderr pshm ls -n -o ADDRESS,KIND -k chan '/*'
	[ "$status" -eq 0 ]
	[[ $output =~ ^/ch\ +chan$ ]] || fail_with "got: $output"
	# An address -k leaves out: the others are listed, and the status is 1.
	ls_addr -k chan /ch /plain
	[ "$status" -eq 1 ]
	output_is /ch
	stderr_has "^pshm: ls /plain: -k chan leaves it out: it is no channel$"
	ls_addr -k sysv /plain '/o*'
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has "^pshm: ls /plain: -k sysv leaves it out: it is of kind posix$"
	stderr_has "^pshm: ls /o\*: -k sysv leaves out the kind it selects$"
	# -a: every kind, the operands still choosing.
	ls_addr -a '/p*'
	[ "$status" -eq 0 ]
	output_is /plain
}

@test "ls: an object several operands select is listed once" {
	pshm create /a1 /a2 /b
	ls_addr '/a*' /a1 'posix:/a1' '/[ab]1' /b '/?2'
	[ "$status" -eq 0 ]
	output_is /a1 /a2 /b
	run --separate-stderr pshm ls -J -o ADDRESS '/a*' '/*1'
	[ "$status" -eq 0 ]
	jq_true '.objects == [{"address": "/a1"}, {"address": "/a2"}]' <<<"$output"
}

@test "ls: an operand that selects nothing is exit 1; the others are listed" {
	pshm create /a /b
	ls_addr /a '/zz*' /missing /b
	[ "$status" -eq 1 ]
	output_is /a /b
	stderr_has "^pshm: ls /zz\*: no object matches$"
	stderr_has "^pshm: ls /missing: no such object$"
	[ "$(grep -c . <<<"$stderr")" -eq 2 ]
	# JSON too: the objects found, the message on stderr.
	run --separate-stderr pshm ls -J -o ADDRESS,KIND '/q?' /b
	[ "$status" -eq 1 ]
	jq_true '.objects == [{"address": "/b", "kind": "posix"}]' <<<"$output"
	stderr_has "^pshm: ls /q\?: no object matches$"
	# Nothing found at all: an empty list, and still exit 1.
	run --separate-stderr pshm ls -J '/none*'
	[ "$status" -eq 1 ]
	jq_true '.objects == []' <<<"$output"
	# A malformed address is reported as such.
	ls_addr 'sysv:nokey' /a
	[ "$status" -eq 1 ]
	output_is /a
	stderr_has "^pshm: ls sysv:nokey: "
	stderr_has "^pshm: addresses are "
}

@test "ls --orphans with operands: a held object named is exit 1" {
	pshm create /held /free
	"$PSHM" hold /held -- sleep 60 3>&- &
	track $!
	wait_until sh -c '"$PSHM" who -n /held | grep -q .'
	ls_addr --orphans /held /free
	[ "$status" -eq 1 ]
	output_is /free
	stderr_has "^pshm: ls /held: not an orphan"
	ls_addr --orphans '/h*'
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has "^pshm: ls /h\*: no orphan matches$"
}

@test "ls and rm: a pattern with a slash inside a name is refused clearly" {
	pshm create /a
	mkdir "$PSHM_DIR/a.d" && : >"$PSHM_DIR/a.d/b1"
	ls_addr '/a.d/b*' /a
	[ "$status" -eq 1 ]
	output_is /a
	stderr_has "^pshm: ls /a.d/b\*: a name has no '/' but the leading one"
	run --separate-stderr pshm rm -f '/a.d/b*' /a
	[ "$status" -eq 1 ]
	stderr_has "^pshm: rm /a.d/b\*: a name has no '/' but the leading one"
	[ -e "$PSHM_DIR/a.d/b1" ]
	[ ! -e "$PSHM_DIR/a" ]
	# Files are listed by no one, so no pattern selects them.
	run --separate-stderr pshm rm "file:$PSHM_DIR/a.d/*"
	[ "$status" -eq 1 ]
	stderr_has "files are not listed, so no pattern selects them"
	[ -e "$PSHM_DIR/a.d/b1" ]
}

@test "rm PATTERN: removes what it selects; -v says removed 'ADDR' for each" {
	local key
	key=$(sysv_key)
	pshm create /app-1 /app-2 /app-10 /keep
	echo s >"$PSHM_DIR/sem.app"
	pshm create -s 1K "sysv:$key"
	run --separate-stderr pshm rm -v '/app-?' /app-10 'sem:/a*' "sysv:${key:0:8}*"
	[ "$status" -eq 0 ]
	output_is "removed '/app-1'" "removed '/app-2'" "removed '/app-10'" "removed 'sem:/app'" \
		"removed 'sysv:$key'"
	[ -z "$stderr" ]
	dir_holds keep
	if sysv_exists "$key"; then fail_with "sysv:$key is still there"; fi
	# A name that holds a wildcard character is named with a backslash before it.
	pshm create '/k[1]' /k1
	run --separate-stderr pshm rm -v '/k\[1]'
	[ "$status" -eq 0 ]
	output_is "removed '/k[1]'"
	dir_holds k1 keep
	pshm rm /k1
	# Without -v, nothing is said.
	pshm create /q1 /q2
	run --separate-stderr pshm rm '/q*'
	[ "$status" -eq 0 ]
	stdout_empty
	[ -z "$stderr" ]
	dir_holds keep
}

@test "rm: a pattern that selects nothing is exit 1, and the other operands are removed" {
	pshm create /a /b /c
	run --separate-stderr pshm rm --verbose /a '/zz*' '/b*' /missing /c
	[ "$status" -eq 1 ]
	output_is "removed '/a'" "removed '/b'" "removed '/c'"
	stderr_has "^pshm: rm /zz\*: no object matches$"
	stderr_has "^pshm: rm /missing: "
	dir_holds
	# A second pattern finds nothing the first one removed.
	pshm create /ab
	run --separate-stderr pshm rm '/a*' '/ab*'
	[ "$status" -eq 1 ]
	stderr_has "^pshm: rm /ab\*: no object matches$"
	dir_holds
}

@test "rm -f: a pattern that selects nothing is no error either" {
	pshm create /a
	run --separate-stderr pshm rm -f '/zz*' /missing '/a?' -v /a
	[ "$status" -eq 0 ]
	output_is "removed '/a'"
	[ -z "$stderr" ]
	dir_holds
}

@test "rm PATTERN never selects channels' beacons and FIFOs" {
	pshm chan create /ch
	"$PSHM" recv /ch >/dev/null 3>&- &
	track $!
	wait_until sh -c 'find "$PSHM_DIR" -name ".pshm-live.*" -perm 0444 | grep -q .'
	mkfifo "$PSHM_DIR/.pshm-poll.test"
	: >"$PSHM_DIR/.pshm-live.spare"
	local beacons
	beacons=$(ls -A "$PSHM_DIR" | grep '^\.pshm-')
	# ls hides them from every pattern, dotted or not.
	ls_addr -a '/*'
	[ "$status" -eq 0 ]
	output_is /ch
	for p in '/.*' '/.pshm-*' '/.pshm-live.*' '/.pshm-poll.?*' '/[.]pshm*'; do
		ls_addr -a "$p"
		[ "$status" -eq 1 ]
		stdout_empty
	done
	run --separate-stderr pshm rm -v '/.*' '/.pshm-*'
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has "^pshm: rm /\.\*: no object matches$"
	stderr_has "^pshm: rm /\.pshm-\*: no object matches$"
	# A pattern that selects the channel removes it as rm /ch does; the beacon of its live
	# reader and the other files stay.
	run --separate-stderr pshm rm -v '/*'
	[ "$status" -eq 0 ]
	output_is "removed '/ch'"
	# shellcheck disable=SC2086
	dir_holds $beacons
}

@test "rm -v with plain addresses; --help and the synopsis name the new forms" {
	local key
	key=$(sysv_key)
	pshm create /a
	pshm create -s 1K "sysv:$key"
	run --separate-stderr pshm rm -v /a "sysv:$((key))"
	[ "$status" -eq 0 ]
	output_is "removed '/a'" "removed 'sysv:$((key))'"
	run pshm rm --help
	[ "$status" -eq 0 ]
	grep -q '^ pshm rm \[-f\] \[-v\] ADDR|PATTERN\.\.\.$' <<<"$output"
	grep -q -- '-v, --verbose' <<<"$output"
	run pshm ls --help
	[ "$status" -eq 0 ]
	grep -q 'ADDR|PATTERN\.\.\.' <<<"$output"
}
