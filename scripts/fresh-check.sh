#!/bin/bash
# make fresh-check: run the commands of the README's first sh block, exactly as written, as root
# in a minimal Debian 12 root made by debootstrap, with a 64 MiB /dev/shm as under Docker.
#
# Needs root, mount and pid namespaces and the network to the Debian mirror this machine's apt
# uses; without them it says why and exits 0. The debootstrapped base and apt's downloaded
# packages are cached in $PSHM_FRESH_CACHE (default /var/cache/pshm-fresh), and every run starts
# from a pristine copy of the base in a temporary directory under $PSHM_FRESH_TMP (default
# /var/tmp). The repository goes in as a clean clone of HEAD; PSHM_FRESH_WORKTREE=1 copies the
# work tree's files instead (tracked and untracked, not ignored), to try uncommitted changes.
set -euo pipefail

suite=bookworm
path_in_root=/root/pshm
clean_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The flags of the namespaces the root runs in. A private mount namespace keeps every mount off
# the host whatever happens; a pid namespace ends every process started in the root when its
# first process exits; an IPC namespace gives the tests an empty System V table, as on a new
# machine.
ns_flags=(--mount --propagation private --pid --fork --kill-child --ipc)

say() { printf 'fresh-check: %s\n' "$*"; }
skip() {
	say "skipped: $*"
	exit 0
}
die() {
	say "$*" >&2
	exit 1
}

# ---------------------------------------------------------------------------------------------
# Inside the namespaces: mount what the root needs, then run the README's commands in it.
# Called by the part below as "fresh-check.sh --inside", with the rest in FRESH_* variables.
# ---------------------------------------------------------------------------------------------
if [ "${1:-}" = --inside ]; then
	root=$FRESH_ROOT
	# The root is made a mount of its own, as a container's is: the tests' own "unshare --mount"
	# must find a mount at / to make private, which a plain directory is not.
	mount --bind "$root" "$root"
	# This process is the pid namespace's first one, so the proc mounted here shows only the
	# root's processes.
	mount -t proc proc "$root/proc"
	mount --rbind /sys "$root/sys"
	mount --rbind /dev "$root/dev"
	# The host's /dev/shm is hidden under Docker's default: 64 MiB, nosuid, nodev, noexec.
	mount -t tmpfs -o size=64m,mode=1777,nosuid,nodev,noexec shm "$root/dev/shm"
	mount --bind "$FRESH_APT_CACHE" "$root/var/cache/apt/archives"

	mapfile -t cmds <<<"$FRESH_COMMANDS"
	times=""
	sep=""
	for cmd in "${cmds[@]}"; do
		say "\$ $cmd"
		start=$(date +%s)
		# stdin is /dev/null so that nothing can wait for an answer; the command is run by the
		# root's own sh in the repository's directory, with only the environment a login
		# would give.
		status=0
		# shellcheck disable=SC2016 # $1 and $2 are the inner sh's.
		chroot "$root" /usr/bin/env -i HOME=/root PATH="$clean_path" LANG=C.UTF-8 \
			TERM=dumb \
			/bin/sh -c 'cd "$1" || exit 125; eval "$2"' sh "$path_in_root" "$cmd" \
			</dev/null || status=$?
		took=$(($(date +%s) - start))
		times="$times$sep$cmd: $took s"
		sep=", "
		total=$(($(date +%s) - FRESH_T0))
		if [ "$status" -ne 0 ]; then
			say "FAILED: '$cmd' exited with status $status after $took s"
			say "failed in $total s ($FRESH_NOTE; $times)"
			exit 1
		fi
	done
	say "passed in $total s ($FRESH_NOTE; $times)"
	exit 0
fi

# ---------------------------------------------------------------------------------------------
# On the host: checks, the cached base, a fresh root, the repository, then the part above.
# ---------------------------------------------------------------------------------------------
t0=$(date +%s)
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${PSHM_FRESH_CACHE:-/var/cache/pshm-fresh}
tmpbase=${PSHM_FRESH_TMP:-/var/tmp}

[ "$(id -u)" -eq 0 ] || skip "needs root (it runs debootstrap, chroot and mount)"
for tool in unshare chroot mount tar flock; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done
# One trial of everything the run needs the kernel to allow: the namespaces, a tmpfs mount
# and chroot.
# shellcheck disable=SC2016 # $d is the inner sh's.
if ! unshare "${ns_flags[@]}" sh -c \
	'd=$(mktemp -d) && mount -t tmpfs -o size=1m t "$d" && umount "$d" && rmdir "$d" &&
	chroot / true' >/dev/null 2>&1; then
	skip "mount and pid namespaces, mount or chroot are not permitted here"
fi
git -C "$repo" rev-parse --verify -q HEAD >/dev/null ||
	die "$repo is not a git checkout with a commit (needed to copy the repository in)"

# The Debian mirror comes from this machine's apt configuration: the first http(s) source of
# type deb for the suite itself, other than a security archive. Both formats are read: one-line
# "deb [options] URI suite components" in *.list, and deb822 stanzas in *.sources.
sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk '$1 == "deb" && NF >= 3 { print $2, $3 }'
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# Each stanza prints one "URI suite" line per pair; continuation lines are joined to
		# their field.
		awk '
			function flush(   i, j, nu, ns, u, s) {
				if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no") {
					nu = split(uris, u, /[ \t]+/)
					ns = split(suites, s, /[ \t]+/)
					for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
						if (u[i] != "" && s[j] != "") print u[i], s[j]
				}
				types = uris = suites = enabled = field = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]/ {
				if (field == "uris") uris = uris " " $0
				else if (field == "suites") suites = suites " " $0
				else if (field == "types") types = types " " $0
				next
			}
			{
				name = tolower($0); sub(/:.*/, "", name)
				value = $0; sub(/^[^:]*:[ \t]*/, "", value)
				field = name
				if (name == "types") types = value
				else if (name == "uris") uris = value
				else if (name == "suites") suites = value
				else if (name == "enabled") enabled = value
			}
			END { flush() }' "$f"
	done
}
mirror=$(sources | awk -v s="$suite" '$2 == s && $1 ~ /^https?:\/\// && $1 !~ /-security/ &&
	!found++ { print $1 }')
[ -n "$mirror" ] || die "no Debian mirror found: looked for an http(s) source of type deb" \
	"for suite $suite (not a -security one) in /etc/apt/sources.list," \
	"/etc/apt/sources.list.d/*.list and /etc/apt/sources.list.d/*.sources"
mirror=${mirror%/}
# The root's apt reads the same suites of that mirror as this machine's, among the suite itself
# and its -updates.
root_suites=$(sources | awk -v m="$mirror" -v s="$suite" '
	{ u = $1; sub(/\/$/, "", u) }
	u == m && ($2 == s || $2 == s "-updates") && !seen[$2]++ { print $2 }')

# apt's own downloader honours apt's proxy settings, as the root's apt will.
helper=/usr/lib/apt/apt-helper
[ -x "$helper" ] || skip "$helper is missing: this is not a Debian system with apt"
probe=$(mktemp -d)
if ! timeout 60 "$helper" download-file "$mirror/dists/$suite/InRelease" "$probe/InRelease" \
	>/dev/null 2>&1; then
	rm -rf "$probe"
	skip "the Debian mirror $mirror cannot be reached"
fi
rm -rf "$probe"

if ! command -v debootstrap >/dev/null 2>&1; then
	say "installing debootstrap"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq debootstrap >/dev/null ||
		{ apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
fi

root=""
work=""
child=""
# Runs a command in the background and waits for it, so that a signal to this script is acted
# on at once rather than when the command ends. The command gets back the SIGINT and SIGQUIT
# that bash makes background commands ignore, which the tests it runs would inherit.
run() {
	local status=0
	(
		trap - INT QUIT
		exec "$@"
	) &
	child=$!
	wait "$child" || status=$?
	child=""
	return "$status"
}
# shellcheck disable=SC2317 # Called by the EXIT trap.
cleanup() {
	local dir pid
	# Killing unshare kills the first process of its pid namespace (--kill-child), and with it
	# every process of the namespace.
	if [ -n "$child" ]; then
		kill -KILL "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	for dir in "$root" "$work"; do
		if [ -z "$dir" ] || [ ! -d "$dir" ]; then continue; fi
		# The pid namespace has ended everything started in the root; this catches anything
		# that escaped it.
		for pid in /proc/[0-9]*; do
			if [ "$(readlink "$pid/root" 2>/dev/null)" = "$dir" ]; then
				kill -9 "${pid#/proc/}" 2>/dev/null || true
			fi
		done
		# Mounts were made in a private namespace only; should one be seen here, the
		# directory is left alone rather than anything being removed through it.
		if awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { m = 1 } END { exit !m }' \
			/proc/self/mountinfo; then
			say "$dir still has mounts: not removed" >&2
			continue
		fi
		rm -rf --one-file-system "$dir"
	done
}
trap cleanup EXIT
trap 'say interrupted >&2; exit 130' INT
trap 'say terminated >&2; exit 143' TERM
trap 'say hung up >&2; exit 129' HUP

mkdir -p "$cache/apt-archives"
# Runs sharing the cache take turns: apt locks its archive directory, and a base is built once.
exec 9>"$cache/lock"
if ! flock -n 9; then
	say "waiting for another fresh-check using $cache"
	flock 9
fi

arch=$(dpkg --print-architecture)
# An https mirror needs the CA certificates in the base; that base is kept under its own name.
include=()
tag=""
case $mirror in https://*)
	include=(--include=ca-certificates)
	tag=-ca
	;;
esac
base="$cache/$suite-minbase-$arch$tag.tar"
if [ -f "$base" ]; then
	note="base cached"
else
	say "building the $suite base from $mirror (once; kept in $base)"
	bstart=$(date +%s)
	work=$(mktemp -d "$tmpbase/pshm-fresh-base.XXXXXX")
	# debootstrap mounts proc and sys in its target: in private namespaces, an interrupted run
	# leaves nothing mounted and nothing running. The tarball is written under a temporary name
	# and renamed once complete, so an interrupted run leaves no base that looks good.
	run unshare "${ns_flags[@]}" \
		debootstrap --variant=minbase "${include[@]}" "$suite" "$work/root" "$mirror"
	tar --numeric-owner --xattrs -C "$work/root" -cf "$base.part" .
	mv "$base.part" "$base"
	rm -rf --one-file-system "$work"
	work=""
	note="base built in $(($(date +%s) - bstart)) s"
fi

root=$(mktemp -d "$tmpbase/pshm-fresh.XXXXXX")
chmod 755 "$root"
tar --numeric-owner --xattrs -C "$root" -xpf "$base"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
cp -L /etc/hosts "$root/etc/hosts"
for s in $root_suites; do
	echo "deb $mirror $s main"
done >"$root/etc/apt/sources.list"

mkdir -p "$root$path_in_root"
if [ "${PSHM_FRESH_WORKTREE:-0}" = 1 ]; then
	note="$note, work tree"
	# Tracked files deleted in the work tree are listed by git but not copied.
	git -C "$repo" ls-files -z -co --exclude-standard |
		while IFS= read -r -d '' f; do
			if [ -e "$repo/$f" ] || [ -L "$repo/$f" ]; then printf '%s\0' "$f"; fi
		done |
		tar -C "$repo" --null -T - -cf - | tar -C "$root$path_in_root" -xf -
else
	head=$(git -C "$repo" rev-parse HEAD)
	note="$note, clean clone of ${head:0:12}"
	git clone -q --no-hardlinks "$repo" "$root$path_in_root"
	git -C "$root$path_in_root" checkout -q --detach "$head"
fi
# The README's commands: the lines of its first sh block, without comments and blank lines,
# read from the copy that runs them.
readme=$root$path_in_root/README.md
[ -f "$readme" ] || die "the repository has no README.md"
commands=$(awk '
	!inblock && /^```sh[ \t]*$/ { inblock = 1; next }
	inblock && /^```/ { exit }
	inblock {
		sub(/(^|[ \t])#.*/, "")
		sub(/[ \t]+$/, ""); sub(/^[ \t]+/, "")
		if ($0 != "") print
	}' "$readme")
[ -n "$commands" ] || die "README.md has no \`\`\`sh block with commands"

say "root ready in $root ($note, $(($(date +%s) - t0)) s)"

status=0
run env FRESH_ROOT="$root" FRESH_APT_CACHE="$cache/apt-archives" FRESH_COMMANDS="$commands" \
	FRESH_T0="$t0" FRESH_NOTE="$note" unshare "${ns_flags[@]}" bash "$self" --inside ||
	status=$?
exit "$status"
