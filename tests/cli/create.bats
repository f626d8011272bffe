#!/usr/bin/env bats
# pshm create: sizes, modes, exclusivity, --existing-ok, --sparse, --populate, bad input and a
# full file system.

load helpers

@test "the book's sequence: create, write a string, read it back exactly, rm" {
	run --separate-stderr pshm create /demo_shm
	[ "$status" -eq 0 ]
	stdout_empty
	[ -z "$stderr" ]
	[ -f "$PSHM_DIR/demo_shm" ]
	[ "$(size_of /demo_shm)" -eq 0 ]
	pshm write /demo_shm 'hello, shared world'
	[ "$(size_of /demo_shm)" -eq 19 ]
	pshm read /demo_shm >"$BATS_TEST_TMPDIR/out"
	printf 'hello, shared world' | cmp - "$BATS_TEST_TMPDIR/out"
	run --separate-stderr pshm rm /demo_shm
	[ "$status" -eq 0 ]
	stdout_empty
	dir_holds
}

@test "create: the size defaults to 0, -s and --size set it in every unit" {
	pshm create /zero
	[ "$(size_of /zero)" -eq 0 ]
	check() {
		pshm create -s "$1" "/s$1"
		[ "$(size_of "/s$1")" -eq "$2" ] || fail_with "-s $1 gave $(size_of "/s$1"), not $2"
	}
	check 4096 4096
	check 4K 4096
	check 4KiB 4096
	check 4KB 4000
	check 1.5K 1536
	check 1M 1048576
	check 1MiB 1048576
	check 2MB 2000000
	check 1.5M 1572864
	check 0 0
	pshm create --size 3K /long
	[ "$(size_of /long)" -eq 3072 ]
	pshm create -s1G --sparse /g
	[ "$(size_of /g)" -eq 1073741824 ]
	pshm create -s 1T --sparse /t
	[ "$(size_of /t)" -eq 1099511627776 ]
}

@test "create: several operands in one command, all with the same size and mode" {
	pshm create -s 100 -m 640 /a /b posix:/c
	dir_holds a b c
	for n in a b c; do
		[ "$(stat -c '%s %a' "$PSHM_DIR/$n")" = "100 640" ]
	done
}

@test "create: mode 600 by default and -m applied whatever the umask" {
	umask 000
	pshm create /dflt
	[ "$(stat -c %a "$PSHM_DIR/dflt")" = 600 ]
	umask 077
	pshm create -m 666 /open
	[ "$(stat -c %a "$PSHM_DIR/open")" = 666 ]
	pshm create --mode 0644 /lead0
	[ "$(stat -c %a "$PSHM_DIR/lead0")" = 644 ]
	pshm create -m 0 /none
	[ "$(stat -c %a "$PSHM_DIR/none")" = 0 ]
	# The sticky bit is the mark of a leased object: only a lease sets it.
	run --separate-stderr "$PSHM" create -m 1777 /sticky
	[ "$status" -eq 2 ]
	[[ $stderr == *"invalid mode '1777': the sticky bit marks leased objects"* ]]
	[ ! -e "$PSHM_DIR/sticky" ]
	[ "$(stat -c '%u %g' "$PSHM_DIR/dflt")" = "$(id -u) $(id -g)" ]
}

@test "create: the space is reserved unless --sparse" {
	pshm create -s 1M /full
	[ "$(allocated /full)" -ge 1048576 ]
	pshm create -s 1M --sparse /holey
	[ "$(size_of /holey)" -eq 1048576 ]
	[ "$(stat -c %b "$PSHM_DIR/holey")" -eq 0 ]
	run --separate-stderr pshm stat -J /full /holey
	stderr_view
	[ "$(jq -c 'map(.sparse)' <<<"$output")" = '[false,true]' ]
}

@test "create --populate faults the pages in, and the object is usable" {
	pshm create -s 256K --populate /pop
	[ "$(size_of /pop)" -eq 262144 ]
	[ "$(allocated /pop)" -ge 262144 ]
	pshm create -s 256K --sparse --populate /spop
	[ "$(allocated /spop)" -ge 262144 ]
	[ "$(pshm read /pop | tr -d '\0' | wc -c)" -eq 0 ]
}

@test "create is exclusive: an existing object is an error, left as it was" {
	pshm create -s 10 -m 640 /x
	pshm write -k /x 0123456789
	run --separate-stderr pshm create -s 99 -m 600 /x
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has '^pshm: create /x: File exists$'
	stderr_has 'existing-ok'
	[ "$(stat -c '%s %a' "$PSHM_DIR/x")" = "10 640" ]
	[ "$(pshm read /x)" = 0123456789 ]
}

@test "create of several with one existing: the others are made, exit 1" {
	pshm create /b
	run --separate-stderr pshm create /a /b /c
	[ "$status" -eq 1 ]
	stderr_has '^pshm: create /b: File exists'
	[ "$(grep -c '^pshm: create' <<<"$stderr")" -eq 1 ]
	dir_holds a b c
}

@test "create --existing-ok opens an existing object, grows it, never shrinks it" {
	pshm create -s 10 /x
	pshm write -k /x 0123456789
	run --separate-stderr pshm create --existing-ok -s 4 /x
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(pshm read /x)" = 0123456789 ]
	pshm create --existing-ok -s 20 /x
	[ "$(size_of /x)" -eq 20 ]
	[ "$(pshm read -n 10 /x)" = 0123456789 ]
	pshm create -e /x
	[ "$(size_of /x)" -eq 20 ]
	# ... and creates one that does not exist.
	pshm create --existing-ok -s 7 /new
	[ "$(size_of /new)" -eq 7 ]
}

@test "create: bad names fail with exit 1, a message naming them, and nothing made" {
	long=/$(printf 'n%.0s' $(seq 300))
	for name in . / /. /.. a/b /a/b "$long" bogus:x ''; do
		run --separate-stderr pshm create -s 4 "$name"
		[ "$status" -eq 1 ] || fail_with "create '$name' exited $status"
		stdout_empty
		grep -qF "pshm: create $name: " <<<"$stderr" || fail_with "create '$name':" "$stderr"
	done
	run --separate-stderr pshm create "$long"
	stderr_has 'File name too long'
	run --separate-stderr pshm create bogus:x
	stderr_has 'Malformed shared memory address'
	stderr_has 'addresses are /NAME, sysv:KEY'
	dir_holds
}

@test "create: a name of exactly 255 bytes is fine, 256 is not" {
	n255=$(printf 'x%.0s' $(seq 255))
	pshm create "/$n255"
	[ -f "$PSHM_DIR/$n255" ]
	run pshm create "/${n255}y"
	[ "$status" -eq 1 ]
	dir_holds "$n255"
}

@test "create: invalid sizes are usage errors (exit 2) and make nothing" {
	for s in 12Q -5 1.5.5 '' abc 4KK 0x10K ' 4' 99999999999999999999 16E; do
		run --separate-stderr pshm create -s "$s" /x
		[ "$status" -eq 2 ] || fail_with "create -s '$s' exited $status"
		stdout_empty
		grep -qF "pshm create: invalid size '$s'" <<<"$stderr" ||
			fail_with "-s '$s':" "$stderr"
	done
	dir_holds
}

@test "create: invalid modes are usage errors (exit 2) and make nothing" {
	for m in 9 8 abc 77777 10000 -1 +7 '' 6a4; do
		run --separate-stderr pshm create -m "$m" /x
		[ "$status" -eq 2 ] || fail_with "create -m '$m' exited $status"
		stdout_empty
		grep -qF -- "pshm create: invalid mode '$m'" <<<"$stderr" ||
			fail_with "-m '$m':" "$stderr"
	done
	dir_holds
}

@test "create: a bad option after good operands still makes nothing" {
	run --separate-stderr pshm create /a /b --frob
	[ "$status" -eq 2 ]
	stderr_has "^pshm create: unrecognized option '--frob'"
	run --separate-stderr pshm create /a -s 12Q
	[ "$status" -eq 2 ]
	dir_holds
}

@test "create memfd: is refused: it would vanish with pshm" {
	run --separate-stderr pshm create -s 4K memfd:
	[ "$status" -eq 1 ]
	stderr_has '^pshm: create memfd:: '
}

@test "create file:PATH makes a shared file of that size" {
	f=$BATS_TEST_TMPDIR/shared.bin
	pshm create -s 8K -m 640 "file:$f"
	[ "$(stat -c '%s %a' "$f")" = "8192 640" ]
	run pshm create "file:$f"
	[ "$status" -eq 1 ]
	pshm write "file:$f" abc
	[ "$(cat "$f")" = abc ]
	pshm rm "file:$f"
	[ ! -e "$f" ]
}

@test "create in a directory without write permission: exit 1, Permission denied" {
	require_root
	chmod 755 "$PSHM_DIR"
	run --separate-stderr as_nobody "$PSHM" create /x
	[ "$status" -eq 1 ]
	stderr_has '^pshm: create /x: Permission denied'
	dir_holds
}

@test "create as another user in a shared directory: owned by that user, mode 600" {
	require_root
	share_dir
	as_nobody "$PSHM" create -s 10 /mine
	[ "$(stat -c '%u %g %a %s' "$PSHM_DIR/mine")" = "65534 65534 600 10" ]
	# root's object of the same name is not theirs to replace.
	pshm create /root_obj
	run --separate-stderr as_nobody "$PSHM" create /root_obj
	[ "$status" -eq 1 ]
	stderr_has 'File exists'
	[ "$(stat -c %u "$PSHM_DIR/root_obj")" = 0 ]
}

@test "create on a full tmpfs: exit 1, the size and free space named, nothing left" {
	require_tmpfs
	run --separate-stderr in_tmpfs '
		"$PSHM" create -s 8M /big; echo "rc=$?"
		"$PSHM" create -s 1M /fits; echo "rc=$?"
		"$PSHM" create -s 2M /a /b /c; echo "rc=$?"
		ls -A "$PSHM_DIR" | tr "\n" " "; echo
		"$PSHM" create -s 8M --sparse /hole; echo "rc=$?"
		stat -c "%n %s" "$PSHM_DIR/hole"'
	[ "${lines[0]}" = rc=1 ]
	[ "${lines[1]}" = rc=0 ]
	[ "${lines[2]}" = rc=1 ]
	# No /big; of /a /b /c only what fitted, whole.
	[ "${lines[3]}" = "a fits " ] || fail_with "left: ${lines[3]}"
	[ "${lines[4]}" = rc=0 ]
	[[ ${lines[5]} == *"/hole 8388608" ]]
	stderr_has '^pshm: create /big: No space left on device$'
	stderr_has "holds 4M in all and 4M is free"
	stderr_has '^pshm: create /b: No space left on device$'
	stderr_has "holds 4M in all and (1020K|1M) is free"
}
