"""GitLab's coverage regex, computed on a stream."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatehouse.executors.coverage import CoverageScanner, compile_coverage_regex


def _scan(regex: str, chunks: list[bytes]) -> float | None:
    scanner = CoverageScanner(compile_coverage_regex(regex))
    for chunk in chunks:
        scanner.feed(chunk)
    return scanner.result()


def _reference(regex: str, data: bytes) -> float | None:
    """GitLab's rule, line by line: the last matching line, the first number in its match."""
    pattern = compile_coverage_regex(regex)
    value = None
    for line in data.split(b"\n"):
        match = pattern.search(line)
        if match:
            number = re.search(rb"\d+(?:\.\d+)?", match.group())
            value = float(number.group()) if number else None
    return value


def test_last_matching_line_wins() -> None:
    log = b"Coverage: 10%\nstuff\nCoverage: 85.5%\nmore\n"
    assert _scan("/Coverage: \\d+\\.?\\d*%/", [log]) == 85.5


def test_first_number_in_the_match() -> None:
    assert _scan(r"/TOTAL.*\d+%/", [b"TOTAL    120    18    85%\n"]) == 120.0


def test_anchors_work_per_line() -> None:
    assert _scan(r"/^lines: \d+/", [b"x lines: 1\nlines: 42\n"]) == 42.0


def test_no_match_gives_none() -> None:
    assert _scan("/Coverage: (\\d+)/", [b"nothing here\n"]) is None


def test_a_line_split_across_chunks() -> None:
    assert _scan("/Coverage: \\d+/", [b"Cover", b"age: 7", b"3\nend\n"]) == 73.0


def test_last_line_without_newline() -> None:
    assert _scan("/Coverage: \\d+/", [b"Coverage: 1\nCoverage: 2"]) == 2.0


def test_large_log_bisects_to_the_last_match() -> None:
    lines = [b"noise line %d" % i for i in range(50000)]
    lines[123] = b"Coverage: 11%"
    lines[40000] = b"Coverage: 99.25%"
    data = b"\n".join(lines) + b"\n"
    chunks = [data[i : i + 300000] for i in range(0, len(data), 300000)]
    assert _scan("/Coverage: [\\d.]+%/", chunks) == 99.25


def test_invalid_regex() -> None:
    with pytest.raises(ValueError, match="invalid coverage regex"):
        compile_coverage_regex("/(unclosed/")
    with pytest.raises(ValueError, match="empty"):
        compile_coverage_regex("//")


@given(
    values=st.lists(st.one_of(st.none(), st.integers(0, 100)), max_size=40),
    size=st.integers(min_value=1, max_value=50),
)
def test_streaming_agrees_with_line_by_line(values: list[int | None], size: int) -> None:
    data = b"".join(b"cov %d%%\n" % v if v is not None else b"other 5\n" for v in values)
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    assert _scan(r"/^cov \d+%/", chunks) == _reference(r"/^cov \d+%/", data)
