"""The per-job log file: how it is written while a job runs, and how it is read and followed.

Format
------
A job log is a text file of lines, each with a fixed-width prefix::

    2025-01-02T03:04:05.678Z O $ make -j2
    2025-01-02T03:04:05.912Z O cc -c main.c
    2025-01-02T03:04:09.001Z G Job failed: exit code 2

- 24 characters of UTC time with milliseconds, when the line started to arrive;
- one space, a kind letter, one space: ``O`` for the job's output (stdout and
  stderr merged in the order the job wrote them, as GitLab does — including
  the ``$ command`` lines the shell prints), ``G`` for lines gatehouse adds
  (phases, warnings, the verdict);
- the line's bytes as the job wrote them (secrets masked), then ``\\n``.

Lines are bytes, not text: a job may print anything. Readers decode with
replacement. The file always ends with a newline once the job is over; while
it runs, the last line may be incomplete, and :func:`follow` waits for the
rest.

Writing at the speed of the job
-------------------------------
A job printing 500,000 lines must not be slowed down by its log. The writer
never looks at lines one by one: for each chunk it gets from the pipe it masks
secrets (:mod:`.masking`), then inserts the prefix after every newline with
one ``bytes.replace`` — every line of a chunk gets the chunk's arrival time —
and writes the result with one unbuffered ``write`` (so a follower sees it at
once). A line split between two chunks keeps its first prefix.

The cap
-------
``limit`` bytes of job output at most (GitLab's ``output_limit``, 4 MiB by
default; 0 means no cap). The chunk that crosses the limit is cut at its last
complete line, and a ``G`` line says that the log was truncated; the job keeps
running and its output keeps being read (and counted, and searched for
coverage), just not written. gatehouse's own ``G`` lines are still written
after the cap: they are few and they carry the verdict.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .coverage import CoverageScanner
from .masking import Masker

KIND_OUTPUT = "O"
KIND_GATEHOUSE = "G"
TIMESTAMP_WIDTH = 24
PREFIX_WIDTH = TIMESTAMP_WIDTH + 3
_PREFIX = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z] ")


@dataclass(frozen=True, slots=True)
class LogSummary:
    """What a finished log amounts to (goes into ``JobOutcome``)."""

    bytes_written: int
    output_bytes: int  # job output received, including what the cap dropped
    truncated: bool
    coverage: float | None


class LogWriter:
    """Writes one job's log file; see the module docstring for the format."""

    def __init__(
        self,
        path: str,
        *,
        limit: int = 4 * 1024 * 1024,
        secrets: Iterable[str] = (),
        coverage: re.Pattern[bytes] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self._fd = -1
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        self._limit = limit if limit > 0 else None
        self._masker = Masker(secrets)
        self._coverage = CoverageScanner(coverage) if coverage is not None else None
        self._clock = clock
        self._written = 0
        self._received = 0
        self._truncated = False
        self._at_line_start = True
        self._stamp_second = -1
        self._stamp_text = b""

    @property
    def truncated(self) -> bool:
        return self._truncated

    def write(self, data: bytes) -> None:
        """Append a chunk of the job's output (any size, any split)."""
        if not data:
            return
        self._received += len(data)
        if self._coverage is not None:
            self._coverage.feed(data)
        if self._truncated:
            return
        if self._masker.active:
            data = self._masker.feed(data)
            if not data:
                return
        self._emit(data, KIND_OUTPUT, capped=True)

    def flush(self) -> None:
        """End of one process's output: emit what masking held back."""
        if self._masker.active and not self._truncated:
            rest = self._masker.flush()
            if rest:
                self._emit(rest, KIND_OUTPUT, capped=True)

    def note(self, text: str) -> None:
        """Add a gatehouse line (``G``); it starts on a line of its own."""
        self.flush()
        if not self._at_line_start:
            self._raw(b"\n")
        self._emit(text.encode() + b"\n", KIND_GATEHOUSE, capped=False)

    def close(self) -> LogSummary:
        self.flush()
        if not self._at_line_start:
            self._raw(b"\n")
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        coverage = self._coverage.result() if self._coverage is not None else None
        return LogSummary(self._written, self._received, self._truncated, coverage)

    # ------------------------------------------------------------------ internals

    def _prefix(self, kind: str) -> bytes:
        second, millis = divmod(int(self._clock() * 1000 + 0.5), 1000)
        if second != self._stamp_second:
            self._stamp_second = second
            self._stamp_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode()
        return b"%s.%03dZ %s " % (self._stamp_text, millis, kind.encode())

    def _emit(self, data: bytes, kind: str, *, capped: bool) -> None:
        prefix = self._prefix(kind)
        body = data.replace(b"\n", b"\n" + prefix)
        if self._at_line_start:
            body = prefix + body
        size = len(body) - len(prefix) if data.endswith(b"\n") else len(body)
        if capped and self._limit is not None and self._written + size > self._limit:
            self._truncate(body, self._limit - self._written)
            return
        self._raw(memoryview(body)[:size])

    def _truncate(self, body: bytes, room: int) -> None:
        cut = body.rfind(b"\n", 0, max(room, 0))
        if cut != -1:
            self._raw(memoryview(body)[: cut + 1])
        if not self._at_line_start:
            self._raw(b"\n")
        self._truncated = True
        self._emit(
            b"Job's log exceeded the limit of %d bytes: the job keeps running, "
            b"but no more of its output is written here.\n" % (self._limit or 0),
            KIND_GATEHOUSE,
            capped=False,
        )

    def _raw(self, data: bytes | memoryview) -> None:
        if not data:
            return
        self._written += len(data)
        self._at_line_start = data[-1] == 10  # b"\n"
        if self._fd < 0:
            return
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]


# ---------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a job log. ``time`` and ``kind`` are empty for a line without a prefix."""

    time: str
    kind: str
    text: str

    def render(self, *, timestamps: bool = False) -> str:
        if timestamps and self.time:
            return f"{self.time} {self.text}"
        return self.text


def parse_line(raw: bytes) -> LogLine:
    """Parse one line (without its newline); tolerant of lines without a prefix."""
    if raw.endswith(b"\r\n"):
        raw = raw[:-2]
    elif raw.endswith(b"\n"):
        raw = raw[:-1]
    if _PREFIX.match(raw):
        return LogLine(
            raw[:TIMESTAMP_WIDTH].decode(),
            chr(raw[TIMESTAMP_WIDTH + 1]),
            raw[PREFIX_WIDTH:].decode(errors="replace"),
        )
    return LogLine("", "", raw.decode(errors="replace"))


def read_log(path: str) -> Iterator[LogLine]:
    """Every line of a (finished or running) log as it is now, the incomplete last one too."""
    with open(path, "rb") as stream:
        for raw in stream:
            yield parse_line(raw)


def follow(
    path: str,
    finished: Callable[[], bool],
    *,
    interval: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
    chunk_size: int = 1 << 16,
) -> Iterator[LogLine]:
    """Yield the log's lines, then new ones as another process writes them.

    Stops once ``finished()`` says the job is over and everything written has
    been read. An incomplete last line is held back until it is completed (or
    the job has finished). A log file that does not exist yet is waited for.
    """
    stream = None
    pending = b""
    try:
        while True:
            if stream is None:
                try:
                    stream = open(path, "rb")  # noqa: SIM115 - held across iterations
                except FileNotFoundError:
                    if finished():
                        return
                    sleep(interval)
                    continue
            data = stream.read(chunk_size)
            if data:
                pending += data
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    yield parse_line(raw)
                continue
            # At the end of what is written: the job may have finished after our
            # last read, so read once more before believing it.
            if finished():
                rest = stream.read()
                pending += rest
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    yield parse_line(raw)
                if pending:
                    yield parse_line(pending)
                return
            sleep(interval)
    finally:
        if stream is not None:
            stream.close()
