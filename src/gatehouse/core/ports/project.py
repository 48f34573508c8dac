"""Ports for a project's files and for time: :class:`ProjectFiles`, :class:`Clock`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class ProjectFiles(Protocol):
    """A project's files, addressed by repository-relative POSIX paths (no ``./``)."""

    def read_text(self, path: str) -> str | None:
        """The file's text, or ``None`` when it does not exist."""
        ...

    def list_files(self) -> Sequence[str]:
        """Every file of the project (used for wildcards, ``rules:exists``)."""
        ...


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (wall clock)."""
        ...

    def monotonic(self) -> float:
        """A monotonic time for measuring durations."""
        ...
