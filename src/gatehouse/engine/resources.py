"""``resource_group``: at most one running job per group, across pipelines and processes.

GitLab's resource groups are a project-wide mutex (e.g. one deployment to
production at a time). Locally the same guarantee has to hold between two
``gatehouse run`` processes on one project, so a group is held with an
exclusive ``flock`` on ``<data dir>/locks/<group>.lock`` as well as an
in-process FIFO of waiters. Waiting jobs are served oldest first
(GitLab's default ``unordered`` mode allows any order; oldest-first is fair).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
from pathlib import Path

_POLL = 0.05


class ResourceGroups:
    def __init__(self, lock_dir: Path) -> None:
        self._dir = lock_dir
        self._held: dict[str, int] = {}
        self._waiters: dict[str, asyncio.Lock] = {}

    def _path(self, group: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", group)[:200]
        return self._dir / f"{safe}.lock"

    def _try_file_lock(self, group: str) -> int | None:
        self._dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path(group), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    async def acquire(self, group: str) -> None:
        """Wait until this process holds ``group``."""
        lock = self._waiters.setdefault(group, asyncio.Lock())
        await lock.acquire()
        try:
            while True:
                fd = self._try_file_lock(group)
                if fd is not None:
                    self._held[group] = fd
                    return
                await asyncio.sleep(_POLL)
        except BaseException:
            lock.release()
            raise

    def is_free(self, group: str) -> bool:
        lock = self._waiters.get(group)
        return lock is None or not lock.locked()

    def release(self, group: str) -> None:
        fd = self._held.pop(group, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        lock = self._waiters.get(group)
        if lock is not None and lock.locked():
            lock.release()
