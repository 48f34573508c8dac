"""Warnings a parser reports while it keeps going.

Some inputs are wrong in ways that do not make them unusable (a TAP line
that is not TAP, a plan that does not match, a time attribute that is not a
number). The parser reports each as a located warning
(:class:`~gatehouse.errors.Diagnostic`) through a callback and carries on;
what makes an input unusable raises :class:`~gatehouse.errors.InputError`
instead. A noisy file must not drown the reader, so each warning code is
reported at most :data:`MAX_PER_CODE` times, followed by one summary.
"""

from __future__ import annotations

from collections.abc import Callable

from gatehouse.errors import Diagnostic, Location, warning

WarningCallback = Callable[[Diagnostic], None]
MAX_PER_CODE = 20


class Findings:
    """Forwards located warnings to a callback, at most MAX_PER_CODE per code."""

    __slots__ = ("_callback", "_counts", "name")

    def __init__(self, name: str, callback: WarningCallback | None) -> None:
        self.name = name
        self._callback = callback
        self._counts: dict[str, int] = {}

    def warn(
        self,
        code: str,
        message: str,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        count = self._counts.get(code, 0) + 1
        self._counts[code] = count
        if self._callback is not None and count <= MAX_PER_CODE:
            self._callback(warning(code, message, Location(self.name, line, column), hint))

    def finish(self) -> None:
        """Report how many warnings of each code were left out."""
        if self._callback is None:
            return
        for code, count in sorted(self._counts.items()):
            if count > MAX_PER_CODE:
                self._callback(
                    warning(
                        code,
                        f"{count - MAX_PER_CODE} more '{code}' warnings not shown",
                        Location(self.name),
                    )
                )

    def count(self, code: str) -> int:
        return self._counts.get(code, 0)
