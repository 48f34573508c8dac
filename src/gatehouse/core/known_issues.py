"""Known issues: versioned descriptions of known problems and the patterns that find them.

A known issue (KCIDB's *issue*) says "this failure is understood": a title,
who is to blame (``culprit``: the code, the test tool, or the harness), an
owner, an optional expiry, and **patterns**. A pattern is an AND of its
non-empty parts, the way Intel's CI Bug Log filters work:

- ``test_path``: a glob (``*`` and ``?``, full match) or, prefixed ``re:``, a
  regex searched in the path;
- ``statuses``: the result statuses it applies to (empty: any failure,
  i.e. FAIL, ERROR, MISS);
- ``log_regex``: a regex searched in the log (the subset of
  :mod:`gatehouse.core.pattern_syntax`);
- ``origins``, ``trees``, ``branches``, ``architectures``: the result's value
  must be one of those listed;
- ``tags``: the runner must have all of them;
- ``environments``: one of the test environment's names must be listed;
- ``kind``: ``test`` (default), ``build`` or ``any``.

An issue matches a result when **any** of its patterns does.

Issues are versioned as in KCIDB: an edit is a new version with the same id
(:func:`edit`); only the highest version of an id triages, and incidents keep
pointing at the version that produced them. Retiring is an edit too.

The mapping onto :class:`gatehouse.core.results.Issue` (:func:`to_kcidb`,
:func:`from_kcidb`) puts what KCIDB has no field for into ``misc``:
``misc.owner``, ``misc.expires`` (ISO 8601), ``misc.retired``,
``misc.patterns`` (a list of objects with the fields above).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gatehouse.core.pattern_syntax import PatternError, parse_pattern
from gatehouse.core.results import Culprit, Issue, Status
from gatehouse.errors import ConfigError, Diagnostic, Location, error

KINDS = ("test", "build", "any")
_SET_FIELDS = ("origins", "trees", "branches", "architectures", "tags", "environments")


@dataclass(frozen=True, slots=True)
class IssuePattern:
    """One way a known issue shows itself: an AND of the non-empty parts."""

    test_path: str | None = None
    statuses: frozenset[Status] = frozenset()
    log_regex: str | None = None
    origins: frozenset[str] = frozenset()
    trees: frozenset[str] = frozenset()
    branches: frozenset[str] = frozenset()
    architectures: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    environments: frozenset[str] = frozenset()
    kind: str = "test"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.test_path is not None:
            out["test_path"] = self.test_path
        if self.statuses:
            out["statuses"] = sorted(s.value for s in self.statuses)
        if self.log_regex is not None:
            out["log_regex"] = self.log_regex
        for name in _SET_FIELDS:
            values = getattr(self, name)
            if values:
                out[name] = sorted(values)
        return out


@dataclass(frozen=True, slots=True)
class KnownIssue:
    id: str
    version: int
    origin: str
    title: str
    culprit: Culprit
    patterns: tuple[IssuePattern, ...]
    owner: str | None = None
    expires: datetime | None = None
    retired: bool = False
    report_url: str | None = None
    comment: str | None = None
    categories: tuple[str, ...] = ()

    def active(self, now: datetime) -> bool:
        """Whether it triages at ``now``: not retired and not expired."""
        return not self.retired and (self.expires is None or now < self.expires)


def edit(issue: KnownIssue, **changes: Any) -> KnownIssue:
    """A new version of ``issue`` with ``changes`` applied."""
    return dataclasses.replace(issue, version=issue.version + 1, **changes)


def retire(issue: KnownIssue) -> KnownIssue:
    return edit(issue, retired=True)


def latest_versions(issues: Iterable[KnownIssue]) -> dict[str, KnownIssue]:
    """The highest version of each issue id: the only one that triages."""
    latest: dict[str, KnownIssue] = {}
    for issue in issues:
        current = latest.get(issue.id)
        if current is None or issue.version > current.version:
            latest[issue.id] = issue
    return latest


# --------------------------------------------------------------------------- matching parts


def compile_test_path(spec: str) -> Callable[[str], bool]:
    """A path glob (full match) or ``re:<regex>`` (searched, same subset as logs)."""
    if spec.startswith("re:"):
        parsed = parse_pattern(spec[3:])
        flags = re.MULTILINE | (re.IGNORECASE if parsed.caseless else 0)
        regex = re.compile(parsed.python_pattern(), flags)
        return lambda path: regex.search(path.encode("utf-8", "replace")) is not None
    glob = re.compile(fnmatch.translate(spec))
    return lambda path: glob.match(path) is not None


# --------------------------------------------------------------------------- validation


def validate(issue: KnownIssue, *, source: str = "issue") -> list[Diagnostic]:
    """Every problem of ``issue``, located as ``<source>: patterns[n].field``."""
    found: list[Diagnostic] = []

    def bad(code: str, message: str, where: str, hint: str | None = None) -> None:
        found.append(error(code, message, Location(f"{source}: {where}"), hint))

    if not re.fullmatch(r"[a-z0-9_]+:[^\0]+", issue.id):
        bad("bad-issue-id", f"issue id {issue.id!r} is not 'origin:local'", "id")
    if issue.version < 0:
        bad("bad-issue-version", f"version {issue.version} is negative", "version")
    if not issue.title.strip():
        bad("missing-title", "an issue needs a title", "title")
    if not (issue.culprit.code or issue.culprit.tool or issue.culprit.harness):
        bad(
            "missing-culprit",
            "an issue must blame the code, the tool or the harness",
            "culprit",
            "set at least one of culprit.code, culprit.tool, culprit.harness",
        )
    if not issue.patterns:
        bad("missing-patterns", "an issue needs at least one pattern", "patterns")
    for n, pattern in enumerate(issue.patterns):
        where = f"patterns[{n}]"
        if pattern.kind not in KINDS:
            bad("bad-kind", f"kind {pattern.kind!r} is not one of {', '.join(KINDS)}", where)
        if pattern.test_path is not None and pattern.kind == "build":
            bad("path-on-build", "a build pattern cannot filter on test_path", where)
        if pattern.log_regex is not None:
            try:
                parse_pattern(pattern.log_regex)
            except PatternError as exc:
                bad("bad-log-regex", exc.message, f"{where}.log_regex", exc.hint)
        if pattern.test_path is not None:
            try:
                compile_test_path(pattern.test_path)
            except PatternError as exc:
                bad("bad-test-path", exc.message, f"{where}.test_path", exc.hint)
        if pattern == IssuePattern(kind=pattern.kind):
            bad(
                "empty-pattern",
                "a pattern with no parts would match every failure",
                where,
                "add a test_path, log_regex or another filter",
            )
    return found


def check(issue: KnownIssue, *, source: str = "issue") -> KnownIssue:
    """``issue`` if valid, else :class:`ConfigError` with every problem."""
    problems = validate(issue, source=source)
    if problems:
        raise ConfigError(problems)
    return issue


# --------------------------------------------------------------------------- plain data


def pattern_from_mapping(data: Mapping[str, Any], *, where: str) -> IssuePattern:
    """An :class:`IssuePattern` from JSON/YAML-shaped data (``ConfigError`` if malformed)."""
    problems: list[Diagnostic] = []
    known = {"test_path", "statuses", "log_regex", "kind", *_SET_FIELDS}
    for key in data:
        if key not in known:
            problems.append(
                error(
                    "unknown-field",
                    f"unknown pattern field {key!r}",
                    Location(f"{where}.{key}"),
                    f"known fields: {', '.join(sorted(known))}",
                )
            )
    statuses: set[Status] = set()
    for value in _strings(data.get("statuses"), f"{where}.statuses", problems):
        try:
            statuses.add(Status(value.upper()))
        except ValueError:
            problems.append(
                error(
                    "bad-status",
                    f"unknown status {value!r}",
                    Location(f"{where}.statuses"),
                    "use FAIL, ERROR, MISS, PASS, DONE or SKIP",
                )
            )
    sets = {
        name: frozenset(_strings(data.get(name), f"{where}.{name}", problems))
        for name in _SET_FIELDS
    }
    for name in ("test_path", "log_regex", "kind"):
        if name in data and not isinstance(data[name], str):
            problems.append(
                error("bad-type", f"{name} must be a string", Location(f"{where}.{name}"))
            )
    if problems:
        raise ConfigError(problems)
    return IssuePattern(
        test_path=data.get("test_path"),
        statuses=frozenset(statuses),
        log_regex=data.get("log_regex"),
        kind=data.get("kind", "test"),
        **sets,
    )


def _strings(value: Any, where: str, problems: list[Diagnostic]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return list(value)
    problems.append(error("bad-type", "expected a string or a list of strings", Location(where)))
    return []


def to_kcidb(issue: KnownIssue) -> Issue:
    misc: dict[str, Any] = {
        "patterns": [p.to_json() for p in issue.patterns],
        "retired": issue.retired,
    }
    if issue.owner is not None:
        misc["owner"] = issue.owner
    if issue.expires is not None:
        misc["expires"] = issue.expires.isoformat()
    return Issue(
        id=issue.id,
        version=issue.version,
        origin=issue.origin,
        report_url=issue.report_url,
        report_subject=issue.title,
        culprit=issue.culprit,
        comment=issue.comment,
        categories=issue.categories or None,
        misc=misc,
    )


def from_kcidb(issue: Issue) -> KnownIssue:
    """The known issue an ingested KCIDB issue describes (``ConfigError`` if malformed)."""
    misc = dict(issue.misc or {})
    raw_patterns = misc.get("patterns") or []
    where = f"issue {issue.id} v{issue.version}: misc.patterns"
    if not isinstance(raw_patterns, list) or not all(isinstance(p, Mapping) for p in raw_patterns):
        raise ConfigError(
            [error("bad-type", "misc.patterns must be a list of objects", Location(where))]
        )
    expires = misc.get("expires")
    try:
        expiry = datetime.fromisoformat(expires) if isinstance(expires, str) else None
    except ValueError as exc:
        raise ConfigError(
            [error("bad-time", f"misc.expires {expires!r} is not ISO 8601", Location(where))]
        ) from exc
    return KnownIssue(
        id=issue.id,
        version=issue.version,
        origin=issue.origin,
        title=issue.report_subject or "",
        culprit=issue.culprit or Culprit(),
        patterns=tuple(
            pattern_from_mapping(p, where=f"{where}[{n}]") for n, p in enumerate(raw_patterns)
        ),
        owner=misc.get("owner") if isinstance(misc.get("owner"), str) else None,
        expires=expiry,
        retired=bool(misc.get("retired", False)),
        report_url=issue.report_url,
        comment=issue.comment,
        categories=tuple(issue.categories or ()),
    )


@dataclass(frozen=True, slots=True)
class IssueIndex:
    """Known issues by id, every version kept (old incidents point at old versions)."""

    versions: Mapping[str, tuple[KnownIssue, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, issues: Iterable[KnownIssue]) -> IssueIndex:
        grouped: dict[str, list[KnownIssue]] = {}
        for issue in issues:
            grouped.setdefault(issue.id, []).append(issue)
        return cls({k: tuple(sorted(v, key=lambda i: i.version)) for k, v in grouped.items()})

    def get(self, issue_id: str, version: int | None = None) -> KnownIssue | None:
        found = self.versions.get(issue_id, ())
        if version is None:
            return found[-1] if found else None
        return next((i for i in found if i.version == version), None)
