"""The in-memory FlakeOracle: a failure is a flake only when every failing test is covered."""

from __future__ import annotations

from gatehouse.core.gate.known_flakes import KnownFlake, KnownFlakes
from gatehouse.core.ports import FlakeQuery


def _query(job: str, *tests: str) -> FlakeQuery:
    return FlakeQuery(job, tests, "", "c0ffee", "base", ("A",))


def test_known_flaky_test_is_a_flake_with_evidence() -> None:
    oracle = KnownFlakes(
        [KnownFlake("ISSUE-3", job="test-*", test="net/*", description="DNS timeout")]
    )
    verdict = oracle.classify(_query("test-x86", "net/resolve"))
    assert verdict.flaky
    assert verdict.issue == "ISSUE-3"
    assert "net/resolve" in verdict.evidence
    assert "DNS timeout" in verdict.evidence


def test_one_unexplained_failing_test_is_not_a_flake() -> None:
    oracle = KnownFlakes([KnownFlake("ISSUE-3", job="*", test="net/*")])
    verdict = oracle.classify(_query("test", "net/resolve", "fs/write"))
    assert not verdict.flaky
    assert "fs/write" in verdict.evidence


def test_job_level_flakes_cover_failures_without_test_names() -> None:
    oracle = KnownFlakes([KnownFlake("ISSUE-9", job="docs", test="any-test")])
    assert not oracle.classify(_query("docs")).flaky, "a test-level flake does not cover the job"
    oracle.add(KnownFlake("ISSUE-10", job="docs"))
    verdict = oracle.classify(_query("docs"))
    assert verdict.flaky
    assert verdict.issue == "ISSUE-10"
    assert not oracle.classify(_query("build")).flaky


def test_patterns_are_case_sensitive() -> None:
    oracle = KnownFlakes([KnownFlake("I", job="Lint")])
    assert not oracle.classify(_query("lint")).flaky
