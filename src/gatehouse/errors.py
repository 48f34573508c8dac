"""The one error hierarchy of gatehouse, and located diagnostics.

Everything a person can get wrong (a pipeline file, a command-line flag, an
input file) is reported as a :class:`Diagnostic` that names the place
(file, line, column), says what is wrong and, where we can, how to fix it.
Configuration problems are *collected* into a list rather than raised one at a
time, so a user sees every problem of a file in one run.

Adapters translate library exceptions into these classes
(``raise StorageError(...) from exc``); the CLI maps each class to an exit
code (see ``docs/cli.md``) and never prints a Python traceback for them.

A failed job is a *result*, never an exception.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

# Exit codes, documented in docs/cli.md. Kept here so every command agrees.
EXIT_OK = 0
EXIT_FAILED = 1  # the thing checked failed: config errors, a failed pipeline, a failed verdict
EXIT_USAGE = 2  # bad command-line usage or a bad input named on the command line
EXIT_ENVIRONMENT = 3  # the world is not as needed: storage, a missing tool, an unreachable service
EXIT_INTERRUPTED = 130


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A place in a file: 1-based line and column; either may be unknown."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One located finding: an error, a warning or a note.

    ``code`` is a stable, documented identifier (``unknown-keyword``,
    ``missing-include`` …) that tests and ``--json`` consumers can rely on.
    """

    severity: Severity
    code: str
    message: str
    location: Location | None = None
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.severity.value}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "file": self.location.file if self.location else None,
            "line": self.location.line if self.location else None,
            "column": self.location.column if self.location else None,
            "hint": self.hint,
        }


def error(
    code: str, message: str, location: Location | None = None, hint: str | None = None
) -> Diagnostic:
    return Diagnostic(Severity.ERROR, code, message, location, hint)


def warning(
    code: str, message: str, location: Location | None = None, hint: str | None = None
) -> Diagnostic:
    return Diagnostic(Severity.WARNING, code, message, location, hint)


def info(
    code: str, message: str, location: Location | None = None, hint: str | None = None
) -> Diagnostic:
    return Diagnostic(Severity.INFO, code, message, location, hint)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Errors first, then by file and line, stable otherwise."""
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}

    def key(d: Diagnostic) -> tuple[int, str, int]:
        loc = d.location
        return (order[d.severity], loc.file if loc else "", (loc.line or 0) if loc else 0)

    return sorted(diagnostics, key=key)


class GatehouseError(Exception):
    """Base of every error gatehouse raises on purpose."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        text = f"error: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class UsageError(GatehouseError):
    """A bad flag, argument or input file named on the command line."""

    exit_code = EXIT_USAGE


class ConfigError(GatehouseError):
    """A pipeline configuration with errors; carries every diagnostic found."""

    exit_code = EXIT_FAILED

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sort_diagnostics(diagnostics)
        errors = [d for d in self.diagnostics if d.is_error]
        first = errors[0].message if errors else "invalid configuration"
        super().__init__(f"{len(errors)} configuration error(s); first: {first}")

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


class InputError(GatehouseError):
    """An input file (results, expectations …) that cannot be accepted.

    ``location`` names the file and, where known, the line or element.
    Nothing of a rejected input is stored.
    """

    exit_code = EXIT_FAILED

    def __init__(self, message: str, location: Location | None = None, *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.location = location

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return where + super().render()


class MachineError(GatehouseError):
    """The machine is not as needed (a missing tool, a bad data directory)."""

    exit_code = EXIT_ENVIRONMENT


class StorageError(MachineError):
    """The database could not be read or written."""


class QueueError(MachineError):
    """The job queue (in-process or a broker) failed."""


class ExecutorError(MachineError):
    """An executor could not start a job (not: the job failed)."""


class VcsError(MachineError):
    """A git operation failed for reasons other than a merge conflict."""


class GateError(GatehouseError):
    """A gate operation was refused (unknown item, bad state transition)."""
