#!/usr/bin/env bats
# Views of processes (who, stat's processes and pids, ls's NPROCS and PIDS): whole however many
# processes there are, and marked as possibly low, with a warning, when pshm could not look into
# every process; a scan cut short is a failure.

load helpers

# Start a python process that forks up to N children, each mapping /NAME read-only and waiting
# until the parent dies. When all map it, the parent writes their PIDs to $HOLDERS_PIDS, one a
# line, and "ready" to $HOLDERS_OUT. Sets HOLDERS_N to how many it could start.
many_holders() {
	need_python
	HOLDERS_PIDS=$BATS_TEST_TMPDIR/holders.pids
	HOLDERS_OUT=$BATS_TEST_TMPDIR/holders.out
	"$PYTHON" -c '
import mmap, os, signal, sys
path, n, pidfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ready_r, ready_w = os.pipe()
hold_r, hold_w = os.pipe()
pids = []
for i in range(n):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.close(ready_r)
        os.close(hold_w)
        fd = os.open(path, os.O_RDONLY)
        m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
        os.close(fd)
        os.write(ready_w, b"x")
        os.read(hold_r, 1)  # end of file when the parent is gone
        os._exit(0)
    pids.append(pid)
os.close(ready_w)
os.close(hold_r)
got = 0
while got < len(pids):
    b = os.read(ready_r, len(pids) - got)
    if not b:
        sys.exit("a holder died")
    got += len(b)
with open(pidfile, "w") as f:
    f.write("".join("%d\n" % p for p in pids))
print("ready", flush=True)
signal.pause()' "$PSHM_DIR/${1#/}" "$2" "$HOLDERS_PIDS" >"$HOLDERS_OUT" 2>&1 3>&- &
	track $!
	wait_until grep -qx ready "$HOLDERS_OUT"
	HOLDERS_N=$(wc -l <"$HOLDERS_PIDS")
}

# Start a process holding /NAME on descriptor 4, as the user running the tests or, with
# "nobody" first, as uid 65534; wait until it runs and set HOLDER to its PID.
hold() {
	local who=()
	if [ "$1" = nobody ]; then
		command -v setpriv >/dev/null || skip "setpriv is missing (util-linux)"
		who=(setpriv --reuid=65534 --regid=65534 --clear-groups)
		shift
	fi
	"${who[@]}" sleep 1000 4<"$PSHM_DIR/${1#/}" >/dev/null 2>&1 3>&- &
	HOLDER=$!
	track $HOLDER
	wait_comm $HOLDER sleep
}

# How many processes the user with uid UID may start beside those running now, or "unlimited".
nproc_room() {
	local limit
	limit=$(ulimit -u)
	[ "$limit" = unlimited ] || [ "$1" -eq 0 ] && echo unlimited && return
	echo $((limit - $(ps -o pid= -u "$1" | wc -l) - 20))
}

@test "800 holders: stat and ls list every PID, whole" {
	pshm create -s 4096 /many
	want=800
	room=$(nproc_room "$ME_UID")
	[ "$room" = unlimited ] || [ "$room" -ge "$want" ] || want=$room
	[ "$want" -ge 100 ] || skip "only $want more processes allowed (ulimit -u)"
	many_holders /many "$want"
	[ "$HOLDERS_N" -ge 100 ] || skip "only $HOLDERS_N processes could be started"
	sort -n "$HOLDERS_PIDS" >"$BATS_TEST_TMPDIR/want"
	# Not as root, other users' processes are out of sight: the lists then end in "?" and
	# JSON has none.
	run --separate-stderr pshm stat /many
	[ "$status" -eq 0 ]
	grep -qxE "processes: $HOLDERS_N\\??" <<<"$output"
	sed -n 's/^pids: //p' <<<"$output" | tr , '\n' | sed '/^?$/d' | sort -n |
		diff - "$BATS_TEST_TMPDIR/want"

	run --separate-stderr pshm ls -k posix -r -n -o PIDS
	[ "$status" -eq 0 ]
	tr , '\n' <<<"$output" | sed '/^?$/d' | sort -n | diff - "$BATS_TEST_TMPDIR/want"

	# Each maps it, and python's mmap keeps a descriptor of its own: two lines each.
	run --separate-stderr pshm who -n /many
	[ "$status" -eq 0 ]
	awk '$2 != "?" {print $2}' <<<"$output" | sort -nu | diff - "$BATS_TEST_TMPDIR/want"
	[ "$(grep -c ' map ro$' <<<"$output")" -eq "$HOLDERS_N" ]

	[ "$ME_UID" -eq 0 ] || return 0
	run --separate-stderr pshm stat -J /many
	[ "$status" -eq 0 ]
	[ -z "$stderr" ] || fail_with "stderr: $stderr"
	jq_true --argjson n "$HOLDERS_N" '.[0] | .processes == $n and (.pids | length) == $n and
		all(.pids[]; type == "number" and . == floor and . > 0) and .complete == true' \
		<<<"$output"
	jq -r '.[0].pids[]' <<<"$output" | sort -n | diff - "$BATS_TEST_TMPDIR/want"

	run --separate-stderr pshm ls -k posix -J -o ADDRESS,NPROCS,PIDS
	[ "$status" -eq 0 ]
	jq_true --argjson n "$HOLDERS_N" '.objects[0] | .address == "/many" and .nprocs == $n and
		(.pids | length) == $n and (has("complete") | not)' <<<"$output"
	jq -r '.objects[0].pids[]' <<<"$output" | sort -n | diff - "$BATS_TEST_TMPDIR/want"
}

@test "few descriptors: who, stat and ls fail with a message or answer whole, never quietly short" {
	pshm create -s 4096 /nf
	hold /nf
	failed=0
	for n in 4 5 6 7 8 10 12 16; do
		for c in "who /nf" "stat -J /nf" "ls -k posix -J -o ADDRESS,NPROCS,PIDS"; do
			run --separate-stderr bash -c "ulimit -n $n && exec \"\$0\" $c" "$PSHM" 3>&-
			case $status in
			0)
				case $c in
				who*) grep -qE "^/nf +$HOLDER +" <<<"$output" ;;
				# Not as root, the answer is never whole (other users' processes).
				stat*) jq_true --argjson p "$HOLDER" --argjson u "$ME_UID" '.[0] |
					(.pids == [$p] and .complete == true) or ($u != 0 and
					.pids == null and .complete == false)' <<<"$output" ;;
				ls*) jq_true --argjson p "$HOLDER" --argjson u "$ME_UID" '.objects[0] |
					.pids == [$p] or ($u != 0 and .pids == null and
					.complete == false)' <<<"$output" ;;
				esac || fail_with "ulimit -n $n, pshm $c: exit 0 without the holder"
				;;
			1)
				failed=$((failed + 1))
				grep -qE "^pshm: ${c%% *} " <<<"$stderr" ||
					fail_with "ulimit -n $n, pshm $c: exit 1 without a message" "$stderr"
				# What it printed before failing says it may be short.
				case $c in
				who*) ! grep -qE '^/nf +[0-9]' <<<"$output" || grep -qE '^/nf +\?' <<<"$output" ;;
				stat*) [ -z "$output" ] || jq_true 'all(.[]; .complete == false and
					.processes == null and .pids == null)' <<<"$output" ;;
				ls*) [ -z "$output" ] || jq_true 'all(.objects[]; .complete == false and
					.nprocs == null and .pids == null)' <<<"$output" ;;
				esac || fail_with "ulimit -n $n, pshm $c: unmarked output" "$output"
				;;
			*) fail_with "ulimit -n $n, pshm $c: exit $status" "$stderr" ;;
			esac
		done
	done
	# The lowest limits leave no descriptor for the scan.
	[ "$failed" -gt 0 ]
}

@test "few descriptors: the scan's failure names /proc and says what to do" {
	pshm create -s 4096 /nf
	hold /nf
	run --separate-stderr bash -c 'ulimit -n 4 && exec "$0" who /nf' "$PSHM" 3>&-
	[ "$status" -eq 1 ]
	stderr_has '^pshm: who /proc: Too many open files$'
	stderr_has '^pshm: .*raise the limit on open files \(ulimit -n\)$'
	grep -qE '^/nf +\? +\? +\? +\?$' <<<"$output" || fail_with "no marker line:" "$output"
	run --separate-stderr bash -c 'ulimit -n 4 && exec "$0" ls -k posix -o ADDRESS,NPROCS,PIDS' \
		"$PSHM" 3>&-
	[ "$status" -eq 1 ]
	stderr_has '^pshm: ls /proc: Too many open files$'
	grep -qE '^/nf +[0-9]+\? +([0-9]+,)*\?$' <<<"$output" || fail_with "$output"
}

@test "a root holder seen by nobody: warning, ? in tables, null and complete false in JSON" {
	require_root
	share_dir
	pshm create -s 4096 /obj
	hold /obj
	warning='^pshm: warning: could not look into [0-9]+ process(es)? of other users; process counts may be low$'

	run --separate-stderr as_nobody "$PSHM" who /obj
	[ "$status" -eq 0 ]
	stderr_has "$warning"
	stderr_has '^pshm: run as root to see all processes$'
	[ "$(grep -c warning <<<"$stderr")" -eq 1 ] || fail_with "not once:" "$stderr"
	! grep -q "$HOLDER" <<<"$output"
	grep -qE '^/obj +\? +\? +\? +\?$' <<<"$output" || fail_with "no marker line:" "$output"

	run --separate-stderr as_nobody "$PSHM" who -J /obj
	[ "$status" -eq 0 ]
	stderr_has "$warning"
	jq_true '.processes == [{"address": "/obj", "pid": null, "user": null, "command": null,
		"access": null}]' <<<"$output"

	run --separate-stderr as_nobody "$PSHM" ls -k posix -o ADDRESS,NPROCS,PIDS
	[ "$status" -eq 0 ]
	stderr_has "$warning"
	[ "$(grep -c warning <<<"$stderr")" -eq 1 ] || fail_with "not once:" "$stderr"
	grep -qE '^/obj +0\? +\?$' <<<"$output" || fail_with "$output"

	run --separate-stderr as_nobody "$PSHM" ls -k posix -J -o ADDRESS,NPROCS,PIDS
	[ "$status" -eq 0 ]
	jq_true '.objects[0] == {"address": "/obj", "nprocs": null, "pids": null,
		"complete": false}' <<<"$output"

	run --separate-stderr as_nobody "$PSHM" stat /obj
	[ "$status" -eq 0 ]
	stderr_has "$warning"
	grep -qx 'processes: 0?' <<<"$output"
	grep -qx 'pids: ?' <<<"$output"
	grep -qx 'complete: false' <<<"$output"

	run --separate-stderr as_nobody "$PSHM" stat -J /obj
	[ "$status" -eq 0 ]
	stderr_has "$warning"
	jq_true '.[0] | .processes == null and .pids == null and .complete == false' <<<"$output"

	# What nobody's own processes hold is still listed, before the "?" (a list that may be
	# short ends in "?").
	hold nobody /obj
	mine=$HOLDER
	run --separate-stderr as_nobody "$PSHM" stat /obj
	grep -qx 'processes: 1?' <<<"$output"
	grep -qx "pids: $mine,?" <<<"$output"
	run --separate-stderr as_nobody "$PSHM" ls -k posix -o ADDRESS,NPROCS,PIDS
	grep -qE "^/obj +1\? +$mine,\?$" <<<"$output" || fail_with "$output"
	run --separate-stderr as_nobody "$PSHM" who /obj
	[ "${#lines[@]}" -eq 3 ]
	grep -qE "^/obj +$mine +nobody +sleep +fd 4 ro$" <<<"$output" || fail_with "$output"
	[[ ${lines[2]} =~ ^/obj\ +\? ]] || fail_with "the marker is not last:" "$output"
}

@test "another user's holder whose /proc entries root may read: seen, complete, no warning" {
	require_root
	share_dir
	pshm create -s 4096 /obj
	hold nobody /obj
	run --separate-stderr pshm who /obj
	[ "$status" -eq 0 ]
	[ -z "$stderr" ] || fail_with "stderr: $stderr"
	grep -qE "^/obj +$HOLDER +nobody +sleep +fd 4 ro$" <<<"$output" || fail_with "$output"
	[ "${#lines[@]}" -eq 2 ]
	run --separate-stderr pshm stat -J /obj
	[ -z "$stderr" ]
	jq_true --argjson p "$HOLDER" '.[0] | .processes == 1 and .pids == [$p] and
		.complete == true' <<<"$output"
	run --separate-stderr pshm stat /obj
	grep -qx 'complete: true' <<<"$output"
	run --separate-stderr pshm ls -k posix -o ADDRESS,NPROCS,PIDS
	[ -z "$stderr" ]
	grep -qE "^/obj +1 +$HOLDER$" <<<"$output" || fail_with "$output"
}

# Run the shell SCRIPT as root in a new PID namespace with a /proc of its own, so that the
# processes there are only the ones SCRIPT starts; exit 99 when that cannot be made.
in_pidns() {
	unshare --pid --fork --mount-proc true 2>/dev/null ||
		skip "cannot make a PID namespace (unshare --pid --mount-proc)"
	unshare --pid --fork --mount-proc bash -c "$1" bash "$PSHM" "$PSHM_DIR" 3>&-
}

# in_pidns, with SCRIPT run as uid 65534 (as PID 1 of the namespace).
in_pidns_as_nobody() {
	unshare --pid --fork --mount-proc true 2>/dev/null ||
		skip "cannot make a PID namespace (unshare --pid --mount-proc)"
	unshare --pid --fork --mount-proc setpriv --reuid=65534 --regid=65534 --clear-groups \
		bash -c "$1" bash "$PSHM" "$PSHM_DIR" 3>&-
}

# Shell functions for in_pidns scripts: wait until a command succeeds (60 s at most); whether
# a zombie "true" is there.
POLL='poll() { local i; for ((i = 0; i < 1200; i++)); do "$@" && return 0; sleep 0.05; done; return 1; }
zombie() { grep -hq "^[0-9]* (true) Z" /proc/[0-9]*/stat 2>/dev/null; }'

@test "the warning counts the other users' processes not looked into; zombies are not counted" {
	require_root
	share_dir
	pshm create -s 4096 /obj
	run --separate-stderr in_pidns "$POLL"'
		PSHM=$1 PSHM_DIR=$2
		sleep 1000 4<"$PSHM_DIR/obj" & h=$!
		# A zombie: a child that its parent, now sleep, never reaps.
		sh -c "/bin/true & exec sleep 1000" & z=$!
		poll grep -qx sleep /proc/$h/comm || exit 98
		poll zombie || exit 98
		# Here as root: bash (PID 1), the holder and the zombie'"'"'s parent; nobody
		# cannot look into them.
		setpriv --reuid=65534 --regid=65534 --clear-groups "$PSHM" stat /obj
		r=$?
		kill $h $z
		exit $r'
	[ "$status" -eq 0 ] || fail_with "exit $status" "$stderr"
	stderr_has '^pshm: warning: could not look into 3 processes of other users; '
	grep -qx 'processes: 0?' <<<"$output"
}

@test "a /proc with hidepid=invisible: the warning says so and counts are marked" {
	require_root
	share_dir
	pshm create -s 4096 /obj
	run --separate-stderr in_pidns "$POLL"'
		PSHM=$1 PSHM_DIR=$2
		mount -o remount,hidepid=invisible /proc || exit 99
		sleep 1000 4<"$PSHM_DIR/obj" & h=$!
		poll grep -qx sleep /proc/$h/comm || exit 98
		setpriv --reuid=65534 --regid=65534 --clear-groups "$PSHM" ls -k posix -J \
			-o ADDRESS,NPROCS,PIDS'
	[ "$status" -ne 99 ] || skip "cannot mount /proc with hidepid=invisible"
	[ "$status" -eq 0 ] || fail_with "exit $status" "$stderr"
	stderr_has '^pshm: warning: /proc hides the processes of other users \(hidepid=invisible\); process counts may be low$'
	stderr_has '^pshm: run as root to see all processes$'
	jq_true '.objects[0] | .nprocs == null and .pids == null and .complete == false' <<<"$output"
}

@test "a process of one's own user that may not be looked into is missed without a word" {
	require_root
	share_dir
	pshm create -s 4096 -m 644 /obj
	# Running a program one may not read makes a process not dumpable.
	cp "$(command -v sleep)" "$PSHM_DIR/xsleep"
	chmod 711 "$PSHM_DIR/xsleep"
	run --separate-stderr in_pidns_as_nobody "$POLL"'
		PSHM=$1 PSHM_DIR=$2
		"$PSHM_DIR/xsleep" 1000 4<"$PSHM_DIR/obj" & h=$!
		poll grep -qx xsleep /proc/$h/comm || exit 98
		ls /proc/$h/fd >/dev/null 2>&1 && exit 97
		"$PSHM" stat /obj
		r=$?
		kill $h
		exit $r'
	[ "$status" -ne 126 ] || skip "cannot run programs from $PSHM_DIR (noexec)"
	[ "$status" -eq 0 ] || fail_with "exit $status" "$stderr"
	[ -z "$stderr" ] || fail_with "stderr: $stderr"
	grep -qx 'processes: 0' <<<"$output"
	grep -qx 'complete: true' <<<"$output"
}

@test "processes outside pshm's PID namespace are missed without a word" {
	require_root
	pshm create -s 4096 /obj
	hold /obj
	run --separate-stderr in_pidns '"$1" stat /obj'
	[ "$status" -eq 0 ]
	[ -z "$stderr" ] || fail_with "stderr: $stderr"
	grep -qx 'processes: 0' <<<"$output"
	grep -qx 'complete: true' <<<"$output"
	# Outside, it is seen.
	run pshm stat /obj
	grep -qx 'processes: 1' <<<"$output"
}
