"""Terminal output helpers: colour only on a terminal, and ``NO_COLOR`` respected."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from gatehouse.errors import Diagnostic, Severity

_CODES = {
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
    "dim": "2",
    "bold": "1",
}


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


class Styler:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.enabled = use_colour(stream or sys.stdout)

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"


def print_diagnostics(
    diagnostics: list[Diagnostic] | tuple[Diagnostic, ...], stream: TextIO | None = None
) -> None:
    out = stream or sys.stderr
    style = Styler(out)
    colours = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
    for d in diagnostics:
        where = f"{d.location}: " if d.location else ""
        out.write(
            f"{style(where, 'bold')}{style(d.severity.value, colours[d.severity], 'bold')}: {d.message}\n"
        )
        if d.hint:
            out.write(f"    {style('hint:', 'dim')} {d.hint}\n")
