"""Log excerpts: the bounded piece of a test's output we keep with its result.

KCIDB caps ``log_excerpt`` at 16384 characters; a JUnit ``<system-out>`` or
a Bazel target log can be megabytes. Text is capped twice: while it is read
(:class:`CappedText` keeps the first and the last ``limit`` characters of one
element, so a huge element never sits whole in memory) and when the excerpt
is composed (:func:`compose_excerpt` keeps the head and the tail of the
joined parts: the head holds the assertion message, the tail the end of the
log where a crash shows, and a marker says how much was left out).
"""

from __future__ import annotations

from collections.abc import Iterable

LOG_EXCERPT_LIMIT = 16384  # KCIDB's maxLength for log_excerpt
COMMENT_LIMIT = 1024


def _omitted(count: int) -> str:
    return f"\n[... {count} characters omitted ...]\n"


class CappedText:
    """Accumulates text chunks keeping at most the head and the tail of ``limit`` each."""

    __slots__ = ("_head", "_head_len", "_limit", "_tail", "_tail_len", "total")

    def __init__(self, limit: int = LOG_EXCERPT_LIMIT) -> None:
        self._limit = limit
        self._head: list[str] = []
        self._head_len = 0
        self._tail: list[str] = []
        self._tail_len = 0
        self.total = 0

    def add(self, chunk: str) -> None:
        self.total += len(chunk)
        room = self._limit - self._head_len
        if room > 0:
            if len(chunk) <= room:
                self._head.append(chunk)
                self._head_len += len(chunk)
                return
            self._head.append(chunk[:room])
            self._head_len += room
            chunk = chunk[room:]
        self._tail.append(chunk)
        self._tail_len += len(chunk)
        if self._tail_len > 2 * self._limit:
            kept = "".join(self._tail)[-self._limit :]
            self._tail = [kept]
            self._tail_len = len(kept)

    def text(self) -> str:
        head = "".join(self._head)
        if not self._tail:
            return head
        tail = "".join(self._tail)[-self._limit :]
        omitted = self.total - len(head) - len(tail)
        return head + (_omitted(omitted) if omitted else "") + tail


def cap(text: str, limit: int = LOG_EXCERPT_LIMIT) -> str:
    """``text`` cut to at most ``limit`` characters, keeping its head and tail."""
    if len(text) <= limit:
        return text
    marker_room = len(_omitted(len(text)))
    keep = max(limit - marker_room, 0)
    head = keep // 2
    tail = keep - head
    return text[:head] + _omitted(len(text) - head - tail) + (text[-tail:] if tail else "")


def compose_excerpt(parts: Iterable[str | None], limit: int = LOG_EXCERPT_LIMIT) -> str | None:
    """Join the non-empty parts with newlines and cap the result; ``None`` if empty."""
    kept = [p.strip("\n") for p in parts if p and p.strip()]
    if not kept:
        return None
    return cap("\n".join(kept), limit)


def first_line(text: str | None, limit: int = COMMENT_LIMIT) -> str | None:
    """A one-line human comment from a message: its first non-empty line, capped."""
    if not text:
        return None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped:
            return stripped if len(stripped) <= limit else stripped[: limit - 3] + "..."
    return None
