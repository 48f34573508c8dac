"""The W0-W5 benchmark keeps working (a smoke run; it asserts no timing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_run.py"


@pytest.mark.slow
def test_bench_run_quick() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--only", "W0", "W2", "W5"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("W")]
    assert [line.split()[0] for line in lines] == ["W0", "W2", "W5"]
