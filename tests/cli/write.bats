#!/usr/bin/env bats
# pshm write: all or nothing by default, exactly what arrived in place, under signals, full file
# systems and output errors.

load helpers

# Start `pshm write ARGS...` reading from a FIFO, with every stop signal at its default action
# (a background job of a script would ignore SIGINT), feed it the file IN and wait until the
# object it writes holds all of it. Sets WPID; the FIFO stays open on descriptor 5.
start_write_fed() {
	local in=$1 f
	shift
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	env --default-signal=INT,TERM,HUP "$PSHM" "$@" <"$BATS_TEST_TMPDIR/fifo" \
		2>"$BATS_TEST_TMPDIR/err" &
	WPID=$!
	track "$WPID"
	exec 5>"$BATS_TEST_TMPDIR/fifo"
	cat "$in" >&5
	wait_until writing_holds "$WPID" "$(stat -c %s "$in")"
}

# Whether PID has a file of PSHM_DIR open (the object or its nameless replacement) that holds at
# least BYTES bytes.
writing_holds() {
	local f
	for f in /proc/"$1"/fd/*; do
		case $(readlink "$f") in
		"$PSHM_DIR"/*) [ "$(stat -L -c %s "$f")" -ge "$2" ] && return 0 ;;
		esac
	done
	return 1
}

# Send SIGNAL to the writer started by start_write_fed; set WSTATUS and WERR.
stop_write() {
	kill -s "$1" "$WPID"
	WSTATUS=0
	wait "$WPID" || WSTATUS=$?
	exec 5>&-
	WERR=$(cat "$BATS_TEST_TMPDIR/err")
}

@test "write replaces the object: a new inode, mode and owner kept, old mappers keep the old" {
	pshm create /r
	pshm write /r 'old content'
	chmod 0640 "$PSHM_DIR/r"
	ino=$(stat -c %i "$PSHM_DIR/r")
	exec 4<"$PSHM_DIR/r" # a process holding the old object
	pshm write /r 'new'
	[ "$(pshm read /r)" = new ]
	[ "$(stat -c '%a %s' "$PSHM_DIR/r")" = "640 3" ]
	[ "$(stat -c %i "$PSHM_DIR/r")" != "$ino" ]
	[ "$(cat <&4)" = 'old content' ]
	exec 4<&-
	dir_holds r
}

@test "write as root over another user's object keeps its owner and group" {
	require_root
	pshm create /o
	chown 65534:65534 "$PSHM_DIR/o"
	pshm write /o data
	[ "$(stat -c '%u:%g %a' "$PSHM_DIR/o")" = "65534:65534 600" ]
	[ "$(pshm read /o)" = data ]
}

@test "write in place: -i, -o, -k, hard links and others' objects keep the inode" {
	pshm create /p
	pshm write /p 0123456789
	ino=$(stat -c %i "$PSHM_DIR/p")
	pshm write -i /p abc
	[ "$(pshm read /p)" = abc ] && [ "$(stat -c %i "$PSHM_DIR/p")" = "$ino" ]
	pshm write -o 3 /p XY
	[ "$(pshm read /p)" = abcXY ] && [ "$(stat -c %i "$PSHM_DIR/p")" = "$ino" ]
	pshm write -k /p Q
	[ "$(pshm read /p)" = QbcXY ] && [ "$(stat -c %i "$PSHM_DIR/p")" = "$ino" ]
	ln "$PSHM_DIR/p" "$PSHM_DIR/link"
	pshm write /p linked
	[ "$(stat -c %i "$PSHM_DIR/p")" = "$ino" ] && [ "$(pshm read /link)" = linked ]
}

@test "write as a user who does not own the object works in place" {
	require_root
	share_dir
	pshm create -m 666 /shared
	pshm write /shared 'root wrote this'
	ino=$(stat -c %i "$PSHM_DIR/shared")
	run --separate-stderr as_nobody "$PSHM" write /shared 'nobody'
	[ "$status" -eq 0 ] || fail_with "$stderr"
	[ "$(pshm read /shared)" = nobody ]
	[ "$(stat -c '%i %U %a' "$PSHM_DIR/shared")" = "$ino root 666" ]
}

@test "write of a file: in a directory the user cannot write, it works in place" {
	require_root
	d=$PSHM_DIR/ro
	mkdir "$d"
	printf 'before' >"$d/f"
	chown 65534:65534 "$d/f"
	chmod 0755 "$d" "$PSHM_DIR"
	ino=$(stat -c %i "$d/f")
	run --separate-stderr as_nobody "$PSHM" write "file:$d/f" after
	[ "$status" -eq 0 ] || fail_with "$stderr"
	[ "$(cat "$d/f")" = after ] && [ "$(stat -c %i "$d/f")" = "$ino" ]
	# Where it can, a file is replaced as an object is, and keeps its mode.
	chmod 0644 "$d/f"
	pshm write "file:$d/f" again
	[ "$(cat "$d/f")" = again ] && [ "$(stat -c '%a %U' "$d/f")" = "644 nobody" ]
	[ "$(stat -c %i "$d/f")" != "$ino" ]
	[ "$(ls -A "$d")" = f ]
}

@test "write interrupted by SIGINT, SIGTERM or SIGHUP: the object unchanged, nothing left" {
	head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
	pshm create /w
	pshm write /w 'the old content, 27 bytes.'
	ino=$(stat -c %i "$PSHM_DIR/w")
	for sig in INT TERM HUP; do
		start_write_fed "$BATS_TEST_TMPDIR/in" write /w
		stop_write "$sig"
		rm -f "$BATS_TEST_TMPDIR/fifo"
		want=$((128 + $(kill -l "$sig")))
		[ "$WSTATUS" -eq "$want" ] || fail_with "$sig: status $WSTATUS, want $want" "$WERR"
		[ "$(pshm read /w)" = 'the old content, 27 bytes.' ] || fail_with "$sig: content"
		[ "$(stat -c %i "$PSHM_DIR/w")" = "$ino" ]
		grep -q "^pshm: write /w: interrupted (.*); the object is unchanged$" <<<"$WERR" ||
			fail_with "$WERR"
		dir_holds w
	done
	# Even SIGKILL leaves the old object and nothing else: the new one has no name yet.
	start_write_fed "$BATS_TEST_TMPDIR/in" write /w
	stop_write KILL
	[ "$WSTATUS" -eq 137 ]
	[ "$(pshm read /w)" = 'the old content, 27 bytes.' ]
	dir_holds w
}

@test "write started with SIGINT ignored (a background job) keeps ignoring it" {
	head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
	pshm create /g
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	# A script's background job starts with SIGINT ignored.
	"$PSHM" write /g <"$BATS_TEST_TMPDIR/fifo" 2>"$BATS_TEST_TMPDIR/err" &
	WPID=$!
	track "$WPID"
	exec 5>"$BATS_TEST_TMPDIR/fifo"
	cat "$BATS_TEST_TMPDIR/in" >&5
	wait_until writing_holds "$WPID" 100000
	kill -INT "$WPID"
	exec 5>&- # end of input: the write completes
	wait "$WPID"
	cmp "$PSHM_DIR/g" "$BATS_TEST_TMPDIR/in"
}

@test "write -i interrupted: the object holds exactly the bytes that arrived, and says so" {
	head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
	pshm create /w
	head -c 300000 /dev/zero | tr '\0' o | pshm write /w
	start_write_fed "$BATS_TEST_TMPDIR/in" write -i /w
	stop_write TERM
	[ "$WSTATUS" -eq 143 ] || fail_with "$WERR"
	[ "$(size_of /w)" -eq 100000 ]
	cmp "$PSHM_DIR/w" "$BATS_TEST_TMPDIR/in"
	grep -qx "pshm: write /w: interrupted (Terminated); the first 100000 bytes of the data are at offset 0 and the object now ends after them (100000 bytes)" <<<"$WERR" ||
		fail_with "$WERR"
}

@test "write -k and System V interrupted: the size kept, the first bytes new, the rest old" {
	head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
	head -c 300000 /dev/zero | tr '\0' o >"$BATS_TEST_TMPDIR/old"
	key=$(sysv_key)
	pshm create -s 300000 "sysv:$key"
	for addr in /k "sysv:$key"; do
		[ "$addr" = /k ] && pshm create /k
		pshm write -i "$addr" <"$BATS_TEST_TMPDIR/old"
		if [ "$addr" = /k ]; then
			start_write_fed "$BATS_TEST_TMPDIR/in" write -k "$addr"
		else
			# A segment has no file to watch: wait until its first bytes changed.
			mkfifo "$BATS_TEST_TMPDIR/fifo"
			env --default-signal=HUP "$PSHM" write "$addr" <"$BATS_TEST_TMPDIR/fifo" \
				2>"$BATS_TEST_TMPDIR/err" &
			WPID=$!
			track "$WPID"
			exec 5>"$BATS_TEST_TMPDIR/fifo"
			cat "$BATS_TEST_TMPDIR/in" >&5
			tail_of_in() { [ "$(pshm read -o 99990 -n 10 "$addr" | od -An -tx1)" = \
				"$(tail -c 10 "$BATS_TEST_TMPDIR/in" | od -An -tx1)" ]; }
			wait_until tail_of_in
		fi
		stop_write HUP
		rm -f "$BATS_TEST_TMPDIR/fifo"
		[ "$WSTATUS" -eq 129 ] || fail_with "$addr: $WSTATUS" "$WERR"
		pshm read "$addr" >"$BATS_TEST_TMPDIR/now"
		[ "$(stat -c %s "$BATS_TEST_TMPDIR/now")" -eq 300000 ]
		cmp -n 100000 "$BATS_TEST_TMPDIR/now" "$BATS_TEST_TMPDIR/in"
		cmp -i 100000 "$BATS_TEST_TMPDIR/now" "$BATS_TEST_TMPDIR/old"
		grep -qx "pshm: write $addr: interrupted (Hangup); the first 100000 bytes of the data are at offset 0; the rest of the object is as it was" <<<"$WERR" ||
			fail_with "$WERR"
	done
}

@test "write with nothing arrived yet, interrupted: unchanged, also in place" {
	pshm create /e
	pshm write /e before
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	env --default-signal=INT "$PSHM" write -i /e <"$BATS_TEST_TMPDIR/fifo" 2>"$BATS_TEST_TMPDIR/err" &
	WPID=$!
	track "$WPID"
	exec 5>"$BATS_TEST_TMPDIR/fifo" # opened: the writer is past its open of standard input
	wait_until grep -q '^State:.*S (sleeping)' "/proc/$WPID/status"
	wait_until grep -q "$PSHM_DIR/e" <(ls -l "/proc/$WPID/fd")
	stop_write INT
	[ "$WSTATUS" -eq 130 ] || fail_with "$WERR"
	[ "$(pshm read /e)" = before ]
	grep -qx "pshm: write /e: interrupted (Interrupt); the object is unchanged" <<<"$WERR" ||
		fail_with "$WERR"
}

@test "write on a full tmpfs: unchanged, and the message says how to write in place" {
	require_tmpfs
	head -c 3M /dev/urandom >"$BATS_TEST_TMPDIR/3m"
	run --separate-stderr in_tmpfs '
		"$PSHM" create /o && "$PSHM" write /o <3m || exit 98
		head -c 3M /dev/zero | "$PSHM" write /o; echo "rc=$?"
		cmp -s "$PSHM_DIR/o" 3m && echo same
		ls -A "$PSHM_DIR"
		head -c 3M /dev/zero | "$PSHM" write -i /o; echo "rc=$?"
		cmp -s "$PSHM_DIR/o" /dev/zero; echo "cmp=$?"'
	want=$(printf '%s\n' rc=1 same o rc=0 'cmp=1')
	[ "$output" = "$want" ] || fail_with "expected:" "$want" "got:" "$output"
	[ "$(grep -c '^pshm: write /o: No space left on device$' <<<"$stderr")" -eq 1 ] ||
		fail_with "$stderr"
	stderr_has '^pshm: the new content is written beside the old before it replaces it; --in-place overwrites the object where it is$'
	stderr_has '^pshm: write /o: the object is unchanged$'
}

@test "write -i from a pipe on a full tmpfs: exactly the bytes that arrived, and their count" {
	require_tmpfs
	head -c 6M /dev/urandom >"$BATS_TEST_TMPDIR/6m"
	run --separate-stderr in_tmpfs '
		"$PSHM" create /o && head -c 1M /dev/zero | "$PSHM" write /o || exit 98
		"$PSHM" write -i /o <6m; echo "rc=$?"
		cat 6m | "$PSHM" write -i /o; echo "rc=$?"
		n=$(stat -c %s "$PSHM_DIR/o"); echo "size=$n"
		cmp -n "$n" "$PSHM_DIR/o" 6m && echo prefix'
	[ "${lines[0]}" = rc=1 ] && [ "${lines[1]}" = rc=1 ] && [ "${lines[3]}" = prefix ] ||
		fail_with "$output" "$stderr"
	n=${lines[2]#size=}
	[ "$n" -gt 1048576 ] && [ "$n" -lt 6291456 ] || fail_with "$output"
	# From a regular file, the space is reserved first: nothing written.
	stderr_has '^pshm: write /o: the object is unchanged$'
	stderr_has "^pshm: write /o: the first $n bytes of the data are at offset 0 and the object now ends after them \($n bytes\)$"
}

@test "write whose messages cannot be shown (stderr a closed pipe): the object still as said" {
	require_tmpfs
	run in_tmpfs '
		"$PSHM" create /o && "$PSHM" write /o before || exit 98
		{ head -c 8M /dev/zero | "$PSHM" write /o 2>&1; echo "rc=$?" >rc; } | true
		cat rc; "$PSHM" read /o; echo'
	[ "$output" = "$(printf '%s\n' rc=1 before)" ] || fail_with "$output"
}

@test "write DATA that names a file: the text itself is written, with a warning" {
	cd "$BATS_TEST_TMPDIR"
	printf 'file bytes' >f.bin
	pshm create /d
	run --separate-stderr pshm write /d f.bin
	[ "$status" -eq 0 ]
	[ "$(pshm read /d)" = f.bin ]
	stderr_has "^pshm: warning: writing the 5 characters 'f.bin' themselves, not the file of that name; to write the file's bytes: pshm write /d < f.bin$"
	run --separate-stderr pshm write /d no-such-file
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	run pshm write --help
	[[ $output == *"DATA is written as it is, literally"* ]]
}

@test "write over a leased object goes in place: the holders keep the object they hold" {
	pshm hold --create -s 16 --lease /leased -- sh -c '
		ino=$(stat -c %i "$PSHM_DIR/leased")
		printf new | "$PSHM" write /leased || exit 1
		[ "$(stat -c %i "$PSHM_DIR/leased")" = "$ino" ] || exit 2
		[ "$(stat -c %a "$PSHM_DIR/leased")" = 1600 ] || exit 3
		[ "$("$PSHM" read -n 3 /leased)" = new ] || exit 4'
	[ ! -e "$PSHM_DIR/leased" ]
}
