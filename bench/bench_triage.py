"""Triage log matching: 1,000 log patterns over 1 GB of generated log text.

Prints MB/s for every installed matcher engine (Hyperscan, RE2 set, the
pure-Python prefilter) and for the baseline, a plain loop of ``re.search``
over every pattern, measured in the same run, for two log sizes: 16 KiB
(one result's excerpt, KCIDB's cap) and 1 MiB (a whole job log). The naive
loop (8 MB) and the pure-Python engine (100 MB) scan a slice only (hours
otherwise); their MB/s are comparable.

The text is generated in 1 MiB chunks from a pool of distinct chunks (dmesg
and test-runner lines with timestamps, addresses, PIDs, and now and then a
line one of the patterns matches), so 1 GB is streamed, never held. Every
engine's answers are checked against the naive loop on the pool first.

    python bench/bench_triage.py            # 1 GB per engine
    python bench/bench_triage.py --quick    # 50 MB, a smoke run
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from gatehouse import matchers
from gatehouse.core.pattern_syntax import parse_pattern

MB = 1_000_000
CHUNK = 1 << 20
WORDS = [
    "usb", "hub", "port", "device", "reset", "queue", "irq", "dma", "buffer", "timeout",
    "mmc0", "eth0", "link", "up", "down", "sched", "worker", "pool", "alloc", "free",
    "ring", "fence", "context", "submit", "retire", "vblank", "crtc", "plane", "cache",
]  # fmt: skip
SUBSYSTEMS = ["drm", "usb", "net", "fs", "mm", "sound", "block", "scsi", "i2c", "gpio"]


def make_patterns(count: int, rng: random.Random) -> list[tuple[str, str]]:
    """Realistic issue patterns: literals with some regex structure, a few case-insensitive."""
    patterns = []
    for i in range(count):
        sub = rng.choice(SUBSYSTEMS)
        word = rng.choice(WORDS)
        shape = i % 8
        if shape == 0:
            p = rf"{sub}_{word}{i}: .* failed with error -?\d+"
        elif shape == 1:
            p = rf"kernel BUG at drivers/{sub}/{word}{i}\.c:\d+"
        elif shape == 2:
            p = rf"WARNING: CPU: \d+ PID: \d+ at \S+ {word}_{sub}{i}\+0x[0-9a-f]+"
        elif shape == 3:
            p = rf"(?i){sub}{i} {word} timed out after \d+ ?ms"
        elif shape == 4:
            p = rf"Assertion `{word}_{i} [!=]= NULL' failed"
        elif shape == 5:
            p = rf"test_{sub}_{word}_{i} \.\.\. (?:FAIL|ERROR)"
        elif shape == 6:
            p = rf"{sub}-{word}{i}\[\d+\]: segfault at [0-9a-f]+ ip [0-9a-f]+"
        else:
            p = rf"\b{word}{i}(?:_v2)? (?:deadlock|livelock) detected"
        patterns.append((f"p{i}", p))
    return patterns


def matching_line(pid: str, rng: random.Random) -> str:
    """A log line the pattern ``p<i>`` matches (by construction of make_patterns)."""
    i = int(pid[1:])
    rng_sub = random.Random(1234)  # regenerate the same choices as make_patterns
    for _ in range(i + 1):
        sub, word = rng_sub.choice(SUBSYSTEMS), rng_sub.choice(WORDS)
    n = rng.randint(1, 999)
    return [
        f"{sub}_{word}{i}: ring 3 failed with error -{n}",
        f"kernel BUG at drivers/{sub}/{word}{i}.c:{n}!",
        f"WARNING: CPU: 1 PID: {n} at drivers/x.c:10 {word}_{sub}{i}+0x1a/0x40",
        f"{sub.upper()}{i} {word} TIMED OUT after {n}ms",
        f"Assertion `{word}_{i} != NULL' failed.",
        f"test_{sub}_{word}_{i} ... FAIL",
        f"{sub}-{word}{i}[{n}]: segfault at 7f3a2b ip 55aa01 sp 7ffd error 4",
        f"{word}{i} deadlock detected",
    ][i % 8]


def make_chunk(rng: random.Random, pattern_ids: list[str], hits: int) -> bytes:
    lines = []
    size = 0
    t = rng.random() * 1000
    while size < CHUNK:
        t += rng.random() / 100
        kind = rng.random()
        if kind < 0.5:
            line = (
                f"[{t:12.6f}] {rng.choice(SUBSYSTEMS)} {rng.choice(WORDS)}{rng.randint(0, 9)}: "
                f"{rng.choice(WORDS)} {rng.choice(WORDS)} at 0x{rng.getrandbits(48):012x} "
                f"pid {rng.randint(1, 99999)}"
            )
        elif kind < 0.8:
            line = (
                f"2026-02-03T04:{int(t) % 60:02d}:{rng.randint(0, 59):02d}Z test_{rng.choice(SUBSYSTEMS)}_"
                f"{rng.choice(WORDS)}_{rng.randint(0, 2000)} ... ok ({rng.random():.3f}s)"
            )
        else:
            line = (
                f"{rng.choice(WORDS)}: {rng.choice(WORDS)} {rng.choice(WORDS)} queue={rng.randint(0, 64)} "
                f"state={rng.choice(['idle', 'busy', 'done'])} uuid={rng.getrandbits(128):032x}"
            )
        lines.append(line)
        size += len(line) + 1
    for _ in range(hits):
        lines.insert(rng.randrange(len(lines)), matching_line(rng.choice(pattern_ids), rng))
    return ("\n".join(lines) + "\n").encode()


def stream(pool: list[bytes], total: int, piece: int) -> Iterator[bytes]:
    """``total`` bytes of the pool's chunks, cut into logs of ``piece`` bytes."""
    sent = 0
    i = 0
    while sent < total:
        chunk = pool[i % len(pool)]
        i += 1
        for start in range(0, len(chunk), piece):
            if sent >= total:
                return
            log = chunk[start : start + piece]
            sent += len(log)
            yield log


def naive_scan(compiled: list[tuple[str, re.Pattern[bytes]]], data: bytes) -> frozenset[str]:
    return frozenset(pid for pid, regex in compiled if regex.search(data))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="50 MB instead of 1 GB")
    parser.add_argument(
        "--megabytes", type=int, default=None, help="text per engine (default 1000)"
    )
    parser.add_argument("--patterns", type=int, default=1000)
    args = parser.parse_args()
    total = (args.megabytes or (50 if args.quick else 1000)) * MB
    # the slow ones get a slice; their MB/s are still comparable
    naive_total = (1 if args.quick else 8) * MB
    python_total = min(total, (10 if args.quick else 100) * MB)
    # 16 KiB is KCIDB's log_excerpt cap (one result's excerpt); 1 MiB a whole job log
    piece_sizes = (16 * 1024, CHUNK)

    rng = random.Random(1234)
    patterns = make_patterns(args.patterns, rng)
    ids = [pid for pid, _ in patterns]
    pool_rng = random.Random(99)
    pool = [
        make_chunk(pool_rng, ids, hits=pool_rng.randint(0, 3))
        for _ in range(4 if args.quick else 8)
    ]

    compiled_naive = []
    for pid, source in patterns:
        parsed = parse_pattern(source)
        flags = re.MULTILINE | (re.IGNORECASE if parsed.caseless else 0)
        compiled_naive.append((pid, re.compile(parsed.python_pattern(), flags)))
    expected = [naive_scan(compiled_naive, chunk) for chunk in pool]

    print(f"triage log matching: {len(patterns)} patterns, {len(pool)} distinct 1 MiB chunks")
    print("(figures from a shared machine: compare ratios, not absolute numbers)")
    print(
        f"{'engine':<22}{'log KiB':>8}{'compile s':>10}{'MB':>8}{'seconds':>10}{'MB/s':>10}{'x naive':>10}"
    )

    naive_rate: dict[int, float] = {}
    for piece in piece_sizes:
        start = time.perf_counter()
        scanned = 0
        for log in stream(pool, naive_total, piece):
            naive_scan(compiled_naive, log)
            scanned += len(log)
        seconds = time.perf_counter() - start
        naive_rate[piece] = scanned / MB / seconds
        print(
            f"{'naive re.search loop':<22}{piece // 1024:>8}{'-':>10}{scanned / MB:>8.0f}{seconds:>10.2f}"
            f"{naive_rate[piece]:>10.1f}{1.0:>10.1f}"
        )

    failures = 0
    for name in matchers.available_engines():
        engine = matchers.engine(name)
        t0 = time.perf_counter()
        matcher = engine.compile(patterns)
        compile_s = time.perf_counter() - t0
        for chunk, want in zip(pool, expected, strict=True):
            got = matcher.scan(chunk)
            if got != want:
                failures += 1
                print(f"!! {name} disagrees with the naive loop: {sorted(got ^ want)[:5]}")
        for piece in piece_sizes:
            scanned = 0
            start = time.perf_counter()
            for log in stream(pool, python_total if name == "python" else total, piece):
                matcher.scan(log)
                scanned += len(log)
            seconds = time.perf_counter() - start
            rate = scanned / MB / seconds
            print(
                f"{name:<22}{piece // 1024:>8}{compile_s:>10.2f}{scanned / MB:>8.0f}{seconds:>10.2f}"
                f"{rate:>10.1f}{rate / naive_rate[piece]:>10.1f}"
            )
    missing = [n for n in matchers.ENGINE_NAMES if n not in matchers.available_engines()]
    if missing:
        print(f"not installed: {', '.join(missing)} (pip install 'gatehouse[fast]')")
    print("target: >= 500 MB/s with a multi-pattern engine")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
