#!/usr/bin/env bats
# pshm write, read and dump: exact bytes in and out, offsets, -k, hexdump -C layout, bad input,
# FIFOs squatting under a name, and a full tmpfs.

load helpers

# Fill FILE with N random bytes.
random_file() {
	head -c "$2" /dev/urandom >"$1"
}

@test "write DATA: the object holds exactly those bytes" {
	pshm create /o
	run --separate-stderr pshm write /o 'hello world'
	[ "$status" -eq 0 ]
	stdout_empty
	[ -z "$stderr" ]
	[ "$(size_of /o)" -eq 11 ]
	printf 'hello world' | cmp - "$PSHM_DIR/o"
	# No newline added, and bytes that are not text pass through.
	pshm write /o "$(printf 'a\tb\001c')"
	printf 'a\tb\001c' | cmp - "$PSHM_DIR/o"
}

@test "write from stdin: binary data, the object equal to the input" {
	random_file "$BATS_TEST_TMPDIR/in" 100000
	pshm create /bin
	pshm write /bin <"$BATS_TEST_TMPDIR/in"
	cmp "$BATS_TEST_TMPDIR/in" "$PSHM_DIR/bin"
	# From a pipe, several buffers' worth (not a regular file: no size known ahead).
	random_file "$BATS_TEST_TMPDIR/in2" 3000000
	cat "$BATS_TEST_TMPDIR/in2" | pshm write /bin
	cmp "$BATS_TEST_TMPDIR/in2" "$PSHM_DIR/bin"
	# NUL bytes and an empty input.
	head -c 5000 /dev/zero | pshm write /bin
	[ "$(size_of /bin)" -eq 5000 ]
	[ "$(tr -d '\0' <"$PSHM_DIR/bin" | wc -c)" -eq 0 ]
	pshm write /bin </dev/null
	[ "$(size_of /bin)" -eq 0 ]
}

@test "write: the object ends exactly at OFFSET + length, shrinking or growing it" {
	pshm create -s 1M /o
	pshm write /o 0123456789abcdef
	[ "$(size_of /o)" -eq 16 ]
	pshm write -o 4 /o XY
	[ "$(size_of /o)" -eq 6 ]
	[ "$(cat "$PSHM_DIR/o")" = 0123XY ]
	pshm write --offset 10 /o Z
	[ "$(size_of /o)" -eq 11 ]
	printf '0123XY\0\0\0\0Z' | cmp - "$PSHM_DIR/o"
	printf 'stdin' | pshm write -o 1K /o
	[ "$(size_of /o)" -eq 1029 ]
	[ "$(tail -c 5 "$PSHM_DIR/o")" = stdin ]
	# Empty data at an offset: the object is cut there.
	pshm write -o 3 /o ''
	[ "$(size_of /o)" -eq 3 ]
	[ "$(cat "$PSHM_DIR/o")" = 012 ]
}

@test "write -k: data that fits goes in and the size stays" {
	pshm create -s 16 /k
	pshm write -k /k 0123456789abcdef
	pshm write -k -o 2 /k zz
	[ "$(size_of /k)" -eq 16 ]
	[ "$(cat "$PSHM_DIR/k")" = 01zz456789abcdef ]
	printf 'END' | pshm write --keep-size -o 13 /k
	[ "$(cat "$PSHM_DIR/k")" = 01zz456789abcEND ]
	[ "$(size_of /k)" -eq 16 ]
	pshm write -k /k ''
	[ "$(cat "$PSHM_DIR/k")" = 01zz456789abcEND ]
}

@test "write -k: data that does not fit is an error and the object is unchanged" {
	pshm create -s 16 /k
	pshm write -k /k 0123456789abcdef
	for args in "-o 15 /k zz" "/k 0123456789abcdefg" "-o 17 /k x" "-o 1G /k x"; do
		run --separate-stderr pshm write -k $args
		[ "$status" -eq 1 ] || fail_with "write -k $args exited $status"
		stdout_empty
		stderr_has '^pshm: write /k: '
		[ "$(cat "$PSHM_DIR/k")" = 0123456789abcdef ] || fail_with "write -k $args changed it"
		[ "$(size_of /k)" -eq 16 ]
	done
	run --separate-stderr pshm write -k -o 15 /k zz
	stderr_has 'does not fit'
	# From standard input, a regular file and a pipe.
	head -c 17 /dev/urandom >"$BATS_TEST_TMPDIR/17"
	run pshm write -k /k <"$BATS_TEST_TMPDIR/17"
	[ "$status" -eq 1 ]
	run sh -c 'cat "$1" | "$PSHM" write -k /k' sh "$BATS_TEST_TMPDIR/17"
	[ "$status" -eq 1 ]
	[ "$(cat "$PSHM_DIR/k")" = 0123456789abcdef ]
}

@test "read: the bytes exactly, -o and -n selecting a range" {
	random_file "$BATS_TEST_TMPDIR/in" 70000
	pshm create /r
	pshm write /r <"$BATS_TEST_TMPDIR/in"
	pshm read /r >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
	# Through a pipe as well as into a file.
	pshm read /r | cat >"$BATS_TEST_TMPDIR/out2"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out2"
	range() { # OFF LEN -> expected bytes, compared
		pshm read "${@:3}" /r >"$BATS_TEST_TMPDIR/got"
		tail -c +$(($1 + 1)) "$BATS_TEST_TMPDIR/in" | head -c "$2" >"$BATS_TEST_TMPDIR/want"
		cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got" || fail_with "read ${*:3} differs"
	}
	range 100 50 -o 100 -n 50
	range 0 1 -n 1
	range 69999 1 -o 69999
	range 65536 4464 --offset 64K
	range 1000 69000 -o 1000 -n 1M
	range 0 70000 -n 70000
	[ "$(pshm read -o 70000 /r | wc -c)" -eq 0 ]
	[ "$(pshm read -n 0 /r | wc -c)" -eq 0 ]
	[ "$(pshm read -o 1.5K -n 1KB /r | wc -c)" -eq 1000 ]
}

@test "read: an offset past the end is an error naming it" {
	pshm create /r
	pshm write /r 12345
	run --separate-stderr pshm read -o 6 /r
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has '^pshm: read /r: offset 6 is past the end \(5 bytes\)'
	run --separate-stderr pshm dump -o 6 /r
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has '^pshm: dump /r: offset 6 is past the end'
}

@test "read and dump of an empty object: nothing, exit 0" {
	pshm create /e
	[ -f "$PSHM_DIR/e" ] && [ "$(size_of /e)" -eq 0 ]
	run --separate-stderr pshm read /e
	[ "$status" -eq 0 ]
	[ -z "$output" ] && [ -z "$stderr" ]
	run --separate-stderr pshm dump /e
	[ "$status" -eq 0 ]
	[ -z "$output" ] && [ -z "$stderr" ]
	[ -z "$(hexdump -C "$PSHM_DIR/e")" ]
	# So is a range of nothing at the end of a non-empty one, but for the offset line.
	pshm write /e 0123456789abcdefXYZ
	[ -z "$(pshm read -o 19 /e)" ]
	[ "$(pshm dump -o 19 /e)" = "$(hexdump -C -s 19 "$PSHM_DIR/e")" ]
	[ "$(pshm dump -o 19 /e)" = 00000013 ]
}

@test "dump: the layout of hexdump -C, with '*' for repeated lines" {
	f=$BATS_TEST_TMPDIR/data
	{
		printf 'Hello, dump!\n\t\001\377'
		head -c 100 /dev/zero          # repeated lines fold into '*'
		printf 'AAAAAAAAAAAAAAAA%.0s' 1 2 3 4
		head -c 333 /dev/urandom
		printf '~\x7f\x80 tail'        # the edges of the printable range, a short line
	} >"$f"
	pshm create /d
	pshm write /d <"$f"
	run --separate-stderr pshm dump /d
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	want=$(hexdump -C "$f")
	[ "$output" = "$want" ] || fail_with "dump differs from hexdump -C:" \
		"$(diff <(echo "$want") <(echo "$output"))"
	grep -qx '\*' <<<"$output"
}

@test "dump -o/-n: the same as hexdump -C -s OFF -n LEN of the object's file" {
	f=$BATS_TEST_TMPDIR/data
	{
		head -c 200 /dev/urandom
		head -c 300 /dev/zero
		head -c 37 /dev/urandom
	} >"$f"
	pshm create /d
	pshm write /d <"$f"
	for r in "0 16" "5 60" "5 500" "16 32" "17 1" "100 400" "190 300" "536 1" "0 537" \
		"0 1000" "530 100" "537 10" "300 0"; do
		set -- $r
		want=$(hexdump -C -s "$1" -n "$2" "$PSHM_DIR/d")
		got=$(pshm dump -o "$1" -n "$2" /d)
		[ "$got" = "$want" ] || fail_with "dump -o $1 -n $2 differs from hexdump:" \
			"$(diff <(echo "$want") <(echo "$got"))"
	done
	# -o alone, to the end; long options.
	[ "$(pshm dump --offset 250 /d)" = "$(hexdump -C -s 250 "$PSHM_DIR/d")" ]
	[ "$(pshm dump --length 40 /d)" = "$(hexdump -C -n 40 "$PSHM_DIR/d")" ]
}

@test "dump of a large object streams, equal to hexdump -C" {
	head -c 2500000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	pshm create /big
	pshm write /big <"$BATS_TEST_TMPDIR/big"
	pshm dump /big >"$BATS_TEST_TMPDIR/got"
	hexdump -C "$BATS_TEST_TMPDIR/big" | cmp - "$BATS_TEST_TMPDIR/got"
}

# Run "pshm CMD /big" into a FIFO, read N bytes of its output (so it is writing, or waiting to
# write, in the middle of the object), truncate the object, read the rest: it must exit 1
# saying so.
truncate_under() {
	local cmd=$1 n=$2 rc=0
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	"$PSHM" "$cmd" /big >"$BATS_TEST_TMPDIR/fifo" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$!
	track "$pid"
	exec 5<"$BATS_TEST_TMPDIR/fifo"
	head -c "$n" <&5 >/dev/null
	truncate -s 0 "$PSHM_DIR/big"
	cat <&5 >/dev/null
	exec 5<&-
	wait "$pid" || rc=$?
	rm -f "$BATS_TEST_TMPDIR/fifo"
	[ "$rc" -eq 1 ] || fail_with "$cmd exited $rc" "$(cat "$BATS_TEST_TMPDIR/err")"
	[ "$(cat "$BATS_TEST_TMPDIR/err")" = "pshm: $cmd /big: the object was truncated while being read" ] ||
		fail_with "$cmd said:" "$(cat "$BATS_TEST_TMPDIR/err")"
}

@test "read and dump of an object truncated while being read: exit 1 saying so" {
	# A large sparse object: a megabyte is read of it, the rest waits in the pipe.
	pshm create --sparse -s 1G /big
	truncate_under read 1000000
	# dump prints about 4.3 bytes per byte: a megabyte of output is the first quarter-megabyte.
	random_file "$BATS_TEST_TMPDIR/data" 4000000
	pshm write /big <"$BATS_TEST_TMPDIR/data"
	truncate_under dump 1000000
}

@test "write, read, dump: a missing object is exit 1 with a message naming it" {
	for c in "write /nope data" "read /nope" "dump /nope"; do
		run --separate-stderr pshm $c </dev/null
		[ "$status" -eq 1 ] || fail_with "$c exited $status"
		stdout_empty
		stderr_has "^pshm: ${c%% *} /nope: No such file or directory$"
	done
	dir_holds
}

@test "write, read, dump: bad names are exit 1 and create nothing" {
	long=/$(printf 'n%.0s' $(seq 300))
	for name in . a/b "$long" bogus:x /..; do
		for c in write read dump; do
			run --separate-stderr pshm "$c" "$name" </dev/null
			[ "$status" -eq 1 ] || fail_with "$c '$name' exited $status"
			stdout_empty
			grep -qF "pshm: $c $name: " <<<"$stderr" || fail_with "$c '$name':" "$stderr"
		done
	done
	dir_holds
}

@test "write, read, dump: invalid offsets and lengths are exit 2, nothing changed" {
	pshm create /o
	pshm write /o original
	for s in 12Q -5 1.5.5 '' x 1e3; do
		for args in "write -o" "read -o" "read -n" "dump -o" "dump -n"; do
			run --separate-stderr pshm $args "$s" /o data
			[ "$status" -eq 2 ] || fail_with "$args '$s' exited $status"
			stdout_empty
			grep -qF -- "pshm ${args% *}: invalid" <<<"$stderr" &&
				grep -qF -- "'$s'" <<<"$stderr" || fail_with "$args '$s':" "$stderr"
		done
	done
	[ "$(cat "$PSHM_DIR/o")" = original ]
	# A bad option after the operands is still found before anything is written.
	run pshm write /o changed --frob
	[ "$status" -eq 2 ]
	[ "$(cat "$PSHM_DIR/o")" = original ]
}

@test "write, read, dump: permission denied as another user, object unchanged" {
	require_root
	share_dir
	pshm create -s 6 /p
	pshm write -k /p secret
	run --separate-stderr as_nobody "$PSHM" read /p
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has '^pshm: read /p: Permission denied$'
	stderr_has 'owned by root:root with mode rw-------; you are uid 65534'
	run --separate-stderr as_nobody "$PSHM" dump /p
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has '^pshm: dump /p: Permission denied'
	run --separate-stderr as_nobody "$PSHM" write /p hacked
	[ "$status" -eq 1 ]
	stderr_has '^pshm: write /p: Permission denied'
	run --separate-stderr sh -c 'echo hacked | setpriv --reuid=65534 --regid=65534 \
		--clear-groups "$PSHM" write -o 2 /p'
	[ "$status" -eq 1 ]
	[ "$(cat "$PSHM_DIR/p")" = secret ]
	# Readable but not writable: read works, write does not.
	pshm chmod 644 /p
	[ "$(as_nobody "$PSHM" read /p)" = secret ]
	run as_nobody "$PSHM" write -k /p HACKED
	[ "$status" -eq 1 ]
	[ "$(cat "$PSHM_DIR/p")" = secret ]
}

@test "a FIFO squatting under a name: read, write, dump fail at once, exit 1" {
	mkfifo "$PSHM_DIR/fifo"
	for c in "read /fifo" "dump /fifo" "write /fifo data" "write -k /fifo data"; do
		run --separate-stderr timeout 60 "$PSHM" $c </dev/null
		[ "$status" -eq 1 ] || fail_with "$c exited $status (124 is a hang)"
		stdout_empty
		stderr_has "^pshm: ${c%% *} /fifo: "
		stderr_has "/fifo is a FIFO, not a shared memory object"
	done
	[ -p "$PSHM_DIR/fifo" ]
	# Nor a directory, nor a symbolic link (which is never followed).
	mkdir "$PSHM_DIR/dir"
	run --separate-stderr timeout 60 "$PSHM" read /dir
	[ "$status" -eq 1 ]
	stderr_has "/dir is a directory, not a shared memory object"
	pshm create /target
	pshm write /target inside
	ln -s target "$PSHM_DIR/link"
	run --separate-stderr timeout 60 "$PSHM" write /link outside
	[ "$status" -eq 1 ]
	stderr_has '^pshm: write /link: .*symbolic link'
	run --separate-stderr timeout 60 "$PSHM" read /link
	[ "$status" -eq 1 ]
	stdout_empty
	[ "$(cat "$PSHM_DIR/target")" = inside ]
}

@test "write on a full tmpfs: exit 1 naming the space, the object as it was" {
	require_tmpfs
	head -c 8M /dev/urandom >"$BATS_TEST_TMPDIR/8m"
	head -c 100000 /dev/zero | tr '\0' x >"$BATS_TEST_TMPDIR/100k"
	run --separate-stderr in_tmpfs '
		used() { df -k "$PSHM_DIR" | awk "NR == 2 {print \$3}"; }
		"$PSHM" create /o && "$PSHM" write /o before || exit 98
		"$PSHM" write /o <8m; echo "rc=$?"
		stat -c %s "$PSHM_DIR/o"; "$PSHM" read /o; echo
		"$PSHM" create -s 4032K /fill || exit 97
		u=$(used)
		"$PSHM" write /o "$(cat 100k)"; echo "rc=$?"
		stat -c %s "$PSHM_DIR/o"; "$PSHM" read /o; echo
		[ "$(used)" = "$u" ] && echo same-use || echo "use $u -> $(used)"
		"$PSHM" write -o 50000 /o <100k; echo "rc=$?"
		stat -c %s "$PSHM_DIR/o"; "$PSHM" read /o; echo
		[ "$(used)" = "$u" ] && echo same-use || echo "use $u -> $(used)"
		"$PSHM" write /o <8m >/dev/null 2>&1; echo "rc=$?"'
	want=$(printf '%s\n' rc=1 6 before rc=1 6 before same-use rc=1 6 before same-use rc=1)
	[ "$output" = "$want" ] || fail_with "expected:" "$want" "got:" "$output"
	stderr_has '^pshm: write /o: No space left on device$'
	stderr_has 'holds 4M in all and 4M is free'
	[ "$(grep -c '^pshm: write /o: No space left on device$' <<<"$stderr")" -eq 3 ]
}

@test "write from a pipe on a full tmpfs: a new object is left empty, not half-written" {
	require_tmpfs
	run --separate-stderr in_tmpfs '
		"$PSHM" create /n || exit 98
		head -c 8M /dev/zero | "$PSHM" write /n; echo "rc=$?"
		stat -c "%s %b" "$PSHM_DIR/n"
		df -k "$PSHM_DIR" | awk "NR == 2 {print \$3}"'
	want=$(printf '%s\n' rc=1 "0 0" 0)
	[ "$output" = "$want" ] || fail_with "expected:" "$want" "got:" "$output"
	stderr_has '^pshm: write /n: No space left on device$'
}

@test "write on a full ext4 file system: exit 1, the object and the free space as they were" {
	require_ext4
	head -c 9000000 /dev/zero >"$BATS_TEST_TMPDIR/9m"
	# Each case on an object of 1 MiB whose first bytes are "before": from a file, whose
	# length is reserved first, and from a pipe after the object's end, grown in steps. ext4
	# may keep a block or two of its own bookkeeping once a file has needed it; what the
	# writes took is given back.
	run --separate-stderr in_ext4 '
		"$PSHM" create -s 1M file:$M/b && "$PSHM" write -k file:$M/b before || exit 98
		free=$(stat -f -c %f "$M")
		"$PSHM" write file:$M/b <9m; echo "rc=$?"
		stat -c %s "$M/b"; "$PSHM" read -n 6 file:$M/b; echo
		echo "lost=$((free - $(stat -f -c %f "$M")))"
		head -c 9000000 /dev/zero | "$PSHM" write -o 1M file:$M/b; echo "rc=$?"
		stat -c %s "$M/b"; "$PSHM" read -n 6 file:$M/b; echo
		echo "lost=$((free - $(stat -f -c %f "$M")))"'
	want=$(printf '%s\n' rc=1 1048576 before rc=1 1048576 before)
	[ "$(sed -n '1,3p;5,7p' <<<"$output")" = "$want" ] || fail_with "$output"
	for l in "${lines[3]}" "${lines[7]}"; do
		[ "${l#lost=}" -ge 0 ] && [ "${l#lost=}" -le 2 ] || fail_with "$output"
	done
	[ "$(grep -c '^pshm: write file:.*/b: No space left on device$' <<<"$stderr")" -eq 2 ] ||
		fail_with "$stderr"
}

@test "write -k through System V needs no growth; a sysv offset past the end fails" {
	key=$(sysv_key)
	pshm create -s 10 "sysv:$key"
	pshm write "sysv:$key" abc
	[ "$(pshm read -n 3 "sysv:$key")" = abc ]
	run --separate-stderr pshm write -o 11 "sysv:$key" x
	[ "$status" -eq 1 ]
	stderr_has "^pshm: write sysv:$key: offset 11 is past the end \(10 bytes\)"
	[ "$(grep -c "^pshm:" <<<"$stderr")" -eq 1 ]
}
