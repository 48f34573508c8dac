"""Private copies of files and directory trees, as cheap as the file system allows.

Both the workspaces (a pipeline snapshot copied into each job's workspace) and
the artifact store (a blob copied into a workspace) need a copy that the
receiver may modify without touching the original. A hardlink is *not* such a
copy: a job appending to a hardlinked file writes into every other name of
that inode. So every copy here is one of, in order of preference:

1. a reflink (``FICLONE``): on copy-on-write file systems (btrfs, XFS with
   reflink, bcachefs …) the new file shares the old one's blocks until either
   is written, so a copy costs a few metadata writes whatever the size;
2. ``copy_file_range``: the kernel copies the bytes without them passing
   through this process (on NFS and some others it is even server-side);
3. a plain read/write loop with a fixed buffer (memory stays flat).

Whether reflinks work is learnt once per pair of devices and remembered, so a
tree of 10,000 files on ext4 pays for one failed ``ioctl``, not 10,000.

Copies do not keep timestamps: every copied file gets the time of the copy,
which is what a fresh ``git checkout`` gives a job too.
"""

from __future__ import annotations

import errno
import os

# ioctl request number of FICLONE (linux/fs.h: _IOW(0x94, 9, int)).
FICLONE = 0x40049409
BUFFER_SIZE = 1 << 20

# (source device, destination device) pairs where FICLONE failed.
_NO_REFLINK: set[tuple[int, int]] = set()
# errno values that mean "this file system (pair) cannot do that", not "this file is bad".
_UNSUPPORTED = {
    errno.EOPNOTSUPP,
    errno.ENOTTY,
    errno.EINVAL,
    errno.EXDEV,
    errno.ENOSYS,
    errno.EPERM,
    errno.EBADF,
}


def copy_fd(
    src_fd: int, dst_fd: int, *, size: int | None = None, devices: tuple[int, int] | None = None
) -> str:
    """Copy the whole content of ``src_fd`` into the empty file ``dst_fd``.

    ``size`` and ``devices`` (source and destination ``st_dev``) save system
    calls when the caller knows them. Returns the method used (``reflink``,
    ``copy_file_range`` or ``read``), which the benchmarks print.
    """
    if devices is None:
        devices = (os.fstat(src_fd).st_dev, os.fstat(dst_fd).st_dev)
    if devices not in _NO_REFLINK:
        try:
            import fcntl

            fcntl.ioctl(dst_fd, FICLONE, src_fd)
            return "reflink"
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
            _NO_REFLINK.add(devices)
    if size == 0:
        return "copy_file_range"
    if _copy_file_range(src_fd, dst_fd, size):
        return "copy_file_range"
    _copy_read_write(src_fd, dst_fd)
    return "read"


def _copy_file_range(src_fd: int, dst_fd: int, size: int | None) -> bool:
    """Copy with ``copy_file_range``; ``False`` when nothing could be copied that way.

    Pseudo-files (``/proc``) copy nothing this way whatever their content, so
    "nothing copied" always falls back to reading; for a truly empty file that
    costs one ``read``.
    """
    copied = 0
    while True:
        try:
            n = os.copy_file_range(src_fd, dst_fd, BUFFER_SIZE * 64)
        except OSError as exc:
            if copied == 0 and exc.errno in _UNSUPPORTED:
                return False
            raise
        if n == 0:
            return copied > 0
        copied += n
        if size is not None and copied >= size:
            return True  # the expected size: spare the call that would return 0


def _copy_read_write(src_fd: int, dst_fd: int) -> None:
    os.lseek(src_fd, 0, os.SEEK_SET)
    os.lseek(dst_fd, 0, os.SEEK_SET)
    os.ftruncate(dst_fd, 0)
    buffer = bytearray(BUFFER_SIZE)
    view = memoryview(buffer)
    while True:
        n = os.readv(src_fd, [buffer])
        if n == 0:
            return
        written = 0
        while written < n:
            written += os.write(dst_fd, view[written:n])


def copy_file(
    src: str,
    dst: str,
    mode: int | None = None,
    *,
    size: int | None = None,
    devices: tuple[int, int] | None = None,
) -> str:
    """Copy the regular file ``src`` to the new file ``dst`` (which must not exist).

    ``mode`` (permission bits) defaults to the source's. Returns the method used.
    """
    src_fd = os.open(src, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        if mode is None:
            mode = os.fstat(src_fd).st_mode & 0o777
        dst_fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        try:
            method = copy_fd(src_fd, dst_fd, size=size, devices=devices)
            os.fchmod(dst_fd, mode)  # the umask must not decide a job's file modes
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)
    return method


def copy_tree(src: str, dst: str) -> int:
    """Copy the directory ``src`` to the new directory ``dst``; returns the number of files.

    Regular files are copied (see the module docstring), symbolic links are
    recreated as links (never followed), directories are recreated; sockets,
    FIFOs and device nodes are skipped.
    """
    os.mkdir(dst)
    devices = (os.stat(src).st_dev, os.stat(dst).st_dev)
    return _copy_dir_content(src, dst, devices)


def _copy_dir_content(src: str, dst: str, devices: tuple[int, int]) -> int:
    count = 0
    with os.scandir(src) as entries:
        for entry in entries:
            source = entry.path
            target = os.path.join(dst, entry.name)
            if entry.is_symlink():
                os.symlink(os.readlink(source), target)
                count += 1
            elif entry.is_dir(follow_symlinks=False):
                os.mkdir(target)
                count += _copy_dir_content(source, target, devices)
            elif entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                copy_file(source, target, st.st_mode & 0o777, size=st.st_size, devices=devices)
                count += 1
    return count
