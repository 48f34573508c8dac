"""What a JUnit ``<testcase>`` means: its status, attempts, excerpt and misc.

The reader (:mod:`gatehouse.ingest.junit`) collects one case's attributes
and child elements into a :class:`Case`; :func:`tests_of_case` turns it into
Tests. The dialect rules live here, one table per question:

- result elements: failure → FAIL, error → ERROR, skipped → SKIP; several
  in one case → the highest by roll-up priority, its message the comment;
- no result element: the ``status``/``result`` attribute (ctest
  run/fail/notrun, googletest run/notrun + completed/skipped/suppressed,
  tst passed/failed/errored/disabled), else PASS;
- expected failures and unexpected passes (pytest ``pytest.xfail`` and
  ``[XPASS(strict)]``, unittest ``XFAIL``, meson's texts) set the
  ``waived``/``unexpected_pass`` flags;
- Surefire's ``flaky*``/``rerun*`` children are attempts, each its own Test.

Every table is in ``docs/results.md`` too.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from gatehouse.core.results import (
    MISC_ATTEMPT,
    MISC_FILE,
    MISC_FLAKY,
    MISC_LINE,
    MISC_OCCURRENCE,
    MISC_ORIGINAL_STATUS,
    MISC_PROPERTIES,
    MISC_RETRIED,
    MISC_UNEXPECTED_PASS,
    MISC_WAIVED,
    Status,
    Test,
)
from gatehouse.ingest.context import TestFactory, key_of
from gatehouse.ingest.excerpt import compose_excerpt, first_line
from gatehouse.ingest.findings import Findings

RESULT_STATUS = {"failure": Status.FAIL, "error": Status.ERROR, "skipped": Status.SKIP}
RETRY_STATUS = {
    "flakyFailure": Status.FAIL,
    "flakyError": Status.ERROR,
    "rerunFailure": Status.FAIL,
    "rerunError": Status.ERROR,
}
# status="…"/result="…" words when a case has no result element (ctest, googletest, tst).
_ATTRIBUTE_STATUS = {
    "notrun": Status.SKIP,
    "disabled": Status.SKIP,
    "suppressed": Status.SKIP,
    "skipped": Status.SKIP,
    "skip": Status.SKIP,
    "ignored": Status.SKIP,
    "fail": Status.FAIL,
    "failed": Status.FAIL,
    "failure": Status.FAIL,
    "error": Status.ERROR,
    "errored": Status.ERROR,
}
# Attribute words worth keeping as misc.original_status (they say more than SKIP).
_TELLING_WORDS = frozenset({"notrun", "disabled", "suppressed", "ignored"})
_XFAIL_TYPES = frozenset({"pytest.xfail", "xfail", "expectedfailure", "expected failure"})
_MESON_XPASS = "Test unexpectedly passed."
_MESON_TIMEOUT = "Test did not finish before configured timeout."
# A case with only these attributes and no children is a plain pass.
PLAIN_ATTRIBUTES = frozenset({"name", "classname", "class", "time"})
# pytest's junit_logging writes every section header even when the section is empty.
_EMPTY_PYTEST_SECTION = re.compile(r"-{3,} Captured \w+ -{3,}\n\s*(?=-{3,} Captured \w+ -{3,}|\Z)")


def clean_output(text: str) -> str:
    if "Captured" in text:
        text = _EMPTY_PYTEST_SECTION.sub("", text)
    return text if text.strip() else ""


class Outcome:
    """One result element of a case (failure/error/skipped) or one Surefire retry."""

    __slots__ = ("err", "message", "out", "stack", "tag", "text", "type")

    def __init__(self, tag: str, message: str | None, kind: str | None) -> None:
        self.tag = tag
        self.message = message
        self.type = kind
        self.text = ""
        self.stack = ""
        self.out = ""
        self.err = ""

    def excerpt_parts(self) -> list[str]:
        parts = []
        body = self.text.strip()
        if self.message:
            parts.append(f"{self.tag}: {self.message}")
            if body and body != self.message.strip():
                parts.append(body)
        elif body:
            parts.append(f"{self.tag}: {body}")
        if self.stack.strip():
            parts.append(self.stack)
        if self.out.strip():
            parts.append("[system-out]\n" + self.out)
        if self.err.strip():
            parts.append("[system-err]\n" + self.err)
        return parts


class Case:
    """One ``<testcase>`` as read: its attributes, result elements, retries and output."""

    __slots__ = (
        "attrs",
        "err",
        "ident",
        "line",
        "out",
        "outcomes",
        "properties",
        "retries",
        "suite_log",
    )

    def __init__(self, attrs: dict[str, str], line: int) -> None:
        self.attrs = attrs
        self.line = line
        # (classname, name): PHPUnit writes ``class`` when ``classname`` is missing.
        self.ident = (attrs.get("classname") or attrs.get("class") or "", attrs.get("name") or "")
        self.outcomes: list[Outcome] = []
        self.retries: list[Outcome] = []
        self.out = ""
        self.err = ""
        self.properties: dict[str, str] | None = None
        self.suite_log = ""

    def is_plain(self) -> bool:
        """A case with nothing but a name and a time: a pass, and most cases of big files."""
        return (
            not self.outcomes
            and not self.out
            and not self.err
            and not self.properties
            and not self.retries
            and not self.suite_log
            and self.attrs.keys() <= PLAIN_ATTRIBUTES
        )


def parse_duration(value: str | None) -> float | None:
    """Seconds from ``1.5``, ``1,234.5`` or ``0.25s``; None when it is not a duration."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if 0 <= seconds < math.inf else None
    text = value.strip().replace(",", "")
    if text.endswith("s") and not text.endswith("ms"):
        text = text[:-1]
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if 0 <= seconds < math.inf else None


def parse_timestamp(value: str | None) -> str | None:
    """An RFC 3339 time with offset, or None (naive times say nothing certain)."""
    if not value:
        return None
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.isoformat()


def outcome_status(outcome: Outcome) -> tuple[Status, dict[str, Any] | None]:
    """The status one result element stands for, with the misc flags it implies."""
    tag = outcome.tag
    if tag == "skipped":
        kind = (outcome.type or "").strip().lower()
        if kind in _XFAIL_TYPES or kind.endswith(".xfail"):
            if (outcome.message or "").startswith("[NOTRUN]"):
                return Status.SKIP, {MISC_WAIVED: True, MISC_ORIGINAL_STATUS: "xfail"}
            return Status.FAIL, {MISC_WAIVED: True, MISC_ORIGINAL_STATUS: "xfail"}
        return Status.SKIP, None
    if tag == "failure":
        if (outcome.message or "").startswith("[XPASS(strict)]"):
            return Status.PASS, {MISC_UNEXPECTED_PASS: True, MISC_ORIGINAL_STATUS: "xpass"}
        if outcome.text.strip() == _MESON_XPASS:
            return Status.PASS, {MISC_UNEXPECTED_PASS: True, MISC_ORIGINAL_STATUS: "UNEXPECTEDPASS"}
        return Status.FAIL, None
    if outcome.text.strip() == _MESON_TIMEOUT:
        return Status.ERROR, {MISC_ORIGINAL_STATUS: "TIMEOUT"}
    return Status.ERROR, None


def case_status(case: Case) -> tuple[Status, dict[str, Any] | None, Outcome | None]:
    """A case's own status, the misc flags that go with it and the deciding element."""
    attrs = case.attrs
    status_word = (attrs.get("status") or "").strip().lower()
    result_word = (attrs.get("result") or "").strip().lower()
    if case.outcomes:
        best: tuple[Status, dict[str, Any] | None, Outcome | None] | None = None
        for outcome in case.outcomes:
            status, flags = outcome_status(outcome)
            if best is None or status.priority > best[0].priority:
                best = (status, flags, outcome)
        assert best is not None
        status, flags, deciding = best
        if status is Status.SKIP and status_word in _TELLING_WORDS:
            flags = {**(flags or {}), MISC_ORIGINAL_STATUS: status_word}
        return status, flags, deciding
    for word in (status_word, result_word):
        mapped = _ATTRIBUTE_STATUS.get(word)
        if mapped is not None:
            original = word
            if word == "notrun" and (attrs.get("name") or "").startswith("DISABLED_"):
                original = "disabled"  # googletest's convention for disabled tests
            flags = {MISC_ORIGINAL_STATUS: original} if original in _TELLING_WORDS else None
            return mapped, flags, None
    return Status.PASS, None, None


def attempt_status(outcome: Outcome) -> Status:
    retry_status = RETRY_STATUS.get(outcome.tag)
    return retry_status if retry_status is not None else outcome_status(outcome)[0]


def attempt_chain(
    case: Case, status: Status, deciding: Outcome | None
) -> tuple[list[Outcome], Outcome | None, Status]:
    """Surefire's attempts of one case: (earlier attempts, final outcome, final status).

    A case that kept failing holds its first run as the result element and
    each rerun as ``<rerunFailure>``/``<rerunError>``: the last rerun is the
    final attempt. A case that passed on a rerun holds each failed run as
    ``<flakyFailure>``/``<flakyError>`` and no result element: the pass is
    the final attempt.
    """
    flaky = [r for r in case.retries if r.tag.startswith("flaky")]
    reruns = [r for r in case.retries if r.tag.startswith("rerun")]
    if reruns and status.is_failure and deciding is not None:
        final = reruns[-1]
        return [*flaky, deciding, *reruns[:-1]], final, RETRY_STATUS[final.tag]
    return flaky + reruns, deciding, status


def tests_of_case(
    case: Case,
    *,
    path: str,
    suite_key: str,
    counts: list[int],
    factory: TestFactory,
    findings: Findings,
) -> list[Test]:
    """The Tests one case stands for: one, or one per attempt (Surefire retries).

    ``counts`` is the suite's running ``[testcase elements, Tests made]`` for
    this classname and name: it numbers occurrences and keeps IDs unique.
    """
    attrs = case.attrs
    classname, name = case.ident
    counts[0] += 1
    occurrence = counts[0]

    status, flags, deciding = case_status(case)
    misc: dict[str, Any] = dict(flags) if flags else {}
    if occurrence > 1:
        misc[MISC_OCCURRENCE] = occurrence
    if case.properties:
        misc[MISC_PROPERTIES] = case.properties
    for extra in ("value_param", "type_param"):
        if extra in attrs:
            misc.setdefault(MISC_PROPERTIES, {})[extra] = attrs[extra]
    if "file" in attrs:
        misc[MISC_FILE] = attrs["file"]
    line = attrs.get("line", "")
    if line.isdigit():
        misc[MISC_LINE] = int(line)

    duration = None
    if "time" in attrs:
        duration = parse_duration(attrs["time"])
        if duration is None:
            findings.warn(
                "bad-time", f"time={attrs['time']!r} is not a duration; ignored", case.line
            )
    start_time = parse_timestamp(attrs.get("timestamp"))

    made: list[Test] = []
    outcomes: list[Outcome] = case.outcomes
    if case.retries:
        earlier, final_outcome, status = attempt_chain(case, status, deciding)
        if status is Status.PASS and earlier:
            misc[MISC_FLAKY] = True
        for number, outcome in enumerate(earlier, start=1):
            counts[1] += 1
            attempt_misc = {k: v for k, v in misc.items() if k != MISC_FLAKY}
            attempt_misc[MISC_ATTEMPT] = number
            attempt_misc[MISC_RETRIED] = True
            made.append(
                factory.test(
                    key_of(suite_key, classname, name, str(counts[1])),
                    path,
                    attempt_status(outcome),
                    log_excerpt=compose_excerpt(outcome.excerpt_parts()),
                    comment=first_line(outcome.message or outcome.text),
                    misc=attempt_misc,
                )
            )
        misc[MISC_ATTEMPT] = len(earlier) + 1
        deciding = final_outcome
        outcomes = [final_outcome] if final_outcome is not None else []

    parts: list[str] = []
    for outcome in outcomes:
        parts.extend(outcome.excerpt_parts())
    out = clean_output(case.out)
    if out:
        parts.append("[system-out]\n" + out)
    err = clean_output(case.err)
    if err:
        parts.append("[system-err]\n" + err)
    if case.suite_log:
        parts.append(case.suite_log)
    counts[1] += 1
    made.append(
        factory.test(
            key_of(suite_key, classname, name, str(counts[1])),
            path,
            status,
            duration=duration,
            start_time=start_time,
            log_excerpt=compose_excerpt(parts) if parts else None,
            comment=first_line(deciding.message or deciding.text) if deciding else None,
            misc=misc,
        )
    )
    return made
