#!/bin/sh
# scripts/abi-check.sh passes on the library as it is, against the baseline abi/libpshm.abi, and
# on one that only adds a symbol in a new version; it fails, saying why, on copies of the
# library built with an incompatible change planted: structure members moved, a member widened
# over its neighbour, a parameter's type changed, a symbol dropped from the version script, and
# a public function left out of it. Exit 0 when every case behaves (or abigail-tools is
# missing: skipped, with the reason), 1 otherwise.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
for t in abidw abidiff; do
	if ! command -v $t >/dev/null 2>&1; then
		echo "abi-check-test: skipped: $t not found (apt-get install abigail-tools)"
		exit 0
	fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
# shellcheck source=tests/expect.sh
. "$top/tests/expect.sh"
jobs=$(nproc 2>/dev/null || echo 2)

# A copy of what the shared library is built from, in $tmp/NAME.
copy() {
	rm -rf "${tmp:?}/$1"
	mkdir -p "$tmp/$1/src"
	cp -R "$top/include" "$top/Makefile" "$tmp/$1/"
	cp -R "$top/src/lib" "$tmp/$1/src/"
}

# Edit FILE of copy NAME with the sed script SCRIPT, which must change it.
plant() {
	cp "$tmp/$1/$2" "$tmp/before"
	sed -i "$3" "$tmp/$1/$2"
	if cmp -s "$tmp/before" "$tmp/$1/$2"; then
		echo "abi-check-test: planting in $1/$2 changed nothing: $3" >&2
		exit 1
	fi
}

# Build copy NAME with debug information and check it against the baseline: abi-check.sh must
# exit WANT and, when it fails, say each of the words that follow.
case_() {
	name=$1 want=$2
	shift 2
	rc=0
	make -s -C "$tmp/$name" -j"$jobs" BUILD=b CC="${CC:-cc}" CFLAGS="-O2 -g" lib \
		>"$tmp/build" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		fail=$((fail + 1))
		echo "FAIL $name: the library did not build"
		sed 's/^/  /' "$tmp/build"
		return
	fi
	sh "$top/scripts/abi-check.sh" -d "$tmp/$name" "$(ls "$tmp/$name"/b/libpshm.so.*.*.*)" \
		>"$tmp/out" 2>&1 || rc=$?
	expect "$name" "$rc" "$want" "$tmp/out" "$@"
}

# sed: append a public function, defined with PSHM__API, to the end of a file.
# shellcheck disable=SC2016
append_fn='$a PSHM__API int pshm_planted(void);\nPSHM__API int pshm_planted(void) { return 0; }'

copy as-is
case_ as-is 0

# New symbols belong in a new version node, and break nothing.
copy added
plant added src/lib/libpshm.map 's/^};$/};\nPSHM_1.1 {\n\tglobal:\n\t\tpshm_planted;\n} PSHM_1.0;/'
plant added src/lib/util.c "$append_fn"
case_ added 0

# Two members of struct pshm_stat trade places: same size, so only abidiff can tell.
copy swapped
plant swapped include/pshm.h '/^\tuint64_t size; .*bytes \*\/$/{N;s/\(.*\)\n\(.*\)/\2\n\1/}'
case_ swapped 1 "'uint64_t size' offset changed" "interface of" "changed"

# A member of struct pshm_chan_stat widened into the reserved space: the size stays, the
# members after it move.
copy widened
plant widened include/pshm.h 's/^\tint32_t writers; .*/\tint64_t writers;/'
plant widened include/pshm.h 's/^\tuint64_t reserved\[8\];.*/\tuint64_t reserved[7];/'
plant widened src/lib/chan.c 's/&st->writers/(int *)\&st->writers/; s/reserved) == 72/reserved) == 80/'
case_ widened 1 "writers" "changed (a structure, parameter or return type)"

# A parameter's type changed, in the header and the definition alike.
copy param
plant param include/pshm.h '/^int pshm_chmod(/s/mode_t mode/uint64_t mode/'
plant param src/lib/seg.c '/^PSHM__API int pshm_chmod(/s/mode_t mode/uint64_t mode/'
case_ param 1 "pshm_chmod" "changed (a structure, parameter or return type)"

# A symbol dropped from the version script is no longer exported.
copy dropped
plant dropped src/lib/libpshm.map '/^\t\tpshm_sync;$/d'
case_ dropped 1 "pshm_sync is public" "[D] 'function int pshm_sync" "incompatible change"

# A new public function that the version script does not name is not exported.
copy unnamed
plant unnamed src/lib/util.c "$append_fn"
case_ unnamed 1 "pshm_planted is public (pshm.h or PSHM__API) but not in src/lib/libpshm.map"

echo "abi-check-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
