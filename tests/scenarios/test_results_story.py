"""Five nights of results through the command line: only the real regression is named.

A small kernel-like suite is ingested night after night (JUnit files, real
SQLite store, every command run as a user would). Along the way:

- ``net.tcp`` is flaky: on night 3 the same commit was tested twice, once
  passing and once failing; it fails again on night 5;
- ``cpu.hotplug`` fails its first attempt and passes on rerun inside the
  night-5 job (a Surefire ``flakyFailure``);
- ``fs.ext4`` fails with a known kernel warning from night 4 on (a known
  issue with a log pattern, added on night 4);
- night 2 ran on a broken machine: every test failed (infra);
- ``sched.fair`` has been failing since night 4 (still failing, not new);
- ``mm.slab`` starts failing for real on night 5.

``gatehouse compare`` of night 4 and night 5 must name ``mm.slab`` and
nothing else, and exit 1; with a known issue for it, it exits 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatehouse.cli.main import main

SUITE = ["boot", "net.tcp", "net.udp", "fs.ext4", "fs.xfs", "mm.slab", "mm.vmalloc",
         "cpu.hotplug", "sched.fair", "time.clock"]  # fmt: skip
EXT4 = "[  12.345678] WARNING: CPU: 3 PID: 1234 at fs/ext4/inode.c:4567 ext4_evict_inode+0x1a/0x20"


def commit(night: int) -> str:
    return str(night) * 40


def report(path: Path, failures: dict[str, str], *, rerun: str | None = None) -> Path:
    cases = []
    for name in SUITE:
        suite, case = name.split(".", 1) if "." in name else ("kernel", name)
        if name == rerun:
            cases.append(
                f'<testcase classname="{suite}" name="{case}">'
                '<flakyFailure message="cpu 3 did not come back"/></testcase>'
            )
        elif name in failures:
            cases.append(
                f'<testcase classname="{suite}" name="{case}">'
                f'<failure message="{failures[name].splitlines()[0]}">{failures[name]}'
                "</failure></testcase>"
            )
        else:
            cases.append(f'<testcase classname="{suite}" name="{case}" time="1.5"/>')
    path.write_text('<testsuite name="lab">' + "".join(cases) + "</testsuite>")
    return path


class Lab:
    def __init__(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.project = project
        self.capsys = capsys

    def run(self, *argv: str) -> tuple[int, str]:
        self.capsys.readouterr()
        code = main([*argv, "-C", str(self.project)])
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err, err
        return code, out

    def night(self, n: int, failures: dict[str, str], *, build: str = "main", **kw: str) -> None:
        path = report(self.project / f"night{n}-{build}.xml", failures, **kw)
        code, out = self.run(
            "ingest", str(path), "--origin", "lab", "--commit", commit(n), "--tree", "mainline",
            "--branch", "master", "--arch", "x86_64", "--build-id", f"n{n}-{build}",
        )  # fmt: skip
        assert code == 0, out


def test_only_the_real_regression_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = Lab(tmp_path, capsys)
    lab.night(1, {})
    lab.night(2, dict.fromkeys(SUITE, "lava: device lost power"))  # a broken machine
    lab.night(3, {})
    lab.night(3, {"net.tcp": "connection reset by peer"}, build="retest")  # same commit again
    lab.run(
        "issue", "add", "--title", "ext4_evict_inode warning", "--culprit", "code",
        "--owner", "fs-team", "--test", "lab.fs.*", "--log", r"WARNING: .* ext4_evict_inode",
        "--arch", "x86_64",
    )  # fmt: skip
    lab.night(4, {"fs.ext4": EXT4, "sched.fair": "deadline missed"})
    lab.night(
        5,
        {
            "fs.ext4": EXT4.replace("12.345678", "13.100000").replace("1234", "977"),
            "net.tcp": "connection reset by peer",
            "sched.fair": "deadline missed",
            "mm.slab": "BUG: KASAN: use-after-free in kmem_cache_free+0x44/0x200",
        },
        rerun="cpu.hotplug",
    )

    code, out = lab.run("compare", commit(4)[:7], commit(5)[:7], "--json", "--all")
    assert code == 1
    found = json.loads(out)
    assert [(e["test"], e["class"]) for e in found["new_and_unexplained"]] == [
        ("lab.mm.slab", "regression")
    ]
    entries = {e["test"]: e for e in found["entries"]}
    assert entries["lab.fs.ext4"]["known_issues"] == ["gatehouse:ext4-evict-inode-warning"]
    assert entries["lab.net.tcp"]["class"] == "regression"
    assert entries["lab.net.tcp"]["flaky"] is True
    assert entries["lab.cpu.hotplug"]["flaky"] is True  # failed, then passed on rerun in one job
    assert entries["lab.sched.fair"]["class"] == "still_failing"

    code, text = lab.run("compare", commit(4)[:7], commit(5)[:7])
    assert code == 1
    assert "new and unexplained (1):" in text
    assert "lab.mm.slab  PASS -> FAIL" in text
    assert "net.tcp" not in text.split("new and unexplained")[1]

    code, out = lab.run("flakes", "--json")
    flakes = json.loads(out)
    assert {(f["path"], f["kind"]) for f in flakes["flaky"]} == {
        ("lab.net.tcp", "same-input"),
        ("lab.cpu.hotplug", "rerun"),
    }
    assert flakes["infra_runs"] == ["lab:n2-main"]
    tcp = next(f for f in flakes["flaky"] if f["path"] == "lab.net.tcp")
    assert {e["git_commit_hash"] for e in tcp["passed"] + tcp["failed"]} == {commit(3)}

    code, out = lab.run("failures", "--json", "--since", "1h")
    groups = {g["title"]: g["count"] for g in json.loads(out)}
    assert groups["WARNING in ext4_evict_inode"] == 2  # two nights, one signature
    assert groups["failure: lava: device lost power"] == 10

    code, _ = lab.run(
        "issue", "add", "--title", "slab use-after-free", "--culprit", "code", "--owner", "mm",
        "--log", "KASAN: use-after-free in kmem_cache_free",
    )  # fmt: skip
    assert code == 0
    code, text = lab.run("compare", commit(4)[:7], commit(5)[:7])
    assert code == 0
    assert "nothing new and unexplained" in text
