#!/usr/bin/env bats
# Times and the output options of pshm ls, stat and who: --time-format, JSON and raw times,
# --newline, who's -o, -r and --noheadings, and stat -o.

load helpers

# 2024-03-01 10:20:30 UTC, and a zone 5:30 east of UTC that needs no tzdata (a POSIX TZ).
T=1709288430
EAST=XST-05:30

# Make /NAME with its modification time at T.
make_at_t() {
	pshm create -s 4K "/$1"
	touch -m -d "@$T" "$PSHM_DIR/$1"
}

# The MTIME cell of ls -n for /t with the options given.
ls_mtime() {
	pshm ls -k posix -n -o MTIME "$@"
}

# Start a process that holds /NAME on descriptor 4, read-only; HOLDER is its PID, and T0 and
# T1 the seconds since the Epoch just before it started and once it runs.
hold_ro() {
	T0=$(date +%s)
	sleep 1000 4<"$PSHM_DIR/${1#/}" >/dev/null 2>&1 3>&- &
	HOLDER=$!
	track $HOLDER
	wait_comm $HOLDER sleep
	T1=$(date +%s)
}

# The lines of $output that are the holder's, runs of spaces made one (pshm itself and the "?"
# line of processes that could not be seen are left out).
holder_lines() {
	grep -E "(^| |\")$HOLDER( |\"|$)" <<<"$output" | tr -s ' '
}

@test "timefmt: ls --time-format shows each format, the zone in all but short" {
	make_at_t t
	export TZ=$EAST
	[ "$(ls_mtime --time-format=full)" = "2024-03-01 15:50:30 +0530" ]
	[ "$(ls_mtime --time-format=iso)" = "2024-03-01T15:50:30+05:30" ]
	[ "$(ls_mtime --time-format=epoch)" = "$T" ]
	[ "$(ls_mtime --time-format=short)" = "2024-Mar01" ]
	# The default of a table: full, with the zone.
	[ "$(ls_mtime)" = "2024-03-01 15:50:30 +0530" ]
	[ "$(TZ=XST+03:00 pshm ls -k posix -n -o MTIME --time-format iso)" = "2024-03-01T07:20:30-03:00" ]
}

@test "timefmt: short is the time of day today and the month and day this year" {
	pshm create /t
	local now c
	c=$(stat -c %Z "$PSHM_DIR/t")
	[ "$(pshm ls -n -k posix -o CTIME --time-format=short)" = "$(date -d "@$c" +%H:%M)" ]
	[ "$(date +%j)" != 001 ] || skip "on January 1st no other day of this year is past"
	now=$(date +%s)
	touch -m -d "@$((now - 86400))" "$PSHM_DIR/t"
	[ "$(ls_mtime --time-format=short)" = "$(LC_ALL=C date -d "@$((now - 86400))" +%b%d)" ]
}

@test "timefmt: ls -J has ISO 8601 times, or numbers with epoch" {
	make_at_t t
	export TZ=$EAST
	for f in "" --time-format=short --time-format=full --time-format=iso; do
		run --separate-stderr pshm ls -k posix -J -o ADDRESS,MTIME $f
		[ "$status" -eq 0 ]
		jq_true '.objects[0].mtime == "2024-03-01T15:50:30+05:30"' <<<"$output"
	done
	run --separate-stderr pshm ls -k posix -J -o MTIME,CTIME --time-format=epoch
	[ "$status" -eq 0 ]
	jq_true --argjson t "$T" --argjson c "$(stat -c %Z "$PSHM_DIR/t")" \
		'.objects[0] | .mtime == $t and .ctime == $c' <<<"$output"
}

@test "timefmt: Python's datetime.fromisoformat reads the JSON times of ls, stat and who" {
	need_python
	make_at_t t
	hold_ro /t
	export TZ=$EAST
	{
		pshm ls -k posix -J -o MTIME | jq -r '.objects[0].mtime'
		pshm stat -J /t | jq -r '.[0].modify_time'
		pshm who -J -o +START /t | jq -r --argjson p "$HOLDER" '.processes[] | select(.pid == $p) | .start'
	} >"$BATS_TEST_TMPDIR/times"
	run "$PYTHON" -c 'import datetime, sys
for line in open(sys.argv[1]):
    t = datetime.datetime.fromisoformat(line.strip())
    assert t.utcoffset() == datetime.timedelta(hours=5, minutes=30), line
    print(int(t.timestamp()))' "$BATS_TEST_TMPDIR/times"
	[ "$status" -eq 0 ] || fail_with "$output"
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = "$T" ] && [ "${lines[1]}" = "$T" ]
	[ "${lines[2]}" -ge $((T0 - 1)) ] && [ "${lines[2]}" -le $((T1 + 1)) ]
}

@test "timefmt: raw output has ISO times without spaces; full asked for is escaped" {
	make_at_t t
	export TZ=$EAST
	run --separate-stderr pshm ls -k posix -r -o ADDRESS,MTIME
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "/t 2024-03-01T15:50:30+05:30" ]
	run --separate-stderr pshm ls -k posix -r -o ADDRESS,MTIME --time-format=full
	[ "${lines[1]}" = '/t 2024-03-01\x2015:50:30\x20+0530' ]
	run --separate-stderr pshm ls -k posix -r -n -o ADDRESS,MTIME --time-format=epoch
	[ "$output" = "/t $T" ]
}

@test "timefmt: stat shows times with the zone, in each format" {
	make_at_t t
	export TZ=$EAST
	run --separate-stderr pshm stat /t
	[ "$status" -eq 0 ]
	grep -qx "modify_time: 2024-03-01 15:50:30 +0530" <<<"$output"
	run --separate-stderr pshm stat -o mtime --time-format=iso /t
	[ "$output" = "modify_time: 2024-03-01T15:50:30+05:30" ]
	run --separate-stderr pshm stat -o mtime --time-format=epoch /t
	[ "$output" = "modify_time: $T" ]
	run --separate-stderr pshm stat -o mtime --time-format=short /t
	[ "$output" = "modify_time: 2024-Mar01" ]
	run --separate-stderr pshm stat -o mtime --time-format=full /t
	[ "$output" = "modify_time: 2024-03-01 15:50:30 +0530" ]
	run --separate-stderr pshm stat -J /t
	jq_true '.[0].modify_time == "2024-03-01T15:50:30+05:30"' <<<"$output"
	run --separate-stderr pshm stat -J --time-format=epoch /t
	jq_true --argjson t "$T" '.[0] | .modify_time == $t and (.change_time | type) == "number"
		and (.access_time | type) == "number"' <<<"$output"
}

@test "timefmt: a System V time that never was is - and JSON null" {
	local key
	key=$(sysv_key)
	pshm create -s 4K "sysv:$key"
	run --separate-stderr pshm stat -o ATIME,MTIME,CTIME "sysv:$key"
	[ "${lines[0]}" = "attach_time: -" ] && [ "${lines[1]}" = "detach_time: -" ]
	[[ ${lines[2]} == "change_time: "[0-9][0-9][0-9][0-9]-*" "[+-][0-9][0-9][0-9][0-9] ]]
	for f in iso epoch; do
		run --separate-stderr pshm stat -J -o ATIME,CTIME --time-format=$f "sysv:$key"
		jq_true '.[0].attach_time == null and .[0].change_time != null' <<<"$output"
	done
}

@test "timefmt: who START in each format, when the process started" {
	pshm create /t
	hold_ro /t
	run --separate-stderr pshm who -o PID,START --time-format=epoch /t
	[ "$status" -eq 0 ]
	local e
	e=$(holder_lines | awk '{ print $2 }')
	[ "$e" -ge $((T0 - 1)) ] && [ "$e" -le $((T1 + 1)) ] || fail_with "$output"
	export TZ=$EAST
	run --separate-stderr pshm who -n -o PID,START --time-format=full /t
	[ "$(holder_lines)" = "$HOLDER $(date -d "@$e" '+%Y-%m-%d %H:%M:%S %z')" ] ||
		fail_with "$output"
	run --separate-stderr pshm who -n -o PID,START --time-format=iso /t
	[ "$(holder_lines)" = "$HOLDER $(date -d "@$e" '+%Y-%m-%dT%H:%M:%S%:z')" ]
	run --separate-stderr pshm who -n -o PID,START --time-format=short /t
	[ "$(holder_lines)" = "$HOLDER $(date -d "@$e" +%H:%M)" ]
	run --separate-stderr pshm who -n -o PID,START /t
	[ "$(holder_lines)" = "$HOLDER $(date -d "@$e" '+%Y-%m-%d %H:%M:%S %z')" ]
	run --separate-stderr pshm who -J -o PID,START --time-format=epoch /t
	jq_true --argjson p "$HOLDER" --argjson e "$e" \
		'.processes[] | select(.pid == $p) | .start == $e' <<<"$output"
}

@test "timefmt: who -o chooses the columns, + adds to the default ones" {
	pshm create /t
	hold_ro /t
	run --separate-stderr pshm who -o pid,ACCESS /t
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "PID    ACCESS" ] || [[ ${lines[0]} =~ ^PID\ +ACCESS$ ]]
	[[ $(holder_lines) =~ ^$HOLDER\ +fd\ 4\ ro$ ]] || fail_with "$output"
	run --separate-stderr pshm who -o +START /t
	read -ra h <<<"${lines[0]}"
	[ "${h[*]}" = "ADDRESS PID USER COMMAND ACCESS START" ]
	run --separate-stderr pshm who -J -o PID,COMMAND /t
	jq_true --argjson p "$HOLDER" '.processes[] | select(.pid == $p) |
		keys_unsorted == ["pid", "command"] and .command == "sleep"' <<<"$output"
}

@test "timefmt: who -r escapes spaces and --noheadings drops the heading" {
	pshm create /t
	hold_ro /t
	run --separate-stderr pshm who -r /t
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "ADDRESS PID USER COMMAND ACCESS" ]
	[ "$(holder_lines)" = "/t $HOLDER $ME_USER sleep fd\\x204\\x20ro" ]
	run --separate-stderr pshm who --noheadings -r -o PID,ACCESS /t
	[ "$(head -n1 <<<"$output")" = "$HOLDER fd\\x204\\x20ro" ] || fail_with "$output"
	run --separate-stderr pshm who -n -r -o PID /t
	[ "$(head -n1 <<<"$output")" = "$HOLDER" ]
	run --separate-stderr pshm who --noheadings -o PID /t
	[[ ${lines[0]} =~ ^$HOLDER\ *$ ]]
}

@test "timefmt: stat -o shows only the keys asked for, in their order" {
	pshm create -s 3000 /t
	run --separate-stderr pshm stat -o MODE,size,Inode /t
	[ "$status" -eq 0 ]
	[ "$output" = "mode: 0600
size: 3000
size_human: 2.9K
inode: $(stat -c %i "$PSHM_DIR/t")" ]
	run --separate-stderr pshm stat -b -o SIZE,KEY,SIZE /t
	[ "$output" = "size: 3000" ]
	run --separate-stderr pshm stat -J -o owner,perms,status /t
	jq_true --arg u "$ME_USER" '.[0] | keys_unsorted == ["owner", "perms", "leased"] and
		.owner == $u and .perms == "rw-------" and .leased == false' <<<"$output"
	run --separate-stderr pshm stat -o ADDRESS /t /nosuch
	[ "$status" -eq 1 ]
	[ "$output" = "address: /t" ]
	stderr_has "^pshm: stat /nosuch: "
}

@test "timefmt: stat -o with or without processes" {
	pshm create /t
	hold_ro /t
	run --separate-stderr pshm stat -o PIDS,NPROCS /t
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^pids:\ $HOLDER(,\?)?$ ]] && [[ ${lines[1]} =~ ^processes:\ 1\??$ ]]
	[ "${#lines[@]}" -eq 2 ]
	run --separate-stderr pshm stat -J -o NPROCS /t
	jq_true '.[0] | keys == ["processes"]' <<<"$output"
	# Nothing about processes: no scan, so no warning however little can be seen.
	run --separate-stderr pshm stat -o KIND /t
	[ "$output" = "kind: posix" ] && [ -z "$stderr" ]
}

@test "timefmt: --newline prints NAME=\"value\" lines that a shell can read back" {
	pshm create '/a"$b c'
	pshm create /z
	run --separate-stderr pshm ls -k posix --newline -o ADDRESS,PERMS
	[ "$status" -eq 0 ]
	[ "$output" = 'ADDRESS="/a\x22\x24b c"
PERMS="rw-------"

ADDRESS="/z"
PERMS="rw-------"' ] || fail_with "$output"
	local ADDRESS
	eval "$(head -n1 <<<"$output")"
	[ "$(printf '%b' "$ADDRESS")" = '/a"$b c' ]
	run --separate-stderr pshm ls -k posix --newline -n -o MTIME --time-format=epoch
	[ "$output" = "MTIME=\"$(stat -c %Y "$PSHM_DIR/a\"\$b c")\"

MTIME=\"$(stat -c %Y "$PSHM_DIR/z")\"" ]
	hold_ro /z
	run --separate-stderr pshm who --newline -o PID,ACCESS /z
	[ "$status" -eq 0 ]
	[ "$(head -n2 <<<"$output")" = "PID=\"$HOLDER\"
ACCESS=\"fd 4 ro\"" ] || fail_with "$output"
}

@test "timefmt: a bad --time-format is a usage error naming the formats" {
	pshm create /t
	for cmd in "ls" "stat /t" "who /t"; do
		# shellcheck disable=SC2086
		run --separate-stderr pshm $cmd --time-format=long
		[ "$status" -eq 2 ] && [ -z "$output" ]
		stderr_has "^pshm ${cmd% *}: unknown time format 'long': formats are short, full, iso and epoch$"
		# shellcheck disable=SC2086
		run --separate-stderr pshm $cmd --time-format=
		[ "$status" -eq 2 ]
		stderr_has "unknown time format ''"
		# shellcheck disable=SC2086
		run --separate-stderr pshm $cmd --time-format
		[ "$status" -eq 2 ]
	done
}

@test "timefmt: --newline with -J or -r, and unknown columns, are usage errors" {
	pshm create /t
	for o in -J -r; do
		run --separate-stderr pshm ls --newline $o
		[ "$status" -eq 2 ] && [ -z "$output" ]
		stderr_has "^pshm ls: --newline goes with neither --json nor --raw$"
		run --separate-stderr pshm who $o --newline /t
		[ "$status" -eq 2 ] && [ -z "$output" ]
	done
	run --separate-stderr pshm who -o PID,BOGUS /t
	[ "$status" -eq 2 ] && [ -z "$output" ]
	stderr_has "^pshm who: unknown column 'BOGUS': columns are ADDRESS, PID, USER, COMMAND, ACCESS and START$"
	run --separate-stderr pshm stat -o size,nope /t
	[ "$status" -eq 2 ] && [ -z "$output" ]
	stderr_has "^pshm stat: unknown column 'nope': columns are ADDRESS, KIND, SIZE, .*, INODE and LINKS$"
	run --separate-stderr pshm ls -o ADDRESS,nope
	stderr_has "^pshm ls: unknown column 'nope': columns are ADDRESS, KIND, .* and LEASES$"
	# who shows no sizes and stat has no table.
	run --separate-stderr pshm who -b /t
	[ "$status" -eq 2 ]
	run --separate-stderr pshm stat -r /t
	[ "$status" -eq 2 ]
}
