#!/usr/bin/env bats
# Channels of many writers (chan create --many-writers, a queue or with --broadcast) and readers
# that follow a channel across writers (recv --follow): several sends at once into one channel,
# each one's lines whole and in its order (to every reader of a broadcast), also while other
# writers are killed with SIGKILL at random moments; a broadcast reader that falls a ring behind;
# a follower that reads on after each writer's end, until -n, --timeout or a signal; chan stat's
# mode and writers; and the usage errors. Every command runs under timeout, so a hang fails the
# test instead of stopping the run.

load helpers

export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}

load chanlib

# Message N of any writer TAG is the line "TAG:N:" and N % 50 of these. TAILS holds "N:PAD" for
# N from 1 to 2000, and RECS, for N from 1 to 300, the 4-byte length of a record "KNNN:N:PAD"
# (the tag of a killed writer, K and 3 digits) as printf %b takes it, then "N:PAD".
PAD=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
make_tails() {
	mapfile -t TAILS < <(awk -v pad="$PAD" \
		'BEGIN { for (n = 1; n <= 2000; n++) print n ":" substr(pad, 1, n % 50) }')
	mapfile -t RECS < <(awk -v pad="$PAD" 'BEGIN {
		for (n = 1; n <= 300; n++) {
			t = n ":" substr(pad, 1, n % 50)
			printf "\\x%02x\\x00\\x00\\x00\n%s\n", length(t) + 5, t
		}
	}')
}

# Check the received lines in FILE: each is whole ("TAG:N:" and its padding), each writer's
# numbers run 1, 2, 3... in order, and writers S1 to S4 sent exactly COUNT each.
check_lines() {
	awk -F: -v count="$2" -v pad="$PAD" '
		NF != 3 || $1 !~ /^[SK][0-9]+$/ || $2 !~ /^[1-9][0-9]*$/ ||
		    $3 != substr(pad, 1, $2 % 50) {
			printf "line %d is not whole: %s\n", NR, $0
			bad = 1
			exit 1
		}
		$2 != last[$1] + 1 {
			printf "line %d: %s after %s:%d\n", NR, $0, $1, last[$1]
			bad = 1
			exit 1
		}
		{ last[$1] = $2 }
		END {
			if (bad)
				exit 1
			for (w = 1; w <= 4; w++)
				if (last["S" w] != count) {
					printf "S%d: %d lines, not %d\n", w, last["S" w], count
					exit 1
				}
		}' "$1"
}

# Start four sends (S1 to S4) into channel ADDR, each reading the FIFO $BATS_TEST_TMPDIR/sW,
# whose writing end this shell holds on descriptor 5 + W. The shell opens each FIFO (read and
# write, which does not wait for a reader) before its send starts, so a send's input is never
# without a writer, however the processes are scheduled. Their PIDs go to $steady.
start_steady() {
	local w
	steady=()
	for w in 1 2 3 4; do
		mkfifo "$BATS_TEST_TMPDIR/s$w"
	done
	exec 6<>"$BATS_TEST_TMPDIR/s1" 7<>"$BATS_TEST_TMPDIR/s2" 8<>"$BATS_TEST_TMPDIR/s3" \
		9<>"$BATS_TEST_TMPDIR/s4"
	for w in 1 2 3 4; do
		"$PSHM" send "$1" <"$BATS_TEST_TMPDIR/s$w" 3>&- 6>&- 7>&- 8>&- 9>&- &
		steady+=($!)
		track $!
	done
}

# End the four sends of start_steady: each must exit 0.
end_steady() {
	local pid rc
	exec 6>&- 7>&- 8>&- 9>&-
	for pid in "${steady[@]}"; do
		rc=0
		wait "$pid" || rc=$?
		[ "$rc" -eq 0 ] || fail_with "a send exited $rc" || return 1
	done
}

# Give each of the four sends of start_steady every line of $TAILS, from background writers
# whose process IDs go in $gen.
feed_steady() {
	local w
	gen=()
	for w in 1 2 3 4; do
		printf "S$w:%s\n" "${TAILS[@]}" >&$((5 + w)) &
		gen+=($!)
	done
}

# The recv $rpid must end with exit 0.
recv_ended_ok() {
	local rc=0
	wait "$rpid" || rc=$?
	[ "$rc" -eq 0 ] || fail_with "recv exited $rc" "$(cat "$BATS_TEST_TMPDIR/err")"
}

@test "four sends at once into a --many-writers channel: every line, each writer's in order" {
	p chan create --many-writers --capacity 64K /c
	p recv /c >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	local rpid=$!
	track "$rpid"
	local steady
	start_steady /c
	# All four attached at once, and the reader with them.
	wait_field /c writers 4
	wait_field /c readers 1
	run --separate-stderr p chan stat /c
	grep -qx 'mode: queue-many-writers' <<<"$output"
	grep -qx 'writer: attached' <<<"$output"
	grep -qx 'writers: 4' <<<"$output"
	# They write at the same time.
	make_tails
	local gen
	feed_steady
	wait "${gen[@]}"
	end_steady
	# Once the last has detached and everything is read, recv ends: exit 0, nothing said.
	recv_ended_ok
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq 8000 ]
	check_lines "$BATS_TEST_TMPDIR/out" 2000
	jq_true '.sent == 8000 and .received == 8000 and .used == 0 and .writers == 0 and
		.writer == "detached"' < <(p chan stat -J /c)
}

@test "--many-writers: writers stopped and continued at random lose and reorder nothing" {
	p chan create --many-writers --capacity 64K /c
	timeout 240 "$PSHM" recv /c >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	local rpid=$!
	track "$rpid"
	local steady
	start_steady /c
	wait_field /c writers 4
	make_tails
	local gen w i
	feed_steady
	# While they send, one and then another is stopped and let go again, at any point of a
	# claim: one that holds the claim word, one taking it back, one inside its claim.
	for ((i = 0; i < 3000; i++)); do
		w=${steady[RANDOM % 4]}
		kill -STOP "$w" 2>/dev/null || true
		kill -CONT "$w" 2>/dev/null || true
	done
	wait "${gen[@]}"
	end_steady
	recv_ended_ok
	[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq 8000 ]
	check_lines "$BATS_TEST_TMPDIR/out" 2000
}

# Set $stat to the number KEY of "pshm chan stat /c".
stat_of() {
	local s
	s=$("$PSHM" chan stat /c) && [[ $s =~ (^|$'\n')$1:\ ([0-9]+) ]] && stat=${BASH_REMATCH[2]}
}

# Whether the number KEY of "pshm chan stat /c" is at least N.
stat_at_least() {
	local stat
	stat_of "$1" && [ "$stat" -ge "$2" ]
}

# wait_until, looking every 10 ms: its usual pace would make a loop of hundreds of such waits slow.
wait_soon() {
	WAIT_PACE=0.01 wait_until "$@"
}

# One writer of the test below, killed: start a send (with --records when PLAN is 3) into /c
# that reads the FIFO $d/k, feed it message lines of writer TAG, then SIGKILL it. It sends M
# messages, and with PLAN 3 the first bytes of one more record, so that it waits inside that
# message's reservation. PLAN 0: killed at once, often before it attached; 1: once attached;
# 2: once the channel has sent a random number of messages (at least one) since S0; 3: once the
# channel has sent the 40 lines the steady writers are sent each round, and the M messages.
kill_one() {
	local tag=$1 m=$2 plan=$3 s0=$4 spid
	mkfifo "$d/k"
	exec 5<>"$d/k"
	if [ "$plan" -eq 3 ]; then
		"$PSHM" send --records /c <"$d/k" 3>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
		spid=$!
		((m == 0)) || printf "%b$tag:%s" "${RECS[@]:0:2*m}" >&5
		printf '\x40\0\0\0%s' "$tag:$((m + 1)):" >&5
	else
		"$PSHM" send /c <"$d/k" 3>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
		spid=$!
		((m == 0)) || printf "$tag:%s\n" "${TAILS[@]:0:m}" >&5
	fi
	case $plan in
	1) wait_soon stat_at_least writers 5 ;;
	2) wait_soon stat_at_least sent $((s0 + 1 + RANDOM % (40 + m))) ;;
	3) wait_soon stat_at_least sent $((s0 + 40 + m)) ;;
	esac
	kill -9 "$spid"
	wait "$spid" 2>/dev/null || true
	exec 5>&-
	rm "$d/k"
}

# For ROUNDS rounds, give each of the four steady writers ten lines and kill one more writer
# while they send them (kill_one, with a plan drawn at random and added to $plans); then end the
# steady writers and check the end of the recv $rpid: 0, or 1 saying that a writer died (when
# one of the last to hold a writer's place did).
kill_rounds() {
	local round stat w tag plan
	# The shell reports each writer killed on its standard error: not in the test's output.
	for ((round = 0; round < $1; round++)); do
		stat_of sent
		for w in 1 2 3 4; do
			printf "S$w:%s\n" "${TAILS[@]:round*10:10}" >&$((5 + w))
		done
		printf -v tag 'K%03d' "$round"
		plan=$((RANDOM % 4))
		plans+=$plan
		kill_one "$tag" $((RANDOM % 300)) "$plan" "$stat"
	done 2>"$BATS_TEST_TMPDIR/loop.err"
	end_steady || return 1
	local rc=0
	wait "$rpid" || rc=$?
	case $rc:$(cat "$BATS_TEST_TMPDIR/err") in
	0: | "1:pshm: recv /c: a writer died") ;;
	*) fail_with "recv exited $rc" "$(cat "$BATS_TEST_TMPDIR/err")" ;;
	esac
}

@test "--many-writers: 200 writers killed at random moments cost only their own messages" {
	p chan create --many-writers --capacity 64K /c
	# Bounded for a slow machine: the rounds take 10 to 20 seconds on two busy CPUs.
	timeout 240 "$PSHM" recv /c >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	local rpid=$!
	track "$rpid"
	local steady d=$BATS_TEST_TMPDIR
	start_steady /c
	wait_field /c writers 4
	make_tails
	# Each round the four steady writers get ten lines each, and one more writer is killed
	# while they send them.
	local plans=
	kill_rounds 200
	# Every line whole; every writer's in order and without a gap; the steady writers' all.
	check_lines "$BATS_TEST_TMPDIR/out" 2000 || fail_with "plans: $plans"
	local n
	n=$(wc -l <"$BATS_TEST_TMPDIR/out")
	local k0=${plans//[^0]/} k1=${plans//[^1]/} k2=${plans//[^2]/} k3=${plans//[^3]/}
	echo "# $((n - 8000)) lines of killed writers arrived; kills by plan:" \
		"${#k0} ${#k1} ${#k2} ${#k3}" >&3
	# What was published was read; a message claimed and never published counts for neither.
	jq_true ".sent == $n and .received == $n and .writers == 0" < <(p chan stat -J /c)
}

@test "recv --follow reads on after a writer detaches, dies or gives up, and ends on -n" {
	p chan create /c
	p recv --follow -n 9 /c >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	local rpid=$!
	track "$rpid"
	wait_field /c readers 1
	# The first writer detaches cleanly.
	p send /c A:1 A:2 A:3
	wait_field /c received 3
	# The second is killed; recv says so, and waits for the next.
	local spid
	feed_from_fifo "$PSHM" send /c
	printf 'B:1\nB:2\nB:3\n' >&5
	wait_field /c received 6
	kill -9 "$spid"
	wait "$spid" 2>/dev/null || true
	exec 5>&-
	wait_until grep -qx 'pshm: recv /c: the writer died' "$BATS_TEST_TMPDIR/err"
	kill -0 "$rpid"
	# The third gives its stream up: its second line is longer than the channel's largest.
	run --separate-stderr p send /c < <(
		echo C:1
		echo C:2
		head -c 600000 /dev/zero | tr '\0' x
		echo
	)
	[ "$status" -eq 1 ]
	wait_until grep -qx 'pshm: recv /c: the writer gave up' "$BATS_TEST_TMPDIR/err"
	kill -0 "$rpid"
	# The ninth message ends it, with exit 0.
	p send /c D:1
	local rc=0
	wait "$rpid" || rc=$?
	[ "$rc" -eq 0 ] || fail_with "recv exited $rc" "$(cat "$BATS_TEST_TMPDIR/err")"
	printf '%s\n' A:1 A:2 A:3 B:1 B:2 B:3 C:1 C:2 D:1 | cmp - "$BATS_TEST_TMPDIR/out"
	printf '%s\n' 'pshm: recv /c: the writer died' 'pshm: recv /c: the writer gave up' |
		cmp - "$BATS_TEST_TMPDIR/err"
	[ "$(chan_field /c readers)" -eq 0 ]
}

# Start "recv --follow" on the many-writer channel /m, with SIGINT at its default action (a
# shell without job control starts background commands with it ignored); feed it a writer that
# detaches, one killed and one that stays; wait until it has printed their lines, then stop it
# with signal SIG (its number NUM): it must die of it, having printed every line.
follow_until_signal() {
	p chan create --many-writers "/m$1"
	env --default-signal=INT "$PSHM" recv --follow "/m$1" >"$BATS_TEST_TMPDIR/out" \
		2>"$BATS_TEST_TMPDIR/err" 3>&- &
	local rpid=$!
	track "$rpid"
	wait_field "/m$1" readers 1
	p send "/m$1" one two
	wait_until grep -qx two "$BATS_TEST_TMPDIR/out"
	local spid
	feed_from_fifo "$PSHM" send "/m$1"
	printf 'three\n' >&5
	wait_field "/m$1" received 3
	kill -9 "$spid"
	wait "$spid" 2>/dev/null || true
	exec 5>&-
	rm "$BATS_TEST_TMPDIR/fifo"
	wait_until grep -qx "pshm: recv /m$1: a writer died" "$BATS_TEST_TMPDIR/err"
	feed_from_fifo "$PSHM" send "/m$1"
	printf 'four\n' >&5
	wait_until grep -qx four "$BATS_TEST_TMPDIR/out"
	kill -0 "$rpid"
	kill -"$1" "$rpid"
	local rc=0
	wait "$rpid" || rc=$?
	exec 5>&-
	rm "$BATS_TEST_TMPDIR/fifo"
	[ "$rc" -eq $((128 + $2)) ] || fail_with "recv exited $rc, not $((128 + $2))"
	printf '%s\n' one two three four | cmp - "$BATS_TEST_TMPDIR/out"
	[ "$(cat "$BATS_TEST_TMPDIR/err")" = "pshm: recv /m$1: a writer died" ]
	# It has left the channel: the next reader gets what comes.
	wait_field "/m$1" readers 0
}

@test "recv --follow on a --many-writers channel runs until SIGTERM or SIGINT: exit 143, 130" {
	env --default-signal=INT true 2>/dev/null ||
		skip "env has no --default-signal (coreutils 8.31 and later have it)"
	follow_until_signal TERM 15
	follow_until_signal INT 2
}

@test "recv --follow --timeout: a writer's end does not end it; the time does, with exit 1" {
	p chan create /c
	p send /c x y
	SECONDS=0
	run --separate-stderr p recv --follow --timeout 0.5 /c
	[ "$status" -eq 1 ]
	[ "$output" = "$(printf 'x\ny')" ]
	[ "$stderr" = 'pshm: recv /c: timed out after 0.5 seconds (2 messages received)' ]
	[ "$SECONDS" -lt 30 ]
	# Without it, the same end is the end of the stream: exit 0.
	p send /c z
	run --separate-stderr p recv --timeout 5 /c
	[ "$status" -eq 0 ]
	[ "$output" = z ]
}

@test "--many-writers: chan stat's mode, writer and writers; recv's end" {
	# send takes no --follow; recv's is not for writers.
	run --separate-stderr p send --follow /b x
	[ "$status" -eq 2 ]
	stderr_has "^Try 'pshm send --help'"

	# A channel of many writers: its mode, and how many writers are attached.
	p chan create --many-writers /m
	run --separate-stderr p chan stat /m
	[ "$status" -eq 0 ]
	[ "$(grep -E '^(mode|writers?):' <<<"$output")" = "mode: queue-many-writers
writer: none
writers: 0" ]
	local spid
	feed_from_fifo "$PSHM" send /m
	local w1=$spid
	rm "$BATS_TEST_TMPDIR/fifo"
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	"$PSHM" send /m <"$BATS_TEST_TMPDIR/fifo" 5>&- 3>&- &
	local w2=$!
	track "$w2"
	exec 6>"$BATS_TEST_TMPDIR/fifo"
	wait_field /m writers 2
	jq_true '.mode == "queue-many-writers" and .writer == "attached" and .writers == 2 and
		(.writers | type == "number")' < <(p chan stat -J /m)
	grep -qx 'writers: 2' < <(p chan stat /m)
	# One that gives up while others are attached: the channel's writer is still attached.
	run --separate-stderr p send /m < <(
		echo ok
		head -c 600000 /dev/zero | tr '\0' x
		echo
	)
	[ "$status" -eq 1 ]
	[ "$(chan_field /m writer)" = attached ]
	exec 5>&- 6>&-
	wait "$w1"
	wait "$w2"
	# Once all have gone: the worst end among them, and recv says which.
	jq_true '.writer == "aborted" and .writers == 0' < <(p chan stat -J /m)
	run --separate-stderr p recv /m
	[ "$status" -eq 1 ]
	[ "$output" = ok ]
	[ "$stderr" = 'pshm: recv /m: a writer gave up' ]
	rm "$BATS_TEST_TMPDIR/fifo"
	feed_from_fifo "$PSHM" send /m
	printf 'last\n' >&5
	wait_field /m sent 2
	kill -9 "$spid"
	wait "$spid" 2>/dev/null || true
	exec 5>&-
	[ "$(chan_field /m writer)" = died ]
	run --separate-stderr p recv /m
	[ "$status" -eq 1 ]
	[ "$output" = last ]
	[ "$stderr" = 'pshm: recv /m: a writer died' ]
	# A channel of many writers that all detached cleanly.
	p chan create --many-writers /m2
	p send /m2 a
	p send /m2 b
	[ "$(chan_field /m2 writer)" = detached ]
	run --separate-stderr p recv /m2
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'a\nb')" ]
	[ -z "$stderr" ]

	# A channel of one writer: writers is 0 or 1.
	p chan create /q
	[ "$(chan_field /q writers)" -eq 0 ]
	rm "$BATS_TEST_TMPDIR/fifo"
	feed_from_fifo "$PSHM" send /q
	wait_field /q writers 1
	[ "$(chan_field /q mode)" = queue ]
	exec 5>&-
	wait "$spid"
	[ "$(chan_field /q writers)" -eq 0 ]
}

@test "--many-writers: 64 sends at once; the 65th fails saying all are attached" {
	p chan create --many-writers --capacity 64K /m
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	exec 5<>"$BATS_TEST_TMPDIR/fifo"
	local i pids=()
	for ((i = 0; i < 64; i++)); do
		"$PSHM" send /m <"$BATS_TEST_TMPDIR/fifo" 5>&- 3>&- &
		pids+=($!)
		track $!
	done
	wait_field /m writers 64
	run --separate-stderr p send /m x
	[ "$status" -eq 1 ]
	[ "$stderr" = 'pshm: send /m: all 64 writers the channel takes are attached' ]
	# The end of their input: they all detach, cleanly.
	exec 5>&-
	for i in "${pids[@]}"; do
		wait "$i"
	done
	jq_true '.writers == 0 and .writer == "detached" and .sent == 0' < <(p chan stat -J /m)
	# Once they have gone, a writer gets a place again.
	p send /m y
	[ "$(p recv /m)" = y ]
}

@test "--many-writers: a writer held inside a claim keeps a new one out for a second, saying why" {
	p chan create --many-writers /m
	local spid
	feed_from_fifo "$PSHM" send /m
	wait_field /m writers 1
	# Its writer slot's "inside a claim made alone" word, at 4716 in the header (chan.h), set
	# as a writer stopped there, or a header written over, leaves it.
	printf '\1' | p write -k -o 4716 /m
	run --separate-stderr p send /m x
	[ "$status" -eq 1 ]
	[ "${stderr_lines[0]}" = 'pshm: send /m: another writer stayed inside a claim for a second' ]
	[[ ${stderr_lines[1]} == *'continue it, or try again' ]]
	[ "$(chan_field /m writers)" -eq 1 ]
	# Out of it, writers come in again.
	printf '\0' | p write -k -o 4716 /m
	p send /m y
	exec 5>&-
	wait "$spid"
	[ "$(p recv /m)" = y ]
}

@test "--broadcast --many-writers: four sends at once, two readers each get every line in order" {
	p chan create --broadcast --many-writers --capacity 1M /c
	grep -qx 'mode: broadcast-many-writers' < <(p chan stat /c)
	local r1 r2
	p recv /c >"$BATS_TEST_TMPDIR/out1" 2>"$BATS_TEST_TMPDIR/err1" 3>&- &
	r1=$!
	track "$r1"
	p recv /c >"$BATS_TEST_TMPDIR/out2" 2>"$BATS_TEST_TMPDIR/err2" 3>&- &
	r2=$!
	track "$r2"
	# Broadcast readers read from where they attach: both before any writer.
	wait_field /c readers 2
	local steady
	start_steady /c
	wait_field /c writers 4
	jq_true '.mode == "broadcast-many-writers" and .writer == "attached" and .writers == 4 and
		.readers == 2' < <(p chan stat -J /c)
	# They write at the same time, 300 lines each: the ring holds them all.
	make_tails
	local gen=() w
	for w in 1 2 3 4; do
		printf "S$w:%s\n" "${TAILS[@]:0:300}" >&$((5 + w)) &
		gen+=($!)
	done
	wait "${gen[@]}"
	end_steady
	# Once the last writer has detached and everything is read, each reader ends: exit 0,
	# nothing said, every line of every writer, each writer's in order.
	local i pid rc
	for i in 1 2; do
		pid=r$i
		rc=0
		wait "${!pid}" || rc=$?
		[ "$rc" -eq 0 ] || fail_with "recv $i exited $rc" "$(cat "$BATS_TEST_TMPDIR/err$i")"
		[ ! -s "$BATS_TEST_TMPDIR/err$i" ]
		[ "$(wc -l <"$BATS_TEST_TMPDIR/out$i")" -eq 1200 ]
		check_lines "$BATS_TEST_TMPDIR/out$i" 300
	done
	jq_true '.sent == 1200 and .received == 2400 and .lost == 0 and .writers == 0 and
		.readers == 0 and .writer == "detached"' < <(p chan stat -J /c)
}

@test "--many-writers: with --broadcast a channel of its own mode; not with --lossless" {
	local args
	for args in "--lossless --many-writers" "--broadcast --lossless --many-writers" \
		"--many-writers --broadcast --lossless"; do
		# shellcheck disable=SC2086
		run --separate-stderr p chan create $args /b
		[ "$status" -eq 2 ] || fail_with "chan create $args: exit $status" "$stderr"
		stdout_empty
		stderr_has '^pshm chan create: --lossless and --many-writers do not go together: a'\
' lossless broadcast channel has one writer$'
		stderr_has "^Try 'pshm chan create --help'"
		[ ! -e "$PSHM_DIR/b" ]
	done
	run --separate-stderr p chan create --help
	[ "$status" -eq 0 ]
	[[ ${lines[1]} == *' [--broadcast [--lossless]] [--many-writers] '* ]]
	grep -q -- '; a lossless$' <<<"$output"
	grep -q -- '^ *channel has one writer$' <<<"$output"
	for args in "--broadcast --many-writers" "--many-writers --broadcast"; do
		# shellcheck disable=SC2086
		p chan create $args /b
		[ "$(chan_field /b mode)" = broadcast-many-writers ]
		p rm /b
	done
	# Its mode is its own: neither a broadcast of one writer nor a queue of many.
	p chan create --broadcast --many-writers /b
	grep -qx 'mode: broadcast-many-writers' < <(p chan stat /b)
	p chan create --many-writers /q
	grep -qx 'mode: queue-many-writers' < <(p chan stat /q)
	p chan create --broadcast /o
	grep -qx 'mode: broadcast' < <(p chan stat /o)
	# Writers that detach and one that gives up: a reader from the oldest message reads all
	# that came and says that a writer gave up.
	p send /b a
	run --separate-stderr p send /b < <(
		echo ok
		head -c 600000 /dev/zero | tr '\0' x
		echo
	)
	[ "$status" -eq 1 ]
	jq_true '.writer == "aborted" and .writers == 0 and .sent == 2' < <(p chan stat -J /b)
	run --separate-stderr p recv --from-oldest /b
	[ "$status" -eq 1 ]
	[ "$output" = "$(printf 'a\nok')" ]
	[ "$stderr" = 'pshm: recv /b: a writer gave up' ]
}

# Whether process PID is in state STATE (T: stopped), as /proc shows it.
proc_state_is() {
	[ "$(cut -d' ' -f3 "/proc/$1/stat")" = "$2" ]
}

@test "--broadcast --many-writers: writers never wait for a reader a ring behind, which reads on" {
	p chan create --broadcast --many-writers --capacity 4K /c
	"$PSHM" recv /c >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	local rpid=$!
	track "$rpid"
	wait_field /c readers 1
	kill -STOP "$rpid"
	wait_until proc_state_is "$rpid" T
	# Two writers at once send 300 lines each into a ring of 128 while the reader is stopped:
	# they finish all the same.
	make_tails
	printf 'S1:%s\n' "${TAILS[@]:0:300}" | p send /c &
	local s1=$!
	printf 'S2:%s\n' "${TAILS[@]:0:300}" | p send /c
	wait "$s1"
	kill -CONT "$rpid"
	local rc=0
	wait "$rpid" || rc=$?
	[ "$rc" -eq 0 ] || fail_with "recv exited $rc" "$(cat "$BATS_TEST_TMPDIR/err")"
	# It said what it lost; with what it printed, that is every line sent. Each writer's
	# lines came whole and in order, and the last line sent came last.
	local lost
	lost=$(awk '!/^pshm: recv \/c: lost [1-9][0-9]* messages$/ { exit 1 } { n += $5 }
		END { print n }' "$BATS_TEST_TMPDIR/err") || fail_with "$(cat "$BATS_TEST_TMPDIR/err")"
	[ "$lost" -gt 0 ]
	[ $(($(wc -l <"$BATS_TEST_TMPDIR/out") + lost)) -eq 600 ]
	awk -F: -v pad="$PAD" '
		NF != 3 || $1 !~ /^S[12]$/ || $2 <= last[$1] + 0 || $3 != substr(pad, 1, $2 % 50) {
			printf "line %d: %s\n", NR, $0
			exit 1
		}
		{ last[$1] = $2; n = $2 }
		END { if (n != 300) exit 1 }' "$BATS_TEST_TMPDIR/out"
	jq_true ".sent == 600 and .lost == $lost and .received == 600 - $lost" \
		< <(p chan stat -J /c)
}

@test "--broadcast --many-writers: 50 writers killed at random moments cost only their own lines" {
	# A ring far larger than all that is sent: the reader keeps up, and loses nothing.
	p chan create --broadcast --many-writers --capacity 4M /c
	timeout 240 "$PSHM" recv /c >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	local rpid=$!
	track "$rpid"
	wait_field /c readers 1
	local steady d=$BATS_TEST_TMPDIR
	start_steady /c
	wait_field /c writers 4
	make_tails
	local plans=
	kill_rounds 50
	check_lines "$BATS_TEST_TMPDIR/out" 500 || fail_with "plans: $plans"
	local n
	n=$(wc -l <"$BATS_TEST_TMPDIR/out")
	jq_true ".sent == $n and .received == $n and .lost == 0 and .writers == 0" \
		< <(p chan stat -J /c)
}
