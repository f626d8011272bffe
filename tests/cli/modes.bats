#!/usr/bin/env bats
# Modes, owners and sizes as chmod(1), chown(1) and ipcmk(1) take them: symbolic modes for chmod
# and every -m, unknown users and groups told apart from malformed owners, sizes with units in
# any case and in hexadecimal.

load helpers

# The object's permission bits in octal, as stat(1) shows them.
mode_of() {
	stat -c %a "$PSHM_DIR/${1#/}"
}

# "UID GID" of the object's file.
owner_of() {
	stat -c '%u %g' "$PSHM_DIR/${1#/}"
}

# Set /m to mode START with chmod(1), apply MODE with pshm chmod, and check the result is WANT.
check_chmod() {
	local start=$1 mode=$2 want=$3
	chmod "$start" "$PSHM_DIR/m"
	pshm chmod -- "$mode" /m || fail_with "chmod '$mode' on $start failed" || return
	[ "$(mode_of /m)" = "$want" ] ||
		fail_with "chmod '$mode' on $start: expected $want, got $(mode_of /m)"
}

# ---- chmod: symbolic modes ----------------------------------------------------------------------

@test "chmod: symbolic modes change the current mode, as chmod(1) does" {
	pshm create /m
	check_chmod 600 u+x 700
	check_chmod 600 g+r 640
	check_chmod 600 o=rw 606
	check_chmod 600 a-w 400
	check_chmod 777 go-rwx 700
	check_chmod 600 a=r 444
	check_chmod 755 ug=rw,o= 660
	check_chmod 644 u-w,g+w,o-r 460
	check_chmod 640 u=rwx,g=u-w,o=g 755
	check_chmod 640 g=u 660
	check_chmod 750 o+g 755
	check_chmod 640 go=u-x 666
	check_chmod 600 u+rwx-w 500
	check_chmod 640 = 0
	check_chmod 640 u+ 640
	check_chmod 640 g-r,g+r,g-r 600
	check_chmod 600 ugo+r 644
	check_chmod 640 aog-r 200
}

@test "chmod: no class means all of them, whatever the umask" {
	pshm create /m /n
	chmod 600 "$PSHM_DIR/m"
	run --separate-stderr sh -c 'umask 077 && exec "$PSHM" chmod +rx /m'
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(mode_of /m)" = 755 ]
	chmod 666 "$PSHM_DIR/n"
	run --separate-stderr sh -c 'umask 022 && exec "$PSHM" chmod =w /n'
	[ "$status" -eq 0 ]
	[ "$(mode_of /n)" = 222 ]
}

@test "chmod: X adds execute only where someone may execute already" {
	pshm create /m
	check_chmod 640 +X 640
	check_chmod 640 a+rX 644
	check_chmod 710 go+X 711
	check_chmod 700 o=rX 705
	# In one mode, X looks at what the clauses before it made.
	check_chmod 600 u+x,g+X 710
	check_chmod 700 u-x,g+X 600
}

@test "chmod: s sets set-user-ID with u, set-group-ID with g; t is refused" {
	pshm create /m
	check_chmod 750 u+s 4750
	check_chmod 750 g+s 2750
	check_chmod 750 +s 6750
	check_chmod 750 o+s 750
	check_chmod 6750 u-s 2750
	check_chmod 6750 u=rwx 2750
	check_chmod 6750 a=rx 555
	chmod 640 "$PSHM_DIR/m"
	for m in +t o+t a=rwxt u+s,o+t; do
		run --separate-stderr pshm chmod -- "$m" /m
		[ "$status" -eq 2 ] || fail_with "chmod '$m' exited $status"
		stdout_empty
		grep -qF -- "pshm chmod: invalid mode '$m': the sticky bit marks leased objects" \
			<<<"$stderr" || fail_with "'$m':" "$stderr"
	done
	[ "$(mode_of /m)" = 640 ]
}

@test "chmod: a symbolic mode applies to each object's own mode" {
	pshm create -m 600 /a
	pshm create -m 644 /b
	pshm create -m 750 /c
	run --separate-stderr pshm chmod g+w,o-r /a /b /missing /c
	[ "$status" -eq 1 ]
	stderr_has '^pshm: chmod /missing: No such file or directory$'
	[ "$(mode_of /a)" = 620 ]
	[ "$(mode_of /b)" = 660 ]
	[ "$(mode_of /c)" = 770 ]
	# File addresses too, and the result shows in pshm stat.
	pshm create "file:$PSHM_DIR/f"
	pshm chmod go+r "file:$PSHM_DIR/f"
	[ "$(mode_of f)" = 644 ]
	run pshm stat -J /b
	jq_true '.[0].mode == "0660"' <<<"$output"
}

@test "chmod: a mode beginning with - may come first, as in chmod -w" {
	pshm create -m 664 /a /b
	pshm chmod -w /a /b
	[ "$(mode_of /a)" = 444 ]
	[ "$(mode_of /b)" = 444 ]
	pshm chmod -- -r,u+rw /a
	[ "$(mode_of /a)" = 600 ]
	pshm chmod -rwx /b
	[ "$(mode_of /b)" = 0 ]
	# An option is still an option, and one that is no mode is still refused.
	run --separate-stderr pshm chmod -h
	[ "$status" -eq 0 ]
	[[ $output == *"MODE is octal (640) or symbolic"* ]]
	run --separate-stderr pshm chmod -q /a
	[ "$status" -eq 2 ]
	[ "$(mode_of /a)" = 600 ]
}

@test "chmod: a leased object's sticky bit stays, whatever a symbolic mode says" {
	pshm create -m 640 /l
	chmod 1640 "$PSHM_DIR/l"
	pshm chmod go= /l
	[ "$(mode_of /l)" = 1600 ]
	pshm chmod a=r /l
	[ "$(mode_of /l)" = 1444 ]
	pshm chmod u+w,g=u /l
	[ "$(mode_of /l)" = 1664 ]
}

@test "chmod: symbolic modes on a System V segment; set-id bits refused there" {
	local key
	key=$(sysv_key)
	pshm create -s 4K "sysv:$key"
	pshm chmod g+r,o+r "sysv:$key"
	run pshm stat -J "sysv:$key"
	jq_true '.[0].mode == "0644"' <<<"$output"
	run --separate-stderr pshm chmod u+s "sysv:$key"
	[ "$status" -eq 1 ]
	stderr_has "^pshm: chmod sysv:$key: System V segments have no set-user-ID.*mode 4644 cannot be given$"
	run pshm stat -J "sysv:$key"
	jq_true '.[0].mode == "0644"' <<<"$output"
}

@test "chmod: malformed modes are exit 2 and change nothing" {
	pshm create -m 640 /a
	for m in u x+r u+q U+w u+W ',' 'u+w,' ',u+w' 'ug=rw,,o=' u=gw u=go ' u+w' 'u+w ' \
		'u+w;o-r' +7 -1 9 0x1ff 7a ''; do
		run --separate-stderr pshm chmod -- "$m" /a
		[ "$status" -eq 2 ] || fail_with "chmod '$m' exited $status"
		stdout_empty
		grep -qF -- "pshm chmod: invalid mode '$m': expected octal bits such as 600 or 0644, or symbolic ones such as u+w, go-rwx or a=r" <<<"$stderr" ||
			fail_with "'$m':" "$stderr"
	done
	[ "$(mode_of /a)" = 640 ]
}

# ---- -m MODE of a new object ----------------------------------------------------------------------

@test "create -m: a symbolic mode changes the default 600, whatever the umask" {
	run --separate-stderr sh -c 'umask 777 && exec "$PSHM" create -m g+r /a'
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(mode_of /a)" = 640 ]
	pshm create -m a=rw /b
	[ "$(mode_of /b)" = 666 ]
	pshm create -m u=rwx,go= /c
	[ "$(mode_of /c)" = 700 ]
	pshm create -m go=u-x /d
	[ "$(mode_of /d)" = 666 ]
	pshm create -m +X /e
	[ "$(mode_of /e)" = 600 ]
	pshm create -m u-rw /none
	[ "$(mode_of /none)" = 0 ]
	pshm create -m g+s /sgid
	[ "$(mode_of /sgid)" = 2600 ]
	# The last -m counts, applied to 600 as the others are not.
	pshm create -m g+r -m o+r /last
	[ "$(mode_of /last)" = 604 ]
	pshm create -m 640 -m u+x /octal
	[ "$(mode_of /octal)" = 700 ]
}

@test "create, chan create, hold --create: malformed and sticky modes are exit 2, nothing made" {
	local m c
	for m in u+q o+t 'a=r,' g; do
		for c in create "chan create" "hold --create"; do
			# shellcheck disable=SC2086
			run --separate-stderr "$PSHM" $c -m "$m" /x -- true
			[ "$status" -eq 2 ] || fail_with "$c -m '$m' exited $status"
			grep -qF -- "pshm ${c% --create}: invalid mode '$m': " <<<"$stderr" ||
				fail_with "$c -m '$m':" "$stderr"
			stderr_has "(or symbolic ones such as|the sticky bit marks leased objects)"
		done
	done
	dir_holds
}

@test "chan create -m and hold --create -m take symbolic modes too" {
	pshm chan create --capacity 64kib -m g+r /ch
	[ "$(mode_of /ch)" = 640 ]
	run --separate-stderr pshm hold --create -s 0x1000 -m a+r /h -- stat -c '%a %s' "$PSHM_DIR/h"
	[ "$status" -eq 0 ]
	[ "$output" = "644 4096" ]
}

# ---- chown: unknown users and groups ------------------------------------------------------------

@test "chown: an unknown user or group fails (exit 1), a malformed owner is exit 2; nothing changed" {
	pshm create /a /b
	local before
	before=$(owner_of /a)
	run --separate-stderr pshm chown nosuchuser /a /b
	[ "$status" -eq 1 ]
	stdout_empty
	[ "$stderr" = "pshm: chown: unknown user 'nosuchuser'" ]
	run --separate-stderr pshm chown "$ME_USER:nosuchgroup" /a
	[ "$status" -eq 1 ]
	[ "$stderr" = "pshm: chown: unknown group 'nosuchgroup'" ]
	run --separate-stderr pshm chown :nosuchgroup /a
	[ "$status" -eq 1 ]
	[ "$stderr" = "pshm: chown: unknown group 'nosuchgroup'" ]
	run --separate-stderr pshm chown nosuchuser:nosuchgroup /a
	[ "$status" -eq 1 ]
	stderr_has "^pshm: chown: unknown user 'nosuchuser'$"
	stderr_has "^pshm: chown: unknown group 'nosuchgroup'$"
	# A name that begins with a digit is a name, looked up as one.
	run --separate-stderr pshm chown 1x /a
	[ "$status" -eq 1 ]
	[ "$stderr" = "pshm: chown: unknown user '1x'" ]
	# Names are shown escaped.
	run --separate-stderr pshm chown "$(printf 'no\033[2Juser')" /a
	[ "$status" -eq 1 ]
	[ "$stderr" = "pshm: chown: unknown user 'no\\x1b[2Juser'" ]
	# Text that is no owner at all stays a usage error.
	for o in '' : :: a:b:c -1 +1 root:-5 4294967295 99999999999 "$(printf 'x%.0s' $(seq 300))"; do
		run --separate-stderr pshm chown -- "$o" /a
		[ "$status" -eq 2 ] || fail_with "chown '$o' exited $status"
		stdout_empty
		grep -qF -- "pshm chown: invalid owner '$o': expected USER[:GROUP]" <<<"$stderr" ||
			fail_with "'$o':" "$stderr"
	done
	[ "$(owner_of /a)" = "$before" ]
	[ "$(owner_of /b)" = "$before" ]
}

@test "chown: a number is an ID whether or not a user or group has it" {
	require_root
	local uid=4242 gid=4343
	! getent passwd "$uid" >/dev/null || skip "uid $uid has a passwd entry here"
	! getent group "$gid" >/dev/null || skip "gid $gid has a group entry here"
	pshm create /a
	pshm chown "$uid" /a
	[ "$(owner_of /a)" = "$uid 0" ]
	pshm chown ":$gid" /a
	[ "$(owner_of /a)" = "$uid $gid" ]
	# OWNER: takes a login group, which such a user has not: a failure, nothing changed.
	run --separate-stderr pshm chown "$uid:" /a
	[ "$status" -eq 1 ]
	stderr_has "^pshm: chown: user $uid has no login group to take$"
	stderr_has "^pshm: name the group, as in $uid:GROUP$"
	[ "$(owner_of /a)" = "$uid $gid" ]
}

# ---- sizes ------------------------------------------------------------------------------------------

@test "sizes: units in any case, as ipcmk takes them, on create -s and resize" {
	local s want
	while read -r s want; do
		pshm create --sparse -s "$s" /x
		[ "$(size_of /x)" = "$want" ] || fail_with "create -s $s: $(size_of /x), not $want"
		pshm rm /x
	done <<-'EOF'
		10mb 10000000
		10MB 10000000
		10m 10485760
		10mib 10485760
		4k 4096
		4kib 4096
		4KIB 4096
		4kb 4000
		4Kb 4000
		100b 100
		1.5kib 1536
	EOF
	pshm create /r
	pshm resize 4kb /r
	[ "$(size_of /r)" = 4000 ]
	pshm resize +1kib /r
	[ "$(size_of /r)" = 5024 ]
	pshm resize -- -24b /r
	[ "$(size_of /r)" = 5000 ]
	pshm resize 1m /r
	[ "$(size_of /r)" = 1048576 ]
}

@test "sizes: hexadecimal counts of bytes, on create -s, resize, read and chan create" {
	pshm create -s 0x1000 /a
	[ "$(size_of /a)" = 4096 ]
	pshm create -s 0X1000 /b
	[ "$(size_of /b)" = 4096 ]
	pshm create -s 0x10b /c
	[ "$(size_of /c)" = 267 ]
	pshm resize 0x2000 /a
	[ "$(size_of /a)" = 8192 ]
	pshm resize +0x1000 /a
	[ "$(size_of /a)" = 12288 ]
	pshm resize -0x2000 /a
	[ "$(size_of /a)" = 4096 ]
	# A leading 0 alone is no octal.
	pshm resize 010 /a
	[ "$(size_of /a)" = 10 ]
	pshm write /a abcdefghij
	pshm write -o 0xa /a KL
	run pshm read -o 0x2 -n 0X3 /a
	[ "$output" = cde ]
	run pshm read -o 8 /a
	[ "$output" = ijKL ]
	pshm chan create --capacity 0x10000 /ch
	run pshm chan stat -J /ch
	jq_true '.capacity == 65536' <<<"$output"
}

@test "sizes: hex with a unit or fraction, bare 0x, unknown units and overflow are exit 2" {
	pshm create -s 4K /r
	local s
	for s in 0x 0X 0xg 0x10K 0x10kib 0x1.5 0x-1 0x+1 '0x 10' 00x10 4ib 4kbit 4kibb 4bb 4I \
		'10 mb' 0x8000000000000000 0xffffffffffffffffff; do
		run --separate-stderr pshm create -s "$s" /x
		[ "$status" -eq 2 ] || fail_with "create -s '$s' exited $status"
		stdout_empty
		grep -qF -- "pshm create: invalid size '$s': " <<<"$stderr" || fail_with "'$s':" "$stderr"
		stderr_has "(not a size|too large) \(sizes look like .*, 0x1000\)$"
		run --separate-stderr pshm resize "$s" /r
		[ "$status" -eq 2 ] || fail_with "resize '$s' exited $status"
		grep -qF -- "pshm resize: invalid size '$s': " <<<"$stderr" || fail_with "'$s':" "$stderr"
	done
	run --separate-stderr pshm create -s 0x8000000000000000 /x
	stderr_has "too large"
	[ "$(size_of /r)" = 4096 ]
	dir_holds r
}

@test "help and manual tell the sizes and modes taken" {
	run pshm --help
	[[ $output == *"any case (10mb, 4kib)"* ]]
	[[ $output == *"0x1000 (hexadecimal bytes, no unit)"* ]]
	for c in create "chan create" hold; do
		# shellcheck disable=SC2086
		run pshm $c --help
		[[ $output == *"symbolic on 600"* ]] || fail_with "$c --help:" "$output"
	done
	run pshm chown --help
	[[ $output == *"OWNER and GROUP are names or numbers"* ]]
}
