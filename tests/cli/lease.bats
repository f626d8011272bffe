#!/usr/bin/env bats
# Leases: pshm hold (objects held while a command runs, leased ones removed by their last
# holder), and how ls and stat show leases, orphans and System V segments marked for removal.

load helpers

# Start "pshm hold ARGS... -- COMMAND" in the background, COMMAND being a shell that writes its
# PID to a file and then sleeps; wait until COMMAND runs (the objects are held by then). Sets
# HOLD to the PID of pshm hold and CMD to COMMAND's; hold's output goes to $HOLD_OUT. With
# HOLD_ENV set, that runs first (env --default-signal=INT, for a SIGINT that is not ignored).
start_hold() {
	local f
	HOLDS=$((${HOLDS:-0} + 1))
	f=$BATS_TEST_TMPDIR/cmd.$HOLDS
	HOLD_OUT=$BATS_TEST_TMPDIR/hold.$HOLDS.out
	# shellcheck disable=SC2086
	${HOLD_ENV:-} "$PSHM" hold "$@" -- sh -c 'echo $$ >"$1.new" && mv "$1.new" "$1" &&
		exec sleep 1000' sh "$f" >"$HOLD_OUT" 2>&1 3>&- &
	HOLD=$!
	track "$HOLD"
	wait_until started "$f" || return
	[ -s "$f" ] || fail_with "pshm hold $* did not start its command:" "$(cat "$HOLD_OUT")" ||
		return
	CMD=$(cat "$f")
	track "$CMD"
	wait_comm "$CMD" sleep
}

# Whether the command of the last start_hold has written file F, or pshm hold has ended.
started() {
	[ -s "$1" ] || ! kill -0 "$HOLD" 2>/dev/null
}

# A leased object NAME whose only holder was killed with SIGKILL: an orphan. Its command, which
# goes on running, is stopped too.
orphan_of() {
	start_hold --create -s 4K --lease "$1"
	kill -KILL "$HOLD"
	local st=0
	wait "$HOLD" || st=$?
	[ "$st" -eq 137 ] || fail_with "pshm hold killed: exit $st"
	# The kernel let go of the lease with the process; the command still runs.
	kill -0 "$CMD" || fail_with "the command of a killed pshm hold ended too"
	kill "$CMD"
}

# The line of NAME in `pshm ls -r -n -o COLUMNS` (ARGS... are more options).
ls_line() {
	local name=$1
	shift
	pshm ls -r -n "$@" | awk -v a="$name" '$1 == a'
}

# A python program, written to $SIGCOUNT, that takes SIGINT and SIGTERM one at a time, in the
# order of their numbers when both are pending (sigwaitinfo): it writes its PID to FILE.pid once
# ready, a line to FILE.int for each SIGINT, and on SIGTERM the number of SIGINTs to FILE.term,
# and exits 7.
sigcount() {
	need_python
	SIGCOUNT=$BATS_TEST_TMPDIR/sigcount.py
	cat >"$SIGCOUNT" <<'EOF'
import os, signal, sys
out = sys.argv[1]
sigs = {signal.SIGINT, signal.SIGTERM}
signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
def put(name, text):
    with open(name + ".new", "w") as f:
        f.write(text)
    os.rename(name + ".new", name)
put(out + ".pid", "%d\n" % os.getpid())
count = 0
while True:
    if signal.sigwaitinfo(sigs).si_signo == signal.SIGTERM:
        put(out + ".term", "%d\n" % count)
        os._exit(7)
    count += 1
    put(out + ".int", "%d\n" % count)
EOF
}

need_default_signal() {
	env --default-signal=INT true 2>/dev/null ||
		skip "env(1) cannot reset a signal's action (coreutils 8.31 or later)"
}

@test "hold --create --lease: the object is there while COMMAND runs, gone after; COMMAND's exit status" {
	run --separate-stderr pshm hold --create -s 64K --lease /x -- \
		sh -c '"$PSHM" stat /x >"$1" && exit 3' sh "$BATS_TEST_TMPDIR/stat"
	[ "$status" -eq 3 ] || fail_with "exit $status" "$stderr"
	[ -z "$stderr" ]
	grep -qx 'size: 65536' "$BATS_TEST_TMPDIR/stat"
	grep -qx 'leased: yes' "$BATS_TEST_TMPDIR/stat"
	grep -qx 'leases: 1' "$BATS_TEST_TMPDIR/stat"
	dir_holds
	run pshm hold --create --lease /x -- true
	[ "$status" -eq 0 ]
	dir_holds
	# Killed by a signal: 128 + N, as a shell says.
	run pshm hold --create --lease /x -- sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	dir_holds
	# Without --lease, a created object stays.
	run pshm hold --create -s 4K /kept -- true
	[ "$status" -eq 0 ]
	dir_holds kept
	# As create: size 0 and mode 600 unless given.
	pshm hold --create /zero -- true
	[ "$(stat -c '%s %a' "$PSHM_DIR/zero")" = "0 600" ]
	pshm rm /zero
	run pshm stat /kept
	[[ $output == *$'\nleased: no\nleases: 0\n'* ]]
	# A file: the same.
	f=$BATS_TEST_TMPDIR/file
	run pshm hold --create -s 4K --lease "file:$f" -- sh -c '"$PSHM" stat -J "file:$1"' sh "$f"
	[ "$status" -eq 0 ]
	jq_true '.[0] | .kind == "file" and .leased == true and .leases == 1' <<<"$output"
	[ ! -e "$f" ]
	# Nothing of the kind for System V.
	run pshm hold --create -s 4K sysv:0 -- true
	id=${lines[0]}
	sysv_track_id "${id#sysv:id=}"
	run pshm stat "$id"
	[[ $output != *leased:* && $output != *leases:* ]]
	pshm rm "$id"
}

@test "hold: COMMAND inherits no descriptor, mapping or attachment of the objects" {
	pshm create -s 4K /plain
	run pshm hold --create -s 8K --lease --map /x -- sh -c '
		find /proc/$$/fd -lname "$PSHM_DIR/*" | grep . && exit 1
		grep -F "$PSHM_DIR" /proc/$$/maps && exit 1
		"$PSHM" who -n /x | awk -v p=$$ "\$2 == p" | grep . && exit 1
		exit 0'
	[ "$status" -eq 0 ] || fail_with "the command holds the object:" "$output"
	run pshm hold --map --lease /plain -- sh -c 'find /proc/$$/fd -lname "$PSHM_DIR/*" | grep .'
	[ "$status" -eq 1 ] || fail_with "the command holds the object:" "$output"
	run pshm hold --create -s 4096 --lease --map sysv:0 -- sh -c 'grep SYSV /proc/$$/maps'
	[ "$status" -eq 1 ] || fail_with "the command is attached:" "$output"
}

@test "hold: two holders keep a leased object until the second ends; ls and stat count the leases" {
	start_hold --create -s 4K --lease /x
	h1=$HOLD c1=$CMD
	start_hold --lease /x
	h2=$HOLD c2=$CMD
	[ "$(ls_line /x -o ADDRESS,STATUS,LEASES)" = "/x leased 2" ]
	# STATUS is a default column; LEASES is not.
	run --separate-stderr pshm ls
	read -ra h <<<"${lines[0]}"
	[[ " ${h[*]} " == *" STATUS "* && " ${h[*]} " != *" LEASES "* ]]
	[[ $(awk '$1 == "/x"' <<<"$output") == *" leased "* ]]
	run pshm stat /x
	[[ $output == *$'\nleased: yes\nleases: 2\n'* ]]
	run pshm stat -J /x
	jq_true '.[0] | .leased == true and .leases == 2' <<<"$output"
	run pshm ls -J -o +LEASES
	jq_true '.objects[] | select(.address == "/x") | .status == "leased" and .leases == 2' \
		<<<"$output"
	# The first holder ends: its lease goes, the object stays.
	kill "$c1"
	st=0
	wait "$h1" || st=$?
	[ "$st" -eq 143 ]
	[ "$(ls_line /x -o ADDRESS,STATUS,LEASES)" = "/x leased 1" ]
	# The second ends: the last lease goes, and the object with it.
	kill "$c2"
	st=0
	wait "$h2" || st=$?
	[ "$st" -eq 143 ]
	dir_holds
}

@test "hold killed with SIGKILL: the object stays as an orphan, is never opened again, and is remade by --create" {
	orphan_of /dead
	start_hold --create -s 4K --lease /alive
	pshm create -s 4K /used
	start_hold /used
	[ "$(ls_line /dead -o ADDRESS,STATUS,LEASES)" = "/dead orphan 0" ]
	[ "$(ls_line /alive -o ADDRESS,STATUS,LEASES)" = "/alive leased 1" ]
	# (Raw output: an empty STATUS between the two spaces.)
	[ "$(ls_line /used -o ADDRESS,STATUS,LEASES)" = "/used  0" ]
	run --separate-stderr pshm ls --orphans -r -n -o ADDRESS,STATUS
	[ "$status" -eq 0 ]
	grep -qx '/dead orphan' <<<"$output"
	! grep -q '^/alive ' <<<"$output" || fail_with "--orphans lists a held object:" "$output"
	! grep -q '^/used ' <<<"$output" || fail_with "--orphans lists a used object:" "$output"
	run pshm stat /dead
	[[ $output == *$'\nleased: yes\nleases: 0\n'* ]]
	# A later open is refused, and removes the dead object.
	run --separate-stderr pshm hold --lease /dead -- touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 1 ]
	stderr_has '^pshm: hold /dead: No such file or directory$'
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
	[ ! -e "$PSHM_DIR/dead" ]
	# Another orphan: --create of its address makes a new object, in place of the dead one.
	orphan_of /again
	run pshm hold --create -s 8K --lease /again -- sh -c '"$PSHM" stat -J /again'
	[ "$status" -eq 0 ]
	jq_true '.[0] | .size == 8192 and .allocated == 8192 and .leases == 1' <<<"$output"
	[ ! -e "$PSHM_DIR/again" ]
}

@test "ls --orphans: unleased objects nobody uses, System V segments nobody attached; JSON" {
	pshm create -s 4K /plain
	pshm create -s 4K /used
	start_hold /used
	orphan_of /dead
	start_hold --create --lease /alive
	key=$(sysv_key)
	pshm create -s 4K "sysv:$key"
	run --separate-stderr pshm ls --orphans -J -o ADDRESS,STATUS,LEASES
	[ "$status" -eq 0 ]
	jq_true '.objects | map(select(.address == "/dead")) == [{"address": "/dead",
		"status": "orphan", "leases": 0}]' <<<"$output"
	jq_true '.objects | all(.address != "/alive" and .address != "/used")' <<<"$output"
	jq_true --arg a "sysv:$key" '.objects | map(select(.address == $a)) ==
		[{"address": $a, "status": "orphan", "leases": null}]' <<<"$output"
	if view_complete; then
		jq_true '.objects | map(select(.address == "/plain")) == [{"address": "/plain",
			"status": "orphan", "leases": 0}]' <<<"$output"
	else
		jq_true '.objects | all(.address != "/plain")' <<<"$output"
		stderr_has '^pshm: warning: [0-9]+ objects? left out'
	fi
	# Without --orphans, STATUS is empty (JSON null) for an object that is not leased.
	run pshm ls -J -o ADDRESS,STATUS,LEASES
	jq_true '.objects[] | select(.address == "/plain") | .status == null and .leases == 0' \
		<<<"$output"
	# Attached, the segment is in use.
	start_hold --map "sysv:$key"
	run pshm ls --orphans -r -n -o ADDRESS
	! grep -qx "sysv:$key" <<<"$output" || fail_with "--orphans lists an attached segment"
	grep -qx /dead <<<"$output"
}

@test "ls --orphans as another user: unleased objects left out with a warning; leases still exact" {
	require_root
	share_dir
	pshm create -s 4K -m 644 /plain
	orphan_of /dead
	key=$(sysv_key)
	pshm create -s 4K "sysv:$key"
	run --separate-stderr as_nobody "$PSHM" ls --orphans -r -n -o ADDRESS,STATUS
	[ "$status" -eq 0 ]
	# Root's processes cannot be looked into: whether one maps /plain is not known.
	! grep -q '^/plain ' <<<"$output" || fail_with "--orphans lists /plain:" "$output"
	grep -qx '/dead orphan' <<<"$output"
	grep -qx "sysv:$key orphan" <<<"$output"
	stderr_has '^pshm: warning: 1 object left out: whether processes use it is not known$'
	stderr_has '^pshm: run as root to see all processes$'
}

@test "leases that cannot be counted: ? in ls and stat, null in JSON; --orphans leaves them out" {
	require_root
	command -v setpriv >/dev/null || skip "setpriv is missing (util-linux)"
	require_nobody_exec
	share_dir
	orphan_of /dead
	pshm create -s 4K /plain
	# /proc/locks, where leases are counted, made unreadable for uid 65534.
	locks=$BATS_TEST_TMPDIR/locks
	: >"$locks"
	chmod 000 "$locks"
	look='"$PSHM" ls -r -n -o ADDRESS,STATUS,LEASES; "$PSHM" ls -J -o ADDRESS,LEASES
		"$PSHM" stat /dead /plain; "$PSHM" stat -J /dead
		"$PSHM" ls --orphans -r -n -o ADDRESS'
	run --separate-stderr unshare -m sh -c 'mount --bind "$1" /proc/locks || exit 99
		exec setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "$2"' \
		sh "$locks" "$look"
	[ "$status" -ne 99 ] || skip "cannot bind-mount over /proc/locks in a mount namespace"
	[ "$status" -eq 0 ]
	grep -qx '/dead leased ?' <<<"$output"
	grep -qx '/plain  ?' <<<"$output"
	json=$(sed -n '/^{/,/^}/p' <<<"$output")
	jq_true '.objects | map(.leases) == [null, null]' <<<"$json"
	[ "$(grep -c '^leases: ?$' <<<"$output")" -eq 2 ]
	json=$(sed -n '/^\[/,/^\]/p' <<<"$output")
	jq_true '.[0] | .leased == true and .leases == null' <<<"$json"
	# Nothing is listed as an orphan: neither object can be told to be one.
	! grep -qE '^/(dead|plain)$' <<<"$output" || fail_with "--orphans guessed:" "$output"
	stderr_has '^pshm: warning: 2 objects left out: whether processes use them is not known$'
}

@test "hold --map: who shows pshm hold mapping the object, read-only when it may only read" {
	pshm create -s 4K /m
	start_hold --map /m
	run pshm who -n /m
	[ "$status" -eq 0 ]
	awk -v p="$HOLD" '$2 == p && $4 == "pshm" && $5 " " $6 == "map rw"' <<<"$output" | grep -q .
	awk -v p="$HOLD" '$2 == p && $5 == "fd" && $7 == "rw"' <<<"$output" | grep -q .
	kill "$CMD"
	wait "$HOLD" || true
	dir_holds m

	require_root
	require_nobody_exec
	share_dir
	pshm create -s 4K -m 644 /ro
	run as_nobody "$PSHM" hold --map --lease /ro -- sh -c '
		"$PSHM" who -n /ro 2>/dev/null | awk -v p=$PPID "\$2 == p"; "$PSHM" stat /ro'
	[ "$status" -eq 0 ]
	grep -qE '^/ro +[0-9]+ +[^ ]+ +pshm +map ro$' <<<"$output"
	grep -qE '^/ro +[0-9]+ +[^ ]+ +pshm +fd [0-9]+ ro$' <<<"$output"
	grep -qx 'leases: 1' <<<"$output"
	# A lease on an object that is not leased keeps nothing.
	dir_holds m ro
}

@test "hold: usage errors, objects that cannot be opened, commands that cannot be run" {
	run --separate-stderr pshm hold /x
	[ "$status" -eq 2 ]
	stderr_has "^pshm hold: no command: give it after '--'"
	run --separate-stderr pshm hold /x true
	[ "$status" -eq 2 ]
	stderr_has "^pshm hold: no command"
	run --separate-stderr pshm hold /x --
	[ "$status" -eq 2 ]
	stderr_has "^pshm hold: no command after '--'$"
	run --separate-stderr pshm hold --lease -- true
	[ "$status" -eq 2 ]
	stderr_has '^pshm hold: no object named$'
	run --separate-stderr pshm hold -s 4K /x -- true
	[ "$status" -eq 2 ]
	stderr_has '^pshm hold: -s, -m and --huge are for objects it creates: add --create$'
	run --separate-stderr pshm hold --create -s 4Q /x -- true
	[ "$status" -eq 2 ]
	run --separate-stderr pshm hold --bogus /x -- true
	[ "$status" -eq 2 ]
	dir_holds

	ran=$BATS_TEST_TMPDIR/ran
	run --separate-stderr pshm hold sysv:nokey -- touch "$ran"
	[ "$status" -eq 1 ]
	stderr_has '^pshm: hold sysv:nokey: '
	run --separate-stderr pshm hold --lease /missing -- touch "$ran"
	[ "$status" -eq 1 ]
	stderr_has '^pshm: hold /missing: No such file or directory$'
	[ ! -e "$ran" ]
	# One that fails: nothing runs, and what was made before it is removed again.
	pshm create -s 4K /exists
	run --separate-stderr pshm hold --create -s 4K --lease /new /plain-new /exists -- \
		touch "$ran"
	[ "$status" -eq 1 ]
	stderr_has '^pshm: hold /exists: File exists$'
	[ ! -e "$ran" ]
	dir_holds exists
	run --separate-stderr pshm hold --create -s 4K /new /exists -- touch "$ran"
	[ "$status" -eq 1 ]
	[ ! -e "$ran" ]
	dir_holds exists

	# Commands not found or not executable: 127 and 126, and the objects are let go.
	run -127 --separate-stderr pshm hold --create --lease /x -- pshm-no-such-command
	[ "$status" -eq 127 ]
	stderr_has '^pshm: hold pshm-no-such-command: No such file or directory$'
	printf 'true\n' >"$BATS_TEST_TMPDIR/noexec"
	chmod 644 "$BATS_TEST_TMPDIR/noexec"
	run --separate-stderr pshm hold --create --lease /x -- "$BATS_TEST_TMPDIR/noexec"
	[ "$status" -eq 126 ]
	stderr_has 'Permission denied$'
	dir_holds exists
}

@test "hold: SIGINT, SIGTERM and SIGHUP go to COMMAND; hold waits for it, then lets go" {
	need_default_signal
	HOLD_ENV="env --default-signal=INT"
	for sig in INT TERM HUP; do
		start_hold --create -s 4K --lease /s
		kill -"$sig" "$HOLD"
		st=0
		wait "$HOLD" || st=$?
		[ "$st" -eq $((128 + $(kill -l "$sig"))) ] || fail_with "SIG$sig: exit $st"
		! kill -0 "$CMD" 2>/dev/null || fail_with "SIG$sig: the command still runs"
		dir_holds
	done
	# A command that outlives the signal is waited for.
	sigcount
	out=$BATS_TEST_TMPDIR/count
	$HOLD_ENV "$PSHM" hold --create --lease /w -- "$PYTHON" "$SIGCOUNT" "$out" 3>&- &
	HOLD=$!
	track "$HOLD"
	wait_until test -s "$out.pid"
	track "$(cat "$out.pid")"
	kill -INT "$HOLD"
	wait_until test -s "$out.int"
	[ -e "$PSHM_DIR/w" ]
	kill -0 "$HOLD"
	kill -TERM "$HOLD"
	st=0
	wait "$HOLD" || st=$?
	[ "$st" -eq 7 ]
	[ "$(cat "$out.term")" = 1 ]
	dir_holds
}

@test "hold: a signal ignored when it starts stays ignored, by hold and by COMMAND" {
	sigcount
	out=$BATS_TEST_TMPDIR/count
	(
		trap '' INT
		exec "$PSHM" hold --create --lease /i -- "$PYTHON" "$SIGCOUNT" "$out" 3>&-
	) &
	HOLD=$!
	track "$HOLD"
	wait_until test -s "$out.pid"
	track "$(cat "$out.pid")"
	kill -INT "$HOLD"
	kill -TERM "$HOLD"
	st=0
	wait "$HOLD" || st=$?
	[ "$st" -eq 7 ]
	[ "$(cat "$out.term")" = 0 ]
	dir_holds
}

@test "hold: an interrupt typed at the terminal reaches COMMAND once" {
	sigcount
	out=$BATS_TEST_TMPDIR/count
	# pshm hold runs in a new session on a pseudo-terminal, in its foreground process group
	# with its command. Stopped, hold keeps the ^C typed pending while the command takes it;
	# then it gets SIGTERM too, and, continued, handles the SIGINT before the SIGTERM: had it
	# passed the SIGINT on, the command would take it before the SIGTERM that hold passes on.
	run "$PYTHON" -c '
import os, pty, signal, sys, time
out, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execv(argv[0], argv)
def wait_for(what, test):
    deadline = time.monotonic() + 60
    while not test():
        if time.monotonic() > deadline:
            sys.exit("gave up waiting for " + what)
        time.sleep(0.02)
def stopped():
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "T"
wait_for("the command", lambda: os.path.exists(out + ".pid"))
os.kill(pid, signal.SIGSTOP)
wait_for("hold to stop", stopped)
os.write(fd, b"\x03")
wait_for("the SIGINT", lambda: os.path.exists(out + ".int"))
os.kill(pid, signal.SIGTERM)
os.kill(pid, signal.SIGCONT)
try:
    while os.read(fd, 4096):
        pass
except OSError:
    pass
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))' "$out" "$PSHM" hold --create --lease /t -- \
		"$PYTHON" "$SIGCOUNT" "$out"
	[ "$status" -eq 0 ] || fail_with "$output"
	[ "${lines[-1]}" = 7 ] || fail_with "pshm hold on a terminal:" "$output"
	[ "$(cat "$out.term")" = 1 ] || fail_with "COMMAND had $(cat "$out.term") SIGINTs"
	dir_holds
}

@test "hold: a stop signal before COMMAND starts ends hold by it; nothing runs" {
	need_python
	need_default_signal
	pshm create -s 4K /first
	pshm create -s 4K /blocked
	# A read lease (fcntl F_SETLEASE) on /blocked: opening it for writing waits until the
	# lease is given up, which happens on SIGUSR1.
	lease=$BATS_TEST_TMPDIR/lease
	"$PYTHON" -c '
import fcntl, os, signal, sys
path, out = sys.argv[1], sys.argv[2]
F_SETLEASE = getattr(fcntl, "F_SETLEASE", 1024)
sigs = {signal.SIGIO, signal.SIGUSR1}
signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
fd = os.open(path, os.O_RDONLY)
fcntl.fcntl(fd, F_SETLEASE, fcntl.F_RDLCK)
open(out + ".ready", "w").close()
# SIGIO: someone opens it for writing, and waits.
while signal.sigwait(sigs) == signal.SIGIO:
    open(out + ".breaking", "w").close()
fcntl.fcntl(fd, F_SETLEASE, fcntl.F_UNLCK)
signal.sigwait({signal.SIGUSR1})' "$PSHM_DIR/blocked" "$lease" 3>&- &
	leaser=$!
	track "$leaser"
	wait_until test -e "$lease.ready"
	env --default-signal=INT "$PSHM" hold --lease /first /blocked -- \
		touch "$BATS_TEST_TMPDIR/ran" 3>&- &
	HOLD=$!
	track "$HOLD"
	wait_until test -e "$lease.breaking"
	kill -INT "$HOLD"
	kill -USR1 "$leaser"
	st=0
	wait "$HOLD" || st=$?
	[ "$st" -eq 130 ]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
	[ "$(ls_line /first -o ADDRESS,LEASES)" = "/first 0" ]
}

@test "hold --create: a new nameless object's address is printed first (memfd:, sysv:0)" {
	out=$BATS_TEST_TMPDIR/out
	# The command reads the first line hold wrote to the file they share as standard output.
	"$PSHM" hold --create -s 4K memfd: -- \
		sh -c '"$PSHM" stat -J "$(head -n 1 "$1")"' sh "$out" >"$out"
	addr=$(head -n 1 "$out")
	[[ $addr =~ ^memfd:[0-9]+:[0-9]+$ ]] || fail_with "not a memfd address: $addr"
	tail -n +2 "$out" | jq_true --arg a "$addr" '.[0] | .address == $a and .kind == "memfd" and
		.size == 4096'
	# Not leased, a private segment stays, known by the identifier printed.
	"$PSHM" hold --create -s 4K sysv:0 -- true >"$out"
	id=$(cat "$out")
	[[ $id =~ ^sysv:id=[0-9]+$ ]] || fail_with "not an identifier: $id"
	sysv_track_id "${id#sysv:id=}"
	run pshm stat -J "$id"
	jq_true '.[0] | .size == 4096 and .removed == false and .nattch == 0' <<<"$output"
	pshm rm "$id"
}

@test "hold --create --lease sysv: marked for removal while attached (STATUS removed), gone after" {
	out=$BATS_TEST_TMPDIR/out
	"$PSHM" hold --create -s 4096 --lease sysv:0 -- \
		sh -c '"$PSHM" ls -k sysv -r -n -o ADDRESS,STATUS,NATTCH' >"$out"
	id=$(head -n 1 "$out")
	[[ $id =~ ^sysv:id=[0-9]+$ ]] || fail_with "not an identifier: $id"
	sysv_track_id "${id#sysv:id=}"
	grep -qx "$id removed 1" "$out" || fail_with "no '$id removed 1' in:" "$(cat "$out")"
	run pshm stat "$id"
	[ "$status" -eq 1 ]
	# A key: it is free again once the segment is marked, and the identifier is printed.
	key=$(sysv_key)
	"$PSHM" hold --create -s 4096 --lease "sysv:$key" -- \
		sh -c '"$PSHM" stat "sysv:$1" || echo "key free"' sh "$key" >"$out" 2>/dev/null
	id=$(head -n 1 "$out")
	[[ $id =~ ^sysv:id=[0-9]+$ ]]
	sysv_track_id "${id#sysv:id=}"
	grep -qx "key free" "$out"
	! sysv_exists "$key" || fail_with "sysv:$key is still there"
	run pshm stat "$id"
	[ "$status" -eq 1 ]
}
