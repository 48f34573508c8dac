"""Helpers for the ingest tests: parse bytes with a fixed context, collect warnings."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from gatehouse.core.results import ResultsBatch, Status, Test
from gatehouse.errors import Diagnostic
from gatehouse.ingest import IngestContext, parse_results


@dataclass
class Parsed:
    batch: ResultsBatch
    warnings: list[Diagnostic] = field(default_factory=list)

    @property
    def tests(self) -> tuple[Test, ...]:
        return self.batch.tests

    def by_path(self, path: str) -> Test:
        found = [t for t in self.tests if t.path == path]
        assert len(found) == 1, (
            f"{path!r}: {len(found)} tests; paths: {[t.path for t in self.tests]}"
        )
        return found[0]

    def statuses(self) -> dict[str, Status | None]:
        return {t.path or "": t.status for t in self.tests}

    def codes(self) -> list[str]:
        return [w.code for w in self.warnings]


ParseFn = Callable[..., Parsed]


@pytest.fixture
def parse() -> ParseFn:
    def run(
        data: bytes | str,
        fmt: str = "auto",
        *,
        name: str = "report",
        context: IngestContext | None = None,
    ) -> Parsed:
        raw = data.encode() if isinstance(data, str) else data
        warnings: list[Diagnostic] = []
        batch = parse_results(
            io.BytesIO(raw),
            name=name,
            format=fmt,
            context=context or IngestContext(origin="lab"),
            on_warning=warnings.append,
        )
        return Parsed(batch, warnings)

    return run
