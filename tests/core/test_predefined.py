"""Predefined ``CI_*`` variables for a context (the table in docs/variables.md)."""

from __future__ import annotations

import pytest

from dialect_fixtures import context, load
from gatehouse.core.model import MergeRequest, PipelineContext
from gatehouse.core.predefined import PERSISTED, job_variables, pipeline_variables, slugify


@pytest.mark.parametrize(
    ("ref", "slug"),
    [
        ("main", "main"),
        ("Feature/Add_Thing", "feature-add-thing"),
        ("--leading-and-trailing--", "leading-and-trailing"),
        ("v1.2.3", "v1-2-3"),
        ("a" * 70, "a" * 63),
        ("x" * 62 + "/y", "x" * 62),  # cut to 63, then the trailing '-' goes
        ("ÄÖÜ", ""),
    ],
)
def test_ref_slug(ref: str, slug: str) -> None:
    assert slugify(ref) == slug


def test_branch_push_variables() -> None:
    ctx = PipelineContext(
        ref="main",
        sha="0123456789abcdef" * 2 + "01234567",
        commit_message="Fix the thing\n\nLonger description.",
        project_name="glib",
        project_namespace="GNOME",
        server_host="gitlab.gnome.org",
    )
    v = pipeline_variables(ctx)
    assert v["CI_COMMIT_BRANCH"] == "main"
    assert v["CI_COMMIT_SHORT_SHA"] == "01234567"
    assert (v["CI_COMMIT_TITLE"], v["CI_COMMIT_DESCRIPTION"]) == (
        "Fix the thing",
        "Longer description.",
    )
    assert v["CI_PROJECT_PATH"] == "GNOME/glib"
    assert v["CI_PROJECT_PATH_SLUG"] == "gnome-glib"
    assert v["CI_REGISTRY_IMAGE"] == "registry.gitlab.gnome.org/gnome/glib"
    assert v["CI_SERVER_FQDN"] == "gitlab.gnome.org"
    assert v["CI_PROJECT_URL"] == "https://gitlab.gnome.org/GNOME/glib"
    assert v["CI_PIPELINE_SOURCE"] == "push"
    assert (v["CI"], v["GITLAB_CI"], v["GATEHOUSE"]) == ("true", "true", "true")
    assert v["CI_COMMIT_REF_PROTECTED"] == "true"
    assert "CI_COMMIT_TAG" not in v
    assert not any(k.startswith("CI_MERGE_REQUEST_") for k in v)
    assert not set(v) & set(PERSISTED)


def test_tag_variables() -> None:
    v = pipeline_variables(context(ref="v2.0", tag=True))
    assert (v["CI_COMMIT_TAG"], v["CI_COMMIT_REF_NAME"], v["CI_COMMIT_REF_SLUG"]) == (
        "v2.0",
        "v2.0",
        "v2-0",
    )
    assert "CI_COMMIT_BRANCH" not in v
    assert v["CI_COMMIT_REF_PROTECTED"] == "false"


def test_merge_request_variables() -> None:
    ctx = PipelineContext(
        ref="topic",
        event="merge_request_event",
        merge_request=MergeRequest(
            source_branch="topic", target_branch="main", iid=7, title="Add", labels=("a", "b")
        ),
    )
    v = pipeline_variables(ctx)
    assert "CI_COMMIT_BRANCH" not in v
    assert v["CI_COMMIT_REF_NAME"] == "topic"
    assert v["CI_MERGE_REQUEST_IID"] == "7"
    assert v["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"] == "main"
    assert v["CI_MERGE_REQUEST_LABELS"] == "a,b"
    assert v["CI_MERGE_REQUEST_EVENT_TYPE"] == "detached"
    assert v["CI_MERGE_REQUEST_SOURCE_PROJECT_URL"] == "https://gitlab.example.com/local/project"
    assert v["CI_MERGE_REQUEST_PROJECT_ID"] == v["CI_PROJECT_ID"] == "1"
    # merge-request details given for another event are ignored
    other = pipeline_variables(PipelineContext(ref="topic", merge_request=ctx.merge_request))
    assert "CI_MERGE_REQUEST_IID" not in other
    assert other["CI_COMMIT_BRANCH"] == "topic"


@pytest.mark.parametrize(
    ("event", "triggered"),
    [("push", "false"), ("trigger", "true"), ("pipeline", "true"), ("schedule", "false")],
)
def test_pipeline_source_and_triggered(event: str, triggered: str) -> None:
    v = pipeline_variables(context(event=event))
    assert (v["CI_PIPELINE_SOURCE"], v["CI_PIPELINE_TRIGGERED"]) == (event, triggered)


def test_job_variables() -> None:
    config = load("build: {stage: build, script: [x], parallel: 2}\nplain: {script: [x]}\n")
    first = job_variables(config.jobs[0], "on_success")
    assert first == {
        "CI_JOB_NAME": "build 1/2",
        "CI_JOB_NAME_SLUG": "build-1-2",
        "CI_JOB_GROUP_NAME": "build",
        "CI_JOB_STAGE": "build",
        "CI_NODE_INDEX": "1",
        "CI_NODE_TOTAL": "2",
    }
    plain = job_variables(config.jobs[2], "manual")
    assert "CI_NODE_INDEX" not in plain
    assert plain["CI_NODE_TOTAL"] == "1"
    assert "CI_JOB_MANUAL" not in plain  # set by the engine when someone starts the job
