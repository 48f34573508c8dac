"""Live progress of ``gatehouse run`` and the final summary.

On a terminal: a live area with one line per running job and its elapsed
time (rich), finished jobs printed above it as they end, and the tail of a
failing job's log right under its line. Elsewhere (CI logs, pipes): one plain
line per event, so output stays readable and cheap. ``rich`` is imported only
for the terminal view.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, TextIO

from gatehouse.core.model import PlannedJob
from gatehouse.core.ports import JobRecord, JobStatus, PipelineRecord

TAIL_LINES = 20
_SYMBOLS = {
    JobStatus.SUCCESS: ("✔", "green"),
    JobStatus.WARNING: ("!", "yellow"),
    JobStatus.FAILED: ("✘", "red"),
    JobStatus.CANCELED: ("⊘", "magenta"),
    JobStatus.SKIPPED: ("-", "dim"),
    JobStatus.MANUAL: ("▶", "cyan"),
}


def duration(record: JobRecord) -> float | None:
    if record.started_at is None or record.finished_at is None:
        return None
    return max(0.0, record.finished_at - record.started_at)


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def log_tail(path: str | None, lines: int = TAIL_LINES) -> list[str]:
    """The last lines of a job log, without their timestamps."""
    if not path or not Path(path).is_file():
        return []
    from gatehouse.executors.joblog import parse_line

    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 64 * 1024))
        raw = handle.read().splitlines()
    if size > 64 * 1024 and raw:
        raw = raw[1:]
    return [parse_line(line).text for line in raw[-lines:]]


def describe(record: JobRecord, note: str | None) -> str:
    status = record.status
    if status is JobStatus.SUCCESS:
        return "passed"
    if status is JobStatus.WARNING:
        return f"failed, allowed ({_failure(record)})"
    if status is JobStatus.FAILED:
        return f"failed ({_failure(record)})"
    if status is JobStatus.CANCELED:
        return "canceled"
    if status is JobStatus.SKIPPED:
        return note or "skipped"
    if status is JobStatus.MANUAL:
        return note or "manual"
    return str(status.value)


def _failure(record: JobRecord) -> str:
    parts = []
    if record.exit_code is not None:
        parts.append(f"exit {record.exit_code}")
    if record.failure_reason and record.failure_reason != "script_failure":
        parts.append(record.failure_reason.replace("_", " "))
    return ", ".join(parts) or (record.failure_reason or "failure")


class PlainProgress:
    """One line per event (not a terminal)."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.out = stream or sys.stdout
        self.quiet = quiet
        self.records: dict[str, JobRecord] = {}
        self.notes: dict[str, str | None] = {}
        self.jobs: list[PlannedJob] = []

    def _line(self, text: str) -> None:
        if not self.quiet:
            self.out.write(f"{time.strftime('%H:%M:%S')} {text}\n")
            self.out.flush()

    def pipeline_started(self, record: PipelineRecord, jobs: list[PlannedJob]) -> None:
        self.jobs = jobs
        self._line(f"pipeline #{record.id} for {record.ref} ({record.event}): {len(jobs)} job(s)")

    def job_started(self, job: PlannedJob, record: JobRecord) -> None:
        self.records[job.name] = record
        attempt = f" (attempt {record.attempt})" if record.attempt > 1 else ""
        self._line(f"started  {job.name}{attempt}")

    def job_finished(self, job: PlannedJob, record: JobRecord, note: str | None) -> None:
        self.records[job.name] = record
        self.notes[job.name] = note
        symbol, _ = _SYMBOLS.get(record.status, ("?", ""))
        took = duration(record)
        self._line(
            f"{symbol} {job.name}: {describe(record, note)}"
            + (f" in {fmt_seconds(took)}" if took is not None else "")
        )
        if record.status is JobStatus.FAILED and not self.quiet:
            for line in log_tail(record.log_path):
                self.out.write(f"    | {line}\n")

    def job_note(self, job: PlannedJob, note: str) -> None:
        self._line(f"note     {job.name}: {note}")

    def pipeline_finished(self, record: PipelineRecord) -> None:  # noqa: ARG002
        return


class LiveProgress(PlainProgress):
    """A live view on a terminal (rich)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=self.out, highlight=False)
        self.running: dict[str, float] = {}
        self.live = Live(
            console=self.console, refresh_per_second=8, transient=True, get_renderable=self._render
        )

    def _render(self) -> Any:
        from rich.text import Text

        text = Text()
        now = time.time()
        for name, since in sorted(self.running.items(), key=lambda kv: kv[1]):
            text.append("  ⠿ ", style="cyan")
            text.append(f"{name}", style="bold")
            text.append(f"  {fmt_seconds(now - since)}\n", style="dim")
        return text

    def pipeline_started(self, record: PipelineRecord, jobs: list[PlannedJob]) -> None:
        self.jobs = jobs
        self.console.print(
            f"[bold]pipeline #{record.id}[/] for {record.ref} ({record.event}): {len(jobs)} job(s)"
        )
        self.live.start()

    def job_started(self, job: PlannedJob, record: JobRecord) -> None:
        self.records[job.name] = record
        self.running[job.name] = record.started_at or time.time()

    def job_finished(self, job: PlannedJob, record: JobRecord, note: str | None) -> None:
        from rich.markup import escape

        self.records[job.name] = record
        self.notes[job.name] = note
        self.running.pop(job.name, None)
        symbol, colour = _SYMBOLS.get(record.status, ("?", ""))
        took = duration(record)
        when = f" [dim]{fmt_seconds(took)}[/]" if took is not None else ""
        self.console.print(
            f"[{colour}]{symbol}[/] {escape(job.name)}: {escape(describe(record, note))}{when}"
        )
        if record.status is JobStatus.FAILED:
            for line in log_tail(record.log_path):
                self.console.print(f"    [dim]│[/] {escape(line)}")

    def job_note(self, job: PlannedJob, note: str) -> None:
        from rich.markup import escape

        self.console.print(f"  [dim]{escape(job.name)}: {escape(note)}[/]")

    def pipeline_finished(self, record: PipelineRecord) -> None:  # noqa: ARG002
        self.live.stop()


def print_summary(
    records: list[JobRecord], pipeline: PipelineRecord, stream: TextIO | None = None
) -> None:
    """The final table: job, stage, outcome, duration (latest attempt of each job)."""
    out = stream or sys.stdout
    latest: dict[str, JobRecord] = {}
    for rec in records:
        if rec.name not in latest or rec.attempt > latest[rec.name].attempt:
            latest[rec.name] = rec
    rows = [
        (
            r.name,
            r.stage,
            r.status.value + (f" (attempt {r.attempt})" if r.attempt > 1 else ""),
            fmt_seconds(duration(r)),
        )
        for r in latest.values()
    ]
    headers = ("job", "stage", "outcome", "duration")
    widths = [
        max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
        for i, h in enumerate(headers)
    ]
    out.write(
        "\n" + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip() + "\n"
    )
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
    took = (pipeline.finished_at or 0) - (pipeline.started_at or pipeline.created_at)
    verdict = {
        "success": "passed",
        "failed": "failed",
        "canceled": "was canceled",
        "blocked": "is blocked by a manual job",
        "skipped": "ran no job",
    }.get(pipeline.status.value, pipeline.status.value)
    warnings = sum(1 for r in latest.values() if r.status is JobStatus.WARNING)
    extra = (
        f" with {warnings} allowed failure(s)"
        if warnings and pipeline.status.value == "success"
        else ""
    )
    out.write(f"\npipeline #{pipeline.id} {verdict}{extra} in {fmt_seconds(took)}\n")
