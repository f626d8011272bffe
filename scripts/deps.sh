#!/bin/sh
# Install the Debian packages pshm needs, when some are missing.
# Usage: deps.sh build|test|bench.  Run as root it installs them with apt-get; run as another
# user it names the exact command to run and fails (optional packages only get a hint).
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
	command -v groff >/dev/null 2>&1 || need="$need groff-base"
	command -v man >/dev/null 2>&1 || need="$need man-db"
	command -v python3 >/dev/null 2>&1 || need="$need python3"
	command -v ipcmk >/dev/null 2>&1 || need="$need util-linux"
	command -v bats >/dev/null 2>&1 || need="$need bats"
	command -v jq >/dev/null 2>&1 || need="$need jq"
	command -v hexdump >/dev/null 2>&1 || need="$need bsdextrautils"
	command -v pgrep >/dev/null 2>&1 || need="$need procps"
	# strace traces the library's system calls against bench/raw_cycle.h's (tests/trace).
	command -v strace >/dev/null 2>&1 || need="$need strace"
	# mkfs.ext4 makes the small disk file system of the full-disk tests; it lives in sbin.
	PATH=$PATH:/usr/sbin:/sbin command -v mkfs.ext4 >/dev/null 2>&1 || need="$need e2fsprogs"
	# abidw and abidiff hold the shared library to abi/libpshm.abi (make abi-check).
	command -v abidiff >/dev/null 2>&1 || need="$need abigail-tools"
fi
optional=""
if [ "$what" = bench ]; then
	command -v jq >/dev/null 2>&1 || need="$need jq"
	command -v gnuplot >/dev/null 2>&1 || optional="$optional gnuplot-nox"
	# Neither installed nor suggested when the benchmarks leave ZeroMQ out (PSHM_BENCH_NO_ZMQ=1).
	case ${PSHM_BENCH_NO_ZMQ:-0} in
	0) have_header zmq.h || optional="$optional libzmq3-dev" ;;
	esac
	# iceoryx: its C binding, whose headers live in a directory named after the version, and
	# its broker iox-roudi (PSHM_BENCH_NO_ICEORYX=1 leaves it out).
	case ${PSHM_BENCH_NO_ICEORYX:-0} in
	0)
		ls /usr/include/iceoryx/v*/iceoryx_binding_c/runtime.h >/dev/null 2>&1 ||
			optional="$optional libiceoryx-binding-c-dev"
		command -v iox-roudi >/dev/null 2>&1 || optional="$optional iceoryx"
		;;
	esac
	# Boost.Interprocess is C++ only: Boost's headers and a C++ compiler (PSHM_BENCH_NO_BOOST=1).
	case ${PSHM_BENCH_NO_BOOST:-0} in
	0)
		command -v "${CXX:-g++}" >/dev/null 2>&1 || optional="$optional g++"
		[ -r /usr/include/boost/interprocess/ipc/message_queue.hpp ] ||
			optional="$optional libboost-dev"
		;;
	esac
fi

[ -z "$need$optional" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	if [ -n "$need" ]; then
		echo "pshm: missing Debian packages:$need" >&2
		echo "pshm: install them as root with:  apt-get update && apt-get install -y$need$optional" >&2
		exit 1
	fi
	echo "pshm: optional, for make bench's plots and its ZeroMQ, iceoryx and Boost figures:  apt-get install -y$optional" >&2
	exit 0
fi
echo "pshm: installing Debian packages:$need$optional" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || apt-get update
# shellcheck disable=SC2086
apt-get install -y -qq $need $optional >/dev/null || apt-get install -y $need $optional
