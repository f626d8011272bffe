#!/usr/bin/env bats
# pshm chmod, chown, resize and rm: every operand, every failure reported, bad input refused
# before anything is changed.

load helpers

# "SIZE MODE UID GID" of the object's file.
attrs() {
	stat -c '%s %a %u %g' "$PSHM_DIR/${1#/}"
}

# ---- chmod ---------------------------------------------------------------------------------

@test "chmod: octal modes on every operand, whatever the umask" {
	pshm create /a /b
	run --separate-stderr sh -c 'umask 777 && exec "$PSHM" chmod 644 /a /b'
	[ "$status" -eq 0 ]
	stdout_empty
	[ -z "$stderr" ]
	[ "$(attrs /a)" = "0 644 $ME_UID $ME_GID" ]
	[ "$(attrs /b)" = "0 644 $ME_UID $ME_GID" ]
	pshm chmod 0 /a
	[ "$(stat -c %a "$PSHM_DIR/a")" = 0 ]
	pshm chmod 0660 /a
	[ "$(stat -c %a "$PSHM_DIR/a")" = 660 ]
	run --separate-stderr "$PSHM" chmod 1777 posix:/b
	[ "$status" -eq 2 ]
	[[ $stderr == *"the sticky bit marks leased objects"* ]]
	[ "$(stat -c %a "$PSHM_DIR/b")" = 644 ]
	pshm chmod 4750 /b
	[ "$(stat -c %a "$PSHM_DIR/b")" = 4750 ]
	run pshm ls -k posix -n -o ADDRESS,PERMS
	grep -qE '^/b +rwsr-x---$' <<<"$output"
}

@test "chmod: invalid modes are exit 2, nothing changed" {
	pshm create -m 640 /a
	for m in 9 abc 77777 10000 -1 +7 '' 8 0x1ff 7a; do
		run --separate-stderr pshm chmod -- "$m" /a
		[ "$status" -eq 2 ] || fail_with "chmod '$m' exited $status"
		stdout_empty
		grep -qF -- "pshm chmod: invalid mode '$m'" <<<"$stderr" || fail_with "'$m':" "$stderr"
	done
	[ "$(stat -c %a "$PSHM_DIR/a")" = 640 ]
}

@test "chmod: a missing object among several: the others changed, exit 1" {
	pshm create -m 600 /a /c
	run --separate-stderr pshm chmod 604 /a /missing /c
	[ "$status" -eq 1 ]
	stderr_has '^pshm: chmod /missing: No such file or directory$'
	[ "$(grep -c . <<<"$stderr")" -eq 1 ]
	[ "$(stat -c %a "$PSHM_DIR/a")" = 604 ]
	[ "$(stat -c %a "$PSHM_DIR/c")" = 604 ]
	dir_holds a c
}

@test "chmod, chown: bad names are exit 1 naming them" {
	for name in . a/b bogus:x "/$(printf 'n%.0s' $(seq 300))"; do
		for c in "chmod 600" "chown 0:0"; do
			run --separate-stderr pshm $c "$name"
			[ "$status" -eq 1 ] || fail_with "$c '$name' exited $status"
			grep -qF "pshm: ${c% *} $name: " <<<"$stderr" || fail_with "$c '$name':" "$stderr"
		done
	done
	dir_holds
}

@test "chmod, chown, resize, who, create -e on a FIFO squatting: exit 1 at once" {
	mkfifo -m 600 "$PSHM_DIR/fifo"
	for c in "chmod 644" "chown 1:1" "resize 10" "who" "create --existing-ok"; do
		run --separate-stderr timeout 60 "$PSHM" $c /fifo
		[ "$status" -eq 1 ] || fail_with "$c /fifo exited $status (124 is a hang)"
		stderr_has "^pshm: ${c%% *} /fifo: "
		stderr_has 'is a FIFO, not a shared memory object'
	done
	[ -p "$PSHM_DIR/fifo" ]
	[ "$(stat -c '%a %u %g' "$PSHM_DIR/fifo")" = "600 $ME_UID $ME_GID" ]
}

@test "chmod, chown, resize, rm as another user: permission denied, nothing changed" {
	require_root
	share_dir
	pshm create -s 10 -m 600 /p
	pshm write -k /p rootsecret
	for c in "chmod 666" "chown 65534" "chown :65534" "resize 100" "resize -5" "rm"; do
		run --separate-stderr as_nobody "$PSHM" $c /p
		[ "$status" -eq 1 ] || fail_with "$c as nobody exited $status"
		stdout_empty
		stderr_has "^pshm: ${c%% *} /p: (Permission denied|Operation not permitted)$"
		# Removal is governed by the directory, and its hint says so (messages.bats).
		[ "$c" = rm ] || stderr_has 'owned by root:root with mode rw-------; you are uid 65534'
	done
	[ "$(attrs /p)" = "10 600 0 0" ]
	[ "$(cat "$PSHM_DIR/p")" = rootsecret ]
}

@test "chmod and chown of one's own object work as another user" {
	require_root
	share_dir
	as_nobody "$PSHM" create /mine
	as_nobody "$PSHM" chmod 640 /mine
	[ "$(attrs /mine)" = "0 640 65534 65534" ]
	# As chmod(1): the owner needs no access to the object to change its mode or group.
	as_nobody "$PSHM" chmod 0 /mine
	[ "$(attrs /mine)" = "0 0 65534 65534" ]
	as_nobody "$PSHM" chown :nogroup /mine
	as_nobody "$PSHM" chmod 640 /mine
	[ "$(attrs /mine)" = "0 640 65534 65534" ]
	# Giving it away is not allowed without privilege.
	run --separate-stderr as_nobody "$PSHM" chown root /mine
	[ "$status" -eq 1 ]
	stderr_has '^pshm: chown /mine: Operation not permitted'
	[ "$(attrs /mine)" = "0 640 65534 65534" ]
}

# ---- chown ---------------------------------------------------------------------------------

@test "chown: by name and by number, OWNER:GROUP, :GROUP, OWNER:" {
	require_root
	pshm create /a /b
	pshm chown nobody /a
	[ "$(attrs /a)" = "0 600 65534 0" ]
	pshm chown root:nogroup /a
	[ "$(attrs /a)" = "0 600 0 65534" ]
	pshm chown 65534:0 /a /b
	[ "$(attrs /a)" = "0 600 65534 0" ]
	[ "$(attrs /b)" = "0 600 65534 0" ]
	pshm chown :65534 /a
	[ "$(attrs /a)" = "0 600 65534 65534" ]
	pshm chown :root /a
	[ "$(attrs /a)" = "0 600 65534 0" ]
	# OWNER: takes the owner's login group.
	pshm chown nobody: /b
	[ "$(attrs /b)" = "0 600 65534 $(id -g nobody)" ]
	# A number no user has is fine.
	pshm chown 4242:4343 /b
	[ "$(attrs /b)" = "0 600 4242 4343" ]
	run pshm ls -k posix -J -o ADDRESS,OWNER,GROUP,UID,GID
	jq_true '.objects[1] | .owner == "4242" and .group == "4343" and .uid == 4242 and
		.gid == 4343' <<<"$output"
}

@test "chown: malformed owners are exit 2, nothing changed" {
	require_root
	pshm create /a
	pshm chown 1:1 /a
	for o in '' : -1 +1 a:b:c 4294967295 99999999999; do
		run --separate-stderr pshm chown -- "$o" /a
		[ "$status" -eq 2 ] || fail_with "chown '$o' exited $status"
		stdout_empty
		grep -qF -- "pshm chown: invalid owner '$o'" <<<"$stderr" || fail_with "'$o':" "$stderr"
	done
	[ "$(attrs /a)" = "0 600 1 1" ]
}

@test "chown: a missing object among several: the others changed, exit 1" {
	require_root
	pshm create /a /c
	run --separate-stderr pshm chown 7:8 /a /missing /c
	[ "$status" -eq 1 ]
	stderr_has '^pshm: chown /missing: No such file or directory$'
	[ "$(attrs /a)" = "0 600 7 8" ]
	[ "$(attrs /c)" = "0 600 7 8" ]
}

# ---- resize --------------------------------------------------------------------------------

@test "resize SIZE sets the size, growing or shrinking; the data kept" {
	pshm create /r
	pshm write /r abcdef
	run --separate-stderr pshm resize 4K /r
	[ "$status" -eq 0 ]
	stdout_empty
	[ -z "$stderr" ]
	[ "$(size_of /r)" -eq 4096 ]
	[ "$(pshm read -n 6 /r)" = abcdef ]
	[ "$(pshm read -o 6 /r | tr -d '\0' | wc -c)" -eq 0 ]
	pshm resize 3 /r
	[ "$(size_of /r)" -eq 3 ]
	[ "$(pshm read /r)" = abc ]
	pshm resize 0 /r
	[ "$(size_of /r)" -eq 0 ]
	pshm resize 1.5K /r
	[ "$(size_of /r)" -eq 1536 ]
	pshm resize 2KB /r
	[ "$(size_of /r)" -eq 2000 ]
}

@test "resize +SIZE grows and -SIZE shrinks by that much" {
	pshm create -s 1000 /r
	pshm resize +24 /r
	[ "$(size_of /r)" -eq 1024 ]
	pshm resize +1K /r
	[ "$(size_of /r)" -eq 2048 ]
	pshm resize -48 /r
	[ "$(size_of /r)" -eq 2000 ]
	pshm resize -- -1000 /r
	[ "$(size_of /r)" -eq 1000 ]
	pshm resize -1000 /r
	[ "$(size_of /r)" -eq 0 ]
	pshm resize +0 /r
	[ "$(size_of /r)" -eq 0 ]
}

@test "resize of several objects: each by the same amount" {
	pshm create -s 100 /a
	pshm create -s 200 /b
	pshm resize +50 /a /b
	[ "$(size_of /a) $(size_of /b)" = "150 250" ]
	pshm resize -100 /a /b
	[ "$(size_of /a) $(size_of /b)" = "50 150" ]
}

@test "resize -SIZE below zero: exit 1 with a message, the object unchanged" {
	pshm create -s 10 /r
	pshm write -k /r 0123456789
	pshm create -s 100 /big
	run --separate-stderr pshm resize -11 /r /big
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has '^pshm: resize /r: cannot shrink 10B by 11B$'
	[ "$(size_of /r)" -eq 10 ]
	[ "$(cat "$PSHM_DIR/r")" = 0123456789 ]
	# The other operand is still done.
	[ "$(size_of /big)" -eq 89 ]
}

@test "resize: the space is reserved unless --sparse" {
	pshm create /r /s
	pshm resize 1M /r
	[ "$(allocated /r)" -ge 1048576 ]
	pshm resize --sparse 1M /s
	[ "$(allocated /s)" -eq 0 ]
	# The option may come after the operands too, and applies to all of them.
	pshm create /t
	pshm resize 512K /t --sparse
	[ "$(size_of /t)" -eq 524288 ]
	[ "$(allocated /t)" -eq 0 ]
}

@test "resize: invalid sizes are exit 2, nothing changed" {
	pshm create -s 10 /r
	for s in 12Q 1.5.5 abc '' + - ++5 +-5 --5 0x10K 16E; do
		run --separate-stderr pshm resize -- "$s" /r
		[ "$status" -eq 2 ] || fail_with "resize '$s' exited $status"
		stdout_empty
		grep -qF -- "pshm resize: invalid size" <<<"$stderr" || fail_with "'$s':" "$stderr"
	done
	[ "$(size_of /r)" -eq 10 ]
	run --separate-stderr pshm resize
	[ "$status" -eq 2 ]
	stderr_has 'no size given'
	run --separate-stderr pshm resize 10
	[ "$status" -eq 2 ]
	stderr_has 'no object named'
}

@test "resize: an unknown option anywhere is exit 2 and nothing is resized" {
	pshm create -s 10 /r
	for args in "--bogus 100 /r" "100 --bogus /r" "100 /r --bogus" "100 /r -x" "-Z 5 /r"; do
		run --separate-stderr pshm resize $args
		[ "$status" -eq 2 ] || fail_with "resize $args exited $status"
		stderr_has "^pshm resize: invalid option '-"
		[ "$(size_of /r)" -eq 10 ] || fail_with "resize $args resized it"
	done
	# --help anywhere is the help.
	run pshm resize 100 /r --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == Usage: && ${lines[1]} == " pshm resize "* ]]
	[ "$(size_of /r)" -eq 10 ]
}

@test "resize: missing objects and bad names are exit 1 naming them; others resized" {
	pshm create -s 1 /a
	run --separate-stderr pshm resize 64 /missing /a . a/b bogus:x
	[ "$status" -eq 1 ]
	stderr_has '^pshm: resize /missing: No such file or directory$'
	stderr_has '^pshm: resize \.: '
	stderr_has '^pshm: resize a/b: '
	stderr_has '^pshm: resize bogus:x: '
	[ "$(size_of /a)" -eq 64 ]
	dir_holds a
}

@test "resize on a full tmpfs: exit 1 naming the space, the size unchanged" {
	require_tmpfs
	run --separate-stderr in_tmpfs '
		"$PSHM" create -s 1M /r || exit 98
		"$PSHM" resize 8M /r; echo "rc=$?"; stat -c %s "$PSHM_DIR/r"
		"$PSHM" resize +4M /r; echo "rc=$?"; stat -c %s "$PSHM_DIR/r"
		"$PSHM" resize --sparse 8M /r; echo "rc=$?"; stat -c %s "$PSHM_DIR/r"'
	[ "$output" = "$(printf '%s\n' rc=1 1048576 rc=1 1048576 rc=0 8388608)" ] ||
		fail_with "$output"
	stderr_has '^pshm: resize /r: No space left on device$'
	stderr_has 'holds 4M in all and 3M is free'
}

@test "resize on a full ext4 file system: exit 1, the size and the free space as they were" {
	require_ext4
	# ext4 can fail an allocation after taking part of it; the command gives all of it back
	# (but for a block or two of ext4's own bookkeeping once a file has needed it).
	run --separate-stderr in_ext4 '
		"$PSHM" create -s 1M file:$M/b || exit 98
		free=$(stat -f -c %f "$M")
		"$PSHM" resize 10M file:$M/b; echo "rc=$?"; stat -c %s "$M/b"
		echo "lost=$((free - $(stat -f -c %f "$M")))"
		export PSHM_DIR=$M
		"$PSHM" create -s 1000 /p || exit 98
		free=$(stat -f -c %f "$M")
		"$PSHM" resize 10M /p; echo "rc=$?"; stat -c %s "$M/p"
		echo "lost=$((free - $(stat -f -c %f "$M")))"
		"$PSHM" rm /p file:$M/b; echo "left=$(ls "$M")"'
	[ "${lines[0]}" = rc=1 ] && [ "${lines[1]}" = 1048576 ] && [ "${lines[3]}" = rc=1 ] &&
		[ "${lines[4]}" = 1000 ] && [ "${lines[6]}" = left=lost+found ] || fail_with "$output"
	for l in "${lines[2]}" "${lines[5]}"; do
		[ "${l#lost=}" -ge 0 ] && [ "${l#lost=}" -le 2 ] || fail_with "$output"
	done
	stderr_has '^pshm: resize file:.*/b: No space left on device$'
	stderr_has '^pshm: resize /p: No space left on device$'
}

# ---- rm ------------------------------------------------------------------------------------

@test "rm removes objects, several at once, posix: addresses too" {
	pshm create /a /b /c /d
	run --separate-stderr pshm rm /a posix:/b /c
	[ "$status" -eq 0 ]
	stdout_empty
	[ -z "$stderr" ]
	dir_holds d
}

@test "rm of a missing object: exit 1 naming it; with -f: exit 0, silent" {
	run --separate-stderr pshm rm /nope
	[ "$status" -eq 1 ]
	stderr_has '^pshm: rm /nope: No such file or directory$'
	run --separate-stderr pshm rm -f /nope
	[ "$status" -eq 0 ]
	[ -z "$stderr" ] && [ -z "$output" ]
	run --separate-stderr pshm rm --force /nope
	[ "$status" -eq 0 ]
	run --separate-stderr pshm rm -f
	[ "$status" -eq 0 ]
	run --separate-stderr pshm rm
	[ "$status" -eq 2 ]
}

@test "rm of several with one missing: the others removed, exit 1" {
	pshm create /a /b /c
	run --separate-stderr pshm rm /a /missing /c
	[ "$status" -eq 1 ]
	stderr_has '^pshm: rm /missing: No such file or directory$'
	[ "$(grep -c . <<<"$stderr")" -eq 1 ]
	dir_holds b
	# -f: the same, and exit 0.
	pshm create /x
	run pshm rm -f /b /missing /x
	[ "$status" -eq 0 ]
	dir_holds
}

@test "rm: bad names are exit 1 (even with -f); nothing else touched" {
	pshm create /keep
	for name in . .. / a/b /a/b bogus:x "/$(printf 'n%.0s' $(seq 300))"; do
		run --separate-stderr pshm rm -f "$name"
		[ "$status" -eq 1 ] || fail_with "rm -f '$name' exited $status"
		grep -qF "pshm: rm $name: " <<<"$stderr" || fail_with "rm '$name':" "$stderr"
	done
	dir_holds keep
}

@test "rm of a held object: gone from the directory, the holder keeps its memory" {
	pshm create /held
	pshm write /held 'still here'
	sleep 30 3<"$PSHM_DIR/held" >/dev/null 2>&1 &
	pid=$!
	track $pid
	wait_comm $pid sleep
	pshm rm /held
	dir_holds
	[ "$(cat "/proc/$pid/fd/3")" = 'still here' ]
}

@test "rm sem:/NAME removes a semaphore; rm file:PATH a file" {
	echo x >"$PSHM_DIR/sem.lock"
	pshm rm sem:/lock
	dir_holds
	touch "$BATS_TEST_TMPDIR/f"
	pshm rm "file:$BATS_TEST_TMPDIR/f"
	[ ! -e "$BATS_TEST_TMPDIR/f" ]
}

@test "chmod keeps a leased object's mark, whatever MODE says" {
	pshm hold --create --lease /held -- sh -c '"$PSHM" chmod 640 /held && stat -c %a "$PSHM_DIR/held" >"$BATS_TEST_TMPDIR/mode"'
	[ "$(cat "$BATS_TEST_TMPDIR/mode")" = 1640 ]
	[ ! -e "$PSHM_DIR/held" ]
}
