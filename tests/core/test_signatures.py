"""Failure signatures: table of real-looking excerpts, and grouping across runs."""

from __future__ import annotations

import pytest

from gatehouse.core.signatures import group_by_signature, normalise, signature

KASAN = """\
[   42.123456] ==================================================================
[   42.123789] BUG: KASAN: use-after-free in kmem_cache_free+0x44/0x200
[   42.124001] Read of size 8 at addr ffff88801c2d3e40 by task syz-executor123/4567
[   42.124100] CPU: 1 PID: 4567 Comm: syz-executor123 Not tainted 6.8.0-rc1 #1
"""
WARNING = """\
[  12.345678] ------------[ cut here ]------------
[  12.345679] WARNING: CPU: 3 PID: 1234 at fs/ext4/inode.c:4567 ext4_evict_inode+0x1a/0x20
[  12.345680] Modules linked in: ext4 mbcache jbd2
"""
PAGE_FAULT = """\
[  101.000001] BUG: unable to handle page fault for address: ffffc90000a1b2c3
[  101.000002] #PF: supervisor read access in kernel mode
"""
PYTHON = """\
Traceback (most recent call last):
  File "/tmp/tmpa1b2c3/run.py", line 12, in <module>
    main()
  File "/home/ci/src/app/core.py", line 88, in main
    raise ValueError(f"bad config at {path}")
ValueError: bad config at /tmp/tmpa1b2c3/cfg.toml
"""
GTEST = """\
[ RUN      ] MathTest.Adds
/home/ci/src/math_test.cc:42: Failure
Expected equality of these values:
  add(2, 2)
    Which is: 5
  4
[  FAILED  ] MathTest.Adds (0 ms)
"""
ASAN = """\
=================================================================
==12345==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x0000004c6b1e bp 0x7ffd6b0b5e30 sp 0x7ffd6b0b5e28
READ of size 4 at 0x602000000010 thread T0
    #0 0x4c6b1e in parse_header /src/lib/parse.c:120:9
    #1 0x4c5a2f in main /src/tools/main.c:33:5
"""
PYTEST = """\
    def test_adds():
>       assert add(2, 2) == 5
E       assert 4 == 5
E        +  where 4 = add(2, 2)

tests/test_calc.py:7: AssertionError
"""
SYSLOG = (
    "Mar  3 04:05:06 host sshd[2211]: fatal: Timeout before authentication for 10.1.2.3 port 5022\n"
)
PANIC = "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n"

TABLE = [
    (KASAN, "KASAN: use-after-free Read in kmem_cache_free"),
    (WARNING, "WARNING in ext4_evict_inode"),
    (PAGE_FAULT, "BUG: unable to handle page fault for address: ADDR"),
    (PYTHON, "ValueError: bad config at TMP"),
    (GTEST, "/home/ci/src/math_test.cc:LINE: Failure Expected equality of these values:"),
    (ASAN, "AddressSanitizer: heap-use-after-free in parse_header"),
    (PYTEST, "assert NUM == NUM"),
    (SYSLOG, "host sshd[PID]: fatal: Timeout before authentication for IP port NUM"),
    (PANIC, "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(NUM,NUM)"),
    ("", ""),
    ("just some output\nno problem here\n", "just some output"),
]


@pytest.mark.parametrize(("excerpt", "title"), TABLE)
def test_titles(excerpt: str, title: str) -> None:
    assert signature(excerpt).title == title


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("at 0xffffffff81a2b3c4 and deadbeef01", "at ADDR and ADDR"),
        ("offset 0x1a", "offset HEX"),
        ("in foo.c:123:4 and bar.py:9", "in foo.c:LINE and bar.py:LINE"),
        ("2026-02-03T04:05:06.789Z job started", "job started"),
        ("id 123e4567-e89b-12d3-a456-426614174000 done", "id UUID done"),
        ("CPU#3 stuck for 22s!", "CPU stuck for 22s!"),
        ("pid=4242 exited", "pid=PID exited"),
        ("a\tb\x00c   d", "a b c d"),
        ("decade facade", "decade facade"),  # words made of hex letters stay
        ("x" * 200, "x" * 120),
    ],
)
def test_normalise(raw: str, normal: str) -> None:
    assert normalise(raw) == normal


def test_the_same_failure_on_other_runs_and_machines_has_one_id() -> None:
    other_kasan = (
        KASAN.replace("42.1", "97.5")
        .replace("ffff88801c2d3e40", "ffff8880aabbccdd")
        .replace("0x44/0x200", "0x48/0x210")
        .replace("syz-executor123/4567", "syz-executor7/99")
    )
    other_python = PYTHON.replace("tmpa1b2c3", "tmpzz9y8x").replace("line 88", "line 90")
    assert signature(KASAN).id == signature(other_kasan).id
    assert signature(PYTHON).id == signature(other_python).id
    assert signature(KASAN).id != signature(WARNING).id
    assert len(signature(KASAN).id) == 12


def test_grouping_counts_most_frequent_first() -> None:
    groups = group_by_signature(
        [("r1", KASAN), ("r2", WARNING), ("r3", KASAN.replace("42.", "43.")), ("r4", ASAN)]
    )
    assert next((g.signature.title, g.count) for g in groups) == (
        "KASAN: use-after-free Read in kmem_cache_free",
        2,
    )
    assert groups[0].result_ids == ("r1", "r3")
    assert sum(g.count for g in groups) == 4
