#!/bin/sh
# Check that bench/raw_cycle.h makes the system calls libpshm makes. The overhead benchmarks
# (bench_overhead, pshm-bench's lifecycle section) time the library against those raw calls, and
# the comparison means something only while both sides make the same calls: this traces both.
#
# Usage: sh tests/trace/run.sh [BUILD_DIR]    (BUILD_DIR holds trace/raw_cycle; default build)
#
# BUILD_DIR/trace/raw_cycle runs each technique's create and attach life cycles through the
# library and through raw_cycle.h, between marks, under strace. For each cycle the two sequences
# of system calls are compared call by call: the names, the flags and constants, the modes, the
# paths and the object's size must be the same; descriptors, identifiers, addresses and other
# numbers may differ. Three runs: 64 KiB objects with their space reserved, the same sparse,
# and 4 KiB objects (smaller than a channel's header, which removal looks for).
#
# Prints "trace: N passed, N failed, N skipped"; a difference is shown as a diff of the two
# sequences. Exit status: 0 when they agree everywhere (or strace cannot run here: skipped),
# 1 otherwise.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# As root it runs in namespaces of its own (tests/isolate.sh), as the other tests do.
[ -n "${PSHM_TEST_NS:-}" ] || exec sh "$here/../isolate.sh" sh "$0" "$@"
build=${1:-build}
bin=$build/trace/raw_cycle
[ -x "$bin" ] || { echo "trace: $bin: not built (make tests builds it)" >&2; exit 1; }
command -v strace >/dev/null 2>&1 ||
	{ echo "trace: strace not found (apt-get install strace)" >&2; exit 1; }

tmp=$(mktemp -d)
PSHM_DIR=$(mktemp -d /dev/shm/pshm-trace.XXXXXX) || exit 1
export PSHM_DIR
trap 'rm -rf "$tmp" "$PSHM_DIR"' EXIT
mkdir "$tmp/files"

if ! strace -qq -o /dev/null true 2>"$tmp/err"; then
	echo "trace: skipped: strace cannot trace here: $(head -n 1 "$tmp/err")"
	echo "trace: 0 passed, 0 failed, 1 skipped"
	exit 0
fi

# split SIZE LABEL < trace: the calls between each pair of marks, one a line, in
# $tmp/LABEL/KIND-OP.SIDE. Of each call's arguments the numbers are masked (the object's size
# becomes SIZE, other numbers N, long hexadecimal ones 0x?), except octal modes and short
# hexadecimal flags; structures' contents, which are results, become <...>; the result goes.
split() {
	mkdir -p "$tmp/$2"
	awk -v size="$1" -v out="$tmp/$2" '
	function norm(args,   s, t, r, c) {
		while (match(args, /\{[^{}]*\}/))
			args = substr(args, 1, RSTART - 1) "<...>" substr(args, RSTART + RLENGTH)
		s = ""
		while (match(args, /0x[0-9a-f]+|[0-9]+/)) {
			t = substr(args, RSTART, RLENGTH)
			c = RSTART > 1 ? substr(args, RSTART - 1, 1) : ""
			if (c ~ /[A-Za-z_]/)
				r = t
			else if (t ~ /^0x/)
				r = length(t) > 6 ? "0x?" : t
			else if (t == size)
				r = "SIZE"
			else if (t ~ /^0[0-7][0-7][0-7]+$/)
				r = t
			else
				r = "N"
			s = s substr(args, 1, RSTART - 1) r
			args = substr(args, RSTART + RLENGTH)
		}
		return s args
	}
	/^write\(-1, "pshm-trace / {
		split($0, w, "\"")
		n = split(w[2], f, " ")
		file = n == 4 ? out "/" f[2] "-" f[3] "." f[4] : ""
		if (file != "")
			printf "" > file
		next
	}
	file == "" || !/^[a-z_0-9]+\(/ { next }
	{
		name = substr($0, 1, index($0, "(") - 1)
		rest = substr($0, length(name) + 2)
		# The result follows the last ")" and "= ", and has no "=" itself.
		if (match(rest, /\) *= [^=]*$/))
			rest = substr(rest, 1, RSTART - 1)
		print name "(" norm(rest) ")" > file
	}'
}

pass=0 fail=0 skip=0
# check LABEL SIZE [--sparse]: trace one run and compare each cycle's two sides.
check() {
	label=$1 size=$2
	shift 2
	if ! strace -qq -s 256 -e signal=none -o "$tmp/$label.trace" \
		"$bin" -s "$size" "$@" "$tmp/files" 2>"$tmp/$label.err"; then
		echo "trace: $label: raw_cycle failed:" >&2
		cat "$tmp/$label.err" >&2
		fail=$((fail + 1))
		return
	fi
	bytes=$(awk -v s="$size" 'BEGIN { n = s + 0; u = substr(s, length(n "") + 1)
		print n * (u == "K" ? 1024 : u == "M" ? 1048576 : 1) }')
	split "$bytes" "$label" <"$tmp/$label.trace"
	sed -n 's/^skip: /trace: skipped: /p' "$tmp/$label.err" | sed "s/\$/ ($label)/"
	skip=$((skip + $(grep -c '^skip: ' "$tmp/$label.err")))
	for lib in "$tmp/$label"/*.library; do
		[ -e "$lib" ] || continue
		row=$(basename "$lib" .library)
		raw=$tmp/$label/$row.raw
		what="$(echo "$row" | tr - ' ') ($label)"
		if [ ! -s "$lib" ] || [ ! -e "$raw" ]; then
			echo "trace: $what: no calls traced" >&2
			fail=$((fail + 1))
		elif diff -u --label "libpshm" --label "bench/raw_cycle.h" "$lib" "$raw" \
			>"$tmp/diff"; then
			pass=$((pass + 1))
		else
			echo "trace: $what: libpshm and bench/raw_cycle.h make different system" \
				"calls (- library only, + raw only):" >&2
			tail -n +3 "$tmp/diff" >&2
			fail=$((fail + 1))
		fi
	done
	[ -n "$(ls "$tmp/$label")" ] ||
		{ echo "trace: $label: no cycle was traced" >&2; fail=$((fail + 1)); }
}

check 64K-reserved 64K
check 64K-sparse 64K --sparse
check 4K-reserved 4K
echo "trace: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
