#!/usr/bin/env bats
# text.bats - names and command names are any bytes; what pshm prints of them is valid UTF-8
# with no control or reordering character, escaped as \xHH in a way that can be undone.

load helpers

# Names as bytes, and how tables, stat lines and messages show them.
N_BAD=$'\xff\xfebad'
E_BAD='\xff\xfebad'
N_ESC=$'red\e[31mx'
E_ESC='red\x1b[31mx'
N_TAB=$'a\tb'
E_TAB='a\x09b'
N_NL=$'a\nb'
E_NL='a\x0ab'
N_BSL='b\x1b' # a backslash, an x, a 1 and a b: not an escape
E_BSL='b\x5cx1b'
N_JA=$'\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e' # three Japanese characters, two columns each
E_JA=$N_JA
N_C1=$'c1\xc2\x9bx' # U+009B, the one-character CSI
E_C1='c1\xc2\x9bx'
N_BIDI=$'bidi\xe2\x80\xaegpj.exe' # U+202E turns the rest of the line around
E_BIDI='bidi\xe2\x80\xaegpj.exe'
NAMES=(N_BAD N_ESC N_TAB N_NL N_BSL N_JA N_C1 N_BIDI)

make_all() {
	local v
	for v in "${NAMES[@]}"; do
		pshm create -s 4K "/${!v}" || return 1
	done
}

hex() {
	printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'
}

# Standard input must be strict UTF-8 with no control character but the newline, and none of
# the characters that reorder or break lines.
safe_text() {
	"$PYTHON" -c '
import sys
t = sys.stdin.buffer.read().decode("utf-8", "strict")
bad = sorted({c for c in t if c != "\n" and (ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f
              or 0x2028 <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069
              or c in "\u061c\u200e\u200f")})
sys.exit("unsafe characters: %r" % bad if bad else 0)'
}

# Parse the JSON on standard input strictly (UTF-8, no lone surrogates) and print in hex, one
# a line, the bytes that each string of the Python expression $1 (over the document j) stands
# for once each \xHH is replaced by byte HH.
json_bytes() {
	"$PYTHON" -c '
import json, re, sys
j = json.loads(sys.stdin.buffer.read().decode("utf-8", "strict"))
for s in eval(sys.argv[1]):
    b = s.encode("utf-8", "strict")
    print(re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes.fromhex(m[1].decode()), b).hex())' "$1"
}

@test "ls: the table escapes names, keeps valid UTF-8 and aligns it" {
	need_python
	make_all
	# The C locale knows no UTF-8: what is shown and how it is aligned must not change.
	LC_ALL=C pshm ls -k posix -o ADDRESS,KIND >"$BATS_TEST_TMPDIR/out"
	safe_text <"$BATS_TEST_TMPDIR/out"
	local v e
	for v in "${NAMES[@]}"; do
		e=E_${v#N_}
		sed 's/  *posix$//' "$BATS_TEST_TMPDIR/out" | grep -qxF "/${!e}" ||
			fail_with "no line for /${!e}:" "$(cat "$BATS_TEST_TMPDIR/out")"
	done
	# KIND starts in the same column on every line, the Japanese one too.
	"$PYTHON" -c '
import sys, unicodedata
lines = sys.stdin.buffer.read().decode().splitlines()
def at(l):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in l[:l.index(" posix")])
cols = {at(l) for l in lines[1:]}
sys.exit(0 if len(cols) == 1 else "KIND columns %s" % cols)' <"$BATS_TEST_TMPDIR/out"
}

@test "ls -r: spaces escaped as well, valid UTF-8 kept, and printf %b gives the names back" {
	need_python
	make_all
	pshm create -s 4K '/s p'
	pshm ls -r -n -k posix -o ADDRESS,KIND >"$BATS_TEST_TMPDIR/out"
	safe_text <"$BATS_TEST_TMPDIR/out"
	grep -qx '/s\\x20p posix' "$BATS_TEST_TMPDIR/out" || fail_with "$(cat "$BATS_TEST_TMPDIR/out")"
	grep -qx "/$N_JA posix" "$BATS_TEST_TMPDIR/out" || fail_with "$(cat "$BATS_TEST_TMPDIR/out")"
	local v line found
	for v in "${NAMES[@]}"; do
		found=
		while read -r line; do
			[ "$(printf '%b' "${line% posix}")" = "/${!v}" ] && found=1
		done <"$BATS_TEST_TMPDIR/out"
		[ -n "$found" ] || fail_with "no line undoes to /${!v}:" "$(cat "$BATS_TEST_TMPDIR/out")"
	done
}

@test "ls -J: strict UTF-8 JSON; controls as \\u escapes; \\xHH undone gives each name" {
	need_python
	make_all
	pshm ls -J -k posix -o ADDRESS >"$BATS_TEST_TMPDIR/out"
	json_bytes '[o["address"] for o in j["objects"]]' <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
	local v
	for v in "${NAMES[@]}"; do
		grep -qx "$(hex "/${!v}")" "$BATS_TEST_TMPDIR/got" ||
			fail_with "no address for /${!v}:" "$(cat "$BATS_TEST_TMPDIR/out")"
	done
	local s
	for s in '"/\\xff\\xfebad"' '"/red\u001b[31mx"' '"/a\u0009b"' '"/a\u000ab"' \
		'"/b\\x5cx1b"' "\"/$N_JA\"" '"/c1\u009bx"' '"/bidi\u202egpj.exe"'; do
		grep -qF "\"address\": $s" "$BATS_TEST_TMPDIR/out" ||
			fail_with "no $s in:" "$(cat "$BATS_TEST_TMPDIR/out")"
	done
}

@test "stat: key: value lines escape the address" {
	need_python
	make_all
	local v e
	for v in "${NAMES[@]}"; do
		e=E_${v#N_}
		pshm stat "/${!v}" >"$BATS_TEST_TMPDIR/out"
		safe_text <"$BATS_TEST_TMPDIR/out"
		grep -qxF "address: /${!e}" "$BATS_TEST_TMPDIR/out" ||
			fail_with "no address: /${!e} in:" "$(cat "$BATS_TEST_TMPDIR/out")"
	done
}

@test "stat -J: strict UTF-8 JSON whose address undoes to the name" {
	need_python
	make_all
	local v args=()
	for v in "${NAMES[@]}"; do
		args+=("/${!v}")
	done
	pshm stat -J "${args[@]}" >"$BATS_TEST_TMPDIR/out"
	json_bytes '[o["address"] for o in j]' <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
	for v in "${NAMES[@]}"; do
		hex "/${!v}"
		echo
	done | diff - "$BATS_TEST_TMPDIR/got"
}

@test "who: a holder's command name of invalid UTF-8 and ESC is escaped, in JSON too" {
	need_python
	pshm create -s 4K /held
	# The holder names itself with bytes that are no UTF-8 and an ESC sequence, then says so.
	"$PYTHON" -c '
import os, signal, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
with open("/proc/self/comm", "wb") as f:
    f.write(b"\xff\xfe\x1b[31mev")
open(sys.argv[2], "w").close()
signal.pause()' "$PSHM_DIR/held" "$BATS_TEST_TMPDIR/ready" &
	local pid=$!
	track $pid
	wait_until test -e "$BATS_TEST_TMPDIR/ready"
	pshm who -J /held >"$BATS_TEST_TMPDIR/out"
	json_bytes "[p['command'] for p in j['processes'] if p['pid'] == $pid]" \
		<"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
	[ "$(cat "$BATS_TEST_TMPDIR/got")" = "$(hex $'\xff\xfe\e[31mev')" ] ||
		fail_with "commands:" "$(cat "$BATS_TEST_TMPDIR/out")"
	grep -qF '"command": "\\xff\\xfe\u001b[31mev"' "$BATS_TEST_TMPDIR/out" ||
		fail_with "$(cat "$BATS_TEST_TMPDIR/out")"
	pshm who -n /held >"$BATS_TEST_TMPDIR/out"
	safe_text <"$BATS_TEST_TMPDIR/out"
	grep -qF '\xff\xfe\x1b[31mev' "$BATS_TEST_TMPDIR/out" || fail_with "$(cat "$BATS_TEST_TMPDIR/out")"
}

@test "error messages, hints and usage errors escape what they quote" {
	need_python
	run --separate-stderr pshm rm $'/\e[31mno'
	[ "$status" -eq 1 ]
	safe_text <<<"$stderr"
	stderr_has '^pshm: rm /\\x1b\[31mno: '
	# A usage error quotes the argument.
	run --separate-stderr pshm ls -k $'\e[31m\xff'
	[ "$status" -eq 2 ]
	safe_text <<<"$stderr"
	stderr_has "^pshm ls: unknown kind '\\\\x1b\[31m\\\\xff': "
	# So does a message about an operand.
	run --separate-stderr pshm ls $'/\e[31m\xff'
	[ "$status" -eq 1 ]
	safe_text <<<"$stderr"
	stderr_has "^pshm: ls /\\\\x1b\[31m\\\\xff: no object matches$"
	# A hint names the object again.
	ln -s target "$PSHM_DIR/"$'\e[31mlink'
	run --separate-stderr pshm stat $'/\e[31mlink'
	[ "$status" -eq 1 ]
	safe_text <<<"$stderr"
	stderr_has '^pshm: /\\x1b\[31mlink is a symbolic link'
}

@test "channel commands escape the address in their output and messages" {
	need_python
	run --separate-stderr pshm chan stat $'/\e[31mno'
	[ "$status" -eq 1 ]
	safe_text <<<"$stderr"
	stderr_has "^pshm: 'pshm chan create /\\\\x1b\[31mno' makes it$"
	run --separate-stderr pshm chan $'\e[31m'
	[ "$status" -eq 2 ]
	safe_text <<<"$stderr"
	stderr_has "unknown command '\\\\x1b\[31m'"
	pshm chan create "/$N_ESC"
	pshm chan stat "/$N_ESC" >"$BATS_TEST_TMPDIR/out"
	safe_text <"$BATS_TEST_TMPDIR/out"
	grep -qxF "address: /$E_ESC" "$BATS_TEST_TMPDIR/out" || fail_with "$(cat "$BATS_TEST_TMPDIR/out")"
}

@test "exactly the documented characters are escaped, at the edges of each range" {
	need_python
	# Each piece: its bytes, then how a table shows them, then how JSON writes them.
	local pieces=(
		'\x01' '\x5cx01' '\x5cu0001'
		'\x7f' '\x5cx7f' '\x5cu007f'
		'\xc2\x80' '\x5cxc2\x5cx80' '\x5cu0080'
		'\xc2\x9f' '\x5cxc2\x5cx9f' '\x5cu009f'
		'\xc2\xa0' '\xc2\xa0' '\xc2\xa0'
		'\xd8\x9c' '\x5cxd8\x5cx9c' '\x5cu061c'
		'\xe2\x80\x8d' '\xe2\x80\x8d' '\xe2\x80\x8d'
		'\xe2\x80\x8e' '\x5cxe2\x5cx80\x5cx8e' '\x5cu200e'
		'\xe2\x80\x8f' '\x5cxe2\x5cx80\x5cx8f' '\x5cu200f'
		'\xe2\x80\xa7' '\xe2\x80\xa7' '\xe2\x80\xa7'
		'\xe2\x80\xa8' '\x5cxe2\x5cx80\x5cxa8' '\x5cu2028'
		'\xe2\x80\xae' '\x5cxe2\x5cx80\x5cxae' '\x5cu202e'
		'\xe2\x80\xaf' '\xe2\x80\xaf' '\xe2\x80\xaf'
		'\xe2\x81\xa5' '\xe2\x81\xa5' '\xe2\x81\xa5'
		'\xe2\x81\xa6' '\x5cxe2\x5cx81\x5cxa6' '\x5cu2066'
		'\xe2\x81\xa9' '\x5cxe2\x5cx81\x5cxa9' '\x5cu2069'
		'\xe2\x81\xaa' '\xe2\x81\xaa' '\xe2\x81\xaa'
		'\xf0\x9f\x98\x80' '\xf0\x9f\x98\x80' '\xf0\x9f\x98\x80'
		'\xc0\x80' '\x5cxc0\x5cx80' '\x5c\x5cxc0\x5c\x5cx80'
		'\xed\xa0\x80' '\x5cxed\x5cxa0\x5cx80' '\x5c\x5cxed\x5c\x5cxa0\x5c\x5cx80'
		'\xf4\x90\x80\x80' '\x5cxf4\x5cx90\x5cx80\x5cx80' '\x5c\x5cxf4\x5c\x5cx90\x5c\x5cx80\x5c\x5cx80'
		'"' '"' '\x5c"'
		'\xe6\x97' '\x5cxe6\x5cx97' '\x5c\x5cxe6\x5c\x5cx97'
	)
	local name=/ shown=/ json=/ i
	for ((i = 0; i < ${#pieces[@]}; i += 3)); do
		name+=$(printf '%b' "${pieces[i]}").
		shown+=$(printf '%b' "${pieces[i + 1]}").
		json+=$(printf '%b' "${pieces[i + 2]}").
	done
	pshm create -s 4K "$name"
	pshm ls -n -k posix -o ADDRESS >"$BATS_TEST_TMPDIR/out"
	safe_text <"$BATS_TEST_TMPDIR/out"
	[ "$(sed 's/ *$//' "$BATS_TEST_TMPDIR/out")" = "$shown" ] ||
		fail_with "want: $shown" "have: $(cat "$BATS_TEST_TMPDIR/out")"
	[ "$(printf '%b' "$shown")" = "$name" ]
	pshm ls -J -k posix -o ADDRESS >"$BATS_TEST_TMPDIR/out"
	grep -qF "{\"address\": \"$json\"}" "$BATS_TEST_TMPDIR/out" ||
		fail_with "want: $json" "have: $(cat "$BATS_TEST_TMPDIR/out")"
	json_bytes '[o["address"] for o in j["objects"]]' <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
	[ "$(cat "$BATS_TEST_TMPDIR/got")" = "$(hex "$name")" ]
}

@test "the manual's example of escapes" {
	pshm create -s 4K "/$N_BAD" "/$N_BSL"
	run --separate-stderr pshm ls -n -o ADDRESS
	[ "$status" -eq 0 ]
	[ "$(grep '^/' <<<"$output" | sed 's/ *$//')" = '/b\x5cx1b
/\xff\xfebad' ] || fail_with "$output"
	[ "$(pshm ls -J -o ADDRESS | jq -r '.objects[].address' | grep '^/')" = '/b\x5cx1b
/\xff\xfebad' ]
	[ "$(printf '%b' '/\xff\xfebad' | od -An -c)" = '   / 377 376   b   a   d' ]
	[ "$(printf '%b' '/\xff\xfebad')" = "/$N_BAD" ]
}
