"""The storage benchmark still runs (``--quick``); its figures are for people, not asserts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "bench_store.py"


@pytest.mark.slow
def test_bench_store_quick_runs_and_reports_every_figure() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    for expected in (
        "raw executemany INSERT",
        "submit, 10k per transaction",
        "submit, one transaction",
        "submit / raw executemany",
        "linear growth",
        "python -c pass",
        "the store's own cost",
        "open_store + close in-process",
    ):
        assert expected in out.stdout
