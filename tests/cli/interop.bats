#!/usr/bin/env bats
# pshm and the real thing: System V segments with ipcmk/ipcs/ipcrm, POSIX objects with Python's
# multiprocessing.shared_memory (which uses /dev/shm itself, whatever PSHM_DIR says).

load helpers

# The identifier of the segment with KEY, from ipcs.
sysv_id() {
	ipcs -m | awk -v k="$1" '$1 == k {print $2}'
}

# "bytes perms" of the segment with KEY, from ipcs.
sysv_ipcs() {
	ipcs -m | awk -v k="$1" '$1 == k {print $5, $4}'
}

# ---- System V ------------------------------------------------------------------------------

@test "create sysv:KEY makes a segment ipcs sees, with its size and mode" {
	key=$(sysv_key)
	run --separate-stderr pshm create -s 100 "sysv:$key"
	[ "$status" -eq 0 ]
	stdout_empty
	[ -z "$stderr" ]
	[ "$(sysv_ipcs "$key")" = "100 600" ]
	key2=$(sysv_key)
	pshm create -s 4K -m 640 "sysv:$key2"
	[ "$(sysv_ipcs "$key2")" = "4096 640" ]
	# Keys are decimal too.
	key3=$(sysv_key)
	pshm create -s 1 "sysv:$((key3))"
	[ "$(sysv_ipcs "$key3")" = "1 600" ]
}

@test "create sysv:0 makes a private segment and prints sysv:id=N" {
	# pshm's own PID, to find (and clean up) what it made whatever it prints.
	run --separate-stderr sh -c 'echo "$$" >"$1"; exec "$PSHM" create -s 64 sysv:0' sh \
		"$BATS_TEST_TMPDIR/pid"
	cpid=$(cat "$BATS_TEST_TMPDIR/pid")
	made=$(ipcs -m -p | awk -v p="$cpid" '$3 == p {print $1}')
	for id in $made; do sysv_track_id "$id"; done
	[ "$status" -eq 0 ]
	[[ $output =~ ^sysv:id=([0-9]+)$ ]] || fail_with "output: $output"
	id=${BASH_REMATCH[1]}
	[ "$made" = "$id" ]
	[ "$(ipcs -m | awk -v id="$id" '$2 == id {print $1, $5}')" = "0x00000000 64" ]
	pshm write "sysv:id=$id" private
	[ "$(pshm read -n 7 "sysv:id=$id")" = private ]
	pshm rm "sysv:id=$id"
	[ -z "$(ipcs -m | awk -v id="$id" '$2 == id')" ]
}

@test "sysv: write and read through the segment; its size is fixed" {
	key=$(sysv_key)
	pshm create -s 32 "sysv:$key"
	printf 'System V data' | pshm write "sysv:$key"
	pshm read "sysv:$key" >"$BATS_TEST_TMPDIR/out"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/out")" -eq 32 ]
	{
		printf 'System V data'
		head -c 19 /dev/zero
	} | cmp - "$BATS_TEST_TMPDIR/out"
	pshm write -o 30 "sysv:$key" ab
	[ "$(pshm read -o 28 "sysv:$key" | od -An -c | tr -s ' ')" = ' \0 \0 a b' ]
	# Beyond its end: an error, nothing written.
	run --separate-stderr pshm write -o 31 "sysv:$key" ab
	[ "$status" -eq 1 ]
	stderr_has "^pshm: write sysv:$key: the data does not fit"
	[ "$(pshm read -o 30 "sysv:$key")" = ab ]
	[ "$(sysv_ipcs "$key")" = "32 600" ]
	# dump matches hexdump -C of the same bytes.
	pshm read "sysv:$key" >"$BATS_TEST_TMPDIR/now"
	[ "$(pshm dump "sysv:$key")" = "$(hexdump -C "$BATS_TEST_TMPDIR/now")" ]
	[ "$(pshm dump -o 20 -n 11 "sysv:$key")" = "$(hexdump -C -s 20 -n 11 "$BATS_TEST_TMPDIR/now")" ]
}

@test "sysv: ls -k sysv shows it; rm removes it" {
	key=$(sysv_key)
	pshm create -s 4096 -m 644 "sysv:$key"
	run pshm ls -k sysv -o ADDRESS,KIND,SIZE,PERMS,KEY -b
	grep -qE "^sysv:$key +sysv +4096 +rw-r--r-- +$key$" <<<"$output" || fail_with "$output"
	run --separate-stderr pshm ls -k sysv -J
	stderr_view
	jq_true --arg a "sysv:$key" '.objects[] | select(.address == $a) | .size == 4096 and
		.kind == "sysv" and .perms == "rw-r--r--" and .sparse == false' <<<"$output"
	run --separate-stderr pshm rm "sysv:$key"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	! sysv_exists "$key"
	run --separate-stderr pshm ls -k sysv -J
	# No warning without a segment to count processes for; other programs' may be there.
	[ -z "$stderr" ] || stderr_view
	jq_true --arg a "sysv:$key" 'all(.objects[]; .address != $a)' <<<"$output"
}

@test "sysv: create of an existing key is an error; --existing-ok opens it" {
	key=$(sysv_key)
	pshm create -s 100 "sysv:$key"
	pshm write "sysv:$key" keep
	run --separate-stderr pshm create -s 100 "sysv:$key"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: create sysv:$key: File exists$"
	pshm create --existing-ok -s 50 "sysv:$key"
	[ "$(pshm read -n 4 "sysv:$key")" = keep ]
	[ "$(sysv_ipcs "$key")" = "100 600" ]
}

@test "sysv: chmod, chown and stat of a segment" {
	require_root
	key=$(sysv_key)
	pshm create -s 10 "sysv:$key"
	pshm chmod 640 "sysv:$key"
	pshm chown 65534:65534 "sysv:$key"
	[ "$(sysv_ipcs "$key")" = "10 640" ]
	[ "$(ipcs -m | awk -v k="$key" '$1 == k {print $3}')" = nobody ]
	run pshm stat -J "sysv:$key"
	jq_true '.[0] | .uid == 65534 and .gid == 65534 and .mode == "0640" and
		.creator_uid == 0' <<<"$output"
}

@test "sysv: missing keys and ids are exit 1 naming them; bad keys too" {
	key=$(sysv_key)
	for c in "read" "dump" "stat" "who" "rm" "chmod 600" "resize 10" "write"; do
		run --separate-stderr pshm $c "sysv:$key" </dev/null
		[ "$status" -eq 1 ] || fail_with "$c sysv:$key exited $status"
		grep -qF "pshm: ${c%% *} sysv:$key: " <<<"$stderr" || fail_with "$c:" "$stderr"
	done
	run --separate-stderr pshm rm -f "sysv:$key"
	[ "$status" -eq 0 ]
	for a in sysv:zzz sysv: sysv:id= sysv:id=x sysv:0x1g sysv:99999999999; do
		run --separate-stderr pshm stat "$a"
		[ "$status" -eq 1 ] || fail_with "stat $a exited $status"
		grep -qF "pshm: stat $a: " <<<"$stderr"
	done
	! sysv_exists "$key"
}

@test "sysv: a segment larger than the system allows is exit 1, nothing made" {
	key=$(sysv_key)
	run --separate-stderr pshm create -s 1T "sysv:$key"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: create sysv:$key: "
	! sysv_exists "$key"
}

@test "sysv: resize is refused for a segment, which cannot change size" {
	key=$(sysv_key)
	pshm create -s 100 "sysv:$key"
	run --separate-stderr pshm resize 200 "sysv:$key"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: resize sysv:$key: Operation not supported$"
	[ "$(sysv_ipcs "$key")" = "100 600" ]
}

@test "ipcmk: pshm sees, reads, writes and removes the segment it made" {
	out=$(ipcmk -M 4096 -p 0640)
	id=$(grep -o '[0-9]*$' <<<"$out")
	[ -n "$id" ]
	sysv_track_id "$id"
	key=$(ipcs -m | awk -v id="$id" '$2 == id {print $1}')
	run pshm ls -k sysv -J -o ADDRESS,ID,SIZE,PERMS,KEY
	jq_true --argjson id "$id" --arg k "$key" '.objects[] | select(.id == $id) | .size == 4096
		and .perms == "rw-r-----" and .key == $k' <<<"$output"
	run --separate-stderr pshm stat -J "sysv:id=$id"
	stderr_view
	jq_true --argjson id "$id" '.[0].id == $id and .[0].size == 4096' <<<"$output"
	[ "$(pshm read "sysv:id=$id" | wc -c)" -eq 4096 ]
	[ "$(pshm read "sysv:$key" | tr -d '\0' | wc -c)" -eq 0 ]
	pshm write "sysv:id=$id" 'from pshm'
	[ "$(pshm read -n 9 "sysv:$key")" = 'from pshm' ]
	pshm rm "sysv:id=$id"
	[ -z "$(ipcs -m | awk -v id="$id" '$2 == id')" ]
}

@test "ipcrm removes a segment pshm made; pshm then reports it missing" {
	key=$(sysv_key)
	pshm create -s 100 "sysv:$key"
	id=$(sysv_id "$key")
	ipcrm -M "$key"
	! sysv_exists "$key"
	run --separate-stderr pshm stat "sysv:$key"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: stat sysv:$key: No such file or directory$"
	run --separate-stderr pshm read "sysv:id=$id"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: read sysv:id=$id: "
	# ... and by identifier.
	pshm create -s 100 "sysv:$key"
	ipcrm -m "$(sysv_id "$key")"
	! sysv_exists "$key"
}

@test "sysv: permission denied as another user" {
	require_root
	key=$(sysv_key)
	pshm create -s 16 -m 600 "sysv:$key"
	pshm write "sysv:$key" secret
	for c in "read" "dump" "chmod 666" "rm"; do
		run --separate-stderr as_nobody "$PSHM" $c "sysv:$key"
		[ "$status" -eq 1 ] || fail_with "$c as nobody exited $status"
		stdout_empty
		stderr_has "^pshm: ${c%% *} sysv:$key: (Permission denied|Operation not permitted)$"
	done
	run as_nobody "$PSHM" write "sysv:$key" hacked
	[ "$status" -eq 1 ]
	[ "$(pshm read -n 6 "sysv:$key")" = secret ]
	[ "$(sysv_ipcs "$key")" = "16 600" ]
}

# ---- Python multiprocessing.shared_memory ----------------------------------------------------

@test "python creates and writes an object; pshm sees and reads it" {
	need_python
	name=$(devshm_name)
	unset PSHM_DIR
	"$PYTHON" -c '
import sys
from multiprocessing import shared_memory, resource_tracker
data = b"from python \x00\x01\xff"
shm = shared_memory.SharedMemory(name=sys.argv[1], create=True, size=len(data))
resource_tracker.unregister(shm._name, "shared_memory")
shm.buf[:len(data)] = data
shm.close()' "$name"
	[ -f "/dev/shm/$name" ]
	pshm read "/$name" >"$BATS_TEST_TMPDIR/out"
	printf 'from python \0\001\377' | cmp - "$BATS_TEST_TMPDIR/out"
	run --separate-stderr pshm stat -J "/$name"
	stderr_view
	jq_true '.[0].size == 15 and .[0].kind == "posix"' <<<"$output"
	run --separate-stderr pshm ls -k posix -J
	stderr_view
	jq_true --arg a "/$name" 'any(.objects[]; .address == $a and .size == 15)' <<<"$output"
	pshm rm "/$name"
	[ ! -e "/dev/shm/$name" ]
}

@test "pshm creates and writes an object; python reads it" {
	need_python
	name=$(devshm_name)
	unset PSHM_DIR
	head -c 10000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
	pshm create "/$name"
	pshm write "/$name" <"$BATS_TEST_TMPDIR/in"
	"$PYTHON" -c '
import sys
from multiprocessing import shared_memory, resource_tracker
shm = shared_memory.SharedMemory(name=sys.argv[1])
resource_tracker.unregister(shm._name, "shared_memory")
data = bytes(shm.buf[:10000])
assert shm.size >= 10000, shm.size
open(sys.argv[2], "wb").write(data)
shm.close()' "$name" "$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
	# Python still finds it after; pshm removes it and python no longer can.
	[ -f "/dev/shm/$name" ]
	pshm rm "/$name"
	run "$PYTHON" -c '
import sys
from multiprocessing import shared_memory
shared_memory.SharedMemory(name=sys.argv[1])' "$name"
	[ "$status" -ne 0 ]
	grep -q FileNotFoundError <<<"$output"
}

@test "python and pshm share live memory: a write by one is seen by the other" {
	need_python
	name=$(devshm_name)
	unset PSHM_DIR
	pshm create -s 4096 "/$name"
	"$PYTHON" -c '
import sys, time, os
from multiprocessing import shared_memory, resource_tracker
shm = shared_memory.SharedMemory(name=sys.argv[1])
resource_tracker.unregister(shm._name, "shared_memory")
open(sys.argv[2], "w").close()
for _ in range(500):
    if bytes(shm.buf[:5]) == b"ping!":
        shm.buf[100:105] = b"pong!"
        break
    time.sleep(0.01)
time.sleep(30)' "$name" "$BATS_TEST_TMPDIR/ready" >/dev/null 2>&1 3>&- &
	pid=$!
	track $pid
	wait_until test -e "$BATS_TEST_TMPDIR/ready"
	pshm write -k "/$name" 'ping!'
	wait_until sh -c '[ "$("$PSHM" read -o 100 -n 5 "/$1")" = "pong!" ]' sh "$name"
	run --separate-stderr pshm who -J "/$name"
	stderr_view
	who_json_unmark "/$name"
	jq_true --argjson p "$pid" 'any(.processes[]; .pid == $p and .access == "map rw")' \
		<<<"$output"
	[ "$(stat -c %s "/dev/shm/$name")" -eq 4096 ]
}
