"""Conformance: the real pipeline definitions of ../shared/corpus/gitlab-ci load and plan as in GitLab.

Each project is planned as itself (its real project path and server, so the
``rules`` written for it behave as there) for three pipelines: a push on the
default branch, a merge request from ``topic`` into it, and a schedule on
it. The change set is unknown, so ``rules:changes`` hold, as GitLab does for
a pipeline without a push diff. The job lists below were checked by reading
the YAML; the comments explain the answers that are not obvious.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gatehouse.cli.main import main
from gatehouse.core.config import IncludeContext, load_config
from gatehouse.core.model import MergeRequest, PipelineConfig, PipelineContext, PlannedPipeline
from gatehouse.core.planner import PlanOptions, plan
from gatehouse.core.predefined import pipeline_variables
from gatehouse.errors import Severity
from gatehouse.vcs.files import DirectoryFiles

PROJECTS = {
    # folder: (namespace, name, server)
    "glib": ("GNOME", "glib", "gitlab.gnome.org"),
    "mutter": ("GNOME", "mutter", "gitlab.gnome.org"),
    "gitlab-runner": ("gitlab-org", "gitlab-runner", "gitlab.com"),
}
# The corpus README: visible jobs after include + extends, before parallel; and after it.
VISIBLE = {"glib": (29, 29), "mutter": (25, 25), "gitlab-runner": (79, 125)}


def _context(project: str, kind: str) -> PipelineContext:
    namespace, name, host = PROJECTS[project]
    common = {"project_namespace": namespace, "project_name": name, "server_host": host}
    if kind == "merge_request":
        return PipelineContext(
            ref="topic",
            event="merge_request_event",
            merge_request=MergeRequest(source_branch="topic", target_branch="main"),
            **common,
        )
    return PipelineContext(ref="main", event="schedule" if kind == "schedule" else "push", **common)


def _load(corpus: Path, project: str, kind: str = "push") -> tuple[PipelineConfig, PlannedPipeline]:
    files = DirectoryFiles(corpus / "gitlab-ci" / project)
    ctx = _context(project, kind)
    config = load_config(files, context=IncludeContext(pipeline_variables(ctx), None))
    return config, plan(config, ctx, PlanOptions(files=files.list_files()))


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_every_config_loads_without_errors_and_counts_its_jobs(corpus: Path, project: str) -> None:
    config, _ = _load(corpus, project)
    assert config.ok, [d.render() for d in config.diagnostics if d.is_error]
    assert (config.visible_job_count, len(config.jobs)) == VISIBLE[project]


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_plan_all_json_lists_every_job(
    corpus: Path, project: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / project
    shutil.copytree(corpus / "gitlab-ci" / project, copy)
    assert main(["plan", str(copy), "--all", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["jobs"]) == VISIBLE[project][1]
    assert document["version"] == 1


UNAVAILABLE = {
    "glib": [
        (
            ".gitlab-ci.yml",
            2,
            "component 'gitlab.gnome.org/GNOME/citemplates/release-service@master'",
        )
    ],
    "mutter": [
        (".gitlab-ci.yml", 2, "project 'Infrastructure/freedesktop-ci-templates' (ref 145b1bc7"),
        (".gitlab-ci.yml", 5, "project 'Infrastructure/freedesktop-ci-templates' (ref aec7a6ce"),
        (
            ".gitlab-ci.yml",
            8,
            "component 'gitlab.gnome.org/GNOME/citemplates/release-service@master'",
        ),
        (
            ".gitlab-ci.yml",
            13,
            "component 'gitlab.gnome.org/GNOME/citemplates/gnomeos-build-sysext@25.5'",
        ),
    ],
    "gitlab-runner": [
        (
            ".gitlab-ci.yml",
            44,
            "project 'gitlab-com/gl-security/security-operations/infrastructure-security-public/oidc-modules' (ref 3.4.0)",
        ),
        # ${CI_SERVER_FQDN} in a component address is expanded (gitlab.com here)
        (
            ".gitlab/ci/test.gitlab-ci.yml",
            2,
            "component 'gitlab.com/components/dependency-scanning/main@1.1.1'",
        ),
        (".gitlab/ci/test.gitlab-ci.yml", 3, "component 'gitlab.com/components/sast/sast@3.4.0'"),
        (
            ".gitlab/ci/test.gitlab-ci.yml",
            6,
            "template 'Security/Coverage-Fuzzing.latest.gitlab-ci.yml'",
        ),
    ],
}


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_every_unavailable_external_include_is_reported_at_its_line(
    corpus: Path, project: str
) -> None:
    config, _ = _load(corpus, project)
    found = [d for d in config.diagnostics if d.code == "unavailable-include"]
    assert all(d.severity is Severity.WARNING for d in found)
    assert len(found) == len(UNAVAILABLE[project])
    for diagnostic, (file, line, start) in zip(found, UNAVAILABLE[project], strict=True):
        assert diagnostic.location is not None
        assert (diagnostic.location.file, diagnostic.location.line) == (file, line)
        assert diagnostic.message.startswith(start)


def test_danger_review_component_is_included_only_in_merge_requests(corpus: Path) -> None:
    # Its include:rules want gitlab.com and a merge request from the runner project.
    config, _ = _load(corpus, "gitlab-runner", "merge_request")
    lines = [
        d.location.line
        for d in config.diagnostics
        if d.code == "unavailable-include" and d.location
    ]
    assert 39 in lines


def test_include_rules_choose_the_canonical_or_the_fork_file(corpus: Path) -> None:
    canonical, _ = _load(corpus, "gitlab-runner")
    assert ".gitlab/ci/_project_canonical.gitlab-ci.yml" in canonical.files
    assert ".gitlab/ci/_project_fork.gitlab-ci.yml" not in canonical.files
    files = DirectoryFiles(corpus / "gitlab-ci" / "gitlab-runner")
    fork_ctx = PipelineContext(project_namespace="someone", project_name="gitlab-runner")
    fork = load_config(files, context=IncludeContext(pipeline_variables(fork_ctx), None))
    assert ".gitlab/ci/_project_fork.gitlab-ci.yml" in fork.files
    assert len(canonical.files) == len(fork.files) == 17  # 18 files, one of two alternatives
    # the fork's .instance-2xlarge is a plain tag; the canonical one a variable
    assert fork.job("binaries").tags == ("gitlab-org-docker",)
    assert canonical.job("binaries").tags == ("$RUNNER_TAG_2XLARGE",)


def test_mutter_commit_rules_file_is_not_ci_yaml(corpus: Path) -> None:
    config, _ = _load(corpus, "mutter")
    assert config.files == (".gitlab-ci.yml",)
    assert not any(
        d.location is not None and "commit-rules" in d.location.file for d in config.diagnostics
    )


def test_gitlab_runner_needs_a_verbatim_matrix_instance(corpus: Path) -> None:
    config, pipeline = _load(corpus, "gitlab-runner")
    instance = "helper images: [alpine alpine-pwsh ubuntu ubuntu-pwsh ubi-fips concrete]"
    assert config.job(instance) is not None
    needing = [j.name for j in pipeline.jobs if j.needs and instance in [n.job for n in j.needs]]
    assert needing


# ---------------------------------------------------------------- glib

GLIB_PUSH_ON_MAIN = [
    # .only-default jobs skip pushes to GNOME/glib's default branch (already
    # tested in the merge request); .only-default-and-merges run;
    # .only-schedules-or-manual become manual, non-blocking (allow_failure: true).
    "fedora-x86_64",
    "debian-stable-x86_64",
    "hurd-i386",
    "muslc-alpine-x86_64",
    "installed-tests",
    "G_DISABLE_ASSERT",
    "msys2-mingw32",
    "msys2-clang64",
    "vs2019-x86",
    "vs2019-arm64",
    "freebsd-13-x86_64",
    "valgrind",
    "ubsan",
    "scan-build",
]
GLIB_SCHEDULE = [
    # Everything but the two trigger-only check-introspection jobs. The style
    # checks' rules:changes hold: a schedule has no push diff.
    "style-check-advisory",
    "sh-and-py-check",
    "style-check-mandatory",
    "fedora-x86_64",
    "debian-stable-x86_64",
    "debian-stable-i386",
    "hurd-i386",
    "muslc-alpine-x86_64",
    "installed-tests",
    "G_DISABLE_ASSERT",
    "cross-android_arm64",
    "cross-mingw64",
    "msys2-mingw32",
    "msys2-clang64",
    "vs2019-x64",
    "vs2019-x64-static",
    "vs2019-x86",
    "vs2019-arm64",
    "freebsd-13-x86_64",
    "macos-arm64",
    "dist-job",
    "coverage",
    "valgrind",
    "ubsan",
    "scan-build",
    "pages",
    "issue-bot",
]


def test_glib_plans(corpus: Path) -> None:
    _, push = _load(corpus, "glib")
    assert push.ok
    assert [j.name for j in push.jobs] == GLIB_PUSH_ON_MAIN
    assert push.job("valgrind").when == "manual"
    assert not push.job("valgrind").blocking_manual
    _, schedule = _load(corpus, "glib", "schedule")
    assert [j.name for j in schedule.jobs] == GLIB_SCHEDULE
    assert schedule.job("issue-bot").when == "on_failure"
    # GNOME projects test branches, not merge requests: workflow:rules allow a
    # merge-request pipeline, but every job's rules need $CI_COMMIT_BRANCH or a
    # schedule, so it has no job and GitLab creates none.
    _, mr = _load(corpus, "glib", "merge_request")
    assert not mr.created
    assert mr.jobs == ()


# ---------------------------------------------------------------- mutter

MUTTER_PUSH_ON_MAIN = [
    "build-fedora-container@x86_64",
    # job-level when: manual with rules that do not set when: still non-blocking
    "build-fedora-container@aarch64",
    "build-mutter@x86_64",
    "build-release@x86_64",
    "build-mutter@aarch64",
    "build-without-opengl@x86_64",
    "build-wayland-only@x86_64",
    # completed by the unavailable gnomeos-build-sysext component; without rules
    # of its own it runs, since workflow:rules drop the implicit only
    "build-sysext",
    "test-mutter@x86_64",
    "test-mutter-kvm@x86_64",
    "test-mutter@aarch64",
    "can-run-gnome-kiosk@x86_64",
    "can-run-gnome-shell@x86_64",
    "coverage",
    "test-mutter-coverity",  # rules: when: manual, but allow_failure: true at job level
    "reference",
    "dist-mutter",
    "installed-tests-mutter@x86_64",
    "pages",
]
# review and code-review jobs are merge-request only; coverity and pages need a branch
MUTTER_MERGE_REQUEST = [
    "repo-sanity",
    "check-commit-log",
    *MUTTER_PUSH_ON_MAIN[:2],
    "check-c-code-style",
    "check-python-code-style",
    "check-glib-main-context",
    *[n for n in MUTTER_PUSH_ON_MAIN[2:] if n not in ("test-mutter-coverity", "pages")],
]


def test_mutter_plans(corpus: Path) -> None:
    _, push = _load(corpus, "mutter")
    assert [j.name for j in push.jobs] == MUTTER_PUSH_ON_MAIN
    assert not push.job("build-fedora-container@aarch64").blocking_manual
    assert push.job("build-sysext").spec.unresolved
    _, schedule = _load(corpus, "mutter", "schedule")
    # without MUTTER_SCHEDULED_JOB=coverity a schedule is a branch pipeline like a push
    assert [j.name for j in schedule.jobs] == MUTTER_PUSH_ON_MAIN
    assert schedule.job("test-mutter-coverity").when == "manual"
    _, mr = _load(corpus, "mutter", "merge_request")
    assert [j.name for j in mr.jobs] == MUTTER_MERGE_REQUEST


# ---------------------------------------------------------------- gitlab-runner

RUNNER_PUSH_ON_MAIN = [
    # the canonical project on main; rules:changes hold without a diff
    "helper images: [alpine alpine-pwsh ubuntu ubuntu-pwsh ubi-fips concrete]",
    "helper images: [windows-nanoserver-ltsc2019 windows-servercore-ltsc2019]",
    "helper images: [windows-nanoserver-ltsc2022 windows-servercore-ltsc2022]",
    "helper images: [windows-nanoserver-ltsc2025 windows-servercore-ltsc2025]",
    "helper images: [windows-nanoserver-ltsc2025-arm64 windows-servercore-ltsc2025-arm64]",
    "prebuilt helper images",
    "prebuilt helper images windows 2019",
    "prebuilt helper images windows 2022",
    "prebuilt helper images windows 2025",
    "prebuilt helper images windows 2025 arm64",
    "runner images",
    "binaries",
    "clone test repo",
    "rpm verify fips",
    "prepare done",
    "check version definition",
    "check modules",
    "check generated files",
    "check magefiles",
    "check test directives",
    "go:lint",
    "shell:lint",
    "dockerfile:lint",
    "build script tests",
    "docs:lint markdown",
    "docs:lint i18n markdown",
    "docs:report i18n links",
    "docs:lint i18n paths",
    "docs:check feature flags",
    "check Go version consistency",
    "docs:check Kubernetes API docs",
    "docs:check Hugo build",
    "yaml:lint",
    "dependency-scanning",
    "gitlab-advanced-sast",
    "unit test",
    "integration test 1/4",
    "integration test 2/4",
    "integration test 3/4",
    "integration test 4/4",
    "integration test (docker, steps) 1/1",
    "integration test (docker, concrete, steps) 1/1",
    "integration test (docker, network-faults) 1/1",
    "integration test with race 1/4",
    "integration test with race 2/4",
    "integration test with race 3/4",
    "integration test with race 4/4",
    "fuzz variable mask",
    "windows 1809 compile tests",
    "windows 21H2 compile tests",
    "windows 1809 unit tests 1/2",
    "windows 1809 unit tests 2/2",
    "windows 21H2 unit tests 1/2",
    "windows 21H2 unit tests 2/2",
    "windows 1809 integration tests 1/4",
    "windows 1809 integration tests 2/4",
    "windows 1809 integration tests 3/4",
    "windows 1809 integration tests 4/4",
    "windows 21H2 integration tests 1/4",
    "windows 21H2 integration tests 2/4",
    "windows 21H2 integration tests 3/4",
    "windows 21H2 integration tests 4/4",
    "logging-field-validator",
    "test coverage report",
    "package-deb: [deb64]",
    "package-deb: [debArm64]",
    "package-deb: [deb32]",
    "package-deb: [debArm32]",
    "package-deb: [debIbm]",
    "package-deb: [debRiscv64]",
    "package-deb: [debLoong64]",
    "package-rpm: [rpm64]",
    "package-rpm: [rpmArm64]",
    "package-rpm: [rpm32]",
    "package-rpm: [rpmArm32]",
    "package-rpm: [rpmIbm]",
    "package-rpm: [rpmRiscv64]",
    "package-rpm: [rpmFips]",
    "package-rpm: [rpmLoong64]",
    "package-helpers",
    "bleeding edge S3",
    "unstable pulp: [debian]",
    "unstable pulp: [ubuntu]",
    "unstable pulp: [el]",
    "unstable pulp: [fedora]",
    "unstable pulp: [amazon]",
    "unstable pulp: [sles]",
    "unstable pulp: [opensuse]",
    "bleeding edge docker images",
    "provision integration kubernetes",
    "integration kubernetes exec legacy",
    "integration kubernetes attach",
    "integration kubernetes concrete",
    "integration kubernetes",
    "destroy integration kubernetes",
    "trigger UBI images build",
    "trigger runner-incept tests",
    "package test variables",
    "trigger runner package tests",
    "verify bleeding edge resources",
    "hosted runners bridge bleeding edge",
]


def test_gitlab_runner_plans(corpus: Path) -> None:
    _, push = _load(corpus, "gitlab-runner")
    assert push.ok
    assert [j.name for j in push.jobs] == RUNNER_PUSH_ON_MAIN
    # tags: [!reference [.instance-2xlarge]] is $RUNNER_TAG_2XLARGE, a global variable…
    assert push.job("binaries").tags == ("functions-pilot-linux-amd64",)
    # … which workflow:rules:variables override when USE_PILOT_RUNNERS is "false"
    files = DirectoryFiles(corpus / "gitlab-ci" / "gitlab-runner")
    ctx = PipelineContext(
        ref="main",
        project_namespace="gitlab-org",
        project_name="gitlab-runner",
        server_host="gitlab.com",
        variables={"USE_PILOT_RUNNERS": "false"},
    )
    config = load_config(files, context=IncludeContext(pipeline_variables(ctx), None))
    saas = plan(config, ctx, PlanOptions(files=files.list_files()))
    assert saas.job("binaries").tags == ("saas-linux-2xlarge-amd64",)

    _, mr = _load(corpus, "gitlab-runner", "merge_request")
    names = [j.name for j in mr.jobs]
    added = [n for n in names if n not in RUNNER_PUSH_ON_MAIN]
    removed = [n for n in RUNNER_PUSH_ON_MAIN if n not in names]
    assert added == [
        "test images",  # only in the runner project's merge requests
        "development S3",  # releases of a merge request go to "development"
        "development docker images",
        "verify development resources",
        "review-docs-deploy",  # .rules:docs:review: manual in merge requests
        "review-docs-cleanup",
    ]
    assert removed == [
        # bleeding-edge releases and package tests: the default branch only
        "bleeding edge S3",
        *[
            f"unstable pulp: [{d}]"
            for d in ("debian", "ubuntu", "el", "fedora", "amazon", "sles", "opensuse")
        ],
        "bleeding edge docker images",
        "package test variables",
        "trigger runner package tests",
        "verify bleeding edge resources",
        "hosted runners bridge bleeding edge",  # pushes and web pipelines only
    ]
    assert mr.job("review-docs-deploy").when == "manual"
    assert not mr.job("review-docs-deploy").blocking_manual  # .review-docs allows failure

    _, schedule = _load(corpus, "gitlab-runner", "schedule")
    names = [j.name for j in schedule.jobs]
    assert [n for n in names if n not in RUNNER_PUSH_ON_MAIN] == [
        "docs:check supported distros package docs"  # a scheduled check
    ]
    assert [n for n in RUNNER_PUSH_ON_MAIN if n not in names] == [
        "hosted runners bridge bleeding edge"  # never in a schedule (not web or push)
    ]
