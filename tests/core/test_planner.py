"""The planner: needs, artifact sources, the variable precedence ladder, tags and image."""

from __future__ import annotations

from dialect_fixtures import errors, load, names, only, plan_of

# ---------------------------------------------------------------- needs


def test_need_on_a_job_excluded_by_rules_is_an_error_with_gitlab_wording() -> None:
    pipeline = plan_of(
        """
        build:
          script: [x]
          rules: [{if: $CI_COMMIT_TAG}]
        test:
          script: [x]
          needs: [build]
        """
    )
    problem = only(pipeline.diagnostics, "need-not-in-pipeline")
    assert problem.message == (
        "'test' job needs 'build' job, but 'build' was not added to the pipeline"
    )
    assert problem.location is not None
    assert problem.location.line == 7  # the needs entry (line 1 of the text is empty)
    assert not pipeline.ok


def test_optional_need_waits_when_present_and_is_ignored_when_absent() -> None:
    tree = """
    stages: [build, test]
    build:
      stage: build
      script: [x]
      rules: [{if: $CI_COMMIT_TAG}]
    lint: {stage: build, script: [x]}
    test:
      stage: test
      script: [x]
      needs: [{job: build, optional: true}, lint]
    alone:
      stage: test
      script: [x]
      needs: [{job: build, optional: true}]
    """
    branch = plan_of(tree)
    assert branch.ok
    assert [n.job for n in branch.job("test").needs] == ["lint"]
    # every need optional and absent: the job starts at once, like needs: []
    assert branch.job("alone").needs == ()
    assert branch.job("alone").artifact_sources == ()
    tag = plan_of(tree, ref="v1", tag=True)
    assert [n.job for n in tag.job("test").needs] == ["build", "lint"]


def test_needing_a_parallel_job_means_every_instance_or_one_named() -> None:
    pipeline = plan_of(
        """
        stages: [build, test]
        build: {stage: build, script: [x], parallel: 2}
        matrix:
          stage: build
          script: [x]
          parallel: {matrix: [{OS: [linux, mac]}]}
        all: {stage: test, script: [x], needs: [build, matrix]}
        one: {stage: test, script: [x], needs: ["matrix: [mac]"]}
        subset:
          stage: test
          script: [x]
          needs: [{job: matrix, parallel: {matrix: [{OS: linux}]}, artifacts: false}]
        """
    )
    assert [n.job for n in pipeline.job("all").needs] == [
        "build 1/2",
        "build 2/2",
        "matrix: [linux]",
        "matrix: [mac]",
    ]
    assert [n.job for n in pipeline.job("one").needs] == ["matrix: [mac]"]
    subset = pipeline.job("subset")
    assert [(n.job, n.artifacts) for n in subset.needs] == [("matrix: [linux]", False)]
    assert subset.artifact_sources == ()


def test_external_needs_are_noted_not_waited_for() -> None:
    pipeline = plan_of("a:\n  script: [x]\n  needs: [{project: g/p, job: build, ref: main}]\n")
    assert pipeline.job("a").needs == ()
    assert [d.code for d in pipeline.diagnostics] == ["external-need"]


# ---------------------------------------------------------------- artifact sources


ARTIFACTS = """
stages: [build, test, deploy]
compile: {stage: build, script: [x]}
docs: {stage: build, script: [x]}
unit: {stage: test, script: [x]}
everything: {stage: deploy, script: [x]}
restricted: {stage: deploy, script: [x], dependencies: [docs]}
none: {stage: deploy, script: [x], dependencies: []}
dag: {stage: deploy, script: [x], needs: [compile, {job: docs, artifacts: false}]}
dag-restricted: {stage: deploy, script: [x], needs: [compile, unit], dependencies: [unit]}
"""


def test_without_needs_every_earlier_stage_job_is_a_source() -> None:
    pipeline = plan_of(ARTIFACTS)
    assert pipeline.job("everything").artifact_sources == ("compile", "docs", "unit")
    assert pipeline.job("unit").artifact_sources == ("compile", "docs")
    assert pipeline.job("compile").artifact_sources == ()


def test_dependencies_restrict_and_needs_take_only_direct_needs_with_artifacts() -> None:
    pipeline = plan_of(ARTIFACTS)
    assert pipeline.job("restricted").artifact_sources == ("docs",)
    assert pipeline.job("none").artifact_sources == ()
    assert pipeline.job("dag").artifact_sources == ("compile",)
    assert pipeline.job("dag-restricted").artifact_sources == ("unit",)


def test_dependency_on_a_job_absent_from_the_pipeline_warns() -> None:
    pipeline = plan_of(
        """
        stages: [build, test]
        compile: {stage: build, script: [x], rules: [{if: $CI_COMMIT_TAG}]}
        test: {stage: test, script: [x], dependencies: [compile]}
        """
    )
    assert [d.code for d in pipeline.diagnostics] == ["dependency-not-in-pipeline"]
    assert pipeline.job("test").artifact_sources == ()


# ---------------------------------------------------------------- variables

LADDER = """
variables:
  WHO: global
  GLOBAL_ONLY: g
  CI_COMMIT_REF_NAME: overridden-by-yaml
workflow:
  rules:
    - variables: {WHO: workflow, WORKFLOW_ONLY: w}
job:
  script: [x]
  variables: {WHO: job, JOB_ONLY: j}
  rules:
    - variables: {WHO: rule, RULE_ONLY: r}
"""


def test_precedence_ladder() -> None:
    env = plan_of(LADDER).jobs[0].variables
    assert env["WHO"] == "rule"
    assert (env["GLOBAL_ONLY"], env["WORKFLOW_ONLY"], env["JOB_ONLY"], env["RULE_ONLY"]) == (
        "g",
        "w",
        "j",
        "r",
    )
    assert env["CI_COMMIT_REF_NAME"] == "overridden-by-yaml"  # YAML beats predefined
    assert plan_of(LADDER, variables={"WHO": "pipeline"}).jobs[0].variables["WHO"] == "pipeline"
    without_rule = plan_of(
        LADDER.replace("  rules:\n    - variables: {WHO: rule, RULE_ONLY: r}\n", "")
    )
    assert without_rule.jobs[0].variables["WHO"] == "job"
    no_job = plan_of(LADDER.replace("WHO: job, ", "").replace("WHO: rule, ", ""))
    assert no_job.jobs[0].variables["WHO"] == "workflow"


def test_inherit_variables_hides_globals_and_workflow_variables() -> None:
    pipeline = plan_of(
        """
        variables: {A: a, B: b}
        workflow: {rules: [{variables: {W: w}}]}
        none: {script: [x], inherit: {variables: false}}
        some: {script: [x], inherit: {variables: [B]}}
        """
    )
    none = pipeline.job("none").variables
    assert "A" not in none
    assert "W" not in none
    some = pipeline.job("some").variables
    assert (some.get("A"), some.get("B")) == (None, "b")


def test_recursive_expansion_escapes_raw_values_and_unknown_references() -> None:
    env = (
        plan_of(
            """
        variables:
          BASE: /opt/$CI_PROJECT_NAME
          BIN: ${BASE}/bin
          PATHS: $BIN:$RUNNER_ONLY
          PRICE: $$5
          RAW: {value: "$BASE/raw", expand: false}
          USES_RAW: $RAW
        job: {script: [x]}
        """
        )
        .jobs[0]
        .variables
    )
    assert env["BIN"] == "/opt/project/bin"
    assert env["PATHS"] == "/opt/project/bin:$RUNNER_ONLY"  # unknown: left for the runner
    assert env["PRICE"] == "$5"
    assert env["RAW"] == "$BASE/raw"
    assert env["USES_RAW"] == "$BASE/raw"  # a raw value is not expanded where it is used


def test_variable_cycle_is_an_error_reported_once() -> None:
    pipeline = plan_of(
        """
        variables: {A: $B, B: $A}
        one: {script: [x]}
        two: {script: [x]}
        """
    )
    assert errors(pipeline.diagnostics) == ["variable-cycle"]
    problem = pipeline.diagnostics[0]
    assert problem.message == "circular variable reference: A -> B -> A"
    assert problem.location is not None
    assert problem.location.line == 2  # where A is defined


def test_tags_expand_after_rules_variables_and_empty_tags_drop() -> None:
    pipeline = plan_of(
        """
        variables: {SIZE: small, EXTRA: ""}
        job:
          script: [x]
          tags: [$SIZE, $EXTRA, "runner-$ARCH", fixed]
          variables: {ARCH: amd64}
          rules:
            - variables: {SIZE: large}
        """
    )
    assert pipeline.jobs[0].tags == ("large", "runner-amd64", "fixed")


def test_image_and_resource_group_expand_in_one_pass() -> None:
    pipeline = plan_of(
        """
        variables:
          REGISTRY: registry.example.com
          IMAGE: $REGISTRY/tools:$TAG
          TAG: "1.2"
          LITERAL: $$NOT_EXPANDED
          NOT_EXPANDED: oops
        job:
          script: [x]
          image: $IMAGE
          resource_group: deploy-$CI_COMMIT_REF_SLUG
        literal:
          script: [x]
          image: $LITERAL
        """
    )
    assert pipeline.job("job").image == "registry.example.com/tools:1.2"
    assert pipeline.job("job").resource_group == "deploy-main"
    # $$ in a variable is a literal $: the image expansion does not run again
    assert pipeline.job("literal").image == "$NOT_EXPANDED"


# ---------------------------------------------------------------- predefined variables


def test_branch_tag_and_merge_request_variables_exist_only_in_their_pipelines() -> None:
    tree = "job: {script: [x]}\n"
    branch = plan_of(tree, ref="Feature/Add_Thing").jobs[0].variables
    assert branch["CI_COMMIT_BRANCH"] == "Feature/Add_Thing"
    assert branch["CI_COMMIT_REF_SLUG"] == "feature-add-thing"
    assert "CI_COMMIT_TAG" not in branch
    assert "CI_MERGE_REQUEST_IID" not in branch
    tag = plan_of(tree, ref="v1.0", tag=True).jobs[0].variables
    assert (tag["CI_COMMIT_TAG"], tag["CI_COMMIT_REF_NAME"]) == ("v1.0", "v1.0")
    assert "CI_COMMIT_BRANCH" not in tag
    mr_tree = "job: {script: [x], rules: [{if: $CI_MERGE_REQUEST_IID}]}\n"
    mr = plan_of(mr_tree, event="merge_request_event", ref="topic", target="develop").jobs[0]
    assert "CI_COMMIT_BRANCH" not in mr.variables
    assert mr.variables["CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"] == "topic"
    assert mr.variables["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"] == "develop"
    assert mr.variables["CI_PIPELINE_SOURCE"] == "merge_request_event"


def test_node_index_and_total_on_all_three_job_kinds() -> None:
    pipeline = plan_of(
        """
        plain: {script: [x]}
        numbered: {script: [x], parallel: 2}
        matrix: {script: [x], parallel: {matrix: [{A: [a, b, c]}]}}
        """
    )
    values = {
        j.name: (j.variables.get("CI_NODE_INDEX"), j.variables["CI_NODE_TOTAL"])
        for j in pipeline.jobs
    }
    assert values == {
        "plain": (None, "1"),
        "numbered 1/2": ("1", "2"),
        "numbered 2/2": ("2", "2"),
        "matrix: [a]": ("1", "3"),
        "matrix: [b]": ("2", "3"),
        "matrix: [c]": ("3", "3"),
    }
    assert pipeline.job("matrix: [b]").variables["CI_JOB_NAME"] == "matrix: [b]"
    assert pipeline.job("matrix: [b]").variables["A"] == "b"


# ---------------------------------------------------------------- pipeline shape


def test_jobs_are_in_stage_then_definition_order_and_used_stages_only() -> None:
    pipeline = plan_of(
        """
        stages: [build, test, deploy]
        t2: {stage: test, script: [x]}
        b1: {stage: build, script: [x]}
        t1: {stage: test, script: [x]}
        """
    )
    assert names(pipeline) == ["b1", "t2", "t1"]
    assert pipeline.used_stages == ("build", "test")


def test_plan_all_skips_workflow_and_rules() -> None:
    tree = """
    workflow: {rules: [{if: $NEVER}]}
    a: {script: [x], rules: [{when: never}]}
    b: {script: [x], when: manual}
    """
    assert not plan_of(tree).created
    everything = plan_of(tree, all_jobs=True)
    assert names(everything) == ["a", "b"]
    assert [j.when for j in everything.jobs] == ["on_success", "manual"]


def test_plan_never_raises_on_a_config_with_errors() -> None:
    config = load("job:\n  script: [x]\n  needs: [ghost]\n")
    assert not config.ok
    pipeline = plan_of(config)
    assert "need-not-in-pipeline" in errors(pipeline.diagnostics)
