#!/bin/sh
# Hold a build of libpshm.so to the binary interface recorded in abi/libpshm.abi.
#
# Usage: abi-check.sh [-d TREE] LIB [BASELINE]           check LIB: exit 0 compatible, 1 not,
#                                                        2 when it cannot tell
#        abi-check.sh --write [-d TREE] LIB [BASELINE]   record LIB's interface as the baseline
#
# LIB is a shared library built with debug information (-g, as the Makefile's default flags
# build it); BASELINE defaults to abi/libpshm.abi; TREE, the source tree LIB was built from,
# to this one. The check fails when:
#  - abidiff (abigail-tools) finds that LIB differs from the baseline in anything but added
#    symbols: a symbol removed (exit bit 8, incompatible), or a type the interface uses changed
#    (bit 4: a structure's layout, a parameter, a return type). A member that takes reserved
#    space changes the layout in a compatible way that abidiff cannot tell from an
#    incompatible one: review it, then record the new interface with `make abi-baseline`;
#  - LIB exports a symbol that TREE's src/lib/libpshm.map does not name, or lacks one that it
#    names, or a function of include/pshm.h or a PSHM__API definition is not in the map;
#  - LIB's soname is not libpshm.so.MAJOR, MAJOR being PSHM_VERSION_MAJOR of pshm.h.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
tree=$top
write=false
while [ $# -gt 0 ]; do
	case $1 in
	--write) write=true; shift ;;
	-d) tree=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { echo "usage: abi-check.sh [--write] [-d TREE] LIB [BASELINE]" >&2; exit 2; }
lib=$1
baseline=${2:-$top/abi/libpshm.abi}

for t in abidw:abigail-tools abidiff:abigail-tools readelf:binutils nm:binutils; do
	command -v "${t%%:*}" >/dev/null 2>&1 ||
		{ echo "abi-check: ${t%%:*} not found (apt-get install ${t#*:})" >&2; exit 2; }
done
[ -f "$lib" ] || { echo "abi-check: no library $lib" >&2; exit 2; }
if ! readelf -S "$lib" | grep -q '\.debug_info'; then
	echo "abi-check: $lib has no debug information: build it with -g" >&2
	exit 2
fi

if $write; then
	mkdir -p "$(dirname "$baseline")"
	# Only the public header's types: the library's own (struct pshm_seg's members) are not
	# part of the interface. No paths or line numbers, so that the record changes only when
	# the interface does.
	abidw --exported-interfaces-only --headers-dir "$tree/include" --drop-private-types \
		--no-corpus-path --no-comp-dir-path --no-show-locs --out-file "$baseline" "$lib"
	echo "abi-check: wrote $baseline from $lib"
	exit 0
fi
[ -f "$baseline" ] || { echo "abi-check: no baseline $baseline (make abi-baseline)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
problem() {
	echo "abi-check: $*" >&2
	fail=1
}

# The soname follows the major version.
major=$(sed -n 's/^#define PSHM_VERSION_MAJOR  *\([0-9]*\)$/\1/p' "$tree/include/pshm.h")
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
[ "$soname" = "libpshm.so.$major" ] || problem "soname is '$soname', not libpshm.so.$major"

# What the library exports, what the version script names, and what the sources declare.
nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' |
	sort -u >"$tmp/exported"
sed 's|/\*.*\*/||' "$tree/src/lib/libpshm.map" |
	sed -n 's/^[[:space:]]*\(pshm_[a-z0-9_]*\);[[:space:]]*$/\1/p' | sort -u >"$tmp/mapped"
sed -n 's/^[a-z].*[ *]\(pshm_[a-z0-9_]*\)(.*/\1/p' "$tree/include/pshm.h" | sort -u >"$tmp/declared"
cat "$tree"/src/lib/*.c | tr '\n' ' ' |
	grep -o 'PSHM__API [^(]*(' | sed -n 's/.*[ *]\(pshm_[a-z0-9_]*\)($/\1/p' | sort -u >"$tmp/defined"
for s in $(comm -23 "$tmp/exported" "$tmp/mapped"); do
	problem "$s is exported but not named in src/lib/libpshm.map"
done
for s in $(comm -13 "$tmp/exported" "$tmp/mapped"); do
	problem "$s is named in src/lib/libpshm.map but not exported"
done
for s in $(sort -u "$tmp/declared" "$tmp/defined" | comm -23 - "$tmp/mapped"); do
	problem "$s is public (pshm.h or PSHM__API) but not in src/lib/libpshm.map"
done

# abidiff's exit status is a set of bits: 1 error, 2 usage error, 4 a change, 8 an
# incompatible change. Added symbols are left out, so any change left is to the existing
# interface.
rc=0
abidiff --exported-interfaces-only --no-added-syms "$baseline" "$lib" >"$tmp/diff" 2>&1 || rc=$?
if [ $((rc & 3)) -ne 0 ]; then
	cat "$tmp/diff" >&2
	problem "abidiff could not compare $lib with $baseline (exit $rc)"
elif [ $((rc & 8)) -ne 0 ]; then
	sed 's/^/  /' "$tmp/diff" >&2
	problem "incompatible change: the interface of $baseline lost a symbol or changed one"
elif [ $((rc & 4)) -ne 0 ]; then
	sed 's/^/  /' "$tmp/diff" >&2
	problem "the interface of $baseline changed (a structure, parameter or return type)"
fi

if [ "$fail" -ne 0 ]; then
	echo "abi-check: $lib breaks the binary interface of $baseline" >&2
	exit 1
fi
echo "abi-check: $lib keeps the binary interface of $baseline"
