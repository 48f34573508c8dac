"""Failure signatures: one short title per failure, equal across runs and machines.

The same bug fails with different addresses, PIDs, timestamps, temporary
directories and line numbers every time. To count it once, a failure excerpt
is reduced to a *title*, the way syzbot titles kernel crashes:

1. **Pick the most telling line.** Known report shapes first: a KASAN or
   KMSAN report (``KASAN: use-after-free in kmem_cache_free``), a kernel
   ``WARNING`` (``WARNING in ext4_evict_inode``: the function, not the
   address), an AddressSanitizer report (its bug type plus the first stack
   frame), a Python traceback (its last ``SomeError: message`` line), a pytest
   ``E   `` line, a googletest ``Failure`` with the line that follows it. Else
   the first line that says error, assert, panic, fatal, BUG, Oops, failed or
   segmentation fault; else the first non-empty line.
2. **Normalise it** (:func:`normalise`): timestamps (ISO 8601, syslog,
   ``[   12.345678]`` kernel stamps) go; temporary paths become ``TMP``;
   UUIDs ``UUID``; IP addresses ``IP``; ``func+0x1a/0x20`` becomes ``func``;
   ``file.c:123`` becomes ``file.c:LINE``; PIDs ``PID``; hex runs of six or
   more digits ``ADDR``; shorter ``0x..`` offsets ``HEX``; other numbers
   ``NUM``; ``syz-executor123`` loses its number; whitespace collapses; at
   most 120 characters.
3. The signature **id** is the first 12 hex digits of the title's SHA-256.

:func:`group_by_signature` groups ``(result id, excerpt)`` pairs by id with
counts, most frequent first (``gatehouse failures``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_TITLE = 120

_SUBSTITUTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, flags), r)
    for p, r, flags in (
        # timestamps first: they are full of numbers
        (r"^\s*\[\s*\d+\.\d+\]\s*", "", 0),
        (
            r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\b",
            "",
            0,
        ),
        (r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d+ \d\d:\d\d:\d\d\b", "", 0),
        (r"\b\d\d:\d\d:\d\d(?:\.\d+)?\b", "", 0),
        (r"(?:/private)?/var/folders/[^\s:'\"]*", "TMP", 0),
        (r"/tmp/[^\s:'\"]*", "TMP", 0),  # noqa: S108 - a pattern, not a file
        (r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "UUID", re.I),
        (r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b", "IP", 0),
        (r"\b([A-Za-z_][\w.]*)\+0x[0-9a-f]+(?:/0x[0-9a-f]+)?", r"\1", re.I),
        (r"([\w-]\.[A-Za-z][\w]*):\d+(?::\d+)?", r"\1:LINE", 0),
        (r"==\d+==", "==PID==", 0),
        (r"\b(pid|PID)([:= ]\s*)\d+", r"\1\2PID", 0),
        (r"\b([A-Za-z_][\w-]*)\[\d+\]:", r"\1[PID]:", 0),
        (r"\bsyz-executor\d+", "syz-executor", 0),
        (r"\bCPU#\d+", "CPU", 0),
        (r"\b(?:0x)?(?=[0-9a-f]*\d)[0-9a-f]{6,}\b", "ADDR", re.I),
        (r"\b0x[0-9a-f]{6,}\b", "ADDR", re.I),
        (r"\b0x[0-9a-f]{1,5}\b", "HEX", re.I),
        (r"\b\d+(?:\.\d+)?\b", "NUM", 0),
    )
)

_KASAN = re.compile(r"BUG: (K[A-Z]SAN: [\w-]+) in ([\w.]+)")
_KASAN_ACCESS = re.compile(r"(?:^|\]\s*)(Read|Write) of size")
_KERNEL_WARNING = re.compile(r"WARNING: CPU: \d+ PID: \d+ at \S+ ([\w.]+)\+0x")
_ASAN = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer|MemorySanitizer): ([\w-]+)"
)
_FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in ([\w:~<>]+)")
_PY_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning))(?::|$)")
_PYTEST_E = re.compile(r"^E\s{2,}(\S.*)$")
_GTEST_FAILURE = re.compile(r":\d+: Failure\s*$")
_TELLING = re.compile(
    r"\b(error|assert\w*|panic|fatal|BUG|Oops|failed|failure|segmentation fault|abort\w*)\b", re.I
)


@dataclass(frozen=True, slots=True)
class Signature:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class SignatureGroup:
    signature: Signature
    count: int
    result_ids: tuple[str, ...]


def normalise(line: str) -> str:
    """The line with run-specific details replaced (see the module doc), ≤ 120 characters."""
    text = line
    for pattern, replacement in _SUBSTITUTIONS:
        text = pattern.sub(replacement, text)
    text = "".join(c if c.isprintable() else " " for c in text.replace("\t", " "))
    return " ".join(text.split())[:MAX_TITLE].rstrip()


def telling_line(excerpt: str) -> str:
    """The line of ``excerpt`` that best names the failure (already shaped for known reports)."""
    lines = excerpt.splitlines()
    for i, line in enumerate(lines):
        if m := _KASAN.search(line):
            access = next(
                (a.group(1) for x in lines[i + 1 : i + 4] if (a := _KASAN_ACCESS.search(x))), ""
            )
            kind = f"{m.group(1)} {access}".rstrip()
            return f"{kind} in {m.group(2)}"
        if m := _KERNEL_WARNING.search(line):
            return f"WARNING in {m.group(1)}"
        if m := _ASAN.search(line):
            frame = next((f.group(1) for x in lines[i + 1 :] if (f := _FRAME.match(x))), None)
            return f"{m.group(1)}: {m.group(2)}" + (f" in {frame}" if frame else "")
    if any(line.startswith("Traceback (most recent call last)") for line in lines):
        for line in reversed(lines):
            if _PY_EXCEPTION.match(line.strip()):
                return line.strip()
    for line in lines:
        if m := _PYTEST_E.match(line):
            return m.group(1)
    for i, line in enumerate(lines):
        if _GTEST_FAILURE.search(line):
            following = next((x.strip() for x in lines[i + 1 :] if x.strip()), "")
            return f"{line.strip()} {following}".strip()
    for line in lines:
        if _TELLING.search(line):
            return line
    return next((line for line in lines if line.strip()), "")


def signature(excerpt: str) -> Signature:
    title = normalise(telling_line(excerpt))
    return Signature(hashlib.sha256(title.encode()).hexdigest()[:12], title)


def group_by_signature(items: Iterable[tuple[str, str]]) -> list[SignatureGroup]:
    """Group ``(result id, excerpt)`` pairs by signature; most frequent first."""
    groups: dict[str, tuple[Signature, list[str]]] = {}
    for result_id, excerpt in items:
        sig = signature(excerpt)
        groups.setdefault(sig.id, (sig, []))[1].append(result_id)
    ordered = sorted(groups.values(), key=lambda g: (-len(g[1]), g[0].title))
    return [SignatureGroup(sig, len(ids), tuple(ids)) for sig, ids in ordered]
