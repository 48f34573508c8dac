"""The results database as the gate's flake oracle: known issues, then flake history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gatehouse.core.known_issues import IssuePattern, KnownIssue, retire, to_kcidb
from gatehouse.core.ports import FlakeQuery
from gatehouse.core.results import Build, Checkout, Culprit, Issue, ResultsBatch, Status, Test
from gatehouse.engine.gate.flake_oracle import ResultsFlakeOracle
from gatehouse.matchers import engine
from gatehouse.storage import Store, open_store

NOW = datetime(2026, 6, 1, tzinfo=UTC).timestamp()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = "memory:" if request.param == "memory" else f"sqlite:///{tmp_path}/gatehouse.db"
    opened = open_store(url)
    yield opened
    opened.close()


def oracle(store: Store) -> ResultsFlakeOracle:
    return ResultsFlakeOracle(
        store.results, engine("python"), tree="project", branch="main", clock=lambda: NOW
    )


def issue(issue_id: str, *patterns: IssuePattern, **fields: object) -> KnownIssue:
    return KnownIssue(
        id=issue_id,
        version=1,
        origin="gatehouse",
        title=f"issue {issue_id}",
        culprit=Culprit(tool=True),
        patterns=patterns,
        **fields,  # type: ignore[arg-type]
    )


def add_issues(store: Store, *issues: KnownIssue) -> None:
    store.results.submit(ResultsBatch(issues=tuple(to_kcidb(i) for i in issues)), received_at=1.0)


def query(job: str = "test", tests: tuple[str, ...] = (), detail: str = "") -> FlakeQuery:
    return FlakeQuery(job, tests, detail, "c" * 40, "b" * 40, ("change/a",))


def test_nothing_known_means_not_a_flake(store: Store) -> None:
    verdict = oracle(store).classify(query(tests=("net.resolve",)))
    assert not verdict.flaky
    assert "net.resolve matches no known issue and is not flaky" in verdict.evidence
    verdict = oracle(store).classify(query(detail="segfault"))
    assert not verdict.flaky
    assert "matches no known issue" in verdict.evidence


def test_a_known_issue_on_the_test_path_makes_it_a_flake(store: Store) -> None:
    add_issues(store, issue("gatehouse:dns", IssuePattern(test_path="net.*")))
    verdict = oracle(store).classify(query(tests=("net.resolve", "net.connect")))
    assert verdict.flaky
    assert verdict.issue == "gatehouse:dns"
    assert (
        "test net.resolve matches known issue gatehouse:dns v1: issue gatehouse:dns"
        in verdict.evidence
    )
    assert "(culprit: tool)" in verdict.evidence
    # One failing test that no issue explains: the change may have broken it.
    verdict = oracle(store).classify(query(tests=("net.resolve", "parser.empty")))
    assert not verdict.flaky
    assert "parser.empty" in verdict.evidence


def test_a_log_pattern_matches_a_job_without_named_tests(store: Store) -> None:
    add_issues(
        store,
        issue("gatehouse:oom", IssuePattern(kind="build", log_regex=r"Killed process \d+")),
        issue(
            "gatehouse:other-branch",
            IssuePattern(kind="any", log_regex="boom", branches=frozenset({"stable"})),
        ),
    )
    verdict = oracle(store).classify(query(detail="make: ***\nKilled process 4242 (cc1)\n"))
    assert verdict.flaky
    assert "job test matches known issue gatehouse:oom" in verdict.evidence
    assert not oracle(store).classify(query(detail="boom")).flaky, "the issue is for another branch"


def test_retired_expired_and_malformed_issues_explain_nothing(store: Store) -> None:
    retired = retire(issue("gatehouse:old", IssuePattern(test_path="net.*")))
    expired = issue(
        "gatehouse:gone", IssuePattern(test_path="net.*"), expires=datetime(2026, 1, 1, tzinfo=UTC)
    )
    add_issues(store, issue("gatehouse:old", IssuePattern(test_path="net.*")), retired, expired)
    broken = Issue(id="gatehouse:bad", version=1, origin="gatehouse", misc={"patterns": "nope"})
    store.results.submit(ResultsBatch(issues=(broken,)), received_at=2.0)
    assert not oracle(store).classify(query(tests=("net.resolve",))).flaky


def test_the_compiled_issues_follow_new_versions(store: Store) -> None:
    classify = oracle(store)
    assert not classify.classify(query(tests=("net.resolve",))).flaky
    add_issues(store, issue("gatehouse:dns", IssuePattern(test_path="net.*")))
    assert classify.classify(query(tests=("net.resolve",))).flaky


def history(store: Store, path: str, outcomes: str) -> None:
    """One build per run, oldest first, each on its own commit."""
    batch_checkouts, batch_builds, batch_tests = [], [], []
    for n, outcome in enumerate(outcomes):
        checkout = Checkout(
            id=f"ci:c{n}", origin="ci", git_commit_hash=f"{n:040x}", tree_name="project"
        )
        build = Build(id=f"ci:b{n}", origin="ci", checkout_id=checkout.id)
        status = Status.PASS if outcome == "P" else Status.FAIL
        batch_checkouts.append(checkout)
        batch_builds.append(build)
        batch_tests.append(
            Test(id=f"ci:{path}:{n}", origin="ci", build_id=build.id, path=path, status=status)
        )
    for n in range(len(outcomes)):
        store.results.submit(
            ResultsBatch(
                checkouts=(batch_checkouts[n],), builds=(batch_builds[n],), tests=(batch_tests[n],)
            ),
            received_at=10.0 + n,
        )


def test_a_test_that_flips_in_its_history_is_a_flake(store: Store) -> None:
    history(store, "cache.evict", "PPFPPFPPPF")
    verdict = oracle(store).classify(query(tests=("cache.evict",)))
    assert verdict.flaky
    assert (
        "cache.evict is a known flake: flip rate 30% over its last 10 runs (PPFPPFPPPF)"
        in verdict.evidence
    )
    assert verdict.issue is None


def test_a_test_that_always_fails_is_broken_not_flaky(store: Store) -> None:
    history(store, "cache.evict", "FFFFFF")
    assert not oracle(store).classify(query(tests=("cache.evict",))).flaky
    history(store, "cache.fill", "PPPPPF")  # failed once: a regression, not a flake
    assert not oracle(store).classify(query(tests=("cache.fill",))).flaky


def test_the_same_input_passing_and_failing_is_a_flake(store: Store) -> None:
    checkout = Checkout(id="ci:c", origin="ci", git_commit_hash="f" * 40, tree_name="project")
    builds = (
        Build(id="ci:b1", origin="ci", checkout_id="ci:c"),
        Build(id="ci:b2", origin="ci", checkout_id="ci:c"),
    )
    tests = (
        Test(id="ci:t1", origin="ci", build_id="ci:b1", path="io.read", status=Status.FAIL),
        Test(id="ci:t2", origin="ci", build_id="ci:b2", path="io.read", status=Status.PASS),
    )
    store.results.submit(
        ResultsBatch(checkouts=(checkout,), builds=builds, tests=tests), received_at=5.0
    )
    verdict = oracle(store).classify(query(tests=("io.read",)))
    assert verdict.flaky
    assert "passed and failed on the same input (passed: ci:t2; failed: ci:t1)" in verdict.evidence
