"""The executor benchmarks still run (``--quick``); their figures are read by people, not asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("bench_workspace.py", ["cp -a (floor)", "gatehouse", "checkout-index", "snapshot"]),
        ("bench_joblog.py", ["W5:", "W4:", "ratio", "adopt", "peak RSS"]),
    ],
)
def test_bench_quick(script: str, expected: list[str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "BENCH_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    for text in expected:
        assert text in result.stdout
    assert list(tmp_path.iterdir()) == []  # cleaned up after itself
