"""TAP's YAML diagnostics blocks: what a result's ``---`` … ``...`` block tells us.

TAP 13 and 14 let a producer attach a YAML document to a test point. Its
keys are conventions, not a schema: node's test runner writes
``duration_ms``, ``error``, ``stack``, ``location``; tap/tape write
``message``, ``at``, ``found``/``wanted``; Perl's Test2 writes ``message``
and ``severity``. We read the duration (``duration_ms``, or ``time`` in
milliseconds) and a message (``message``, else ``error``) and keep the
block's text as the log excerpt unless it holds nothing but timing (node
writes a block with only ``duration_ms`` for every passing test). A block
that is not valid YAML is kept as text, with a warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gatehouse.ingest.findings import Findings

_TIMING_KEYS = frozenset({"duration_ms", "time", "type"})


@dataclass(frozen=True, slots=True)
class Diagnostics:
    duration: float | None = None
    message: str | None = None
    worth_keeping: bool = False


def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _seconds(value: Any, scale: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = float(value) * scale
    return seconds if 0 <= seconds < math.inf else None


def read_yaml_block(lines: list[str], findings: Findings, line: int) -> Diagnostics:
    """Read the YAML block (already de-indented) of the test point at ``line``."""
    if not any(text.strip() for text in lines):
        return Diagnostics()
    import yaml

    try:
        data = yaml.load("\n".join(lines), Loader=_loader())  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = line + 1 + (mark.line + 1 if mark is not None else 0)
        findings.warn("tap-yaml", f"YAML diagnostics not readable: {exc}".split("\n")[0], where)
        return Diagnostics(worth_keeping=True)
    if not isinstance(data, dict):
        return Diagnostics(worth_keeping=data is not None)
    duration = None
    if "duration_ms" in data:
        duration = _seconds(data["duration_ms"], 1 / 1000)
    elif "time" in data:
        duration = _seconds(data["time"], 1 / 1000)
    message = None
    for key in ("message", "error"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            message = value
            break
    worth_keeping = any(key not in _TIMING_KEYS for key in data)
    return Diagnostics(duration=duration, message=message, worth_keeping=worth_keeping)
