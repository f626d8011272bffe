#!/bin/sh
# The library's system layer, enforced: every call with a side effect is made in sys.c, where
# tests can make it fail (pshm__fault_hook). Fails, naming file, line and call, when one of the
# calls listed below appears in another file of the library.
#
# Usage: check-syscalls.sh [DIR]   (default: src/lib)
#
# Comments are stripped by gcc's own lexer (-fpreprocessed: no includes, no macro expansion)
# and string and character literals here, so that neither is taken for a call; a member call
# (ops->close(s), .open) or a longer name (pshm__close) is not one either. Calls that only read
# (fstat, fstatat, readlink, pread, readdir, getrandom, the clock, ...) are not listed.
#
# An exception is a comment "syscall-ok: WHY" on the line of the call or the line before it,
# WHY saying in words why that call cannot go through sys.c. A marker without a reason fails.
set -eu

dir=${1:-src/lib}
cc=${CHECK_SYSCALLS_CC:-gcc}
command -v "$cc" >/dev/null 2>&1 || {
	echo "check-syscalls: needs $cc (for -fpreprocessed)" >&2
	exit 2
}

# The calls with side effects: descriptors and streams, files and their attributes, mappings,
# locks, signals, sockets and pipes, event descriptors (epoll, timerfd, eventfd), processes,
# System V, and syscall(2) itself, which covers what libc has no wrapper for (futex,
# membarrier) or what it would make a cancellation point.
calls='open|open64|openat|openat64|openat2|creat|close|close_range|dup|dup2|dup3|fcntl|ioctl'
calls="$calls|flock|lockf|ftruncate|truncate|fallocate|posix_fallocate|fchmod|fchmodat|chmod"
calls="$calls|fchown|fchownat|chown|lchown|mmap|mmap64|munmap|mremap|mprotect|madvise"
calls="$calls|posix_madvise|msync|mlock|munlock|fsync|fdatasync|sync|syncfs|sync_file_range"
calls="$calls|unlink|unlinkat|remove|rename|renameat|renameat2|link|linkat|symlink|symlinkat"
calls="$calls|mkdir|mkdirat|rmdir|mknod|mknodat|mkfifo|mkstemp|mkdtemp|tmpfile"
calls="$calls|write|pwrite|writev|pwritev|read|readv|send|sendto|sendmsg|recv|recvfrom|recvmsg"
calls="$calls|socket|socketpair|pipe|pipe2|connect|bind|listen|accept|accept4"
calls="$calls|shmget|shmat|shmdt|shmctl|memfd_create|sigaction|signal|sigprocmask"
calls="$calls|pthread_sigmask|sigtimedwait|raise|kill|tgkill|opendir|fdopendir|closedir|fopen|fdopen"
calls="$calls|epoll_create|epoll_create1|epoll_ctl|timerfd_create|timerfd_settime|eventfd"
calls="$calls|freopen|fclose|popen|system|fork|vfork|execve|execv|execvp|syscall"

status=0
found=0
exceptions=0
for f in "$dir"/*.c "$dir"/*.h; do
	[ -f "$f" ] || continue
	case ${f##*/} in sys.c) continue ;; esac
	# The lines that carry an exception, from the source as written (comments included).
	marks=$(perl -ne 'if (m{syscall-ok:(.*)}) {
			my $why = $1; $why =~ s{\*/.*}{}; $why =~ s/^\s+|\s+$//g;
			print $why =~ /\w{3}/ ? "$.\n" : "bad:$.\n";
		}' "$f")
	text=$("$cc" -fpreprocessed -dD -E -w -x c "$f") || {
		echo "check-syscalls: $cc cannot read $f" >&2
		exit 2
	}
	out=$(printf '%s\n' "$text" | CALLS=$calls MARKS=$marks FILE=$f perl -e '
		my %ok = map { $_ => 1 } grep { /^\d+$/ } split /\n/, $ENV{MARKS};
		for (grep { /^bad:/ } split /\n/, $ENV{MARKS}) {
			s/^bad://;
			print "$ENV{FILE}:$_: syscall-ok: says no reason\n";
		}
		# The text without literals, and the source line of each of its lines: line
		# markers say which source line comes next.
		my (@text, @src);
		my $line = 0;
		while (<STDIN>) {
			chomp;
			if (/^# (\d+) "/) { $line = $1 - 1; next; }
			$line++;
			s/"(?:[^"\\]|\\.)*"/""/g;
			s/\x27(?:[^\x27\\]|\\.)*\x27/\x27\x27/g;
			push @text, $_;
			push @src, $line;
		}
		my $all = join "\n", @text;
		# A name and its parenthesis may stand on two lines.
		while ($all =~ /(?<![\w.>])($ENV{CALLS})\s*\(/g) {
			my $at = $src[(substr($all, 0, $-[0]) =~ tr/\n//)];
			if ($ok{$at} || $ok{$at - 1}) {
				print "ok $ENV{FILE}:$at: $1\n";
			} else {
				print "$ENV{FILE}:$at: $1() outside sys.c\n";
			}
		}')
	[ -n "$out" ] || continue
	ok=$(printf '%s\n' "$out" | grep -c '^ok ' || true)
	exceptions=$((exceptions + ok))
	bad=$(printf '%s\n' "$out" | grep -v '^ok ' || true)
	if [ -n "$bad" ]; then
		printf '%s\n' "$bad" >&2
		found=$((found + $(printf '%s\n' "$bad" | wc -l)))
		status=1
	fi
done

if [ "$status" -ne 0 ]; then
	echo "check-syscalls: $found finding(s): route each call through a wrapper in" \
		"src/lib/sys.c, or say why it cannot be with a syscall-ok: comment" >&2
	exit 1
fi
echo "check-syscalls: $dir makes its side effects through sys.c ($exceptions exception(s))"
