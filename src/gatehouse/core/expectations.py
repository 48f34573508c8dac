"""Expectations files (Mesa / deqp-runner) and the verdict they give a set of results.

A driver's CI keeps three kinds of files next to its code:

- ``*-fails.txt``, the **baseline**: ``test-name,Status`` per line (split on
  the *last* comma, since names may contain commas in principle), ``#``
  comments and blank lines allowed, a test listed twice is an error;
- ``*-flakes.txt``: one unanchored regex per line; a non-success result whose
  name matches becomes ``Flake``, which does not fail the verdict;
- ``*-skips.txt``: one unanchored regex per line; matching tests are removed
  before anything else (they count as neither success nor failure).

Several files of each kind may be given (``all-skips.txt`` plus the driver's
own, for instance): they are layered, i.e. concatenated; a test in two fails
files is a duplicate too.

Applying them follows deqp-runner's status algebra (``runner_results.rs``):

==========  =============== =============== =============== ============ =======
actual      baseline Fail   Crash           Timeout         Warn         none
==========  =============== =============== =============== ============ =======
Pass        UnexpectedPass  UnexpectedPass  UnexpectedPass  Pass         Pass
Fail        ExpectedFail    UnexpectedPass  UnexpectedPass  Fail         Fail
Crash       Crash           ExpectedFail    Crash           Crash        Crash
Timeout     Timeout         Timeout         ExpectedFail    Timeout      Timeout
Warn        UnexpectedPass  UnexpectedPass  Warn            ExpectedFail Warn
==========  =============== =============== =============== ============ =======

Then a non-success result matching a flakes regex becomes Flake. Two results
for one test make it Fail (a runner bug or a merged file), whatever the
baseline and flakes say. The verdict passes when no result is in the failure
set {Fail, Crash, Missing, UnexpectedPass, Timeout}; success is {Pass, Skip,
Warn, Flake, ExpectedFail}. Baseline entries for tests absent from the
results (and not skipped) are reported as *stale*: informational, since a
run may cover a fraction of the suite.

Statuses that already went through a baseline (a deqp-runner ``results.csv``)
are accepted: ``Flake`` stays Flake, ``ExpectedFail`` counts as matching its
baseline entry (or as Fail when there is none), ``UnexpectedPass`` as Pass.
"""

from __future__ import annotations

import csv
import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gatehouse.core.results import Status
from gatehouse.errors import ConfigError, Diagnostic, Location, error


class DeqpStatus(enum.Enum):
    PASS = "Pass"
    FAIL = "Fail"
    SKIP = "Skip"
    CRASH = "Crash"
    FLAKE = "Flake"
    WARN = "Warn"
    MISSING = "Missing"
    EXPECTED_FAIL = "ExpectedFail"
    UNEXPECTED_PASS = "UnexpectedPass"
    TIMEOUT = "Timeout"

    @property
    def is_success(self) -> bool:
        return self in SUCCESS


SUCCESS = frozenset(
    {DeqpStatus.PASS, DeqpStatus.SKIP, DeqpStatus.WARN, DeqpStatus.FLAKE, DeqpStatus.EXPECTED_FAIL}
)
FAILURE = frozenset(DeqpStatus) - SUCCESS
BASELINE_STATUSES = (DeqpStatus.FAIL, DeqpStatus.CRASH, DeqpStatus.TIMEOUT, DeqpStatus.WARN)

# dEQP's own result codes, as deqp-runner folds them.
_RAW_ALIASES = {
    "ResourceError": DeqpStatus.FAIL,
    "InternalError": DeqpStatus.FAIL,
    "Pending": DeqpStatus.FAIL,
    "NotSupported": DeqpStatus.SKIP,
    "CompatibilityWarning": DeqpStatus.WARN,
    "QualityWarning": DeqpStatus.WARN,
    "Waiver": DeqpStatus.WARN,
}
_BY_NAME = {s.value.lower(): s for s in DeqpStatus} | {
    k.lower(): v for k, v in _RAW_ALIASES.items()
}

_P, _F, _C, _T, _W = (
    DeqpStatus.PASS,
    DeqpStatus.FAIL,
    DeqpStatus.CRASH,
    DeqpStatus.TIMEOUT,
    DeqpStatus.WARN,
)
_EF, _UP = DeqpStatus.EXPECTED_FAIL, DeqpStatus.UNEXPECTED_PASS
# (actual, baseline) -> result; baseline None = not listed.
_ALGEBRA: dict[tuple[DeqpStatus, DeqpStatus | None], DeqpStatus] = {
    (_P, _F): _UP, (_P, _C): _UP, (_P, _T): _UP, (_P, _W): _P, (_P, None): _P,
    (_F, _F): _EF, (_F, _C): _UP, (_F, _T): _UP, (_F, _W): _F, (_F, None): _F,
    (_C, _F): _C, (_C, _C): _EF, (_C, _T): _C, (_C, _W): _C, (_C, None): _C,
    (_T, _F): _T, (_T, _C): _T, (_T, _T): _EF, (_T, _W): _T, (_T, None): _T,
    (_W, _F): _UP, (_W, _C): _UP, (_W, _T): _W, (_W, _W): _EF, (_W, None): _W,
}  # fmt: skip


def parse_status(word: str) -> DeqpStatus | None:
    """A deqp-runner or dEQP status word (case-insensitive), or ``None``."""
    return _BY_NAME.get(word.strip().lower())


def from_kcidb_status(status: Status | None, original: str | None = None) -> DeqpStatus:
    """The deqp-runner status of a result from another format (JUnit, TAP, KCIDB).

    The producer's own word (``misc.original_status``) wins when it is one
    deqp-runner knows (``Crash``, ``Timeout`` …); otherwise FAIL → Fail,
    ERROR → Crash, MISS or unknown → Missing, SKIP → Skip, PASS and DONE → Pass.
    """
    if original and (known := parse_status(original)) is not None:
        return known
    return (
        {
            Status.FAIL: DeqpStatus.FAIL,
            Status.ERROR: DeqpStatus.CRASH,
            Status.MISS: DeqpStatus.MISSING,
            Status.PASS: DeqpStatus.PASS,
            Status.DONE: DeqpStatus.PASS,
            Status.SKIP: DeqpStatus.SKIP,
        }.get(status, DeqpStatus.MISSING)
        if status is not None
        else DeqpStatus.MISSING
    )


def apply_baseline(actual: DeqpStatus, baseline: DeqpStatus | None) -> DeqpStatus:
    """deqp-runner's table; statuses outside it pass through (see the module doc)."""
    if actual is DeqpStatus.EXPECTED_FAIL:
        return DeqpStatus.EXPECTED_FAIL if baseline is not None else DeqpStatus.FAIL
    if actual is DeqpStatus.UNEXPECTED_PASS:
        actual = DeqpStatus.PASS
    return _ALGEBRA.get((actual, baseline), actual)


# --------------------------------------------------------------------------- files


@dataclass(frozen=True, slots=True)
class BaselineEntry:
    test: str
    status: DeqpStatus
    location: Location


@dataclass(frozen=True, slots=True)
class RegexRule:
    source: str
    regex: re.Pattern[str]
    location: Location


def _content_lines(text: str) -> Iterable[tuple[int, str]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


def parse_fails(
    text: str, source: str, seen: dict[str, BaselineEntry] | None = None
) -> tuple[dict[str, BaselineEntry], list[Diagnostic]]:
    """A ``*-fails.txt`` baseline; ``seen`` carries entries of earlier layers."""
    entries: dict[str, BaselineEntry] = dict(seen or {})
    problems: list[Diagnostic] = []
    allowed = ", ".join(s.value for s in BASELINE_STATUSES)
    for number, line in _content_lines(text):
        where = Location(source, number)
        test, comma, word = line.rpartition(",")
        if not comma or not test.strip():
            problems.append(
                error("bad-baseline-line", f"expected 'test,Status', got {line!r}", where)
            )
            continue
        test = test.strip()
        status = parse_status(word)
        if status not in BASELINE_STATUSES or word.strip() != (status.value if status else ""):
            problems.append(
                error(
                    "bad-baseline-status",
                    f"unknown baseline status {word.strip()!r} for {test}",
                    where,
                    f"use one of {allowed} (spelled exactly)",
                )
            )
            continue
        assert status is not None
        if test in entries:
            first = entries[test].location
            problems.append(
                error(
                    "duplicate-baseline-entry",
                    f"{test} is listed twice (first at {first})",
                    where,
                    "keep one line per test",
                )
            )
            continue
        entries[test] = BaselineEntry(test, status, where)
    return entries, problems


def parse_regex_list(text: str, source: str) -> tuple[list[RegexRule], list[Diagnostic]]:
    """A ``*-flakes.txt`` or ``*-skips.txt`` file: one unanchored regex per line."""
    rules: list[RegexRule] = []
    problems: list[Diagnostic] = []
    for number, line in _content_lines(text):
        where = Location(source, number)
        try:
            rules.append(RegexRule(line, re.compile(line), where))
        except re.error as exc:
            problems.append(error("bad-regex", f"invalid regex {line!r}: {exc}", where))
    return rules, problems


class RuleSet:
    """Regex rules searched as one alternation (one pass per name), with the culprit on demand."""

    def __init__(self, rules: Sequence[RegexRule]) -> None:
        self.rules = tuple(rules)
        combined = "|".join(f"(?:{r.source})" for r in rules)
        try:
            self._any: re.Pattern[str] | None = re.compile(combined) if rules else None
        except re.error:  # a rule with its own inline flags cannot be combined
            self._any = None
        self._combined = bool(rules) and self._any is not None

    def first_match(self, name: str) -> RegexRule | None:
        if not self.rules or (self._combined and self._any and not self._any.search(name)):
            return None
        return next((r for r in self.rules if r.regex.search(name)), None)


@dataclass(frozen=True, slots=True)
class Expectations:
    baseline: Mapping[str, BaselineEntry]
    flakes: RuleSet
    skips: RuleSet


def load_expectations(
    fails: Sequence[tuple[str, str]] = (),
    flakes: Sequence[tuple[str, str]] = (),
    skips: Sequence[tuple[str, str]] = (),
) -> Expectations:
    """Layer ``(source, text)`` files of each kind; :class:`ConfigError` lists every problem."""
    problems: list[Diagnostic] = []
    baseline: dict[str, BaselineEntry] = {}
    for source, text in fails:
        baseline, found = parse_fails(text, source, baseline)
        problems.extend(found)
    rule_lists: dict[str, list[RegexRule]] = {"flakes": [], "skips": []}
    for kind, files in (("flakes", flakes), ("skips", skips)):
        for source, text in files:
            rules, found = parse_regex_list(text, source)
            rule_lists[kind].extend(rules)
            problems.extend(found)
    if problems:
        raise ConfigError(problems)
    return Expectations(baseline, RuleSet(rule_lists["flakes"]), RuleSet(rule_lists["skips"]))


def parse_results_csv(
    text: str, source: str
) -> tuple[list[tuple[str, DeqpStatus]], list[Diagnostic]]:
    """deqp-runner's ``results.csv`` (``test,status,duration``; a header line is allowed)."""
    results: list[tuple[str, DeqpStatus]] = []
    problems: list[Diagnostic] = []
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if number == 1 and [c.strip().lower() for c in row[:2]] == ["test", "status"]:
            continue
        where = Location(source, number)
        if len(row) < 2:
            problems.append(
                error("bad-results-line", f"expected 'test,status,duration', got {row!r}", where)
            )
            continue
        # test names with unquoted commas: the status is second to last when a duration follows
        status_index = len(row) - 2 if len(row) >= 3 and _is_number(row[-1]) else len(row) - 1
        name = ",".join(row[:status_index]).strip()
        status = parse_status(row[status_index])
        if status is None or not name:
            problems.append(
                error(
                    "bad-results-status",
                    f"unknown status {row[status_index].strip()!r}",
                    where,
                    "deqp-runner statuses: " + ", ".join(s.value for s in DeqpStatus),
                )
            )
            continue
        results.append((name, status))
    return results, problems


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- verdict


@dataclass(frozen=True, slots=True)
class TestOutcome:
    __test__ = False  # not a pytest class

    test: str
    actual: DeqpStatus
    result: DeqpStatus
    baseline: BaselineEntry | None = None
    flake_rule: RegexRule | None = None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class ExpectationReport:
    outcomes: tuple[TestOutcome, ...]
    skipped: tuple[str, ...]
    stale: tuple[BaselineEntry, ...]

    @property
    def passed(self) -> bool:
        return not self.unexpected

    @property
    def unexpected(self) -> tuple[TestOutcome, ...]:
        """The results that fail the verdict."""
        return tuple(o for o in self.outcomes if o.result in FAILURE)

    @property
    def flakes(self) -> tuple[TestOutcome, ...]:
        return tuple(o for o in self.outcomes if o.result is DeqpStatus.FLAKE)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.result.value] = out.get(o.result.value, 0) + 1
        return dict(sorted(out.items()))


def classify(
    results: Iterable[tuple[str, DeqpStatus]], expectations: Expectations
) -> ExpectationReport:
    """Apply skips, the baseline algebra and flakes to ``(test, status)`` pairs."""
    seen: dict[str, list[DeqpStatus]] = {}
    skipped: list[str] = []
    for name, status in results:
        if name in seen:
            seen[name].append(status)
        elif expectations.skips.first_match(name) is not None:
            if name not in skipped:
                skipped.append(name)
        else:
            seen[name] = [status]
    outcomes: list[TestOutcome] = []
    for name in sorted(seen):
        statuses = seen[name]
        baseline = expectations.baseline.get(name)
        if len(statuses) > 1:
            outcomes.append(
                TestOutcome(name, statuses[0], DeqpStatus.FAIL, baseline, duplicate=True)
            )
            continue
        actual = statuses[0]
        result = apply_baseline(actual, baseline.status if baseline else None)
        rule = None
        if not result.is_success:
            rule = expectations.flakes.first_match(name)
            if rule is not None:
                result = DeqpStatus.FLAKE
        outcomes.append(TestOutcome(name, actual, result, baseline, rule))
    skipped_set = set(skipped)
    stale = tuple(
        entry
        for test, entry in sorted(expectations.baseline.items())
        if test not in seen
        and test not in skipped_set
        and expectations.skips.first_match(test) is None
    )
    return ExpectationReport(tuple(outcomes), tuple(sorted(skipped)), stale)
