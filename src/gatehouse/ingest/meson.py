"""meson's ``testlog.json``: one JSON object per line, one line per test program.

Each line holds ``name`` (``"suite - project:test"``), ``result``,
``duration``, ``starttime`` (epoch seconds), ``returncode`` (negative: killed
by that signal), ``stdout``/``stderr`` when not empty, ``command`` and
``env``. The ``env`` field is the test's **whole environment** (tokens,
passwords, whatever the CI had): it is never read into the model. A gtest or
TAP test program is one line here (the details are only in meson's JUnit
file); ``meson test --repeat`` writes one line per iteration, kept as
separate Tests with ``misc.occurrence``.

Statuses: OK → PASS, FAIL → FAIL, SKIP → SKIP, EXPECTEDFAIL → FAIL with
``misc.waived``, UNEXPECTEDPASS → PASS with ``misc.unexpected_pass``,
TIMEOUT, INTERRUPT and ERROR → ERROR (KCIDB has no timeout; the word stays
in ``misc.original_status``). The path is ``<project>.<name>``, the name
meson's own JUnit file gives the same test, so both files of one run name
their tests alike. A line that is not a JSON object with a ``name`` and a
``result`` rejects the file, naming the line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from gatehouse.core.results import (
    MISC_OCCURRENCE,
    MISC_ORIGINAL_STATUS,
    MISC_RETURNCODE,
    MISC_SIGNAL,
    MISC_UNEXPECTED_PASS,
    MISC_WAIVED,
    Status,
    Test,
)
from gatehouse.errors import InputError, Location
from gatehouse.ingest.context import TestFactory, key_of
from gatehouse.ingest.excerpt import CappedText, compose_excerpt
from gatehouse.ingest.findings import Findings

_RESULTS: dict[str, tuple[Status, dict[str, Any] | None]] = {
    "OK": (Status.PASS, None),
    "FAIL": (Status.FAIL, None),
    "SKIP": (Status.SKIP, None),
    "EXPECTEDFAIL": (Status.FAIL, {MISC_WAIVED: True, MISC_ORIGINAL_STATUS: "EXPECTEDFAIL"}),
    "UNEXPECTEDPASS": (
        Status.PASS,
        {MISC_UNEXPECTED_PASS: True, MISC_ORIGINAL_STATUS: "UNEXPECTEDPASS"},
    ),
    "TIMEOUT": (Status.ERROR, {MISC_ORIGINAL_STATUS: "TIMEOUT"}),
    "INTERRUPT": (Status.ERROR, {MISC_ORIGINAL_STATUS: "INTERRUPT"}),
    "ERROR": (Status.ERROR, None),
}
_NAME = re.compile(r"^(?:.+? - )?(?P<project>[^:]+):.+$")


def meson_path(name: str) -> str:
    """``smoke - gen:pass`` → ``gen.smoke - gen:pass`` (meson's JUnit suite + case)."""
    match = _NAME.match(name)
    return f"{match.group('project')}.{name}" if match else name


def _output(label: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = CappedText()
    text.add(value)
    return f"[{label}]\n{text.text()}"


def _start_time(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _test_of(
    record: dict[str, Any],
    line: int,
    factory: TestFactory,
    findings: Findings,
    seen: dict[str, int],
) -> Test:
    name = record.get("name")
    result = record.get("result")
    if not isinstance(name, str) or not isinstance(result, str):
        raise InputError(
            "a testlog.json line needs a string 'name' and 'result'",
            Location(findings.name, line),
        )
    mapped = _RESULTS.get(result)
    if mapped is None:
        findings.warn("meson-result", f"unknown meson result {result!r}; recorded as ERROR", line)
        mapped = (Status.ERROR, {MISC_ORIGINAL_STATUS: result})
    status, flags = mapped
    misc: dict[str, Any] = dict(flags) if flags else {}
    count = seen.get(name, 0) + 1
    seen[name] = count
    if count > 1:
        misc[MISC_OCCURRENCE] = count
    returncode = record.get("returncode")
    if isinstance(returncode, int) and not isinstance(returncode, bool):
        misc[MISC_RETURNCODE] = returncode
        if returncode < 0:
            misc[MISC_SIGNAL] = -returncode
    duration = record.get("duration")
    if isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0:
        duration = None
    excerpt = compose_excerpt(
        [_output("stdout", record.get("stdout")), _output("stderr", record.get("stderr"))]
    )
    return factory.test(
        key_of(name, str(count)),
        meson_path(name),
        status,
        duration=float(duration) if duration is not None else None,
        start_time=_start_time(record.get("starttime")),
        log_excerpt=excerpt,
        misc=misc,
    )


def parse_meson(stream: IO[bytes], factory: TestFactory, findings: Findings) -> Iterator[Test]:
    """Yield one Test per line of a meson ``testlog.json``."""
    seen: dict[str, int] = {}
    count = 0
    for line, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not a JSON line: {exc.msg}",
                Location(findings.name, line, exc.colno),
                hint="testlog.json has one JSON object per line; was the file cut short?",
            ) from None
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not UTF-8 ({exc.reason})", Location(findings.name, line, exc.start + 1)
            ) from None
        if not isinstance(record, dict):
            raise InputError(
                "a testlog.json line must be a JSON object", Location(findings.name, line)
            )
        record.pop("env", None)  # the test's whole environment: never kept
        count += 1
        yield _test_of(record, line, factory, findings, seen)
    if count == 0:
        findings.warn("no-cases", "the testlog.json holds no tests")
