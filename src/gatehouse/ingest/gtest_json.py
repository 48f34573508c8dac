"""googletest's JSON output (``--gtest_output=json``).

The document is ``{"testsuites": [{"name", "testsuite": [case, …]}, …]}``;
each case has ``name``, ``classname``, ``status`` (``RUN``/``NOTRUN``),
``result`` (``COMPLETED``/``SKIPPED``/``SUPPRESSED``), ``time`` (``"0.01s"``),
``timestamp``, ``file``/``line``, ``value_param``/``type_param`` and a
``failures`` list; any other key is a ``RecordProperty`` value.

Statuses, as in googletest's XML: a case with failures is FAIL (googletest
has no error class: an uncaught exception is a failure), ``SKIPPED`` is
SKIP, ``NOTRUN``/``SUPPRESSED`` is SKIP with ``misc.original_status``
``disabled`` for ``DISABLED_`` tests (``notrun`` otherwise), anything else
run and completed is PASS. The path is ``<suite>.<name>``
(``Nums/Param.IsEven/1``). The file is read whole: googletest writes it at
the end of a run and keeps it small (one object per test, no output).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from gatehouse.core.results import (
    MISC_FILE,
    MISC_LINE,
    MISC_OCCURRENCE,
    MISC_ORIGINAL_STATUS,
    MISC_PROPERTIES,
    Status,
    Test,
)
from gatehouse.errors import InputError, Location
from gatehouse.ingest.context import TestFactory, key_of
from gatehouse.ingest.excerpt import compose_excerpt, first_line
from gatehouse.ingest.findings import Findings
from gatehouse.ingest.junit_cases import parse_duration, parse_timestamp
from gatehouse.ingest.names import join_path

_KNOWN_KEYS = frozenset(
    {
        "name",
        "classname",
        "status",
        "result",
        "time",
        "timestamp",
        "file",
        "line",
        "failures",
        "skipped",
        "value_param",
        "type_param",
    }
)


def _messages(entries: Any, key: str) -> list[str]:
    if not isinstance(entries, list):
        return []
    found = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get(key), str):
            found.append(entry[key])
    return found


def _case_status(case: dict[str, Any]) -> tuple[Status, dict[str, Any] | None]:
    status = str(case.get("status", "")).upper()
    result = str(case.get("result", "")).upper()
    if case.get("failures"):
        return Status.FAIL, None
    if result == "SKIPPED":
        return Status.SKIP, None
    if status == "NOTRUN" or result == "SUPPRESSED":
        disabled = str(case.get("name", "")).startswith("DISABLED_")
        return Status.SKIP, {MISC_ORIGINAL_STATUS: "disabled" if disabled else "notrun"}
    return Status.PASS, None


def _test_of(
    suite: str, case: dict[str, Any], factory: TestFactory, seen: dict[tuple[str, str], int]
) -> Test:
    name = str(case.get("name", ""))
    count = seen.get((suite, name), 0) + 1
    seen[(suite, name)] = count
    status, flags = _case_status(case)
    misc: dict[str, Any] = dict(flags) if flags else {}
    if count > 1:
        misc[MISC_OCCURRENCE] = count
    properties = {
        key: str(value)
        for key, value in case.items()
        if key not in _KNOWN_KEYS and isinstance(value, str | int | float)
    }
    for key in ("value_param", "type_param"):
        if key in case:
            properties[key] = str(case[key])
    if properties:
        misc[MISC_PROPERTIES] = properties
    if isinstance(case.get("file"), str):
        misc[MISC_FILE] = case["file"]
    if isinstance(case.get("line"), int):
        misc[MISC_LINE] = case["line"]
    failures = _messages(case.get("failures"), "failure")
    skips = _messages(case.get("skipped"), "message")
    parts = [f"failure: {text}" for text in failures] + [f"skipped: {text}" for text in skips]
    time = case.get("time")
    return factory.test(
        key_of(suite, name, str(count)),
        join_path([suite, str(case.get("classname") or ""), name]),
        status,
        duration=parse_duration(time) if isinstance(time, str) else None,
        start_time=parse_timestamp(case.get("timestamp")),
        log_excerpt=compose_excerpt(parts),
        comment=first_line(failures[0] if failures else skips[0] if skips else None),
        misc=misc,
    )


def parse_gtest_json(stream: IO[bytes], factory: TestFactory, findings: Findings) -> Iterator[Test]:
    """Yield the Tests of a googletest JSON report."""
    raw = stream.read()
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg}", Location(findings.name, exc.lineno, exc.colno)
        ) from None
    suites = document.get("testsuites") if isinstance(document, dict) else None
    if not isinstance(suites, list):
        raise InputError(
            "not googletest JSON: the document has no 'testsuites' list", Location(findings.name)
        )
    seen: dict[tuple[str, str], int] = {}
    count = 0
    for index, suite in enumerate(suites):
        cases = suite.get("testsuite") if isinstance(suite, dict) else None
        if not isinstance(cases, list):
            raise InputError(
                f"$.testsuites[{index}]: a suite needs a 'testsuite' list of cases",
                Location(findings.name),
            )
        suite_name = str(suite.get("name", ""))
        for case in cases:
            if not isinstance(case, dict):
                raise InputError(
                    f"$.testsuites[{index}].testsuite: a case must be an object",
                    Location(findings.name),
                )
            count += 1
            yield _test_of(suite_name, case, factory, seen)
    if count == 0:
        findings.warn("no-cases", "the report holds no test cases")
