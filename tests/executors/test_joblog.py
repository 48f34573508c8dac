"""The job log: format, timestamps, masking, the cap, and following a log another process writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gatehouse.executors.coverage import compile_coverage_regex
from gatehouse.executors.joblog import LogLine, LogWriter, follow, parse_line, read_log

T0 = 1735787045.678  # 2025-01-02T03:04:05.678Z


class _Clock:
    def __init__(self, start: float = T0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_lines_get_a_timestamp_and_a_kind(tmp_path: Path) -> None:
    clock = _Clock()
    log = LogWriter(str(tmp_path / "log"), clock=clock)
    log.write(b"first\nsec")
    clock.now += 1.5
    log.write(b"ond\nthird\n")
    log.note("Job succeeded")
    summary = log.close()
    raw = (tmp_path / "log").read_bytes()
    assert raw == (
        b"2025-01-02T03:04:05.678Z O first\n"
        b"2025-01-02T03:04:05.678Z O second\n"  # a split line keeps its first prefix
        b"2025-01-02T03:04:07.178Z O third\n"
        b"2025-01-02T03:04:07.178Z G Job succeeded\n"
    )
    assert summary.bytes_written == len(raw)
    assert summary.output_bytes == len(b"first\nsecond\nthird\n")
    assert not summary.truncated


def test_a_note_after_an_incomplete_line_starts_a_new_line(tmp_path: Path) -> None:
    log = LogWriter(str(tmp_path / "log"), clock=_Clock())
    log.write(b"no newline")
    log.note("after")
    log.write(b"more\n")
    log.close()
    lines = list(read_log(str(tmp_path / "log")))
    assert [(line.kind, line.text) for line in lines] == [
        ("O", "no newline"),
        ("G", "after"),
        ("O", "more"),
    ]


def test_close_terminates_the_last_line(tmp_path: Path) -> None:
    log = LogWriter(str(tmp_path / "log"), clock=_Clock())
    log.write(b"partial")
    log.close()
    assert (tmp_path / "log").read_bytes().endswith(b" O partial\n")


def test_secrets_are_masked_across_writes(tmp_path: Path) -> None:
    log = LogWriter(str(tmp_path / "log"), secrets=["s3cr3t-value"], clock=_Clock())
    log.write(b"token=s3cr")
    log.write(b"3t-value; again s3cr3t-val")
    log.write(b"ue\n")
    log.close()
    text = (tmp_path / "log").read_text()
    assert "s3cr" not in text
    assert text.count("[MASKED]") == 2


def test_cap_truncates_visibly_and_keeps_counting(tmp_path: Path) -> None:
    log = LogWriter(str(tmp_path / "log"), limit=200, clock=_Clock())
    for i in range(100):
        log.write(b"line %03d\n" % i)
    log.note("Job succeeded")
    summary = log.close()
    lines = list(read_log(str(tmp_path / "log")))
    outputs = [line.text for line in lines if line.kind == "O"]
    assert outputs[0] == "line 000"
    assert len(outputs) < 100
    assert outputs == [f"line {i:03d}" for i in range(len(outputs))]  # whole lines only
    notes = [line.text for line in lines if line.kind == "G"]
    assert "exceeded the limit of 200 bytes" in notes[0]
    assert notes[1] == "Job succeeded"  # gatehouse lines still come after the cap
    assert summary.truncated
    assert summary.output_bytes == 900
    assert summary.bytes_written == (tmp_path / "log").stat().st_size


def test_cap_inside_a_long_line(tmp_path: Path) -> None:
    log = LogWriter(str(tmp_path / "log"), limit=100, clock=_Clock())
    log.write(b"short\n")
    log.write(b"x" * 1000)
    log.close()
    lines = list(read_log(str(tmp_path / "log")))
    assert [line.kind for line in lines] == ["O", "G"]
    assert (tmp_path / "log").read_bytes().endswith(b"\n")


def test_no_cap_when_the_limit_is_zero(tmp_path: Path) -> None:
    log = LogWriter(str(tmp_path / "log"), limit=0, clock=_Clock())
    log.write(b"y" * 100000 + b"\n")
    assert not log.close().truncated


def test_coverage_is_computed_beyond_the_cap(tmp_path: Path) -> None:
    log = LogWriter(
        str(tmp_path / "log"),
        limit=50,
        coverage=compile_coverage_regex(r"/Coverage: \d+%/"),
        clock=_Clock(),
    )
    log.write(b"Coverage: 10%\n" + b"filler\n" * 20 + b"Coverage: 77%\n")
    summary = log.close()
    assert summary.truncated
    assert summary.coverage == 77.0


def test_no_path_means_no_file_but_a_summary(tmp_path: Path) -> None:
    log = LogWriter("", clock=_Clock())
    log.write(b"abc\n")
    assert log.close().output_bytes == 4


def test_parse_line() -> None:
    assert parse_line(b"2025-01-02T03:04:05.678Z O hello\n") == LogLine(
        "2025-01-02T03:04:05.678Z", "O", "hello"
    )
    assert parse_line(b"no prefix here") == LogLine("", "", "no prefix here")
    assert parse_line(b"2025-01-02T03:04:05.678Z G \xff bad utf8").text == "\ufffd bad utf8"
    assert parse_line(b"2025-01-02T03:04:05.678Z O x").render(timestamps=True) == (
        "2025-01-02T03:04:05.678Z x"
    )


def test_follow_holds_an_incomplete_line_until_finished(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"2025-01-02T03:04:05.678Z O one\n2025-01-02T03:04:05.678Z O tw")
    state = {"finished": False}
    seen: list[str] = []

    def sleep(_: float) -> None:
        # The "other process" completes the line, then the job finishes.
        if not state["finished"]:
            with path.open("ab") as f:
                f.write(b"o\n2025-01-02T03:04:06.000Z O three")
            state["finished"] = True

    for line in follow(str(path), lambda: state["finished"], sleep=sleep):
        seen.append(line.text)
    assert seen == ["one", "two", "three"]


def test_follow_waits_for_the_file_to_appear(tmp_path: Path) -> None:
    path = tmp_path / "later.log"
    calls = {"n": 0}

    def sleep(_: float) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            path.write_bytes(b"2025-01-02T03:04:05.678Z O hi\n")

    lines = list(follow(str(path), lambda: calls["n"] >= 3, sleep=sleep))
    assert [line.text for line in lines] == ["hi"]


def test_follow_sees_lines_written_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "job.log"
    # The writer process uses LogWriter exactly as an executor does, in small writes.
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from gatehouse.executors.joblog import LogWriter\n"
            "log = LogWriter(sys.argv[1])\n"
            "for i in range(2000):\n"
            "    log.write(b'line %d\\n' % i)\n"
            "    if i % 100 == 0: log.write(b'partial ')\n"
            "log.note('Job succeeded')\n"
            "log.close()\n",
            str(path),
        ]
    )
    try:
        lines = list(follow(str(path), lambda: writer.poll() is not None, interval=0.01))
    finally:
        writer.wait()
    assert writer.returncode == 0
    texts = [line.text for line in lines]
    assert texts[-1] == "Job succeeded"
    outputs = [t.removeprefix("partial ") for t in texts[:-1]]
    assert outputs == [f"line {i}" for i in range(2000)]
    assert all(line.time for line in lines)
