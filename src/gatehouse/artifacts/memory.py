"""An in-memory blob store for tests and for the fake executor.

It honours the same contract as :class:`~gatehouse.artifacts.store.LocalBlobStore`
(``tests/contracts/test_artifact_store.py`` runs against both): identical
content stored once, missing blobs reported as :class:`StorageError`,
``materialize`` writing a private copy and replacing (never following) what is
at the destination. Content lives in a dict, so it is for small blobs only.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
from collections.abc import Sequence
from typing import IO

from gatehouse.core.ports import BlobRef
from gatehouse.errors import StorageError

from .store import check_sha256

_CHUNK = 1 << 20


class MemoryBlobStore:
    """An :class:`~gatehouse.core.ports.ArtifactStore` held in a dict."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put_path(self, path: str) -> BlobRef:
        try:
            with open(path, "rb") as stream:
                return self.put_stream(stream)
        except OSError as exc:
            raise StorageError(f"cannot store {path}: {exc.strerror or exc}") from exc

    def put_stream(self, stream: IO[bytes]) -> BlobRef:
        parts: list[bytes] = []
        digest = hashlib.sha256()
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            parts.append(chunk)
        sha = digest.hexdigest()
        content = b"".join(parts)
        with self._lock:
            self._blobs.setdefault(sha, content)
        return BlobRef(sha, len(content))

    def put_bytes(self, content: bytes) -> BlobRef:
        return self.put_stream(io.BytesIO(content))

    def adopt(self, path: str) -> BlobRef:
        ref = self.put_path(path)
        os.unlink(path)
        return ref

    def _get(self, blob: BlobRef) -> bytes:
        check_sha256(blob.sha256)
        with self._lock:
            content = self._blobs.get(blob.sha256)
        if content is None:
            raise StorageError(f"blob {blob.sha256} is not in the artifact store")
        return content

    def open(self, blob: BlobRef) -> IO[bytes]:
        return io.BytesIO(self._get(blob))

    def materialize(self, blob: BlobRef, dest: str, mode: int = 0o644) -> None:
        content = self._get(blob)
        directory, name = os.path.split(os.path.abspath(dest))
        tmp = os.path.join(directory, f".{name}.gatehouse-memory-{threading.get_ident()}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode & 0o777)
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view) :]
                os.fchmod(fd, mode & 0o777)
            finally:
                os.close(fd)
            os.replace(tmp, dest)
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise StorageError(f"cannot write {dest}: {exc.strerror or exc}") from exc

    def exists(self, blob: BlobRef) -> bool:
        with self._lock:
            content = self._blobs.get(blob.sha256)
        return content is not None and len(content) == blob.size

    def delete(self, sha256: str) -> None:
        with self._lock:
            self._blobs.pop(sha256, None)

    def list_blobs(self) -> Sequence[BlobRef]:
        with self._lock:
            return sorted(
                (BlobRef(sha, len(content)) for sha, content in self._blobs.items()),
                key=lambda b: b.sha256,
            )
