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


def test_anchored_patterns_use_the_fast_form() -> None:
    from gatehouse.executors.coverage import line_anchored_form

    assert line_anchored_form(compile_coverage_regex(r"/^TOTAL.+?(\d+%)$/")) is not None
    assert line_anchored_form(compile_coverage_regex(r"/(?i)^total \d+/")) is not None
    assert line_anchored_form(compile_coverage_regex(r"/^a|b/")) is None  # ^ binds one branch
    assert line_anchored_form(compile_coverage_regex(r"/^(a|b) \d+/")) is not None
    assert line_anchored_form(compile_coverage_regex(r"/^[|] \d+/")) is not None
    assert line_anchored_form(compile_coverage_regex(r"/total \d+/")) is None


def test_anchored_match_on_the_first_line_and_at_chunk_starts() -> None:
    regex = r"/^TOTAL\s+\d+\s+\d+\s+(\d+%)$/"
    assert _scan(regex, [b"TOTAL  10  2  80%\n"]) == 10.0
    assert _scan(regex, [b"x\nTOTAL  10  2  80%", b"\nTOTAL  7  1  86%\nnot TOTAL 1 1 1%\n"]) == 7.0
    assert _scan(r"/(?i)^total: \d+/", [b"Total: 31\nxtotal: 5\n"]) == 31.0


@given(
    values=st.lists(st.one_of(st.none(), st.integers(0, 100)), max_size=40),
    size=st.integers(min_value=1, max_value=50),
    regex=st.sampled_from([r"/^cov \d+%/", r"/^cov \d+%$/", r"/^(cov|other) \d+/", r"/^c|^o/"]),
)
def test_anchored_streaming_agrees_with_line_by_line(
    values: list[int | None], size: int, regex: str
) -> None:
    data = b"".join(b"cov %d%%\n" % v if v is not None else b"other 5\n" for v in values)
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    assert _scan(regex, chunks) == _reference(regex, data)
