#!/usr/bin/env bats
# Exact sizes, messages that say what went wrong and what to do, and the standard descriptors:
# a closed standard input, output or error is never given to an object.

load helpers

# The mode of System V segment KEY, as pshm stat -J shows it.
sysv_mode() {
	pshm stat -J "sysv:$1" | jq -r '.[0].mode'
}

# ---- sizes -------------------------------------------------------------------------------------

@test "sizes: a fraction is multiplied out exactly and rounded down to a whole byte" {
	check() {
		pshm create --sparse -s "$1" "/s$1"
		[ "$(size_of "/s$1")" = "$2" ] || fail_with "-s $1 gave $(size_of "/s$1"), not $2"
	}
	check 1.25E 1441151880758558720
	check 0.75EB 750000000000000000
	check 0.123456789T 135742175033
	check 1.5 1
	check 0.999K 1022
	check 0.3333333333333333333333333333333333333333M 349525
	check 7.9999999999999999999E 9223372036854775807
	pshm create /r
	pshm resize --sparse 1.25E /r
	[ "$(size_of /r)" = 1441151880758558720 ]
}

@test "sizes: 2^63 or more is too large, and hex with a unit or trailing text is no size" {
	for s in 8E 8.0E 9.223372036854775808EB 18446744073709551616 99999999999999999999999; do
		run --separate-stderr pshm create -s "$s" /big
		[ "$status" -eq 2 ] || fail_with "-s $s exited $status"
		stderr_has "invalid size '$s': too large"
	done
	for s in 0x10K 0x 16E-1 1e3 99999999999999999999X 1.5.5; do
		run --separate-stderr pshm create -s "$s" /bad
		[ "$status" -eq 2 ] || fail_with "-s $s exited $status"
		stderr_has "invalid size '$s': not a size"
	done
	dir_holds
}

# ---- System V: what the kernel would call "Invalid argument" -----------------------------------

@test "create -e over a smaller System V segment: it cannot grow; remove and create again" {
	local key
	key=$(sysv_key)
	pshm create -s 4K "sysv:$key"
	run --separate-stderr pshm create -e -s 8K "sysv:$key"
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has "^pshm: create sysv:$key: the segment has 4K, and System V segments cannot grow$"
	stderr_has "^pshm: remove it \(pshm rm sysv:$key\) and create it again"
	! grep -q 'Invalid argument' <<<"$stderr"
	[ "$(pshm stat -J "sysv:$key" | jq '.[0].size')" -eq 4096 ]
	# As big or smaller: opened as it is.
	pshm create -e -s 4K "sysv:$key"
	pshm create -e -s 1K "sysv:$key"
}

@test "create -s 0 of a System V segment: segments cannot be empty" {
	local key
	key=$(sysv_key)
	for e in "" -e; do
		run --separate-stderr pshm create $e -s 0 "sysv:$key"
		[ "$status" -eq 1 ]
		stderr_has "^pshm: create sysv:$key: System V segments cannot be empty$"
		stderr_has "at least 1 byte"
		! grep -q 'Invalid argument' <<<"$stderr"
	done
	run --separate-stderr pshm create "sysv:$key"
	[ "$status" -eq 1 ]
	stderr_has "cannot be empty"
	! sysv_exists "$key"
	# A malformed address is reported as such, whatever the size.
	run --separate-stderr pshm create sysv:xyz
	[ "$status" -eq 1 ]
	stderr_has '^pshm: create sysv:xyz: Malformed shared memory address$'
	! grep -q 'cannot be empty' <<<"$stderr"
}

@test "System V modes have no set-id or sticky bits: create -m and chmod both refuse them" {
	local key
	key=$(sysv_key)
	run --separate-stderr pshm create -s 1 -m 4755 "sysv:$key"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: create sysv:$key: System V segments have no set-user-ID, set-group-ID or sticky bit, so mode 4755 cannot be given$"
	stderr_has "777 at most"
	! sysv_exists "$key"
	# A private segment is refused the same way, instead of made with the bits dropped (its
	# identifier, printed when one is made, is kept for the cleanup).
	run --separate-stderr pshm create -s 1 -m 2700 sysv:0
	[ -z "$output" ] || sysv_track_id "${output#sysv:id=}"
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has "^pshm: create sysv:0: .*mode 2700 cannot be given$"
	# chmod: the same words; the segment keeps its mode, the POSIX object takes the bits.
	pshm create -s 1 "sysv:$key"
	pshm create /p
	run --separate-stderr pshm chmod 4777 "sysv:$key" /p
	[ "$status" -eq 1 ]
	stderr_has "^pshm: chmod sysv:$key: System V segments have no set-user-ID, set-group-ID or sticky bit, so mode 4777 cannot be given$"
	! grep -q 'Invalid argument' <<<"$stderr"
	[ "$(sysv_mode "$key")" = 0600 ]
	[ "$(stat -c %a "$PSHM_DIR/p")" = 4777 ]
	pshm chmod 0640 "sysv:$key"
	[ "$(sysv_mode "$key")" = 0640 ]
}

@test "create beyond kernel.shmmax: the hint gives the limit" {
	require_root
	# kernel.shmmax belongs to the IPC namespace: a private one gets a limit of its own.
	unshare -i true 2>/dev/null || skip "cannot make an IPC namespace (unshare -i)"
	run --separate-stderr unshare -i sh -c \
		'echo 4096 >/proc/sys/kernel/shmmax && exec "$1" create -s 8K sysv:0x1234' sh "$PSHM"
	[ "$status" -eq 1 ]
	stderr_has '^pshm: create sysv:0x1234: Invalid argument$'
	stderr_has '^pshm: System V segments hold from 1 byte to kernel.shmmax \(4K here\), and cannot grow'
}

# ---- what is in the way, and what an address means --------------------------------------------

@test "create file:DIR, /NAME over a directory, and sysv:id=N say what is in the way" {
	mkdir "$BATS_TEST_TMPDIR/dir" "$PSHM_DIR/d"
	run --separate-stderr pshm create "file:$BATS_TEST_TMPDIR/dir"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: $BATS_TEST_TMPDIR/dir is a directory, not a shared memory object$"
	stderr_has "^pshm: name a file in it, as in file:$BATS_TEST_TMPDIR/dir/NAME$"
	! grep -q -- '--existing-ok' <<<"$stderr"
	run --separate-stderr pshm create /d
	[ "$status" -eq 1 ]
	stderr_has "^pshm: $PSHM_DIR/d is a directory, not a shared memory object$"
	! grep -q -- '--existing-ok' <<<"$stderr"
	# An object that exists still gets the --existing-ok hint.
	pshm create /x
	run --separate-stderr pshm create /x
	[ "$status" -eq 1 ]
	stderr_has -- '--existing-ok opens it instead'
	# An identifier, which --existing-ok would not help with either.
	for e in "" -e; do
		run --separate-stderr pshm create $e -s 1 sysv:id=5
		[ "$status" -eq 1 ]
		stderr_has '^pshm: an identifier names a segment that exists; segments are created by key, as sysv:KEY$'
		! grep -q -- '--existing-ok' <<<"$stderr"
	done
}

@test "stat memfd: says that memfd: alone makes a new memfd, and memfd:PID:FD names one" {
	for c in stat who read; do
		run --separate-stderr pshm $c memfd:
		[ "$status" -eq 1 ] || fail_with "$c memfd: exited $status"
		stderr_has "^pshm: memfd: alone makes a new memfd; an existing one is memfd:PID:FD"
	done
}

@test "a System V key or identifier written without sysv: gets a hint of how to write it" {
	local key
	key=$(sysv_key)
	pshm create -s 1 "sysv:$key"
	run --separate-stderr pshm stat "$key"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: stat $key: No such file or directory$"
	stderr_has "^pshm: a System V key is written sysv:$key$"
	run --separate-stderr pshm stat 31457323
	[ "$status" -eq 1 ]
	stderr_has '^pshm: a System V segment is written sysv:id=31457323 for identifier 31457323, or sysv:31457323 for key 31457323$'
	run --separate-stderr pshm rm 0X5E0000AA
	[ "$status" -eq 1 ]
	stderr_has 'sysv:0X5E0000AA'
	# Names that are no number, and numbers with their slash, get no such hint.
	run --separate-stderr pshm stat nothing /123
	[ "$status" -eq 1 ]
	! grep -q 'sysv:' <<<"$stderr"
}

@test "a name without its slash is taken, with a warning: create -s 10 MB /x makes /MB" {
	run --separate-stderr pshm create -s 10 MB /x
	[ "$status" -eq 0 ]
	stdout_empty
	stderr_has "^pshm: warning: 'MB' has no leading '/': taken as the POSIX object /MB; write /MB to mean it$"
	stderr_has '^pshm: a size takes its unit without a space: 10MB, not 10 MB$'
	[ "$(grep -c "'x'" <<<"$stderr")" -eq 0 ]
	dir_holds MB x
	[ "$(size_of /MB)" -eq 10 ]
	# A key made into a name: the warning says how a key is written.
	run --separate-stderr pshm create 0x8bf40a54
	[ "$status" -eq 0 ]
	stderr_has "^pshm: warning: '0x8bf40a54' has no leading '/'"
	stderr_has '^pshm: a System V key is written sysv:0x8bf40a54$'
	[ "$(grep -c 'System V' <<<"$stderr")" -eq 1 ]
	# Every command that changes or removes objects by address warns, and goes on.
	for c in "chmod 640" "chown $ME_UID" "resize 20" "rm"; do
		run --separate-stderr pshm $c MB
		[ "$status" -eq 0 ] || fail_with "$c MB exited $status"
		stderr_has "^pshm: warning: 'MB' has no leading '/': taken as the POSIX object /MB"
	done
	# So do the commands that read or describe them.
	pshm create /MB
	for c in "write" "read" "dump" "stat" "who" "chan stat"; do
		run --separate-stderr pshm $c MB $([ "$c" = write ] && echo data)
		stderr_has "^pshm: warning: 'MB' has no leading '/': taken as the POSIX object /MB"
	done
	run --separate-stderr pshm chan create ch
	[ "$status" -eq 0 ]
	stderr_has "^pshm: warning: 'ch' has no leading '/': taken as the POSIX object /ch"
	pshm rm /ch /MB
	dir_holds 0x8bf40a54 x
	# Written out in full, nothing to warn about.
	run --separate-stderr pshm create /a posix:b posix:/c
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "send and recv warn about a channel named without its slash" {
	pshm chan create /c
	run --separate-stderr pshm send c hello
	[ "$status" -eq 0 ]
	stderr_has "^pshm: warning: 'c' has no leading '/': taken as the POSIX object /c"
	run --separate-stderr pshm recv -n 1 c
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	stderr_has "^pshm: warning: 'c' has no leading '/'"
}

# ---- removal: decided by the directory, not by the object's mode -------------------------------

@test "rm refused in a sticky directory names the sticky rule and the owners, not the mode" {
	require_root
	share_dir
	pshm create -m 666 /p
	run --separate-stderr as_nobody "$PSHM" rm /p
	[ "$status" -eq 1 ]
	stderr_has '^pshm: rm /p: Operation not permitted$'
	stderr_has "^pshm: $PSHM_DIR is sticky: only the object's owner \(root\) or the directory's owner \(root\) may remove it$"
	! grep -q 'with mode' <<<"$stderr"
	# A file in a sticky directory: the same rule.
	mkdir -m 1777 "$PSHM_DIR/pub"
	pshm create -m 666 "file:$PSHM_DIR/pub/f"
	run --separate-stderr as_nobody "$PSHM" rm "file:$PSHM_DIR/pub/f"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: $PSHM_DIR/pub is sticky: only the object's owner \(root\)"
	dir_holds p pub
	[ -f "$PSHM_DIR/pub/f" ]
}

@test "rm refused by a directory's permission says that removal needs write permission on it" {
	require_root
	chmod 755 "$PSHM_DIR"
	pshm create -m 666 /p
	run --separate-stderr as_nobody "$PSHM" rm /p
	[ "$status" -eq 1 ]
	stderr_has '^pshm: rm /p: Permission denied$'
	stderr_has "^pshm: removing it needs write and search permission on $PSHM_DIR, which is owned by root:root with mode rwxr-xr-x; you are uid 65534$"
	dir_holds p
	# A directory that cannot be searched, and one below it that cannot even be reached.
	mkdir -m 700 "$PSHM_DIR/priv"
	mkdir -m 1777 "$PSHM_DIR/priv/pub"
	pshm create "file:$PSHM_DIR/priv/f" "file:$PSHM_DIR/priv/pub/g"
	run --separate-stderr as_nobody "$PSHM" rm "file:$PSHM_DIR/priv/f"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: removing it needs write and search permission on $PSHM_DIR/priv, which is owned by root:root with mode rwx------; you are uid 65534$"
	run --separate-stderr as_nobody "$PSHM" rm "file:$PSHM_DIR/priv/pub/g"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: removing it needs search permission on the directories down to $PSHM_DIR/priv/pub and write permission on it; you are uid 65534$"
	[ -f "$PSHM_DIR/priv/f" ]
	[ -f "$PSHM_DIR/priv/pub/g" ]
}

@test "rm of another's System V segment names who may remove it" {
	require_root
	local key
	key=$(sysv_key)
	pshm create -s 1 -m 666 "sysv:$key"
	run --separate-stderr as_nobody "$PSHM" rm "sysv:$key"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: only the segment's owner \(root\), its creator \(root\) or a privileged user may remove it$"
	! grep -q 'with mode' <<<"$stderr"
	sysv_exists "$key"
}

# ---- closed standard descriptors ---------------------------------------------------------------

@test "send with standard input closed fails on standard input, never reading the channel" {
	pshm chan create /c
	run --separate-stderr bash -c '"$PSHM" send /c <&-'
	[ "$status" -eq 1 ]
	stderr_has '^pshm: send standard input: Bad file descriptor$'
	! grep -q 'larger than' <<<"$stderr"
	[ "$(pshm chan stat -J /c | jq '.sent')" -eq 0 ]
}

@test "no object takes descriptor 0, 1 or 2: recv waits with /dev/null in their place" {
	pshm chan create /c
	"$PSHM" recv /c <&- >&- 2>&- &
	local pid=$!
	track "$pid"
	wait_comm "$pid" pshm
	wait_until sh -c 'ls -l /proc/$1/fd | grep -q "$2/c\$"' sh "$pid" "$PSHM_DIR"
	for fd in 0 1 2; do
		[ "$(readlink "/proc/$pid/fd/$fd")" = /dev/null ] ||
			fail_with "descriptor $fd is $(readlink "/proc/$pid/fd/$fd")"
	done
}

@test "read and recv with standard output closed fail, and leave the object as it was" {
	pshm create -s 16 /x
	pshm write /x abcdefghijklmnop
	run --separate-stderr bash -c '"$PSHM" read -o 4 /x >&-'
	[ "$status" -eq 1 ]
	stderr_has 'Bad file descriptor'
	[ "$(cat "$PSHM_DIR/x")" = abcdefghijklmnop ]
	# recv may write its channel: the message must not land in the channel's header.
	pshm chan create /c
	pshm send /c hello
	run --separate-stderr bash -c '"$PSHM" recv -n 1 /c >&-'
	[ "$status" -eq 1 ]
	stderr_has 'standard output: Bad file descriptor'
	run pshm chan stat -J /c
	[ "$status" -eq 0 ]
	jq_true '.sent == 1 and .writer == "detached"' <<<"$output"
}

@test "a message with standard error closed is lost, never written into the object" {
	pshm create -s 64 /x
	run bash -c '"$PSHM" resize -- -1G /x 2>&-'
	[ "$status" -eq 1 ]
	[ "$(size_of /x)" -eq 64 ]
	[ "$(tr -d '\0' <"$PSHM_DIR/x" | wc -c)" -eq 0 ] || fail_with "the object holds: $(tr -d '\0' <"$PSHM_DIR/x")"
}
