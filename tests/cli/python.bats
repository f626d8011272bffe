#!/usr/bin/env bats
# Leases from Python, and the lifetime story told by docs/lifetimes.md and the README: every
# snippet and command of both is run here, or found word for word in examples/lease.py, which
# is run here. Python's SharedMemory uses /dev/shm whatever PSHM_DIR says: the tests that use it
# make unique names there (removed in teardown) as interop.bats does, or, for pshm gc
# --unleased, a private /dev/shm in a mount namespace of their own (as root).

load helpers

LEASE_PY=$REPO_ROOT/examples/lease.py
DOC=$REPO_ROOT/docs/lifetimes.md

# The named blocks of the doc, in order; each is run by a test below or, for the Python
# functions, found in examples/lease.py.
DOC_BLOCKS="c-frames sh-hold sh-cleanup sh-python py-attach py-lockf py-ofd py-lock py-join
py-leave py-create sh-unleased"
IN_LEASE_PY="py-attach py-ofd py-lock py-join py-leave py-create"

# need_python, and a python3 with multiprocessing.shared_memory and fcntl.
need_shared_memory() {
	need_python
	"$PYTHON" -c 'import fcntl, multiprocessing.shared_memory' 2>/dev/null ||
		skip "$PYTHON has no multiprocessing.shared_memory"
}

# The lines of the fenced block after the line "<!-- block: NAME -->" of FILE (the doc).
doc_block() {
	awk -v m="<!-- block: $1 -->" '
		$0 == m { found = 1; next }
		found && /^```/ { if (inside) exit; inside = 1; next }
		inside { print }' "${2:-$DOC}"
}

# The lines of the README's block under "### Lifetimes".
readme_block() {
	awk '/^### Lifetimes$/ { found = 1; next }
		found && /^```/ { if (inside) exit; inside = 1; next }
		inside { print }' "$REPO_ROOT/README.md"
}

# Put `pshm` (the binary under test) and `python3` (the interpreter itself, not a shim) first in
# PATH, for commands run as the documents write them.
commands_on_path() {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	ln -sf "$PSHM" "$BATS_TEST_TMPDIR/bin/pshm"
	[ -z "${PYTHON:-}" ] || ln -sf "$PYTHON" "$BATS_TEST_TMPDIR/bin/python3"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH
}

# Make the FIFO WHO.in for a holder's standard input, kept open by a background writer until
# end_input WHO: then the holder's input ends, and it leaves.
new_input() {
	mkfifo "$BATS_TEST_TMPDIR/$1.in"
	sleep 1000 >"$BATS_TEST_TMPDIR/$1.in" 3>&- &
	track $!
	echo $! >"$BATS_TEST_TMPDIR/$1.writer"
}

end_input() {
	kill "$(cat "$BATS_TEST_TMPDIR/$1.writer")"
}

# Run COMMAND... in the background as holder WHO (input WHO.in, output WHO.out, PID in WHO.pid
# and $HOLDER) and return once it printed its "holding" line.
start_holder() {
	local who=$1 t=$BATS_TEST_TMPDIR
	shift
	new_input "$who"
	"$@" >"$t/$who.out" 2>&1 <"$t/$who.in" 3>&- &
	HOLDER=$!
	track "$HOLDER"
	echo "$HOLDER" >"$t/$who.pid"
	wait_until sh -c 'grep -q "^holding " "$1" || ! kill -0 "$2"' sh "$t/$who.out" "$HOLDER"
	grep -q '^holding ' "$t/$who.out" || fail_with "$who did not start:" "$(cat "$t/$who.out")"
}

# Wait until process PID has ended (gone, or a zombie nobody reaps yet).
wait_gone() {
	wait_until sh -c '! grep -qv "^[0-9]* (.*) Z " "/proc/$1/stat"' sh "$1"
}

# Assert that no line of the last run's output matches the pattern (grep -E).
output_lacks() {
	! grep -qE -- "$1" <<<"$output" || fail_with "output has /$1/:" "$output"
}

# The "leases: N" line of pshm stat ADDR.
leases_of() {
	"$PSHM" stat "$1" | grep '^leases: '
}

# Wait until pshm stat ADDR says "leases: N".
wait_leases() {
	wait_until sh -c '"$PSHM" stat "$1" | grep -qx "leases: $2"' sh "$1" "$2"
}

# Stand-ins for the documents' ./producer and ./consumer in the current directory: each writes
# what pshm stat /frames shows to WHO.stat, then "PID PARENT-PID" to WHO.pids, prints a line, and
# runs until the file stop-WHO appears.
make_stubs() {
	local who
	for who in producer consumer; do
		cat >"$who" <<EOF
#!/bin/sh
pshm stat /frames >"$PWD/$who.stat" 2>&1
echo "\$\$ \$PPID" >"$PWD/$who.pids.new" && mv "$PWD/$who.pids.new" "$PWD/$who.pids"
echo frame
while [ ! -e "$PWD/stop-$who" ]; do sleep 0.05; done
EOF
		chmod +x "$who"
	done
}

# ---- the documents ----------------------------------------------------------------------------

@test "docs: every block of lifetimes.md is named and tested; the Python ones are lease.py's" {
	need_python
	run grep -c '^```' "$DOC"
	[ "$output" -eq $((2 * $(wc -w <<<"$DOC_BLOCKS"))) ] || fail_with "unnamed blocks in $DOC"
	have=$(sed -n 's/^<!-- block: \(.*\) -->$/\1/p' "$DOC" | tr '\n' ' ')
	[ "$have" = "$(tr '\n' ' ' <<<"$DOC_BLOCKS")" ] || fail_with "blocks: $have" "tested: $DOC_BLOCKS"
	for b in $DOC_BLOCKS; do
		[ -n "$(doc_block "$b")" ] || fail_with "block $b is empty"
	done
	for b in $IN_LEASE_PY; do
		doc_block "$b" >"$BATS_TEST_TMPDIR/block"
		"$PYTHON" -c 'import sys
block, source = open(sys.argv[1]).read(), open(sys.argv[2]).read()
sys.exit(block not in source)' "$BATS_TEST_TMPDIR/block" "$LEASE_PY" ||
			fail_with "block $b of $DOC is not in $LEASE_PY word for word"
	done
	# The README's lifetime story is short: at most five lines.
	run readme_block
	[ "${#lines[@]}" -ge 1 ] && [ "${#lines[@]}" -le 5 ] || fail_with "README block:" "$output"
	grep -qF 'docs/lifetimes.md' "$REPO_ROOT/README.md"
	grep -qF 'examples/lease.py' "$REPO_ROOT/docs/ARCHITECTURE.md"
}

@test "README: the Lifetimes lines work as written; pshm gc removes what killed holders left" {
	mkdir "$BATS_TEST_TMPDIR/work" && cd "$BATS_TEST_TMPDIR/work"
	make_stubs
	commands_on_path
	mapfile -t l < <(readme_block)
	[ "${#l[@]}" -eq 4 ]
	# The first two in two shells at once: the second once /frames is there.
	eval "${l[0]}" 3>&- &
	track $!
	wait_until test -e producer.pids
	eval "${l[1]}" 3>&- &
	track $!
	wait_until test -e consumer.pids
	read -r p1 h1 <producer.pids
	read -r p2 h2 <consumer.pids
	track "$p1"
	track "$p2"
	grep -qx 'leased: yes' producer.stat
	grep -qx 'leased: yes' consumer.stat
	run --separate-stderr eval "${l[2]}"
	[ "$status" -eq 0 ]
	[ "$output" = "leases: 2" ]
	# Both holders (pshm hold, the commands' parents) killed outright: /frames is left unused.
	[ "$(cat "/proc/$h1/comm")" = pshm ] && [ "$(cat "/proc/$h2/comm")" = pshm ]
	kill -KILL "$h1" "$h2"
	wait_leases /frames 0
	[ -e "$PSHM_DIR/frames" ]
	run --separate-stderr eval "${l[3]}"
	[ "$status" -eq 0 ]
	grep -qE '^/frames +posix +1M +dead lease$' <<<"$output" || fail_with "$output"
	dir_holds
	touch stop-producer stop-consumer
}

@test "docs: pshm hold keeps /frames while any holder runs, and for a pipeline's life" {
	mkdir "$BATS_TEST_TMPDIR/work" && cd "$BATS_TEST_TMPDIR/work"
	make_stubs
	commands_on_path
	mapfile -t l < <(doc_block sh-hold)
	[ "${#l[@]}" -eq 4 ]
	eval "${l[0]}" 3>&- &
	first=$!
	track $first
	wait_until test -e producer.pids
	eval "${l[1]}" 3>&- &
	second=$!
	track $second
	wait_until test -e consumer.pids
	read -r p1 _ <producer.pids
	read -r p2 _ <consumer.pids
	track "$p1"
	track "$p2"
	run --separate-stderr eval "${l[2]}"
	[ "$output" = "leases: 2" ]
	# The first holder's command ends: the second keeps /frames.
	touch stop-producer
	wait "$first"
	[ "$(leases_of /frames)" = "leases: 1" ]
	grep -qx 'leased: yes' <(pshm stat /frames)
	# The last one's ends: /frames goes with it.
	touch stop-consumer
	wait "$second"
	dir_holds
	# The pipeline: /frames is there while both stages run, and gone once they are done.
	rm -f stop-* ./*.pids ./*.stat
	eval "${l[3]}" 3>&- &
	pipeline=$!
	track $pipeline
	wait_until test -e producer.pids
	wait_until test -e consumer.pids
	grep -qx 'leases: 1' producer.stat
	grep -qx 'leases: 1' consumer.stat
	touch stop-producer stop-consumer
	wait "$pipeline"
	dir_holds
}

@test "docs: the C program; the last to close removes /frames; a dead one is never opened" {
	command -v cc >/dev/null || skip "no C compiler (cc)"
	lib=$(dirname "$PSHM")/libpshm.a
	[ -f "$lib" ] || skip "no $lib beside $PSHM"
	t=$BATS_TEST_TMPDIR
	doc_block c-frames >"$t/frames.c"
	# A sanitizer build's library needs its runtime linked in with it.
	san=
	! nm "$lib" 2>/dev/null | grep -q __asan_ || san=-fsanitize=address,undefined
	cc -std=gnu11 -Wall -Wextra -Werror $san -I"$REPO_ROOT/include" -o "$t/frames" "$t/frames.c" \
		"$lib"
	start_holder a "$t/frames" new
	a=$HOLDER
	grep -qx 'holding /frames: frame 1' "$t/a.out"
	start_holder b "$t/frames"
	b=$HOLDER
	grep -qx 'holding /frames: frame 1' "$t/b.out"
	[ "$(leases_of /frames)" = "leases: 2" ]
	end_input a
	wait "$a"
	[ "$(leases_of /frames)" = "leases: 1" ]
	end_input b
	wait "$b"
	dir_holds
	# Its only holder killed: /frames stays, dead; the next open fails, and removes it.
	start_holder c "$t/frames" new
	kill -KILL "$HOLDER"
	wait "$HOLDER" || true
	[ "$(leases_of /frames)" = "leases: 0" ]
	run --separate-stderr "$t/frames" </dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "frames: /frames: No such file or directory" ] || fail_with "$stderr"
	dir_holds
}

@test "docs: cleaning up: ls --orphans, gc -n, gc, gc --unleased --older-than 1h, df" {
	t=$BATS_TEST_TMPDIR
	commands_on_path
	mapfile -t l < <(doc_block sh-cleanup)
	[ "${#l[@]}" -eq 5 ]
	pshm create -s 4K /leak
	# /held: a lease held; /dead: its only holder killed.
	for o in held dead; do
		"$PSHM" hold --create -s 4K --lease "/$o" -- sh -c 'echo $$ >"$1"; exec sleep 1000' sh \
			"$t/$o.pid" 3>&- &
		echo $! >"$t/$o.hold"
		track $!
		wait_until test -s "$t/$o.pid"
		track "$(cat "$t/$o.pid")"
	done
	kill -KILL "$(cat "$t/dead.hold")"
	wait_leases /dead 0
	run --separate-stderr eval "${l[0]}"
	[ "$status" -eq 0 ]
	grep -qE '^/dead +posix .* orphan ' <<<"$output" || fail_with "$output"
	output_lacks '^/held '
	if view_complete; then
		grep -qE '^/leak +posix .* orphan ' <<<"$output" || fail_with "$output"
	else
		output_lacks '^/leak '
	fi
	run --separate-stderr eval "${l[1]}"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ] && grep -qE '^/dead +posix +4K +dead lease$' <<<"$output" ||
		fail_with "$output"
	dir_holds dead held leak
	run --separate-stderr eval "${l[2]}"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ] && grep -qE '^/dead +posix +4K +dead lease$' <<<"$output" ||
		fail_with "$output"
	dir_holds held leak
	run --separate-stderr eval "${l[3]}"
	if view_complete; then
		# /leak is unused, but younger than an hour; /held is held.
		[ "$status" -eq 0 ]
		output_lacks '^/leak '
		dir_holds held leak
		run --separate-stderr pshm gc --unleased
		[ "$status" -eq 0 ]
		grep -qE '^/leak +posix +4K +unused$' <<<"$output" || fail_with "$output"
		dir_holds held
	else
		[ "$status" -eq 1 ]
		stderr_has '^pshm: gc'
		dir_holds held leak
	fi
	run --separate-stderr eval "${l[4]}"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
}

# ---- locks from Python --------------------------------------------------------------------------

@test "struct flock as the recipe packs it matches C's on this machine" {
	need_python
	command -v cc >/dev/null || skip "no C compiler (cc)"
	t=$BATS_TEST_TMPDIR
	cat >"$t/flock.c" <<'EOF'
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
int main(void)
{
	printf("%zu %zu %zu %zu %zu %zu %zu %zu\n", sizeof(struct flock),
	       offsetof(struct flock, l_type), offsetof(struct flock, l_whence),
	       offsetof(struct flock, l_start), offsetof(struct flock, l_len),
	       offsetof(struct flock, l_pid), sizeof(((struct flock *)0)->l_start),
	       sizeof(((struct flock *)0)->l_pid));
	return 0;
}
EOF
	cc -o "$t/flock" "$t/flock.c"
	c=$("$t/flock")
	py=$("$PYTHON" -c 'import struct, sys
sys.path.insert(0, sys.argv[1])
import lease
f = lease.FLOCK
fields = f[1:].replace("0q", "")
offsets = [struct.calcsize("@" + fields[:i] + "0" + fields[i]) for i in range(len(fields))]
print(struct.calcsize(f), *offsets, struct.calcsize("q"), struct.calcsize("i"))' \
		"$REPO_ROOT/examples")
	[ "$c" = "$py" ] || fail_with "C: $c" "python: $py"
	# On x86_64 that is the layout docs/lifetimes.md gives.
	[ "$(uname -m)" != x86_64 ] || [ "$c" = "32 0 2 8 16 24 8 4" ]
}

# Python that takes a lease with PY_LOCK (a statement on fd, the object's path in PATH_), says
# "locked", and once the file GO appears opens and closes another descriptor of the object and
# says "closed"; it leaves (lease.leave) once STOP appears. Arguments: PATH GO STOP EXAMPLES.
lock_then_close_py() {
	cat <<EOF
import os, sys, time
sys.path.insert(0, sys.argv[4])
import lease
path = sys.argv[1]
$1
print("locked", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.01)
os.close(os.open(path, os.O_RDONLY))
print("closed", flush=True)
while not os.path.exists(sys.argv[3]):
    time.sleep(0.01)
print("removed" if lease.leave(fd, path) else "left", flush=True)
EOF
}

# Create the leased object /x with pshm hold, whose command starts the python program PROGRAM in
# the background (output in py.out) and ends once it printed "locked": then pshm hold lets go
# and the Python lease alone holds /x.
leased_x_held_by_python() {
	local t=$BATS_TEST_TMPDIR
	printf '%s\n' "$1" >"$t/prog.py"
	pshm hold --create -s 4K --lease /x -- sh -c '
		"$1" "$2" "$3/x" "$4/go" "$4/stop" "$5" >"$4/py.out" 2>&1 </dev/null &
		echo $! >"$4/py.pid"
		until grep -qs "^locked" "$4/py.out" || ! kill -0 $!; do sleep 0.05; done' sh \
		"$PYTHON" "$t/prog.py" "$PSHM_DIR" "$t" "$REPO_ROOT/examples" 3>&-
	track "$(cat "$t/py.pid")"
	grep -qx locked "$t/py.out" || fail_with "$(cat "$t/py.out")"
}

@test "lockf lease (the doc's): pshm counts it, but closing any descriptor of the file drops it" {
	need_python
	t=$BATS_TEST_TMPDIR
	snippet=$(doc_block py-lockf | sed "s|\"/dev/shm/frames\"|path|")
	grep -q 'fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 1, 2\*\*62, 0)' <<<"$snippet"
	leased_x_held_by_python "$(lock_then_close_py "$snippet")"
	# pshm hold is gone; Python's lease holds /x, and pshm gc respects it.
	[ "$(leases_of /x)" = "leases: 1" ]
	grep -qx 'leased: yes' <(pshm stat /x)
	run --separate-stderr pshm gc
	[ "$status" -eq 0 ]
	dir_holds x
	touch "$t/go"
	wait_until grep -qx closed "$t/py.out"
	# The process still runs and holds a descriptor, but its lease went with the other one.
	kill -0 "$(cat "$t/py.pid")"
	[ "$(leases_of /x)" = "leases: 0" ]
	run --separate-stderr pshm gc
	[ "$status" -eq 0 ]
	grep -qE '^/x +posix +4K +dead lease$' <<<"$output" || fail_with "$output"
	dir_holds
	touch "$t/stop"
}

@test "OFD lease (the recipe's): closing other descriptors keeps it; the last holder removes" {
	need_shared_memory
	t=$BATS_TEST_TMPDIR
	leased_x_held_by_python "$(lock_then_close_py 'fd = lease.take_lease(path)
import mmap
m = mmap.mmap(fd, 4096); m.close()  # a copy of the descriptor, closed, as SharedMemory does')"
	[ "$(leases_of /x)" = "leases: 1" ]
	touch "$t/go"
	wait_until grep -qx closed "$t/py.out"
	[ "$(leases_of /x)" = "leases: 1" ]
	run --separate-stderr pshm gc
	dir_holds x
	# Its OFD lock shows in /proc/locks as one of no process (-1), on the lease byte.
	ino=$(stat -c %i "$PSHM_DIR/x")
	byte=4611686018427387904
	grep -qE "OFDLCK +ADVISORY +READ +-1 +[0-9a-f]+:[0-9a-f]+:$ino $byte $byte\$" /proc/locks ||
		fail_with "$(grep ":$ino " /proc/locks)"
	touch "$t/stop"
	wait_until grep -qx removed "$t/py.out"
	dir_holds
}

# ---- examples/lease.py with SharedMemory ----------------------------------------------------

@test "lease.py keeps what pshm hold --create --lease made after hold ends; its exit removes it" {
	need_shared_memory
	t=$BATS_TEST_TMPDIR
	name=$(devshm_name)
	unset PSHM_DIR
	new_input py
	run --separate-stderr pshm hold --create -s 64K --lease "/$name" -- sh -c '
		"$1" "$2" "$3" >"$4/py.out" 2>&1 <"$4/py.in" &
		echo $! >"$4/py.pid"
		until grep -qs "^holding " "$4/py.out" || ! kill -0 $!; do sleep 0.05; done
		"$PSHM" stat "/$3" >"$4/stat.both"' sh "$PYTHON" "$LEASE_PY" "$name" "$t" 3>&-
	py=$(cat "$t/py.pid")
	track "$py"
	[ "$status" -eq 0 ] || fail_with "$stderr" "$(cat "$t/py.out")"
	grep -qx 'leases: 2' "$t/stat.both"
	# pshm hold has let go; Python's lease keeps the object, and pshm gc leaves it.
	run --separate-stderr pshm stat "/$name"
	grep -qx 'leased: yes' <<<"$output"
	grep -qx 'leases: 1' <<<"$output"
	grep -qx 'size: 65536' <<<"$output"
	run --separate-stderr pshm gc
	output_lacks "^/$name "
	[ -e "/dev/shm/$name" ]
	# It read the new object's zeros and wrote its greeting through SharedMemory.
	grep -qx 'found: ' "$t/py.out"
	[ "$(pshm read -n 64 "/$name" | tr -d '\0')" = "hello from python $py" ]
	# Its input ends: it leaves, the last holder, and removes the object.
	end_input py
	wait_until grep -qx "removed /$name: the last holder left" "$t/py.out"
	[ ! -e "/dev/shm/$name" ]
}

@test "lease.py killed with SIGKILL leaves the object dead: orphan, and pshm gc removes it" {
	need_shared_memory
	name=$(devshm_name)
	unset PSHM_DIR
	start_holder py "$PYTHON" "$LEASE_PY" --create 8192 "$name"
	[ "$(leases_of "/$name")" = "leases: 1" ]
	kill -KILL "$HOLDER"
	wait "$HOLDER" || true
	run --separate-stderr pshm stat "/$name"
	grep -qx 'leased: yes' <<<"$output"
	grep -qx 'leases: 0' <<<"$output"
	run --separate-stderr pshm ls --orphans -o ADDRESS,STATUS
	grep -qE "^/$name +orphan$" <<<"$output" || fail_with "$output"
	run --separate-stderr pshm gc -n
	[ "$status" -eq 0 ]
	grep -qE "^/$name +posix +8K +dead lease$" <<<"$output" || fail_with "$output"
	[ -e "/dev/shm/$name" ]
	run --separate-stderr pshm gc
	[ "$status" -eq 0 ]
	grep -qE "^/$name +posix +8K +dead lease$" <<<"$output" || fail_with "$output"
	[ ! -e "/dev/shm/$name" ]
}

@test "lease.py never revives a dead object: it removes it and fails, as pshm_open does" {
	need_shared_memory
	name=$(devshm_name)
	unset PSHM_DIR
	start_holder py "$PYTHON" "$LEASE_PY" --create 4096 "$name"
	kill -KILL "$HOLDER"
	wait "$HOLDER" || true
	[ "$(leases_of "/$name")" = "leases: 0" ]
	run --separate-stderr "$PYTHON" "$LEASE_PY" "$name" </dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "lease.py: /$name: leased, but nobody held it" ] || fail_with "$stderr"
	[ ! -e "/dev/shm/$name" ]
	# pshm's own opener says the same of a dead object made by Python.
	start_holder py2 "$PYTHON" "$LEASE_PY" --create 4096 "$name"
	kill -KILL "$HOLDER"
	wait "$HOLDER" || true
	run --separate-stderr pshm hold --lease "/$name" -- true
	[ "$status" -eq 1 ]
	stderr_has "^pshm: hold /$name: No such file or directory"
	[ ! -e "/dev/shm/$name" ]
}

@test "lease.py on an object that is not leased: its lease is counted, and it never removes it" {
	need_shared_memory
	t=$BATS_TEST_TMPDIR
	name=$(devshm_name)
	unset PSHM_DIR
	pshm create -s 4K "/$name"
	start_holder py "$PYTHON" "$LEASE_PY" "$name"
	run --separate-stderr pshm stat "/$name"
	grep -qx 'leased: no' <<<"$output"
	grep -qx 'leases: 1' <<<"$output"
	end_input py
	wait "$HOLDER"
	grep -qx "left /$name, which is not leased: it stays" "$t/py.out"
	[ -e "/dev/shm/$name" ]
	[ "$(pshm read -n 17 "/$name")" = "hello from python" ]
}

@test "two lease.py holders: the first leaves it to the other; the last, by SIGTERM, removes it" {
	need_shared_memory
	t=$BATS_TEST_TMPDIR
	name=$(devshm_name)
	unset PSHM_DIR
	start_holder a "$PYTHON" "$LEASE_PY" --create 8192 "$name" "from a"
	a=$HOLDER
	start_holder b "$PYTHON" "$LEASE_PY" "$name" "from b"
	b=$HOLDER
	grep -qx 'found: from a' "$t/b.out"
	run --separate-stderr pshm ls -o ADDRESS,STATUS,LEASES
	[ "$status" -eq 0 ] || fail_with "$stderr"
	grep -qE "^/$name +leased +2$" <<<"$output" || fail_with "$output"
	end_input a
	wait "$a"
	grep -qx "left /$name to its other holders" "$t/a.out"
	[ "$(leases_of "/$name")" = "leases: 1" ]
	[ "$(pshm read -n 6 "/$name")" = "from b" ]
	kill -TERM "$b"
	st=0
	wait "$b" || st=$?
	[ "$st" -eq 143 ]
	grep -qx "removed /$name: the last holder left" "$t/b.out"
	[ ! -e "/dev/shm/$name" ]
}

@test "docs: lease.py under pshm hold, and lease.py --create: the lease before the mark" {
	need_shared_memory
	t=$BATS_TEST_TMPDIR
	name=$(devshm_name)
	unset PSHM_DIR
	commands_on_path
	cd "$REPO_ROOT"
	mapfile -t l < <(doc_block sh-python | sed "s/frames/$name/g")
	[ "${#l[@]}" -eq 2 ]
	run --separate-stderr bash -c "${l[0]}"
	[ "$status" -eq 0 ] || fail_with "$stderr"
	[ "${lines[0]}" = "found: " ]
	[ "${lines[1]}" = "holding /$name" ]
	[ "${lines[2]}" = "left /$name to its other holders" ]
	[ ! -e "/dev/shm/$name" ]
	# --create, traced where strace is there: reserved, leased, then marked, in that order.
	tracer=()
	if command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null; then
		tracer=(strace -f -qq -o "$t/trace" -e trace=fallocate,fcntl,fchmod)
	fi
	start_holder py "${tracer[@]}" bash -c "${l[1]}"
	run --separate-stderr pshm stat "/$name"
	grep -qx 'leased: yes' <<<"$output"
	grep -qx 'leases: 1' <<<"$output"
	grep -qx 'perms: rw------T' <<<"$output"
	grep -qx 'size: 65536' <<<"$output"
	grep -qx 'allocated: 65536' <<<"$output"
	end_input py
	wait "$HOLDER"
	grep -qx "removed /$name: the last holder left" "$t/py.out"
	[ ! -e "/dev/shm/$name" ]
	[ ${#tracer[@]} -gt 0 ] || skip "strace cannot trace here: the order was not checked"
	re='fallocate\(.*65536|F_OFD_SETLK, \{l_type=F_RDLCK.*l_start=4611686018427387904|fchmod\(.*01600'
	order=$(grep -E "$re" "$t/trace" | sed -E 's/.*(fallocate|F_RDLCK|fchmod).*/\1/' | tr '\n' ' ')
	[ "$order" = "fallocate F_RDLCK fchmod " ] || fail_with "order: $order" "$(cat "$t/trace")"
}

@test "Python's resource tracker removes what SharedMemory only opened; the recipe's attach not" {
	need_shared_memory
	name=$(devshm_name)
	unset PSHM_DIR
	pshm create -s 4K "/$name"
	# Each run prints its resource tracker's PID: the tracker removes what it tracks after the
	# program has ended, so the test waits for it to end too.
	run --separate-stderr "$PYTHON" -c 'import sys
from multiprocessing import resource_tracker, shared_memory
shm = shared_memory.SharedMemory(sys.argv[1])
shm.close()
print(resource_tracker._resource_tracker._pid)' "$name"
	[ "$status" -eq 0 ]
	wait_gone "$output"
	[ ! -e "/dev/shm/$name" ]
	pshm create -s 4K "/$name"
	run --separate-stderr "$PYTHON" -c 'import os, sys
sys.path.insert(0, sys.argv[2])
import lease
from multiprocessing import resource_tracker
fd = os.open("/dev/shm/" + sys.argv[1], os.O_RDWR)
lease.attach(sys.argv[1], fd).close()
print(resource_tracker._resource_tracker._pid)' "$name" "$REPO_ROOT/examples"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ] || fail_with "$stderr"
	if [ "$output" != None ]; then
		wait_gone "$output"
	fi
	[ -e "/dev/shm/$name" ]
}

@test "an object Python leaked without a lease: pshm gc leaves it, pshm gc --unleased removes it" {
	need_shared_memory
	[ "$ME_UID" -eq 0 ] || skip "pshm gc --unleased needs to see every process: root"
	unshare -m --propagation private true 2>/dev/null ||
		skip "cannot make a mount namespace (unshare -m) for a private /dev/shm"
	commands_on_path
	unleased=$(doc_block sh-unleased)
	[ "$unleased" = "pshm gc --unleased --older-than 1h" ]
	unset PSHM_DIR
	# SharedMemory works in /dev/shm: a private one, so that gc looks at nothing else.
	run --separate-stderr unshare -m --propagation private sh -c '
		mount -t tmpfs -o size=4m tmpfs /dev/shm || exit 99
		"$1" -c "import sys
from multiprocessing import resource_tracker, shared_memory
shm = shared_memory.SharedMemory(sys.argv[1], create=True, size=4096)
resource_tracker.unregister(shm._name, \"shared_memory\")
shm.buf[:6] = b\"leaked\"
shm.close()" leaked || exit 98
		echo "made: $(ls /dev/shm)"
		pshm gc || exit 97
		echo "after gc: $(ls /dev/shm)"
		eval "$2" || exit 96
		echo "after older-than: $(ls /dev/shm)"
		pshm gc --unleased || exit 95
		echo "after unleased: $(ls /dev/shm)"' sh "$PYTHON" "$unleased"
	[ "$status" -ne 99 ] || skip "cannot mount a tmpfs on /dev/shm in a mount namespace"
	[ "$status" -eq 0 ] || fail_with "status $status" "$output" "$stderr"
	want=("made: leaked" "after gc: leaked" "after older-than: leaked")
	[ "${lines[0]}" = "${want[0]}" ] && [ "${lines[1]}" = "${want[1]}" ] &&
		[ "${lines[2]}" = "${want[2]}" ] || fail_with "$output"
	grep -qE '^/leaked +posix +4K +unused$' <<<"$output" || fail_with "$output"
	[ "${lines[-1]}" = "after unleased: " ]
}
