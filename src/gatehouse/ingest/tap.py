"""TAP 12, 13 and 14, parsed line by line into Tests.

A TAP stream is a plan (``1..N``, first or last), test points
(``ok``/``not ok``, an optional number, a description, an optional
``# SKIP``/``# TODO`` directive), YAML diagnostics indented under a test
point between ``---`` and ``...``, ``#`` comments and ``Bail out!``. TAP 14
nests streams: a subtest is a 4-space indented stream, optionally introduced
by ``# Subtest: name``, whose results the parent test point that follows it
sums up; node-tap's braced form (``ok 1 - name {`` … ``}``) puts the parent
first. The parser keeps a stack of open streams, one per indentation level.

Statuses (``docs/results.md`` has the table): ``ok`` PASS, ``not ok``
FAIL, ``# SKIP`` SKIP, ``not ok # TODO`` FAIL with ``misc.waived`` (an
expected failure: TAP counts it as success), ``ok # TODO`` PASS with
``misc.unexpected_pass`` (TAP calls it a bonus: the TODO is stale).

What the stream says about tests that did not report, decided per the notes
on one internal status set:

- **Bail out!** ends the stream: every planned test not seen becomes ERROR
  (the test program gave up: the test's fault, not the code's); without a
  plan one ``bail_out`` ERROR record says so. Lines after it are ignored.
- **Plan mismatch**: planned tests never seen (the stream ended early: a
  crash or a kill) become MISS; tests beyond the plan are kept, with a
  warning. A stream with test points but no plan gets a ``missing_plan``
  MISS record (the harness cannot tell whether everything ran).
- ``1..0 # SKIP reason`` with no test points: one ``skip_all`` SKIP record.
- A subtest whose parent test point never comes (bail out, end of file)
  gets a synthetic parent: ERROR after a bail out, MISS otherwise.

Synthetic records carry ``misc.synthetic``. Each test's path is its
subtest names and its description (its number when it has none), joined
with ``.``; a description repeated within one stream gets ``#<number>``
appended, because TAP's repeated descriptions are different assertions,
not reruns. Lines that are not TAP are ignored, as the specification says,
with a warning naming the line; a file with no TAP at all is rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

from gatehouse.core.results import (
    MISC_ORIGINAL_STATUS,
    MISC_SYNTHETIC,
    MISC_UNEXPECTED_PASS,
    MISC_WAIVED,
    Status,
    Test,
)
from gatehouse.errors import InputError, Location
from gatehouse.ingest.context import TestFactory
from gatehouse.ingest.excerpt import CappedText, compose_excerpt, first_line
from gatehouse.ingest.findings import Findings
from gatehouse.ingest.tap_diagnostics import read_yaml_block

_TEST_LINE = re.compile(r"(not ok|ok)\b(?:[ \t]*(\d+))?[ \t]*(.*)")
_PLAN = re.compile(r"(\d+)\.\.(\d+)\s*(?:#\s*(.*))?$")
_DIRECTIVE = re.compile(r"(skip|todo)\S*(?:\s+(.*))?$", re.IGNORECASE | re.DOTALL)
_TIME_PRAGMA = re.compile(r"time=\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")
_VERSION = re.compile(r"TAP version (\d+)\s*$", re.IGNORECASE)
_SUBTEST = re.compile(r"#\s*Subtest(?::\s*(.*))?$")
_BAIL_OUT = "Bail out!"
MAX_SYNTHETIC_PER_STREAM = 10_000  # a plan of 1..10^9 must not make 10^9 records
_NUMBER_LIMIT = 1 << 24  # numbers tracked for duplicates and gaps


class _Point:
    """One test point (or a synthetic record), finished once its YAML and comments are read."""

    __slots__ = (
        "braced",
        "children",
        "comment",
        "component",
        "description",
        "duration",
        "excerpt",
        "line",
        "misc",
        "number",
        "status",
        "trailing",
        "yaml",
    )

    def __init__(self, number: int, description: str, status: Status, line: int) -> None:
        self.number = number
        self.description = description
        self.status = status
        self.line = line
        self.component = ""
        self.comment: str | None = None
        self.duration: float | None = None
        self.misc: dict[str, Any] | None = None
        self.children: list[_Point] | None = None
        self.yaml: list[str] | None = None
        self.trailing: CappedText | None = None  # "# …" diagnostics after a failed point
        self.excerpt: str | None = None
        self.braced = False


class _Stream:
    """One TAP stream: the document, or a subtest at one more level of indentation."""

    __slots__ = (
        "added",
        "bailed",
        "braced_parent",
        "level",
        "names",
        "next_number",
        "plan",
        "plan_line",
        "points",
        "seen",
        "seen_count",
        "skip_reason",
        "subtest_name",
    )

    def __init__(self, level: int, subtest_name: str | None = None) -> None:
        self.level = level
        self.plan: tuple[int, int] | None = None
        self.plan_line = 0
        self.skip_reason: str | None = None
        self.next_number = 1
        self.seen = bytearray()
        self.seen_count = 0
        self.points: list[_Point] = []  # kept for subtests; the document emits as it goes
        self.added = 0
        self.names: dict[str, int] = {}
        self.bailed = False
        self.subtest_name = subtest_name
        self.braced_parent: _Point | None = None

    def unique(self, name: str, number: int) -> str:
        """A component name unique within this stream (repeated descriptions get #number)."""
        if name not in self.names:
            self.names[name] = 1
            return name
        candidate = f"{name}#{number}"
        while candidate in self.names:
            self.names[name] += 1
            candidate = f"{name}#{number}#{self.names[name]}"
        self.names[candidate] = 1
        return candidate

    def mark(self, number: int) -> bool:
        """Record a number as seen; False when it was seen before."""
        if number >= _NUMBER_LIMIT or number < 0:
            return True
        if number >= len(self.seen):
            self.seen.extend(bytes(max(number + 1 - len(self.seen), len(self.seen))))
        if self.seen[number]:
            return False
        self.seen[number] = 1
        self.seen_count += 1
        return True

    def missing(self) -> Iterator[int]:
        if self.plan is None:
            return
        first, last = self.plan
        for number in range(max(first, 0), min(last, _NUMBER_LIMIT - 1) + 1):
            if number >= len(self.seen) or not self.seen[number]:
                yield number


def _split_directive(text: str) -> tuple[str, str | None, float | None]:
    """(description, directive text or None, duration from a time= pragma)."""
    if "#" not in text:
        return text.strip(), None, None
    position = 0
    while True:
        index = text.find("#", position)
        if index < 0:
            return _unescape(text).strip(), None, None
        if index > 0 and text[index - 1] == "\\":
            position = index + 1
            continue
        after = text[index + 1 :].strip()
        before = _unescape(text[:index]).strip()
        if _DIRECTIVE.match(after):
            return before, after, None
        pragma = _TIME_PRAGMA.match(after)
        if pragma:
            value = float(pragma.group(1))
            return before, None, value / 1000 if pragma.group(2) != "s" else value
        # A '#' that starts no directive is part of the description ("fixes #42").
        position = index + 1


def _unescape(text: str) -> str:
    return text.replace("\\#", "#").replace("\\\\", "\\") if "\\" in text else text


class _Parser:
    def __init__(self, factory: TestFactory, findings: Findings) -> None:
        self.factory = factory
        self.findings = findings
        self.streams: list[_Stream] = [_Stream(0)]
        self.pending: _Point | None = None  # the last point, until its YAML and comments are read
        self.pending_level = 0
        self.yaml_indent: int | None = None
        self.yaml_start = 0
        self.ready: list[Test] = []
        self.tap_lines = 0
        self.bailed = False
        self.after_bail = 0
        self.bail_reason = ""
        self.subtest_hint: dict[int, str] = {}

    # -- lines ----------------------------------------------------------------

    def feed(self, raw: str, number: int) -> None:
        line = raw.rstrip("\r\n")
        if self.bailed:
            if line.strip():
                self.after_bail += 1
            return
        stripped = line.lstrip(" \t")
        indent = len(line) - len(stripped)
        if self.yaml_indent is not None and self._yaml_line(line, stripped, indent):
            return
        if not stripped:
            return
        pending = self.pending
        if (
            pending is not None
            and stripped.rstrip() == "---"
            and self.pending_level * 4 < indent < self.pending_level * 4 + 4
        ):
            self.yaml_indent = indent
            self.yaml_start = number
            pending.yaml = []
            return
        level = indent // 4
        if stripped.startswith("#"):
            self._comment(stripped, level)
            return
        if stripped.startswith(_BAIL_OUT):
            self.tap_lines += 1
            self._bail_out(stripped[len(_BAIL_OUT) :].strip(), number)
            return
        test = _TEST_LINE.match(stripped)
        if test is not None:
            self.tap_lines += 1
            self._test_point(test, level, number)
            return
        plan = _PLAN.match(stripped)
        if plan is not None:
            self.tap_lines += 1
            self._plan(plan, level, number)
            return
        if stripped.rstrip() == "}" and self._close_brace(level):
            return
        if stripped.rstrip() == "{" and self._open_brace_late(level):
            return
        version = _VERSION.match(stripped)
        if version is not None:
            self.tap_lines += 1
            if number != 1 and level == 0:
                self.findings.warn("tap-version", "TAP version line not on the first line", number)
            elif int(version.group(1)) not in (13, 14):
                self.findings.warn(
                    "tap-version", f"TAP version {version.group(1)} is not 13 or 14", number
                )
            return
        if stripped.startswith("pragma "):
            self.tap_lines += 1
            return
        self.findings.warn("not-tap", f"not a TAP line, ignored: {_shorten(stripped)}", number)

    def _yaml_line(self, line: str, stripped: str, indent: int) -> bool:
        """Consume one line of a YAML block; False when the block ended without '...'."""
        pending = self.pending
        assert pending is not None
        assert pending.yaml is not None
        yaml_indent = self.yaml_indent
        assert yaml_indent is not None
        if stripped.rstrip() == "..." and indent == yaml_indent:
            self.yaml_indent = None
            return True
        if stripped and indent < yaml_indent:
            self.findings.warn(
                "tap-yaml", "YAML block not closed with '...'; closed here", self.yaml_start
            )
            self.yaml_indent = None
            return False
        if len(pending.yaml) < 10_000:
            pending.yaml.append(line[yaml_indent:] if stripped else "")
        return True

    def _comment(self, stripped: str, level: int) -> None:
        subtest = _SUBTEST.match(stripped)
        if subtest is not None:
            self.subtest_hint[level] = (subtest.group(1) or "").strip()
            return
        pending = self.pending
        if (
            pending is not None
            and pending.status is not Status.PASS
            and level == self.pending_level
        ):
            if pending.trailing is None:
                pending.trailing = CappedText()
            pending.trailing.add(stripped + "\n")

    # -- streams --------------------------------------------------------------

    def _enter(self, level: int) -> _Stream:
        """The stream at ``level``: open subtests down to it, or close those below it."""
        streams = self.streams
        while streams[-1].level < level:
            parent_level = streams[-1].level
            hint = self.subtest_hint.pop(parent_level, None) or self.subtest_hint.pop(
                parent_level + 1, None
            )
            streams.append(_Stream(streams[-1].level + 1, hint))
        return streams[-1]

    def _close_streams_below(self, level: int) -> list[_Point] | None:
        """Close the subtests deeper than ``level``; the children for the next point there."""
        children: list[_Point] | None = None
        while self.streams[-1].level > level:
            stream = self.streams.pop()
            if stream.braced_parent is not None:
                # A braced subtest left open: its parent point came before it.
                self._finish_stream(stream)
                self._attach(stream.braced_parent, stream.points)
                continue
            self._finish_stream(stream)
            if self.streams[-1].level == level:
                children = stream.points
                children_hint = stream.subtest_name
                if children and children_hint is not None:
                    self.subtest_hint.setdefault(level, children_hint)
            else:
                self._orphan(stream, self.streams[-1])
        return children

    def _orphan(self, child: _Stream, parent: _Stream) -> None:
        """A subtest whose parent point never came: give it a synthetic parent."""
        if not child.points:
            return
        number = parent.next_number
        parent.next_number += 1
        parent.mark(number)
        status = Status.ERROR if child.bailed else Status.MISS
        point = _Point(number, child.subtest_name or "", status, 0)
        point.misc = {MISC_SYNTHETIC: "missing_parent"}
        point.comment = "the subtest's own result line never came"
        self._attach(point, child.points)
        self._add(parent, point)

    def _attach(self, parent: _Point, children: list[_Point]) -> None:
        if children:
            parent.children = (parent.children or []) + children

    # -- TAP elements ---------------------------------------------------------

    def _test_point(self, match: re.Match[str], level: int, line: int) -> None:
        self._flush_pending()
        children = self._close_streams_below(level)
        stream = self._enter(level)
        hint = self.subtest_hint.pop(level, None)
        word, digits, rest = match.group(1), match.group(2), match.group(3) or ""
        if rest.startswith("-"):
            rest = rest[1:]
        braced = False
        body = rest.rstrip()
        if body.endswith("{") and (len(body) == 1 or body[-2] in " \t"):
            braced = True
            rest = body[:-1]
        description, directive, duration = _split_directive(rest)
        if directive is not None and directive.rstrip().endswith("{"):
            braced = True
            directive = directive.rstrip()[:-1]
        if description.endswith("{"):
            braced = True
            description = description[:-1].rstrip()
        if digits is not None:
            number = int(digits)
            if number != stream.next_number:
                self.findings.warn(
                    "tap-order", f"test {number} out of order (expected {stream.next_number})", line
                )
        else:
            number = stream.next_number
        stream.next_number = number + 1
        if not stream.mark(number):
            self.findings.warn("tap-duplicate", f"test number {number} seen twice", line)
        if stream.plan is not None and number > stream.plan[1]:
            self.findings.warn(
                "tap-plan", f"test {number} is beyond the plan 1..{stream.plan[1]}", line
            )
        passed = word == "ok"
        status = Status.PASS if passed else Status.FAIL
        point = _Point(number, description or (hint or ""), status, line)
        point.duration = duration
        if directive is not None:
            self._apply_directive(point, directive, passed)
        if children:
            self._attach(point, children)
        self._add(stream, point)
        if braced:
            point.braced = True
            child = _Stream(level + 1, description)
            child.braced_parent = point
            self.streams.append(child)
            self.pending = None
        else:
            self.pending = point
            self.pending_level = level

    def _apply_directive(self, point: _Point, directive: str, passed: bool) -> None:
        match = _DIRECTIVE.match(directive)
        assert match is not None
        keyword = match.group(1).upper()
        reason = (match.group(2) or "").strip() or None
        if keyword == "SKIP":
            point.status = Status.SKIP
            if not passed:
                point.misc = {MISC_ORIGINAL_STATUS: "not ok # SKIP"}
        elif passed:
            point.misc = {MISC_UNEXPECTED_PASS: True, MISC_ORIGINAL_STATUS: "ok # TODO"}
        else:
            point.misc = {MISC_WAIVED: True, MISC_ORIGINAL_STATUS: "not ok # TODO"}
        point.comment = reason

    def _add(self, stream: _Stream, point: _Point) -> None:
        name = point.description or str(point.number)
        point.component = stream.unique(name, point.number)
        stream.points.append(point)
        stream.added += 1

    def _plan(self, match: re.Match[str], level: int, line: int) -> None:
        self._flush_pending()
        children = self._close_streams_below(level)
        stream = self._enter(level)
        if children:
            # A subtest closed by a plan line, not by its test point.
            fake = _Stream(level + 1, self.subtest_hint.pop(level, None))
            fake.points = children
            self._orphan(fake, stream)
        first, last = int(match.group(1)), int(match.group(2))
        if stream.plan is not None:
            self.findings.warn("tap-plan", "a second plan; the first one counts", line)
            return
        if first != 1:
            self.findings.warn("tap-plan", f"plan {first}..{last} does not start at 1", line)
        stream.plan = (first, last)
        stream.plan_line = line
        if last == 0 or last < first:
            directive = (match.group(3) or "").strip()
            skip = _DIRECTIVE.match(directive)
            stream.skip_reason = (skip.group(2) or "").strip() if skip else directive
            stream.plan = (1, 0)

    def _close_brace(self, level: int) -> bool:
        stream = self.streams[-1]
        if stream.braced_parent is None or stream.level != level + 1:
            return False
        self._flush_pending()
        self.streams.pop()
        self._finish_stream(stream)
        parent = stream.braced_parent
        self._attach(parent, stream.points)
        return True

    def _open_brace_late(self, level: int) -> bool:
        """node-tap's ``ok 3 - name`` + YAML + ``{``: the point opens its subtest late."""
        stream = self.streams[-1]
        point = stream.points[-1] if stream.points else None
        if point is None or stream.level != level or point is not self.pending:
            return False
        point.braced = True
        child = _Stream(level + 1, point.description)
        child.braced_parent = point
        self.streams.append(child)  # first, so that flushing the point does not emit it yet
        self._flush_pending()
        return True

    def _bail_out(self, reason: str, line: int) -> None:
        self._flush_pending()
        self.bailed = True
        innermost = self.streams[-1]
        for stream in self.streams:
            stream.bailed = True
        point = None
        if innermost.plan is None:
            point = _Point(innermost.next_number, "bail_out", Status.ERROR, line)
            point.misc = {MISC_SYNTHETIC: "bail_out"}
            point.comment = f"Bail out! {reason}".strip()
            innermost.mark(point.number)
            self._add(innermost, point)
        self.bail_reason = reason

    # -- finishing ------------------------------------------------------------

    def _flush_pending(self) -> None:
        point = self.pending
        if point is None:
            return
        self.pending = None
        if self.yaml_indent is not None:
            self.findings.warn(
                "tap-yaml", "YAML block not closed with '...' before the next line", self.yaml_start
            )
            self.yaml_indent = None
        parts: list[str | None] = []
        if point.yaml is not None:
            diagnostics = read_yaml_block(point.yaml, self.findings, point.line)
            if diagnostics.duration is not None:
                point.duration = diagnostics.duration
            if point.comment is None and point.status is not Status.PASS:
                point.comment = first_line(diagnostics.message)
            if diagnostics.worth_keeping:
                parts.append("\n".join(point.yaml))
        if point.trailing is not None:
            parts.append(point.trailing.text())
            point.trailing = None
        point.yaml = None
        point.excerpt = compose_excerpt(parts)
        if len(self.streams) == 1:
            self._emit_top()

    def _emit_top(self) -> None:
        """Emit the document stream's finished points (called when no subtest is open)."""
        stream = self.streams[0]
        for point in stream.points:
            self._emit(point, "")
        stream.points = []

    def _emit(self, point: _Point, prefix: str) -> None:
        path = f"{prefix}.{point.component}" if prefix else point.component
        for child in point.children or ():
            self._emit(child, path)
        self.ready.append(
            self.factory.test(
                path,
                path,
                point.status,
                duration=point.duration,
                log_excerpt=point.excerpt,
                comment=point.comment,
                misc=point.misc,
            )
        )

    def _finish_stream(self, stream: _Stream) -> None:
        """Add the records a stream implies: missing tests, bail out, missing plan, skip all."""
        self._flush_pending()
        missing_status = Status.ERROR if stream.bailed else Status.MISS
        made = 0
        if stream.plan is not None and stream.plan[1] > 0:
            for number in stream.missing():
                if made == MAX_SYNTHETIC_PER_STREAM:
                    self.findings.warn(
                        "tap-plan",
                        f"more than {MAX_SYNTHETIC_PER_STREAM} planned tests missing; "
                        "not all are recorded",
                        stream.plan_line,
                    )
                    break
                point = _Point(number, "", missing_status, 0)
                point.misc = {MISC_SYNTHETIC: "bail_out" if stream.bailed else "missing"}
                point.comment = (
                    f"not run: Bail out! {self.bail_reason}".strip()
                    if stream.bailed
                    else "planned but never reported"
                )
                self._add(stream, point)
                made += 1
            if made and not stream.bailed:
                self.findings.warn(
                    "tap-plan",
                    f"planned {stream.plan[1]} tests, {made} never reported",
                    stream.plan_line,
                )
        elif stream.plan is None and stream.added and not stream.bailed:
            point = _Point(stream.next_number, "missing_plan", Status.MISS, 0)
            point.misc = {MISC_SYNTHETIC: "missing_plan"}
            point.comment = "the stream has no plan: it may have stopped early"
            self._add(stream, point)
            self.findings.warn("tap-plan", "no plan (1..N) in the stream")
        elif stream.plan == (1, 0) and not stream.added and stream.level == 0:
            point = _Point(0, "skip_all", Status.SKIP, stream.plan_line)
            point.misc = {MISC_SYNTHETIC: "skip_all"}
            point.comment = stream.skip_reason or None
            self._add(stream, point)

    def finish(self) -> None:
        self._flush_pending()
        while len(self.streams) > 1:
            stream = self.streams.pop()
            self._finish_stream(stream)
            if stream.braced_parent is not None:
                self._attach(stream.braced_parent, stream.points)
            else:
                self._orphan(stream, self.streams[-1])
        self._finish_stream(self.streams[0])
        for point in self.streams[0].points:
            self._emit(point, "")
        self.streams[0].points = []
        if self.after_bail:
            self.findings.warn("tap-bail-out", f"{self.after_bail} lines after 'Bail out!' ignored")


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_tap(stream: IO[bytes], factory: TestFactory, findings: Findings) -> Iterator[list[Test]]:
    """Yield the Tests of a TAP stream, in lists; reject a stream with no TAP in it."""
    parser = _Parser(factory, findings)
    number = 0
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            findings.warn("not-utf8", "line is not UTF-8; undecodable bytes replaced", number)
            line = raw.decode("utf-8", "replace")
        parser.feed(line, number)
        if len(parser.ready) >= 1024:
            ready, parser.ready = parser.ready, []
            yield ready
    if parser.tap_lines == 0:
        raise InputError(
            "no TAP in this file: no plan, test line, version line or bail out",
            Location(findings.name, 1 if number else None),
            hint="TAP lines look like '1..3', 'ok 1 - name' or 'not ok 2 - name'",
        )
    parser.finish()
    yield parser.ready
