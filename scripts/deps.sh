#!/bin/sh
# Install the Debian packages pshm needs, when some are missing.
# Usage: deps.sh build|test.  Run as root it installs them with apt-get; run as another user
# it names the exact command to run and fails.
set -eu

what=${1:-build}
# Headers and tools checked directly, so that a system without dpkg still builds if they exist.
need=""
have_header() { printf '#include <%s>\n' "$1" | ${CC:-cc} -E -x c - >/dev/null 2>&1; }

command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
have_header libsmartcols/libsmartcols.h || need="$need libsmartcols-dev"
if [ "$what" = test ]; then
	have_header stdarg.h && { printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <stdint.h>\n#include <cmocka.h>\n' | ${CC:-cc} -E -x c - >/dev/null 2>&1; } || need="$need libcmocka-dev"
	command -v mandoc >/dev/null 2>&1 || need="$need mandoc"
	command -v python3 >/dev/null 2>&1 || need="$need python3"
	command -v ipcmk >/dev/null 2>&1 || need="$need util-linux"
fi

[ -z "$need" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "pshm: missing Debian packages:$need" >&2
	echo "pshm: install them as root with:  apt-get update && apt-get install -y$need" >&2
	exit 1
fi
echo "pshm: installing Debian packages:$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || apt-get update
# shellcheck disable=SC2086
apt-get install -y -qq $need >/dev/null || apt-get install -y $need
