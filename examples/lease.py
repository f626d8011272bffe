#!/usr/bin/env python3
"""Use a pshm object from Python while holding a lease on it.

    python3 lease.py NAME [TEXT]                take a lease on the object NAME
    python3 lease.py --create SIZE NAME [TEXT]  make NAME, SIZE bytes, leased

NAME is a POSIX shared memory object in /dev/shm, where Python's SharedMemory looks: one made by
a C program with PSHM_LEASE, by `pshm hold --create --lease /NAME -- ...`, or by --create here.
The program prints the text it finds at the start of the object ("found: ..."), writes TEXT
there (by default "hello from python PID"), prints "holding /NAME", and keeps its lease until
its standard input ends or a SIGINT, SIGTERM or SIGHUP comes. Then it leaves as pshm_close()
does: the last holder of a leased object removes it. Killed outright (SIGKILL), it leaves the
object to `pshm gc`. Exit status: 0, 1 on failure, 128+N after signal N.

The lease is the one pshm's library takes (docs/lifetimes.md has the protocol): a read lock on
the byte at offset 2**62 of the object, held by an open file description (OFD) lock, which the
kernel lets go of when the process dies, however it dies.
"""

import errno
import fcntl
import os
import platform
import signal
import stat
import struct
import sys
from multiprocessing import resource_tracker, shared_memory

SHM_DIR = "/dev/shm"  # where SharedMemory (glibc's shm_open) finds objects, whatever PSHM_DIR says
LEASE_OFFSET = 2**62  # PSHM_LEASE_OFFSET: the byte whose read locks are the leases

# struct flock on x86_64 and aarch64 Linux: l_type and l_whence (short), l_start and l_len
# (off_t), l_pid (pid_t, 0 for OFD locks), padded at the end to 8 bytes ("0q"): 32 bytes.
FLOCK = "@hhqqi0q"
OFD = hasattr(fcntl, "F_OFD_SETLK") and platform.machine() in ("x86_64", "aarch64")


def lease_lock(fd, kind):
    """Take (F_RDLCK: a lease; F_WRLCK: the removal lock) or let go of (F_UNLCK) the lock on the
    lease byte of FD. Raises OSError (EAGAIN or EACCES) when another holder's lock is in the way."""
    if OFD:
        # An OFD lock belongs to FD's open file description: closing other descriptors of the
        # file (SharedMemory.close() closes two) leaves it alone.
        arg = struct.pack(FLOCK, kind, os.SEEK_SET, LEASE_OFFSET, 1, 0)
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, arg)
    else:
        # A classic record lock instead: the kernel lets go of it as soon as this process closes
        # ANY descriptor of the file, so every descriptor of it must stay open until leave().
        cmd = {fcntl.F_RDLCK: fcntl.LOCK_SH, fcntl.F_WRLCK: fcntl.LOCK_EX}.get(kind, fcntl.LOCK_UN)
        fcntl.lockf(fd, cmd | fcntl.LOCK_NB, 1, LEASE_OFFSET, 0)


def try_lock(fd, kind):
    """lease_lock(); False when another holder's lock is in the way."""
    try:
        lease_lock(fd, kind)
        return True
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise


def same_file(fd, path):
    """Whether PATH still names FD's file."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def take_lease(path):
    """Open the object at PATH read-write and take a lease on it: the descriptor returned holds it
    until it is closed. A leased object nobody holds is dead: it is removed here, as pshm_open()
    does, and FileNotFoundError raised."""
    for _ in range(10000):
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise OSError(errno.EINVAL, "not a regular file", path)
            # Leased (the sticky bit): alive only while someone holds a lease. The removal lock
            # is granted only when nobody does, and then the object goes, by our hand.
            if mode & stat.S_ISVTX and try_lock(fd, fcntl.F_WRLCK):
                if same_file(fd, path):
                    os.unlink(path)
                raise FileNotFoundError(errno.ENOENT, "leased, but nobody held it", path)
            # Refused: a remover holds the byte; checked after: removed before our lock came.
            if try_lock(fd, fcntl.F_RDLCK) and same_file(fd, path):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the name goes, or names a new object: look again
    raise OSError(errno.EBUSY, "a removal lock is held on it", path)


def create_leased(path, size, mode=0o600):
    """Create the object at PATH, SIZE bytes, leased; the descriptor returned holds the lease.
    The lease comes before the mark (the sticky bit): a marked object that nobody holds a lease
    on is dead, and pshm gc, or anyone opening it, would remove it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.posix_fallocate(fd, 0, size)  # the memory now: ENOSPC here, never SIGBUS later
        lease_lock(fd, fcntl.F_RDLCK)  # 1. the lease
        os.fchmod(fd, mode | stat.S_ISVTX)  # 2. the mark, on the descriptor, whatever the umask
    except BaseException:
        if same_file(fd, path):
            os.unlink(path)
        os.close(fd)
        raise
    return fd


def leave(fd, path):
    """Let go of the lease FD holds, as pshm_close() does: the last holder of a leased object
    removes it. Returns True when it did."""
    removed = False
    try:
        # Our read lock becomes the removal lock in one step, granted only when nobody else
        # holds a lease; while we hold it nobody can take one, so the name goes safely.
        if os.fstat(fd).st_mode & stat.S_ISVTX and try_lock(fd, fcntl.F_WRLCK):
            if same_file(fd, path):
                os.unlink(path)
                removed = True
    finally:
        os.close(fd)
    return removed


def attach(name, fd):
    """Map the object NAME with SharedMemory, keeping Python's resource tracker out of it: the
    tracker removes what it tracks when this process ends, whoever else uses it still."""
    if sys.version_info >= (3, 13):
        shm = shared_memory.SharedMemory(name, track=False)
    else:
        shm = shared_memory.SharedMemory(name)
        resource_tracker.unregister(shm._name, "shared_memory")
    # SharedMemory looked the name up again: it must have found the object we hold.
    a, b = os.fstat(shm._fd), os.fstat(fd)
    if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino):
        shm.close()
        raise FileNotFoundError(errno.ENOENT, "replaced while being opened", name)
    return shm


def use(shm, text):
    """Print the text at the start of the object, then write TEXT there, NUL-terminated."""
    found = bytes(shm.buf[:64]).split(b"\0", 1)[0]
    print("found:", found.decode(errors="backslashreplace"))
    data = text.encode() + b"\0"
    if len(data) <= shm.size:
        shm.buf[: len(data)] = data


def wait_for_end():
    """Return when standard input ends (or cannot be read)."""
    try:
        while os.read(0, 65536):
            pass
    except OSError:
        pass


def stop(signum, frame):
    raise SystemExit(128 + signum)


def main(argv):
    size = None
    if argv[:1] == ["--create"] and len(argv) >= 3:
        size = int(argv[1]) if argv[1].isdigit() else 0
        argv = argv[2:]
    if len(argv) not in (1, 2) or size == 0:
        sys.exit("usage:\n" + __doc__.split("\n\n")[1])
    name = argv[0].lstrip("/")
    if not name or "/" in name or name in (".", ".."):
        sys.exit(f"lease.py: {argv[0]}: not an object name")
    text = argv[1] if len(argv) > 1 else f"hello from python {os.getpid()}"
    path = os.path.join(SHM_DIR, name)
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for s in stops:
        signal.signal(s, stop)

    try:
        fd = create_leased(path, size) if size else take_lease(path)
    except OSError as e:
        sys.exit(f"lease.py: /{name}: {e.strerror}")
    leased = bool(os.fstat(fd).st_mode & stat.S_ISVTX)
    shm = None
    try:
        shm = attach(name, fd)
        use(shm, text)
        print(f"holding /{name}", flush=True)
        wait_for_end()
    except (OSError, ValueError) as e:  # ValueError: SharedMemory cannot map an empty object
        print(f"lease.py: /{name}: {getattr(e, 'strerror', None) or e}", file=sys.stderr)
        raise SystemExit(1)
    finally:
        # Leave before SharedMemory closes its descriptors (with lockf that would drop the
        # lease first), and let no stop signal cut it short.
        signal.pthread_sigmask(signal.SIG_BLOCK, stops)
        if leave(fd, path):
            print(f"removed /{name}: the last holder left")
        elif leased:
            print(f"left /{name} to its other holders")
        else:
            print(f"left /{name}, which is not leased: it stays")
        if shm is not None:
            shm.close()
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
