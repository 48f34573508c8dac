"""Phase 3: ``extends`` — reverse deep merge, later parents win, the job wins last."""

from __future__ import annotations

import pytest

from dialect_fixtures import errors, job, load, only
from gatehouse.core.config.extends import MAX_EXTENDS_DEPTH


def _vars(spec: object) -> dict[str, str]:
    return {v.name: v.value for v in spec.variables}  # type: ignore[attr-defined]


def test_multi_parent_order_later_parent_wins_and_the_job_wins_last() -> None:
    config = load(
        """
        .a:
          script: [from-a]
          stage: build
          variables: {A: a, SHARED: a}
        .b:
          script: [from-b]
          variables: {B: b, SHARED: b}
        job:
          extends: [.a, .b]
          variables: {JOB: j}
        """
    )
    built = job(config, "job")
    assert built.script == ("from-b",)
    assert built.stage == "build"
    assert _vars(built) == {"A": "a", "SHARED": "b", "B": "b", "JOB": "j"}


def test_lists_are_replaced_never_appended() -> None:
    config = load(
        """
        .base:
          script: [one, two]
          tags: [docker]
          rules: [{if: $A}]
        job:
          extends: .base
          script: [three]
          rules: [{when: manual}]
        """
    )
    built = job(config, "job")
    assert built.script == ("three",)
    assert built.tags == ("docker",)
    assert built.rules is not None
    assert len(built.rules) == 1
    assert built.rules[0].when == "manual"


def test_mappings_merge_key_by_key_at_any_depth() -> None:
    config = load(
        """
        .base:
          script: [x]
          artifacts:
            paths: [out/]
            reports: {junit: base.xml, dotenv: build.env}
        job:
          extends: .base
          artifacts:
            reports: {junit: job.xml}
        """
    )
    artifacts = job(config, "job").artifacts
    assert artifacts.paths == ("out/",)
    assert dict(artifacts.reports) == {"junit": ("job.xml",), "dotenv": ("build.env",)}


def test_null_deletes_and_empty_mapping_keeps() -> None:
    config = load(
        """
        .base:
          script: [x]
          variables: {A: "1"}
          parallel: 3
          tags: [big]
        deleted:
          extends: .base
          variables: null
          parallel: null
          tags: ~
        kept:
          extends: .base
          variables: {}
        """
    )
    deleted = job(config, "deleted")
    assert (deleted.variables, deleted.tags, deleted.parallel) == ((), (), None)
    assert [j.name for j in config.jobs] == ["deleted", "kept 1/3", "kept 2/3", "kept 3/3"]
    assert _vars(job(config, "kept 1/3")) == {"A": "1"}


def test_parents_are_resolved_first_and_may_be_visible_jobs_in_any_file() -> None:
    config = load(
        {
            ".gitlab-ci.yml": """
            include: ci/templates.yml
            .middle:
              extends: .root
              stage: build
            build:
              script: [make]
              tags: [fast]
            job:
              extends: [.middle, build]
            """,
            "ci/templates.yml": ".root: {image: alpine, stage: deploy}\n",
        }
    )
    built = job(config, "job")
    assert (built.stage, built.image.name, built.script, built.tags) == (
        "build",
        "alpine",
        ("make",),
        ("fast",),
    )


def _chain(levels: int, *, job_first: bool) -> str:
    templates = [f".t{i}:\n  extends: .t{i + 1}\n" for i in range(1, levels)]
    templates.append(f".t{levels}:\n  script: [deepest]\n")
    the_job = "job:\n  extends: .t1\n"
    parts = [the_job, *templates] if job_first else [*templates, the_job]
    return "".join(parts)


@pytest.mark.parametrize("job_first", [True, False])
def test_eleven_levels_are_allowed_twelve_are_not(job_first: bool) -> None:
    # job -> .t1 -> … -> .t11 is eleven levels of inheritance
    ok = load(_chain(MAX_EXTENDS_DEPTH, job_first=job_first))
    assert ok.ok, ok.diagnostics
    assert job(ok, "job").script == ("deepest",)
    too_deep = load(_chain(MAX_EXTENDS_DEPTH + 1, job_first=job_first))
    problem = only(too_deep.diagnostics, "extends-too-deep")
    assert problem.message.startswith("job: `extends` nested 12 levels deep")
    assert "job -> .t1 -> .t2" in problem.message
    assert problem.location is not None
    assert problem.location.line is not None


def test_cycle_is_an_error_located_at_extends() -> None:
    config = load(
        """
        .a:
          extends: .b
        .b:
          extends: .a
        job:
          extends: .a
          script: [x]
        """
    )
    assert errors(config.diagnostics) == ["extends-cycle"]
    problem = config.diagnostics[0]
    assert "circular" in problem.message
    assert problem.location is not None
    assert problem.location.line in (3, 5)


def test_self_extension_is_a_cycle() -> None:
    assert errors(load("job:\n  extends: job\n  script: [x]\n").diagnostics) == ["extends-cycle"]


def test_missing_target_suggests_a_close_name() -> None:
    config = load(
        """
        .build-template: {script: [make]}
        job:
          extends: .biuld-template
        """
    )
    problem = only(config.diagnostics, "missing-extends")
    assert problem.hint == "did you mean '.build-template'?"
    assert problem.location is not None
    assert problem.location.line == 4
    assert "missing-script" in errors(config.diagnostics)


def test_bad_extends_values() -> None:
    config = load(
        """
        .scalar: just a string
        a: {extends: 42, script: [x]}
        b: {extends: .scalar, script: [x]}
        """
    )
    assert errors(config.diagnostics) == ["invalid-extends", "invalid-extends"]
