"""Known issues and triage: AND-patterns, versions, expiry, incidents, unknown failures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatehouse import matchers
from gatehouse.core import results as model
from gatehouse.core.known_issues import (
    IssueIndex,
    IssuePattern,
    KnownIssue,
    check,
    edit,
    from_kcidb,
    latest_versions,
    pattern_from_mapping,
    retire,
    to_kcidb,
    validate,
)
from gatehouse.core.result_context import ResultContext, contexts_for_tests
from gatehouse.core.results import Build, Checkout, Culprit, Status, Test
from gatehouse.core.triage import compile_issues, incident_id, triage
from gatehouse.errors import ConfigError

NOW = datetime(2026, 3, 1, tzinfo=UTC)
ENGINE = matchers.engine("python")

CHECKOUT = Checkout(
    id="ci:c1",
    origin="ci",
    tree_name="mainline",
    git_repository_branch="master",
    git_commit_hash="a" * 40,
)
BUILD = Build(
    id="ci:b1", origin="ci", checkout_id="ci:c1", architecture="x86_64", status=Status.PASS
)


def result(
    path: str,
    status: Status,
    log: str = "",
    *,
    tid: str | None = None,
    arch: str = "x86_64",
    tags: frozenset[str] = frozenset(),
    env: str | None = None,
) -> ResultContext:
    build = Build(id=f"ci:b-{arch}", origin="ci", checkout_id="ci:c1", architecture=arch)
    test = Test(
        id=tid or f"ci:{path}:{arch}",
        origin="ci",
        build_id=build.id,
        path=path,
        status=status,
        log_excerpt=log,
        environment=model.TestEnvironment(comment=env) if env else None,
    )
    return ResultContext(build=build, test=test, checkout=CHECKOUT, tags=tags)


def issue(iid: str, *patterns: IssuePattern, version: int = 1, **extra: object) -> KnownIssue:
    return KnownIssue(
        id=iid,
        version=version,
        origin="ci",
        title=f"issue {iid}",
        culprit=Culprit(code=True),
        patterns=patterns,
        **extra,
    )  # type: ignore[arg-type]


def test_a_pattern_is_an_and_of_its_parts() -> None:
    known = issue(
        "ci:1",
        IssuePattern(
            test_path="net.*",
            log_regex=r"timed out after \d+ s",
            architectures=frozenset({"arm64"}),
        ),
    )
    results = [
        result("net.tcp", Status.FAIL, "connect timed out after 30 s", arch="arm64"),  # all parts
        result("net.udp", Status.FAIL, "connect timed out after 30 s", arch="x86_64"),  # wrong arch
        result("fs.ext4", Status.FAIL, "timed out after 30 s", arch="arm64"),  # wrong path
        result("net.icmp", Status.FAIL, "refused", arch="arm64"),  # log does not match
    ]
    report = triage([known], results, ENGINE, now=NOW)
    assert [m.object_id for m in report.matches] == ["ci:net.tcp:arm64"]
    assert [r.path for r in report.unknown_failures] == ["net.udp", "fs.ext4", "net.icmp"]


def test_an_issue_matches_when_any_pattern_does() -> None:
    known = issue("ci:1", IssuePattern(test_path="a.*"), IssuePattern(log_regex="Oops"))
    report = triage(
        [known],
        [result("a.x", Status.FAIL), result("b.y", Status.ERROR, "Oops: 1")],
        ENGINE,
        now=NOW,
    )
    assert len(report.incidents) == 2
    assert report.unknown_failures == ()


def test_empty_status_set_means_any_failure_and_explicit_sets_are_honoured() -> None:
    failures = issue("ci:1", IssuePattern(test_path="t.*"))
    skips = issue("ci:2", IssuePattern(test_path="t.*", statuses=frozenset({Status.SKIP})))
    results = [result("t.a", Status.PASS), result("t.b", Status.MISS), result("t.c", Status.SKIP)]
    explained = triage([failures, skips], results, ENGINE, now=NOW).explained()
    assert explained == {"ci:t.b:x86_64": ("ci:1",), "ci:t.c:x86_64": ("ci:2",)}


def test_filters_on_origin_tree_branch_tags_and_environment() -> None:
    pattern = IssuePattern(
        test_path="*",
        origins=frozenset({"ci"}),
        trees=frozenset({"mainline"}),
        branches=frozenset({"master"}),
        tags=frozenset({"kvm", "x86"}),
        environments=frozenset({"qemu"}),
    )
    known = issue("ci:1", pattern)
    ok = result("t.a", Status.FAIL, tags=frozenset({"kvm", "x86", "big"}), env="qemu")
    missing_tag = result("t.b", Status.FAIL, tags=frozenset({"kvm"}), env="qemu")
    other_env = result("t.c", Status.FAIL, tags=frozenset({"kvm", "x86"}), env="board")
    report = triage([known], [ok, missing_tag, other_env], ENGINE, now=NOW)
    assert [m.object_id for m in report.matches] == [ok.object_id]


def test_only_the_highest_version_triages_and_incidents_name_it() -> None:
    v1 = issue("ci:1", IssuePattern(log_regex="segfault"))
    v2 = edit(v1, patterns=(IssuePattern(log_regex="use-after-free"),))
    assert v2.version == 2
    results = [
        result("t.a", Status.FAIL, "segfault at 0"),
        result("t.b", Status.FAIL, "KASAN: use-after-free"),
    ]
    report = triage([v2, v1], results, ENGINE, now=NOW)
    assert [(i.issue_id, i.issue_version, i.test_id) for i in report.incidents] == [
        ("ci:1", 2, "ci:t.b:x86_64")
    ]
    assert latest_versions([v1, v2])["ci:1"] is v2
    index = IssueIndex.of([v2, v1])
    assert index.get("ci:1") is v2
    assert index.get("ci:1", 1) is v1
    assert index.get("ci:9") is None


def test_retired_and_expired_issues_do_not_triage() -> None:
    live = issue("ci:1", IssuePattern(test_path="t.a"))
    retired = retire(issue("ci:2", IssuePattern(test_path="t.a")))
    expired = issue("ci:3", IssuePattern(test_path="t.a"), expires=NOW)
    later = issue("ci:4", IssuePattern(test_path="t.a"), expires=datetime(2027, 1, 1, tzinfo=UTC))
    report = triage([live, retired, expired, later], [result("t.a", Status.FAIL)], ENGINE, now=NOW)
    assert sorted(m.issue_id for m in report.matches) == ["ci:1", "ci:4"]


def test_incident_ids_are_deterministic() -> None:
    known = issue("ci:1", IssuePattern(test_path="t.*"))
    results = [result("t.a", Status.FAIL)]
    first = triage([known], results, ENGINE, now=NOW).incidents
    again = triage([known], results, ENGINE, now=NOW).incidents
    assert first == again
    assert first[0].id == incident_id("ci:1", 1, "ci:t.a:x86_64")
    assert first[0].id.startswith("gatehouse:")
    assert len(first[0].id) == len("gatehouse:") + 64
    assert incident_id("ci:1", 2, "ci:t.a:x86_64") != first[0].id


def test_build_patterns_match_builds_not_tests() -> None:
    known = issue("ci:1", IssuePattern(kind="build", log_regex="internal compiler error"))
    broken = Build(
        id="ci:b9",
        origin="ci",
        checkout_id="ci:c1",
        status=Status.FAIL,
        log_excerpt="gcc: internal compiler error: Segmentation fault",
    )
    test = result("t.a", Status.FAIL, "internal compiler error")
    report = triage(
        [known], [ResultContext(build=broken, checkout=CHECKOUT), test], ENGINE, now=NOW
    )
    assert [(i.build_id, i.test_id) for i in report.incidents] == [("ci:b9", None)]
    assert [r.object_id for r in report.unknown_failures] == [test.object_id]


def test_a_result_without_log_cannot_match_a_log_pattern() -> None:
    known = issue("ci:1", IssuePattern(log_regex="Oops"))
    report = triage([known], [result("t.a", Status.FAIL, "")], ENGINE, now=NOW)
    assert report.matches == ()


def test_path_regexes_use_the_subset_and_search() -> None:
    known = issue("ci:1", IssuePattern(test_path=r"re:\.gles[23]\."))
    report = triage(
        [known],
        [result("dEQP.gles3.x", Status.FAIL), result("dEQP.gles31.x", Status.FAIL)],
        ENGINE,
        now=NOW,
    )
    assert [m.object_id for m in report.matches] == ["ci:dEQP.gles3.x:x86_64"]


def test_a_triager_compiles_once_and_is_reused() -> None:
    triager = compile_issues([issue("ci:1", IssuePattern(log_regex="Oops"))], ENGINE, now=NOW)
    assert len(triager.triage([result("t.a", Status.FAIL, "Oops")]).matches) == 1
    assert len(triager.triage([result("t.b", Status.FAIL, "fine")]).unknown_failures) == 1


def test_many_issues_with_log_patterns() -> None:
    issues = [
        issue(f"ci:{n}", IssuePattern(log_regex=rf"driver{n} reset failed \(err -?\d+\)"))
        for n in range(500)
    ]
    results = [
        result(f"t.{n}", Status.FAIL, f"x\ndriver{n * 7} reset failed (err -{n})\n")
        for n in range(100)
    ]
    report = triage(issues, results, ENGINE, now=NOW)
    got = {m.object_id: m.issue_id for m in report.matches}
    assert len(got) == 72  # n * 7 < 500
    assert got["ci:t.3:x86_64"] == "ci:21"


def test_contexts_join_tests_with_builds_and_checkouts() -> None:
    test = Test(id="ci:t1", origin="ci", build_id="ci:b1", path="a", status=Status.FAIL)
    orphan = Test(id="ci:t2", origin="ci", build_id="ci:gone", path="b", status=Status.FAIL)
    joined = contexts_for_tests(
        [test, orphan], {"ci:b1": BUILD}, {"ci:c1": CHECKOUT}, tags={"ci:b1": frozenset({"kvm"})}
    )
    assert joined[0].tree == "mainline"
    assert joined[0].tags == {"kvm"}
    assert joined[0].architecture == "x86_64"
    assert joined[1].checkout is None
    assert joined[1].build.id == "ci:gone"


# ----------------------------------------------------------------- validation and mapping


def test_validation_reports_every_problem_with_its_place() -> None:
    bad = KnownIssue(
        id="no colon",
        version=1,
        origin="ci",
        title=" ",
        culprit=Culprit(),
        patterns=(
            IssuePattern(log_regex="(?=x)y"),
            IssuePattern(),
            IssuePattern(test_path="re:(a"),
            IssuePattern(kind="build", test_path="x"),
        ),
    )
    problems = validate(bad, source="issues.yml")
    codes = [(p.code, str(p.location)) for p in problems]
    assert ("bad-issue-id", "issues.yml: id") in codes
    assert ("missing-title", "issues.yml: title") in codes
    assert ("missing-culprit", "issues.yml: culprit") in codes
    assert ("bad-log-regex", "issues.yml: patterns[0].log_regex") in codes
    assert ("empty-pattern", "issues.yml: patterns[1]") in codes
    assert ("bad-test-path", "issues.yml: patterns[2].test_path") in codes
    assert ("path-on-build", "issues.yml: patterns[3]") in codes
    regex_problem = next(p for p in problems if p.code == "bad-log-regex")
    assert "lookahead" in regex_problem.message
    assert "column 1" in regex_problem.message
    with pytest.raises(ConfigError) as info:
        check(bad, source="issues.yml")
    assert len(info.value.diagnostics) == len(problems)


def test_patterns_from_plain_data() -> None:
    pattern = pattern_from_mapping(
        {"test_path": "a.*", "statuses": ["fail", "ERROR"], "tags": "kvm"}, where="patterns[0]"
    )
    assert pattern.statuses == {Status.FAIL, Status.ERROR}
    assert pattern.tags == {"kvm"}
    with pytest.raises(ConfigError) as info:
        pattern_from_mapping(
            {"statuses": ["BROKEN"], "colour": "red", "trees": 3}, where="patterns[0]"
        )
    messages = [d.render() for d in info.value.diagnostics]
    assert any("unknown status 'BROKEN'" in m for m in messages)
    assert any("unknown pattern field 'colour'" in m for m in messages)
    assert any("patterns[0].trees" in m for m in messages)


def test_kcidb_mapping_round_trips() -> None:
    known = issue(
        "ci:7",
        IssuePattern(
            test_path="a.*",
            statuses=frozenset({Status.FAIL}),
            log_regex="Oops",
            tags=frozenset({"kvm"}),
        ),
        version=3,
        owner="alice",
        expires=datetime(2026, 6, 1, tzinfo=UTC),
        report_url="https://bugs.example/7",
    )
    exported = to_kcidb(known)
    assert exported.report_subject == "issue ci:7"
    assert exported.misc is not None
    assert exported.misc["owner"] == "alice"
    assert exported.misc["patterns"][0]["statuses"] == ["FAIL"]
    assert from_kcidb(exported) == known


@given(st.sets(st.sampled_from(list(Status))), st.text(min_size=1, max_size=8).filter(str.strip))
def test_kcidb_mapping_round_trips_any_status_set(statuses: set[Status], title: str) -> None:
    known = KnownIssue(
        id="ci:1",
        version=0,
        origin="ci",
        title=title,
        culprit=Culprit(tool=True),
        patterns=(IssuePattern(statuses=frozenset(statuses), test_path="x"),),
    )
    assert from_kcidb(to_kcidb(known)) == known
