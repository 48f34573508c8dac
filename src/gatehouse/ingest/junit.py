"""JUnit XML in its real dialects, parsed as a stream into Tests.

There is no JUnit XML standard, only producers: Surefire, pytest, jest,
ctest, googletest, meson, Bazel, TestNG, PHPUnit, scalatest, tst … They
share ``<testsuites>`` → ``<testsuite>`` (nested at will) → ``<testcase>``
with at most one of ``<failure>``/``<error>``/``<skipped>`` — except when
they do not: missing roots, several result elements in one case, retries
inside a case, status attributes instead of elements, suite counters that
are wrong. ``docs/results.md`` has the status table per dialect; the rules
in short:

- A case's status comes from its result elements (failure → FAIL, error →
  ERROR, skipped → SKIP; several → the highest by roll-up priority); with
  none, from a ``status``/``result`` attribute (ctest, googletest, tst:
  notrun/disabled/suppressed → SKIP, failed → FAIL, errored → ERROR); else
  PASS. Suite counters are ignored: everything is recomputed from the cases.
- Expected failures (``<skipped type="pytest.xfail">``, unittest's
  ``XFAIL``) are FAIL with ``misc.waived``; pytest's ``[XPASS(strict)]``
  and meson's "Test unexpectedly passed." are PASS with
  ``misc.unexpected_pass``; meson's timeout text keeps ``TIMEOUT`` as
  ``misc.original_status``.
- Surefire retries: each ``<flakyFailure>``/``<flakyError>`` is an earlier
  failed attempt of a case that finally passed, each
  ``<rerunFailure>``/``<rerunError>`` a later attempt of a case that kept
  failing. Every attempt becomes its own Test (``misc.attempt``, earlier
  ones ``misc.retried``, a final pass after failures ``misc.flaky``), so a
  flaky test is never reported as a plain pass.
- The same classname and name twice in one suite (TestNG retries, TestNG
  data providers, Surefire rerun reports) are kept as distinct Tests, the
  repeats with ``misc.occurrence`` 2, 3 …: the file does not say whether
  they are reruns.
- ``<system-out>``/``<system-err>`` and failure bodies become the log
  excerpt (capped). A suite's own output goes to its case when the suite
  has exactly one (Bazel writes one suite per target with the whole
  ``test.log``); otherwise it is not kept. To know that, the first case of
  each suite is held until the second arrives; every other case is emitted
  when its element ends.
- Several root elements in one file (bare ``<testcase>`` elements, or
  reports concatenated with ``cat``) are read one after the other.

The parser is expat driven directly (``pyexpat``) with handlers instead of
``ElementTree.iterparse``: no tree is built at all, so memory stays flat
however many cases a file holds; text is capped while it is read, so one
huge ``<system-out>`` does not sit whole in memory either; and expat's
positions give located warnings per case. A file that is not well-formed
XML (corrupt, truncated, not XML) is rejected with an
:class:`~gatehouse.errors.InputError` naming file, line, column and expat's
reason. Entity declarations are refused (no "billion laughs").
"""

from __future__ import annotations

import pyexpat
from collections.abc import Iterator
from typing import IO, Any

from gatehouse.core.results import Test
from gatehouse.errors import InputError, Location
from gatehouse.ingest.context import KEY_SEPARATOR, TestFactory
from gatehouse.ingest.excerpt import CappedText
from gatehouse.ingest.findings import Findings
from gatehouse.ingest.junit_cases import (
    PLAIN_ATTRIBUTES,
    RESULT_STATUS,
    RETRY_STATUS,
    Case,
    Outcome,
    parse_duration,
    tests_of_case,
)
from gatehouse.ingest.names import join_path

CHUNK_SIZE = 256 * 1024

# ctest writes this when no build name is set; it names nothing.
_PLACEHOLDER_SUITE_NAMES = frozenset({"(empty)"})
_JUNIT_ROOTS = frozenset({"testsuites", "testsuite", "testcase"})
# End actions, one per open element (a stack mirrors the element nesting).
_IGNORE, _ROOT, _SUITE, _CASE, _OUTCOME, _RETRY, _RETRY_PART = range(7)
_CASE_OUT, _CASE_ERR, _SUITE_OUT, _SUITE_ERR, _CASE_PROPERTIES, _PROPERTY = range(7, 13)
_CASE_PARENTS = frozenset({None, _ROOT, _SUITE})  # where <testcase> and <testsuite> count
_CASE_CHILDREN = frozenset(
    {*RESULT_STATUS, *RETRY_STATUS, "system-out", "system-err", "properties"}
)  # the children of a <testcase> that make it more than a plain pass


class _Suite:
    """An open ``<testsuite>`` (or the document itself, for cases outside any suite)."""

    __slots__ = ("cases", "components", "counts", "err", "key", "out", "path_cache", "pending")

    def __init__(self, components: list[str], key: str) -> None:
        self.components = components
        self.key = key
        self.cases = 0
        self.pending: Case | None = None
        # (classname, name) -> [testcase elements seen, Tests made]
        self.counts: dict[tuple[str, str], list[int]] = {}
        # classname -> (the suite path joined with it, its last component)
        self.path_cache: dict[str, tuple[str, str]] = {}
        self.out = ""
        self.err = ""

    def path(self, classname: str, name: str) -> str:
        cached = self.path_cache.get(classname)
        if cached is None:
            prefix = join_path([".".join(self.components), classname])
            cached = (prefix, prefix.rsplit(".", 1)[-1])
            self.path_cache[classname] = cached
        prefix, last = cached
        if not prefix:
            return name
        if "." not in name and name and name != last:
            return f"{prefix}.{name}"  # no overlap possible: the common case, kept fast
        return join_path([prefix, name])


class _Handler:
    """Expat callbacks: turn the element stream into Tests, appended to ``ready``."""

    def __init__(self, factory: TestFactory, findings: Findings) -> None:
        self.factory = factory
        self.findings = findings
        self.ready: list[Test] = []
        self.actions: list[int] = []
        self.captures: list[CappedText] = []
        self.suites: list[_Suite] = [_Suite([], "")]
        self.suite_occurrences: dict[str, int] = {}
        self.case: Case | None = None  # made when the open case has a child that matters
        self.case_attrs: dict[str, str] = {}
        self.case_line = 0
        self.outcome: Outcome | None = None
        self.property_name: str | None = None
        self.root_tag: str | None = None
        self.cases_seen = 0
        self.encoding: str | None = None
        self.parser: Any = None  # the current pyexpat parser (positions, data handler)
        self.line_base = 0

    # -- wiring ---------------------------------------------------------------

    def attach(self, parser: Any) -> None:
        self.parser = parser
        parser.buffer_text = True
        parser.buffer_size = 64 * 1024
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.XmlDeclHandler = self.xml_declaration
        parser.EntityDeclHandler = self.entity_declaration
        parser.CharacterDataHandler = self.data if self.captures else None

    def xml_declaration(self, _version: str, encoding: str | None, _standalone: int) -> None:
        if encoding and self.encoding is None:
            self.encoding = encoding

    def entity_declaration(self, name: str, *_args: object) -> None:
        raise InputError(
            f"the document declares the entity {name!r}: entity declarations are not accepted",
            Location(self.findings.name, self.line()),
            hint="JUnit reports need no DOCTYPE; this protects against entity expansion bombs",
        )

    def line(self) -> int:
        return int(self.parser.CurrentLineNumber) + self.line_base

    def _capture(self) -> None:
        if not self.captures:
            self.parser.CharacterDataHandler = self.data
        self.captures.append(CappedText())

    def _captured(self) -> str:
        text = self.captures.pop().text()
        if not self.captures:
            self.parser.CharacterDataHandler = None
        return text

    def data(self, text: str) -> None:
        self.captures[-1].add(text)

    # -- elements -------------------------------------------------------------

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        actions = self.actions
        parent = actions[-1] if actions else None
        if tag == "testcase" and parent in _CASE_PARENTS:  # the common case first
            self.case = None
            self.case_attrs = attrs
            self.case_line = self.parser.CurrentLineNumber + self.line_base
            actions.append(_CASE)
            if parent is None and self.root_tag is None:
                self.root_tag = tag
            return
        action = _IGNORE
        if parent == _CASE:
            if self.case is None and tag in _CASE_CHILDREN:
                self.case = Case(self.case_attrs, self.case_line)
            if tag in RESULT_STATUS:
                action = _OUTCOME
                self.outcome = Outcome(tag, attrs.get("message"), attrs.get("type"))
                self._capture()
            elif tag in RETRY_STATUS:
                action = _RETRY
                self.outcome = Outcome(tag, attrs.get("message"), attrs.get("type"))
                self._capture()
            elif tag == "system-out":
                action = _CASE_OUT
                self._capture()
            elif tag == "system-err":
                action = _CASE_ERR
                self._capture()
            elif tag == "properties":
                action = _CASE_PROPERTIES
        elif parent == _RETRY:
            if tag in ("stackTrace", "system-out", "system-err"):
                action = _RETRY_PART
                self._capture()
        elif parent == _CASE_PROPERTIES:
            if tag == "property":
                action = _PROPERTY
                self.property_name = attrs.get("name") or ""
                value = attrs.get("value")
                if value is None:
                    self._capture()
                else:
                    self._add_property(self.property_name, value)
                    self.property_name = None
        elif parent in _CASE_PARENTS:
            if tag == "testsuite":
                action = _SUITE
                self._open_suite(attrs.get("name") or "")
            elif tag == "testsuites" and parent != _SUITE:
                action = _ROOT
            elif parent == _SUITE and tag == "system-out":
                action = _SUITE_OUT
                self._capture()
            elif parent == _SUITE and tag == "system-err":
                action = _SUITE_ERR
                self._capture()
            elif parent is None:
                raise InputError(
                    f"the root element <{tag}> is not JUnit XML "
                    "(expected <testsuites>, <testsuite> or <testcase>)",
                    Location(self.findings.name, self.line()),
                )
        if parent is None and self.root_tag is None:
            self.root_tag = tag
        actions.append(action)

    def end(self, tag: str) -> None:
        action = self.actions.pop()
        if action == _CASE:
            self._finish_case()
        elif action == _IGNORE:
            return
        elif action == _OUTCOME:
            outcome = self.outcome
            assert outcome is not None
            assert self.case is not None
            outcome.text = self._captured()
            self.case.outcomes.append(outcome)
            self.outcome = None
        elif action == _RETRY:
            outcome = self.outcome
            assert outcome is not None
            assert self.case is not None
            outcome.text = self._captured()
            self.case.retries.append(outcome)
            self.outcome = None
        elif action == _RETRY_PART:
            text = self._captured()
            outcome = self.outcome
            assert outcome is not None
            if tag == "stackTrace":
                outcome.stack += text
            elif tag == "system-out":
                outcome.out += text
            else:
                outcome.err += text
        elif action == _CASE_OUT:
            assert self.case is not None
            self.case.out += self._captured()
        elif action == _CASE_ERR:
            assert self.case is not None
            self.case.err += self._captured()
        elif action == _SUITE_OUT:
            self.suites[-1].out += self._captured()
        elif action == _SUITE_ERR:
            self.suites[-1].err += self._captured()
        elif action == _PROPERTY:
            if self.property_name is not None:
                self._add_property(self.property_name, self._captured().strip())
                self.property_name = None
        elif action == _SUITE:
            self._close_suite()

    def _add_property(self, name: str, value: str) -> None:
        case = self.case
        assert case is not None
        if case.properties is None:
            case.properties = {}
        case.properties[name] = value

    # -- suites and cases -----------------------------------------------------

    def _open_suite(self, name: str) -> None:
        parent = self.suites[-1]
        if name in _PLACEHOLDER_SUITE_NAMES:
            name = ""
        components = parent.components
        if name:
            joined = join_path([".".join(components), name])
            components = joined.split(".")
        key = f"{parent.key}/{name}"
        seen = self.suite_occurrences.get(key, 0) + 1
        self.suite_occurrences[key] = seen
        if seen > 1:
            key = f"{key}#{seen}"
        self.suites.append(_Suite(components, key))

    def _close_suite(self) -> None:
        suite = self.suites.pop()
        pending = suite.pending
        if pending is not None:
            if suite.cases == 1 and (suite.out.strip() or suite.err.strip()):
                parts = []
                if suite.out.strip():
                    parts.append("[suite system-out]\n" + suite.out.strip("\n"))
                if suite.err.strip():
                    parts.append("[suite system-err]\n" + suite.err.strip("\n"))
                pending.suite_log = "\n".join(parts)
            suite.pending = None
            self._emit(pending, suite)

    def _finish_case(self) -> None:
        """A ``</testcase>``: emit it, except the first of a suite, held for the suite's log."""
        case = self.case
        self.case = None
        self.cases_seen += 1
        suite = self.suites[-1]
        suite.cases += 1
        if suite.cases == 1:
            suite.pending = case or Case(self.case_attrs, self.case_line)
            return
        if suite.pending is not None:
            self._emit(suite.pending, suite)
            suite.pending = None
        if case is None and self._emit_plain(self.case_attrs, self.case_line, suite):
            return
        self._emit(case or Case(self.case_attrs, self.case_line), suite)

    def finish(self) -> None:
        """Emit what is still pending at the end of the document."""
        while len(self.suites) > 1:  # only after a truncated document, which is rejected
            self.suites.pop()
        root = self.suites[0]
        if root.pending is not None:
            self._emit(root.pending, root)
            root.pending = None

    def _emit_plain(self, attrs: dict[str, str], line: int, suite: _Suite) -> bool:
        """Emit a case that is nothing but a name and a time, fast; False if it is more."""
        if not attrs.keys() <= PLAIN_ATTRIBUTES:
            return False
        ident = (attrs.get("classname") or attrs.get("class") or "", attrs.get("name") or "")
        if ident in suite.counts:
            return False  # a repeat: it needs its occurrence number
        suite.counts[ident] = [1, 1]
        time = attrs.get("time")
        duration = parse_duration(time) if time is not None else None
        if duration is None and time is not None:
            self.findings.warn("bad-time", f"time={time!r} is not a duration; ignored", line)
        self.ready.append(
            self.factory.plain_test(
                KEY_SEPARATOR.join((suite.key, ident[0], ident[1], "1")),
                suite.path(*ident),
                duration,
            )
        )
        return True

    def _emit(self, case: Case, suite: _Suite) -> None:
        if case.is_plain() and self._emit_plain(case.attrs, case.line, suite):
            return
        counts = suite.counts.get(case.ident)
        if counts is None:
            counts = [0, 0]
            suite.counts[case.ident] = counts
        self.ready.extend(
            tests_of_case(
                case,
                path=suite.path(*case.ident),
                suite_key=suite.key,
                counts=counts,
                factory=self.factory,
                findings=self.findings,
            )
        )


def _located(name: str, exc: pyexpat.ExpatError, line_base: int, column_base: int) -> InputError:
    reason = pyexpat.ErrorString(exc.code)
    line = exc.lineno + line_base
    column = exc.offset + 1 + (column_base if exc.lineno == 1 else 0)
    hint = None
    if exc.code == pyexpat.errors.codes[pyexpat.errors.XML_ERROR_NO_ELEMENTS]:
        hint = "the file ends early or is empty: was the test run killed while writing it?"
    return InputError(f"not well-formed XML: {reason}", Location(name, line, column), hint=hint)


_JUNK = pyexpat.errors.codes[pyexpat.errors.XML_ERROR_JUNK_AFTER_DOC_ELEMENT]
_MISPLACED_DECLARATION = pyexpat.errors.codes[pyexpat.errors.XML_ERROR_MISPLACED_XML_PI]


def parse_junit(
    stream: IO[bytes], factory: TestFactory, findings: Findings
) -> Iterator[list[Test]]:
    """Yield the Tests of a JUnit XML stream as they are read, in lists.

    Raises :class:`InputError` (located) for a document that is not
    well-formed or not JUnit; a caller that stores while iterating must
    discard what it stored (one transaction per file).
    """
    name = findings.name
    handler = _Handler(factory, findings)
    parser = pyexpat.ParserCreate()
    handler.attach(parser)
    segment_start = 0  # absolute offset of the current parser's first byte
    column_base = 0  # the current parser's line 1 starts at this column of the file
    previous = b""  # the chunk before ``chunk``, for a root that straddles two chunks
    offset = 0  # absolute offset of ``chunk``
    chunk = b""
    while True:
        previous, offset = chunk, offset + len(chunk)
        chunk = stream.read(CHUNK_SIZE)
        final = not chunk
        data = chunk
        while True:
            try:
                parser.Parse(data, final)
                break
            except pyexpat.ExpatError as exc:
                if (
                    exc.code not in (_JUNK, _MISPLACED_DECLARATION)
                    or handler.root_tag not in _JUNIT_ROOTS
                    or handler.actions
                ):
                    raise _located(name, exc, handler.line_base, column_base) from None
                # Another root element: a file of bare cases or concatenated reports.
                junk_at = segment_start + parser.ErrorByteIndex
                window = previous + chunk
                window_start = offset - len(previous)
                rest = window[junk_at - window_start :] if junk_at >= window_start else b""
                if not rest.lstrip().startswith(b"<"):
                    raise _located(name, exc, handler.line_base, column_base) from None
                handler.line_base += exc.lineno - 1
                column_base = exc.offset + (column_base if exc.lineno == 1 else 0)
                encoding = None if rest.startswith(b"<?xml") else handler.encoding
                parser = pyexpat.ParserCreate(encoding)
                handler.attach(parser)
                handler.root_tag = None
                segment_start = junk_at
                data = rest
        if handler.ready:
            ready, handler.ready = handler.ready, []
            yield ready
        if final:
            break
    handler.finish()
    yield handler.ready
    if handler.cases_seen == 0:
        findings.warn("no-cases", "the report holds no test cases")
