"""The local content-addressed blob store: artifacts and reports as files named by their SHA-256.

Layout under the store's root::

    blobs/ab/cdef0123…   one read-only file per distinct content (sha256 = "abcdef0123…")
    tmp/                 files being written; renamed into blobs/ when complete

Why content addressing: a build job's binaries are handed to a dozen test
jobs, and a pipeline re-run produces mostly identical files; naming a blob by
its hash stores each content once and makes "is it already there?" a
``stat``. Every write goes to ``tmp/`` first and is renamed into place, so a
crash never leaves a blob whose content does not match its name (with
``durable=True`` the data is also flushed to disk before the rename; off by
default because it costs a disk round trip per blob and local runs favour
speed).

Content is streamed through a fixed buffer while it is hashed: no file is ever
held in memory, and there is no size limit but the disk.

:meth:`LocalBlobStore.adopt` is the fast path for collecting artifacts: a file
in a workspace that is about to be deleted is hashed in place and then
*renamed* into the store (same file system, a single link), instead of being
copied. :meth:`LocalBlobStore.materialize` always makes a private copy
(reflink or an in-kernel copy, never a hardlink), so a job that modifies a
restored artifact cannot damage the blob.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import re
import stat
import tempfile
from collections.abc import Sequence
from typing import IO

from gatehouse.core.ports import BlobRef
from gatehouse.errors import StorageError
from gatehouse.filecopy import BUFFER_SIZE, copy_file

_SHA256 = re.compile(r"[0-9a-f]{64}")
_TMP_NAMES = itertools.count()


def check_sha256(sha256: str) -> str:
    """``sha256`` if it is 64 lower-case hex digits; a path must never come from a bad one."""
    if not _SHA256.fullmatch(sha256):
        raise StorageError(f"not a SHA-256 blob name: {sha256!r}")
    return sha256


class LocalBlobStore:
    """An :class:`~gatehouse.core.ports.ArtifactStore` in a local directory."""

    def __init__(self, root: str, *, durable: bool = False) -> None:
        self.root = os.path.abspath(root)
        self.durable = durable
        self._blobs = os.path.join(self.root, "blobs")
        self._tmp = os.path.join(self.root, "tmp")
        try:
            os.makedirs(self._blobs, exist_ok=True)
            os.makedirs(self._tmp, exist_ok=True)
            self._device = os.stat(self._tmp).st_dev
        except OSError as exc:
            raise StorageError(f"cannot create the artifact store at {self.root}: {exc}") from exc

    # ------------------------------------------------------------------ writing

    def blob_path(self, sha256: str) -> str:
        check_sha256(sha256)
        return os.path.join(self._blobs, sha256[:2], sha256[2:])

    def put_path(self, path: str) -> BlobRef:
        try:
            with open(path, "rb") as stream:
                return self.put_stream(stream)
        except OSError as exc:
            raise StorageError(f"cannot store {path}: {exc.strerror or exc}") from exc

    def put_stream(self, stream: IO[bytes]) -> BlobRef:
        try:
            fd, tmp = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        except OSError as exc:
            raise StorageError(f"cannot write to the artifact store {self.root}: {exc}") from exc
        try:
            digest = hashlib.sha256()
            size = 0
            buffer = bytearray(BUFFER_SIZE)
            view = memoryview(buffer)
            readinto = getattr(stream, "readinto", None)
            while True:
                if readinto is not None:
                    n = readinto(buffer)
                    chunk = view[:n] if n else b""
                else:
                    chunk = stream.read(BUFFER_SIZE)
                    n = len(chunk)
                if not n:
                    break
                digest.update(chunk)
                written = 0
                while written < n:
                    written += os.write(fd, chunk[written:])
                size += n
            if self.durable:
                os.fsync(fd)
        except BaseException as exc:
            os.close(fd)
            _unlink_quietly(tmp)
            if isinstance(exc, OSError):
                raise StorageError(f"cannot store a blob in {self.root}: {exc}") from exc
            raise
        os.close(fd)
        return self._commit(tmp, digest.hexdigest(), size)

    def adopt(self, path: str) -> BlobRef:
        try:
            st = os.lstat(path)
            # A rename is only a private move when this is the file's one name on our
            # file system; otherwise another name could later change the blob.
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_dev != self._device:
                ref = self.put_path(path)
                os.unlink(path)
                return ref
            with open(path, "rb") as stream:
                sha = hashlib.file_digest(stream, "sha256").hexdigest()
            final = self.blob_path(sha)
            if os.path.exists(final):
                os.unlink(path)
                return BlobRef(sha, st.st_size)
            os.chmod(path, 0o444)
            if self.durable:
                _fsync_path(path)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            try:
                os.rename(path, final)
            except OSError as exc:
                if exc.errno != errno.EXDEV:  # another mount of the same device
                    raise
                ref = self.put_path(path)
                os.unlink(path)
                return ref
            self._sync_dir(final)
            return BlobRef(sha, st.st_size)
        except OSError as exc:
            raise StorageError(f"cannot store {path}: {exc.strerror or exc}") from exc

    def _commit(self, tmp: str, sha: str, size: int) -> BlobRef:
        final = self.blob_path(sha)
        try:
            if os.path.exists(final):
                os.unlink(tmp)
            else:
                os.chmod(tmp, 0o444)
                os.makedirs(os.path.dirname(final), exist_ok=True)
                os.replace(tmp, final)
                self._sync_dir(final)
        except OSError as exc:
            _unlink_quietly(tmp)
            raise StorageError(f"cannot store a blob in {self.root}: {exc}") from exc
        return BlobRef(sha, size)

    def _sync_dir(self, final: str) -> None:
        if self.durable:
            _fsync_path(os.path.dirname(final))

    # ------------------------------------------------------------------ reading

    def open(self, blob: BlobRef) -> IO[bytes]:
        try:
            return open(self.blob_path(blob.sha256), "rb")
        except FileNotFoundError as exc:
            raise StorageError(f"blob {blob.sha256} is not in the artifact store") from exc
        except OSError as exc:
            raise StorageError(f"cannot read blob {blob.sha256}: {exc}") from exc

    def materialize(self, blob: BlobRef, dest: str, mode: int = 0o644) -> None:
        source = self.blob_path(blob.sha256)
        directory, name = os.path.split(os.path.abspath(dest))
        # Written beside the destination then renamed over it: a symlink or a
        # hardlink already at ``dest`` is replaced, never written through.
        tmp = os.path.join(directory, f".{name}.gatehouse-{os.getpid()}-{next(_TMP_NAMES)}")
        try:
            copy_file(source, tmp, mode & 0o777)
            os.replace(tmp, dest)
        except FileNotFoundError as exc:
            _unlink_quietly(tmp)
            if not os.path.exists(source):
                raise StorageError(f"blob {blob.sha256} is not in the artifact store") from exc
            raise StorageError(f"cannot write {dest}: {exc}") from exc
        except OSError as exc:
            _unlink_quietly(tmp)
            raise StorageError(f"cannot write {dest}: {exc.strerror or exc}") from exc

    def exists(self, blob: BlobRef) -> bool:
        try:
            return os.stat(self.blob_path(blob.sha256)).st_size == blob.size
        except FileNotFoundError:
            return False

    # ------------------------------------------------------------------ housekeeping

    def delete(self, sha256: str) -> None:
        _unlink_quietly(self.blob_path(sha256))

    def list_blobs(self) -> Sequence[BlobRef]:
        found: list[BlobRef] = []
        try:
            with os.scandir(self._blobs) as prefixes:
                for prefix in prefixes:
                    if not prefix.is_dir(follow_symlinks=False) or len(prefix.name) != 2:
                        continue
                    with os.scandir(prefix.path) as blobs:
                        for entry in blobs:
                            sha = prefix.name + entry.name
                            if _SHA256.fullmatch(sha):
                                size = entry.stat(follow_symlinks=False).st_size
                                found.append(BlobRef(sha, size))
        except OSError as exc:
            raise StorageError(f"cannot list the artifact store {self.root}: {exc}") from exc
        return sorted(found, key=lambda b: b.sha256)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
