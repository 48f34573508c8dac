"""A stream of results with known issues, flakes and one real regression.

Five nightly runs of a small suite on the same tree. Along the way:
``net.tcp`` fails now and then (a flake, seen passing and failing on the
same commit), ``fs.ext4`` fails with a known kernel warning (a known issue
with a log pattern), the whole run of night 3 hits a broken machine (infra),
and in the last run ``mm.slab`` starts failing for real. Triage, flake
detection and compare together must name only ``mm.slab``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gatehouse import matchers
from gatehouse.core.compare import compare
from gatehouse.core.flakes import FlakeSettings, find_flakes
from gatehouse.core.known_issues import IssuePattern, KnownIssue, check
from gatehouse.core.result_context import ResultContext
from gatehouse.core.results import Build, Checkout, Culprit, Status, Test
from gatehouse.core.signatures import group_by_signature
from gatehouse.core.triage import triage

SUITE = [
    "boot",
    "net.tcp",
    "net.udp",
    "fs.ext4",
    "fs.xfs",
    "mm.slab",
    "mm.vmalloc",
    "cpu.hotplug",
    "sched.fair",
    "time.clock",
]


def night(
    n: int, failures: dict[str, str], *, attempt2: dict[str, Status] | None = None
) -> list[ResultContext]:
    checkout = Checkout(
        id=f"lab:c{n}",
        origin="lab",
        tree_name="mainline",
        git_repository_branch="master",
        git_commit_hash=f"{n:040x}",
    )
    build = Build(
        id=f"lab:b{n}",
        origin="lab",
        checkout_id=checkout.id,
        architecture="x86_64",
        start_time=f"2026-02-0{n}T02:00:00",
    )
    out = []
    for path in SUITE:
        log = failures.get(path)
        status = Status.FAIL if log is not None else Status.PASS
        test = Test(
            id=f"lab:b{n}/{path}",
            origin="lab",
            build_id=build.id,
            path=path,
            status=status,
            log_excerpt=log,
            start_time=build.start_time,
            misc={"attempt": 1},
        )
        out.append(
            ResultContext(build=build, test=test, checkout=checkout, tags=frozenset({"kvm"}))
        )
    for path, status in (attempt2 or {}).items():
        test = Test(
            id=f"lab:b{n}/{path}#2",
            origin="lab",
            build_id=build.id,
            path=path,
            status=status,
            start_time=build.start_time,
            misc={"attempt": 2},
        )
        out.append(
            ResultContext(build=build, test=test, checkout=checkout, tags=frozenset({"kvm"}))
        )
    return out


EXT4_WARNING = (
    "[  12.345678] WARNING: CPU: 3 PID: 1234 at fs/ext4/inode.c:4567 ext4_evict_inode+0x1a/0x20\n"
)
INFRA = dict.fromkeys(SUITE, "lava: device lost power")


def test_only_the_real_regression_is_reported() -> None:
    history = [
        night(1, {}),
        night(2, {"net.tcp": "connection reset"}, attempt2={"net.tcp": Status.PASS}),
        night(3, INFRA),
        night(4, {"fs.ext4": EXT4_WARNING}),
    ]
    last = night(
        5,
        {
            "fs.ext4": EXT4_WARNING.replace("12.345678", "13.1"),
            "net.tcp": "connection reset",
            "mm.slab": "BUG: KASAN: use-after-free in kmem_cache_free+0x44/0x200\n",
        },
    )
    previous = history[-1]

    issue = check(
        KnownIssue(
            id="lab:ext4-evict",
            version=1,
            origin="lab",
            title="ext4_evict_inode warning on x86_64",
            culprit=Culprit(code=True),
            owner="fs-team",
            patterns=(
                IssuePattern(
                    test_path="fs.*",
                    log_regex=r"WARNING: CPU: \d+ PID: \d+ at fs/ext4/",
                    architectures=frozenset({"x86_64"}),
                ),
            ),
        )
    )
    report = triage([issue], last, matchers.best_available(), now=datetime(2026, 2, 6, tzinfo=UTC))
    assert [r.path for r in report.unknown_failures] == ["net.tcp", "mm.slab"]

    flakes = find_flakes([r for run in [*history, last] for r in run], FlakeSettings(min_sample=3))
    assert flakes.infra_runs == ("lab:b3",)
    assert flakes.flaky_paths() == {"net.tcp"}

    diff = compare(previous, last, known=report.explained(), flakes=flakes.flaky_paths())
    assert [e.key for e in diff.new_and_unexplained()] == ["mm.slab"]
    assert {e.key: e.klass for e in diff.entries if e.klass != "unchanged"} == {
        "fs.ext4": "still_failing",
        "net.tcp": "regression",
        "mm.slab": "regression",
    }

    groups = group_by_signature((r.object_id, r.log_text or "") for r in report.unknown_failures)
    titles = [g.signature.title for g in groups]
    assert "KASAN: use-after-free in kmem_cache_free" in titles
