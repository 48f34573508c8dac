"""The gate through the real command line, on real repositories with real shell pipelines.

Issue 5's acceptance: ten changes are queued with ``gatehouse gate enqueue``,
two of them break a test and one conflicts; ``gatehouse gate run --once``
lands exactly the other seven, in queue order, main only ever moves by
fast-forward to commits whose gate pipeline passed (checked in the runs
store), and ``gate status`` / ``gate log`` explain the three rejected ones.
Then the stories around it: a flaky job retried because the results
database knows its failure, ``rules: changes`` seen by the gate's
merge-request pipelines, a target that moves under a change, and the error
paths of the commands.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate_project import Project, first_parents, landed_commits, make_project
from gatehouse.cli.main import main
from gatehouse.core.ports import JobStatus, PipelineStatus
from gatehouse.storage import Store, open_store
from git_builders import git

BROKEN = ("c04", "c06")
CONFLICTING = "c08"  # edits the line c02 edits


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def open_project_store(project: Project) -> Store:
    return open_store(f"sqlite:///{project.path}/.gatehouse/gatehouse.db")


def ten_changes(project: Project) -> list[str]:
    for number in range(1, 11):
        name = f"c{number:02d}"
        files = {
            f"features/{name}.txt": f"{name}\n",
            f"checks/{name}.sh": f"test -f features/{name}.txt\n",
        }
        if name in BROKEN:
            files[f"checks/{name}.sh"] = f"echo '{name}: assertion failed' >&2\nexit 1\n"
        if name == "c02":
            files["shared.txt"] = "line one\nline two (c02)\nline three\n"
        if name == CONFLICTING:
            files["shared.txt"] = "line one\nline two (c08)\nline three\n"
        project.change(name, files)
    return [project.branches[f"c{n:02d}"] for n in range(1, 11)]


def gate_pipelines(store: Store, project: Project) -> list[object]:
    return [
        p
        for p in store.runs.list_pipelines(limit=500, project_dir=str(project.path))
        if p.source == "gate"
    ]


def test_ten_changes_land_exactly_the_seven_good_ones_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path / "project")
    refs = ten_changes(project)
    code, out, _ = cli(capsys, "gate", "enqueue", "-C", str(project.path), *refs)
    assert code == 0
    assert out.count("enqueued change/c") == 10

    code, out, err = cli(capsys, "gate", "run", "--once", "-C", str(project.path))
    assert code == 0, err
    assert "queue empty" in out

    good = [f"c{n:02d}" for n in range(1, 11) if f"c{n:02d}" not in {*BROKEN, CONFLICTING}]
    landed = landed_commits(project, project.base)
    assert len(landed) == 7
    # Fast-forwards only: each landed commit sits on the one landed before it.
    assert first_parents(project, landed) == [project.base, *landed[:-1]]
    # In queue order: landed commit k adds exactly change k's feature.
    for name, commit in zip(good, landed, strict=True):
        added = git(project.path, "diff", "--name-only", f"{commit}^1", commit).splitlines()
        assert f"features/{name}.txt" in added
    tree = git(project.path, "ls-tree", "-r", "--name-only", "main").splitlines()
    assert {
        f.removeprefix("features/").removesuffix(".txt") for f in tree if f.startswith("features/")
    } == set(good)
    assert git(project.path, "status", "--porcelain", "--untracked-files=no") == ""

    with open_project_store(project) as store:
        pipelines = gate_pipelines(store, project)
        passed = {p.sha for p in pipelines if p.status is PipelineStatus.SUCCESS}
        for commit in landed:
            assert commit in passed, "main only moves to a commit whose gate pipeline passed"
        for pipeline in pipelines:
            assert pipeline.event == "merge_request_event"
            assert pipeline.status.is_final
        merges = [e for e in store.audit.list_audit() if e.action == "merge"]
        assert [e.detail["commit"] for e in merges] == landed
    assert git(project.path, "for-each-ref", "refs/gatehouse") == "", "every pin was released"

    code, status, _ = cli(capsys, "gate", "status", "-C", str(project.path))
    assert code == 0
    assert "(queue empty)" in status
    assert "change/c08 conflicts with the changes ahead of it in shared.txt" in status
    for name in BROKEN:
        assert f"change/{name}: failed: job test: {name}: assertion failed" in status

    code, text, _ = cli(capsys, "gate", "status", "--json", "-C", str(project.path))
    data = json.loads(text)
    outcomes = {tuple(o["changes"]): o for o in data["recent"]}
    assert outcomes[("change/c08",)]["outcome"] == "conflict"
    assert outcomes[("change/c04",)]["outcome"] == "failed"
    assert [o["commit"] for o in data["recent"] if o["outcome"] == "merged"] == landed
    assert data["build_duration"] is not None

    code, log, _ = cli(capsys, "gate", "log", "--item", "change/c08", "-C", str(project.path))
    assert code == 0
    assert "conflict" in log
    assert "files=shared.txt" in log
    code, log, _ = cli(capsys, "gate", "log", "--json", "-C", str(project.path))
    entries = [json.loads(line) for line in log.splitlines()]
    reports = {tuple(e["changes"]): e for e in entries if e["action"] == "report"}
    assert reports[("change/c04",)]["kind"] == "jobs"
    assert "c04: assertion failed" in reports[("change/c04",)]["detail"]
    assert reports[("change/c08",)]["kind"] == "conflict"
    assert {e["action"] for e in entries} >= {"enqueue", "start", "land", "merge", "report", "fail"}


def test_a_known_flaky_failure_is_retried_and_lands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gatehouse.core.known_issues import IssuePattern, KnownIssue, to_kcidb
    from gatehouse.core.results import Culprit, ResultsBatch

    state = tmp_path / "flaked-once"
    toml = f'[gate]\nwindow = 3\nwindow_floor = 1\n\n[variables]\nFLAKE_STATE = "{state}"\n'
    project = make_project(tmp_path / "project", toml=toml)
    flaky_check = (
        'if [ ! -e "$FLAKE_STATE" ]; then\n'
        '    touch "$FLAKE_STATE"\n'
        '    echo "test_network: connection reset by peer" >&2\n'
        "    exit 1\n"
        "fi\n"
    )
    project.change("f01", {"features/f01.txt": "f01\n", "checks/f01.sh": flaky_check})
    (project.path / ".gatehouse").mkdir()
    with open_project_store(project) as store:
        issue = KnownIssue(
            id="gatehouse:net-reset",
            version=1,
            origin="gatehouse",
            title="the CI network resets connections",
            culprit=Culprit(harness=True),
            patterns=(IssuePattern(kind="build", log_regex="connection reset by peer"),),
        )
        store.results.submit(ResultsBatch(issues=(to_kcidb(issue),)), received_at=1.0)

    assert cli(capsys, "gate", "enqueue", "-C", str(project.path), "change/f01")[0] == 0
    code, _, err = cli(capsys, "gate", "run", "--once", "-C", str(project.path))
    assert code == 0, err
    assert landed_commits(project, project.base) != []

    code, log, _ = cli(capsys, "gate", "log", "--json", "-C", str(project.path))
    entries = [json.loads(line) for line in log.splitlines()]
    actions = [e["action"] for e in entries]
    assert actions.index("retry") < actions.index("retry-passed") < actions.index("merge")
    retry = next(e for e in entries if e["action"] == "retry")
    assert retry["job"] == "test"
    assert "known issue gatehouse:net-reset v1" in retry["evidence"]
    assert "culprit: harness" in retry["evidence"]
    assert "fail" not in actions
    assert "report" not in actions
    with open_project_store(project) as store:
        pipelines = gate_pipelines(store, project)
        assert sorted(p.status.value for p in pipelines) == ["failed", "success"]
        retried = next(p for p in pipelines if p.status is PipelineStatus.SUCCESS)
        assert [j.name for j in store.runs.list_jobs(retried.id)] == ["test"]
        assert retried.sha == project.tip()


def test_an_unknown_failure_is_not_retried(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "flaked-once"
    toml = f'[gate]\nwindow = 3\nwindow_floor = 1\n\n[variables]\nFLAKE_STATE = "{state}"\n'
    project = make_project(tmp_path / "project", toml=toml)
    check = 'if [ ! -e "$FLAKE_STATE" ]; then touch "$FLAKE_STATE"; echo "boom" >&2; exit 1; fi\n'
    project.change("f01", {"features/f01.txt": "f01\n", "checks/f01.sh": check})
    assert cli(capsys, "gate", "enqueue", "-C", str(project.path), "change/f01")[0] == 0
    assert cli(capsys, "gate", "run", "--once", "-C", str(project.path))[0] == 0
    assert project.tip() == project.base
    _, log, _ = cli(capsys, "gate", "log", "--item", "change/f01", "-C", str(project.path))
    assert "retry" not in log
    assert "matches no known issue" in log
    assert "failed: job test: boom" in log


def test_rules_changes_see_the_changed_files_of_the_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path / "project")
    project.change("d01", {"docs/intro.md": "# Intro\n"})
    project.change("n01", {"features/n01.txt": "n01\n"})
    assert (
        cli(capsys, "gate", "enqueue", "-C", str(project.path), "change/d01", "change/n01")[0] == 0
    )
    assert cli(capsys, "gate", "run", "--once", "-C", str(project.path))[0] == 0
    assert len(landed_commits(project, project.base)) == 2
    with open_project_store(project) as store:
        jobs = {
            p.ref: sorted(j.name for j in store.runs.list_jobs(p.id))
            for p in gate_pipelines(store, project)
            if p.status is PipelineStatus.SUCCESS
        }
        assert jobs == {"change/d01": ["docs", "test"], "change/n01": ["test"]}
        docs_pipeline = next(p for p in gate_pipelines(store, project) if p.ref == "change/d01")
        docs_job = next(j for j in store.runs.list_jobs(docs_pipeline.id) if j.name == "docs")
        assert docs_job.status is JobStatus.SUCCESS
        assert docs_job.log_path is not None
        log = Path(docs_job.log_path).read_text()
        assert "checking the docs of change/d01 into main" in log


def test_a_target_moved_by_someone_else_is_retested_not_replayed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "moved"
    path = tmp_path / "project"
    project = make_project(path, checkout="work")
    hotfix = project.builder.commit(
        {"hotfix.txt": "hot\n"}, [project.base], "hotfix pushed to main"
    )
    (path / "gatehouse.toml").write_text(
        "[gate]\nwindow = 3\nwindow_floor = 1\npoll_interval = 0.1\n\n[variables]\n"
        f'MOVED = "{marker}"\nREPO = "{path}"\nHOTFIX = "{hotfix}"\n'
    )
    # While its pipeline runs, someone pushes a hotfix to main (once).
    push = (
        'if [ ! -e "$MOVED" ]; then touch "$MOVED"; '
        'git -C "$REPO" update-ref refs/heads/main "$HOTFIX"; fi\n'
    )
    project.change("m01", {"features/m01.txt": "m01\n", "checks/m01.sh": push})
    assert cli(capsys, "gate", "enqueue", "-C", str(path), "change/m01")[0] == 0
    code, _, err = cli(capsys, "gate", "run", "--once", "-C", str(path))
    assert code == 0, err

    landed = landed_commits(project, project.base)
    assert landed[0] == hotfix
    assert len(landed) == 2
    final = landed[1]
    assert git(path, "rev-parse", f"{final}^1") == hotfix, "tested on the new tip"
    files = git(path, "ls-tree", "-r", "--name-only", final).splitlines()
    assert "hotfix.txt" in files
    assert "features/m01.txt" in files
    with open_project_store(project) as store:
        audit = store.audit.list_audit()
        assert "target-moved" in [e.action for e in audit]
        starts = [e.detail["commit"] for e in audit if e.action == "start"]
        assert len(starts) == 2
        assert starts[0] != final, "the commit tested on the old tip was not landed"
        assert starts[-1] == final
        passed = [
            p.sha for p in gate_pipelines(store, project) if p.status is PipelineStatus.SUCCESS
        ]
        assert final in passed


def test_a_push_to_the_target_between_runs_is_noticed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "project"
    project = make_project(path, checkout="work")
    project.change("a", {"features/a.txt": "a\n"})
    project.change("b", {"features/b.txt": "b\n"})
    assert cli(capsys, "gate", "enqueue", "-C", str(path), "change/a")[0] == 0
    assert cli(capsys, "gate", "run", "--once", "-C", str(path))[0] == 0
    after_a = project.tip()
    pushed = project.builder.commit({"pushed.txt": "x\n"}, [after_a], "pushed by hand")
    project.builder.set_branch("main", pushed)
    assert cli(capsys, "gate", "enqueue", "-C", str(path), "change/b")[0] == 0
    assert cli(capsys, "gate", "run", "--once", "-C", str(path))[0] == 0
    landed = landed_commits(project, project.base)
    assert landed[:2] == [after_a, pushed]
    assert git(path, "rev-parse", f"{landed[2]}^1") == pushed
    _, log, _ = cli(capsys, "gate", "log", "-C", str(path))
    assert "the target branch was moved outside the gate" in log


def test_a_request_the_gate_refuses_is_closed_and_logged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gatehouse.engine.gate.inbox import enqueue_request

    project = make_project(tmp_path / "project")
    commit = project.change("a", {"features/a.txt": "a\n"})
    queue = f"{project.path}:main"
    (project.path / ".gatehouse").mkdir()
    with open_project_store(project) as store:
        from gatehouse.core.gate import Change

        for _ in range(2):  # two processes enqueued the same change at the same time
            store.gate.post_request(
                queue, "enqueue", enqueue_request(Change("change/a", commit)), at=1.0
            )
        store.gate.post_request(queue, "promote", {"change": "change/a"}, at=2.0)
    code, out, _ = cli(capsys, "gate", "run", "--once", "-C", str(project.path))
    assert code == 0
    assert "rejected request 2 (enqueue): change 'change/a' is already queued" in out
    assert "rejected request 3 (promote): malformed promote request" in out
    assert len(landed_commits(project, project.base)) == 1
    with open_project_store(project) as store:
        closed = store.gate.list_requests(queue, pending_only=False)
        assert [r.outcome.split(":")[0] for r in closed if r.outcome] == [
            "accepted",
            "rejected",
            "rejected",
        ]
        rejected = [e for e in store.audit.list_audit(queue=queue) if e.action == "rejected"]
        assert [e.detail["request"] for e in rejected] == [2, 3]


# --------------------------------------------------------------------------- requests


def test_enqueue_dequeue_pause_and_resume_go_through_the_inbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path / "project")
    project.change("a", {"features/a.txt": "a\n"})
    project.change("b", {"features/b.txt": "b\n"})
    project.change("c", {"features/c.txt": "c\n"})
    directory = str(project.path)
    assert (
        cli(capsys, "gate", "enqueue", "-C", directory, "change/a", "change/b", "change/c")[0] == 0
    )
    code, out, _ = cli(capsys, "gate", "status", "-C", directory)
    assert "not started" in out
    assert "enqueue change/b" in out
    assert (
        cli(capsys, "gate", "dequeue", "-C", directory, "change/b", "--reason", "not ready")[0] == 0
    )
    assert cli(capsys, "gate", "pause", "-C", directory, "release freeze")[0] == 0

    code, out, _ = cli(capsys, "gate", "run", "--once", "-C", directory)
    assert code == 1, "stopped because the gate is paused with items left"
    assert "paused: release freeze" in out
    assert project.tip() == project.base
    code, out, _ = cli(capsys, "gate", "status", "-C", directory)
    assert "paused: release freeze" in out
    assert "dequeued #" in out
    assert "not ready" in out

    code, out, err = cli(capsys, "gate", "enqueue", "-C", directory, "change/a")
    assert code == 1
    assert "already queued" in err
    assert cli(capsys, "gate", "resume", "-C", directory)[0] == 0
    assert cli(capsys, "gate", "run", "--once", "-C", directory)[0] == 0
    landed = landed_commits(project, project.base)
    assert len(landed) == 2
    assert "features/b.txt" not in git(project.path, "ls-tree", "-r", "--name-only", "main")


def test_preempt_shows_its_cost_and_needs_yes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path / "project")
    project.change("a", {"features/a.txt": "a\n"})
    code, out, err = cli(
        capsys, "gate", "enqueue", "-C", str(project.path), "--priority", "preempt", "change/a"
    )
    assert code == 2
    assert "restarts 0 running build(s) and re-tests 0 change(s)" in out
    assert "--yes" in err
    code, out, _ = cli(
        capsys,
        "gate",
        "enqueue",
        "-C",
        str(project.path),
        "--priority",
        "preempt",
        "--yes",
        "change/a",
    )
    assert code == 0
    assert cli(capsys, "gate", "run", "--once", "-C", str(project.path))[0] == 0
    code, log, _ = cli(capsys, "gate", "log", "-C", str(project.path))
    assert "preempt" in log
    assert len(landed_commits(project, project.base)) == 1


# --------------------------------------------------------------------------- error paths


def test_an_unknown_ref_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path / "project")
    code, _, err = cli(capsys, "gate", "enqueue", "-C", str(project.path), "no-such-branch")
    assert code == 2
    assert "unknown ref 'no-such-branch'" in err
    assert "Traceback" not in err
    code, _, err = cli(capsys, "gate", "enqueue", "-C", str(project.path), "main")
    assert code == 2
    assert "already in main" in err


def test_an_unknown_item_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path / "project")
    for args in (("dequeue", "#7"), ("dequeue", "change/zzz"), ("log", "--item", "42")):
        code, _, err = cli(capsys, "gate", *args, "-C", str(project.path))
        assert code == 2, args
        assert "unknown item" in err
        assert "Traceback" not in err


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[gate]\nwindow = 0\n", ":2: gate.window = 0: must be at least 1, not 0"),
        (
            '[run]\nconcurrency = 1\n\n[gate]\nwindow = 5\nfail_fast = "maybe"\n',
            ":6: gate.fail_fast = 'maybe': not a boolean",
        ),
        ("gate.batch_size = -1\n", ":1: gate.batch_size = -1: must be at least 1"),
        ("[gate]\nwindw = 3\n", ":2: unknown setting 'windw' in [gate]"),
        (
            "[gate]\nwindow = 3\nwindow_floor = 5\n",
            "gatehouse.toml: [gate]: gate.window_floor (5) is larger than gate.window (3)",
        ),
        ("[gate\nwindow = 3\n", "invalid TOML"),
    ],
)
def test_a_bad_gatehouse_toml_is_a_located_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, expected: str
) -> None:
    project = make_project(tmp_path / "project", toml=toml)
    for command in (("status",), ("run", "--once"), ("enqueue", "main")):
        code, _, err = cli(capsys, "gate", *command, "-C", str(project.path))
        assert code == 2, command
        assert expected in err
        assert "Traceback" not in err
    if "windw" in toml:
        _, _, err = cli(capsys, "gate", "status", "-C", str(project.path))
        assert "did you mean 'window'?" in err


def test_a_missing_target_branch_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path / "project")
    project.change("a", {"features/a.txt": "a\n"})
    code, _, err = cli(
        capsys, "gate", "enqueue", "-C", str(project.path), "--target", "release", "change/a"
    )
    assert code == 2
    assert "target branch 'release' does not exist" in err


def test_a_bad_target_flag_names_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path / "project")
    code, _, err = cli(
        capsys, "gate", "status", "-C", str(project.path), "--target", "refs/heads/x"
    )
    assert code == 2
    assert "--target: gate.target_branch must be a branch name" in err
