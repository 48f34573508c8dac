"""``--format auto``: recognise a results format by its first bytes.

Detection reads a prefix of the stream (up to :data:`SNIFF_SIZE` bytes, or
the first line of JSON lines) and hands the parser a stream that replays
that prefix before the rest, so nothing is read twice and nothing is lost.
The rules, first match wins:

- ``<``: XML; the root element ``testsuites``/``testsuite``/``testcase``
  is JUnit, anything else is refused with its name.
- ``{``: JSON. A first line that is a whole object with ``name`` and
  ``result`` is meson's ``testlog.json`` (JSON lines); an object with
  ``"version": {"major": …}`` is KCIDB; one with a ``testsuites`` list is
  googletest's JSON output.
- A line ``TAP version N``, a plan ``1..N``, a test line ``ok``/``not ok``
  or ``Bail out!`` (after any ``#`` comments and blank lines): TAP.

Anything else is refused with a message that lists the formats and asks
for ``--format``.
"""

from __future__ import annotations

import io
import json
import re
from typing import IO

from gatehouse.errors import InputError, Location

SNIFF_SIZE = 64 * 1024
FORMATS = ("junit", "tap", "meson", "gtest-json", "kcidb")

_BOMS = (b"\xef\xbb\xbf",)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_XML_NAME = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_TAP_LINE = re.compile(rb"^(TAP version \d+|\d+\.\.\d+|(not )?ok\b|Bail out!|pragma [+-])")
_KCIDB_VERSION = re.compile(rb'"version"\s*:\s*\{\s*"(major|minor)"')
_GTEST_SUITES = re.compile(rb'"testsuites"\s*:\s*\[')


class _Replay(io.RawIOBase):
    """A raw stream that yields ``prefix`` and then the rest of ``stream``."""

    def __init__(self, prefix: bytes, stream: IO[bytes]) -> None:
        self._prefix = memoryview(prefix)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._prefix.nbytes:
            n = min(len(buffer), self._prefix.nbytes)
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._stream.read(len(buffer))
        if not data:
            return 0
        n = len(data)
        buffer[:n] = data
        return n


def replay(prefix: bytes, stream: IO[bytes]) -> IO[bytes]:
    """A buffered stream reading ``prefix`` first, then the rest of ``stream``."""
    if not prefix:
        return stream
    return io.BufferedReader(_Replay(prefix, stream), buffer_size=256 * 1024)


def _read_prefix(stream: IO[bytes]) -> bytes:
    prefix = stream.read(SNIFF_SIZE)
    # JSON lines need their whole first line; read on to the first newline.
    if prefix.lstrip()[:1] == b"{" and b"\n" not in prefix:
        more = [prefix]
        while True:
            chunk = stream.read(SNIFF_SIZE)
            if not chunk:
                break
            more.append(chunk)
            if b"\n" in chunk:
                break
        prefix = b"".join(more)
    return prefix


def _json_format(prefix: bytes) -> str | None:
    first_line = prefix.split(b"\n", 1)[0].strip()
    try:
        first = json.loads(first_line)
    except ValueError:
        first = None
    if isinstance(first, dict):
        if "name" in first and "result" in first:
            return "meson"
        if isinstance(first.get("version"), dict):
            return "kcidb"
        if isinstance(first.get("testsuites"), list):
            return "gtest-json"
    if _KCIDB_VERSION.search(prefix):
        return "kcidb"
    if _GTEST_SUITES.search(prefix):
        return "gtest-json"
    return None


def _xml_format(prefix: bytes) -> tuple[str | None, str | None]:
    """("junit", None), or (None, root name) when the root is something else."""
    text = prefix
    # Skip the declaration, comments, processing instructions and a doctype.
    position = 0
    while True:
        match = _XML_NAME.search(text, position)
        if match is None:
            return None, None
        start = match.start()
        if text[start + 1 : start + 2] in (b"?", b"!"):
            position = start + 2
            continue
        root = match.group(1).decode("utf-8", "replace")
        local = root.rsplit(":", 1)[-1]
        if local in ("testsuites", "testsuite", "testcase"):
            return "junit", None
        return None, root


def _tap_format(prefix: bytes) -> bool:
    for raw in prefix.splitlines()[:200]:
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        return bool(_TAP_LINE.match(line))
    return False


def sniff(stream: IO[bytes], name: str) -> tuple[str, IO[bytes]]:
    """Detect the format of ``stream``; return it and a stream to parse from the start."""
    prefix = _read_prefix(stream)
    body = prefix
    if body[:2] in _UTF16_BOMS:  # expat reads UTF-16 itself; detection needs bytes it can see
        body = body.decode("utf-16", "ignore").encode("utf-8")
    for bom in _BOMS:
        if body.startswith(bom):
            body = body[len(bom) :]
    lead = body.lstrip()[:1]
    detected: str | None = None
    problem = "its content matches none of them"
    if lead == b"<":
        detected, root = _xml_format(body)
        if detected is None and root is not None:
            problem = f"it is XML with the root element <{root}>, which is not JUnit"
    elif lead in (b"{", b"["):
        detected = _json_format(body.lstrip())
        if detected is None:
            problem = "it is JSON but neither KCIDB, meson testlog.json nor googletest JSON"
    elif _tap_format(body):
        detected = "tap"
    elif not body.strip():
        problem = "it is empty"
    if detected is None:
        raise InputError(
            f"cannot tell the results format: {problem}",
            Location(name),
            hint=f"pass --format with one of: {', '.join(FORMATS)}",
        )
    return detected, replay(prefix, stream)
