"""Which jobs a pipeline has: ``rules``, ``workflow:rules`` and legacy ``only``/``except``."""

from __future__ import annotations

import pytest

from dialect_fixtures import load, names, plan_of, warnings
from gatehouse.core.model import AllowFailure

# ---------------------------------------------------------------- rules


def test_first_matching_rule_decides() -> None:
    tree = """
    job:
      script: [x]
      rules:
        - if: $CI_COMMIT_BRANCH == "main"
          when: manual
        - if: $CI_COMMIT_BRANCH
          when: always
    """
    assert plan_of(tree).jobs[0].when == "manual"
    assert plan_of(tree, ref="feature").jobs[0].when == "always"
    assert names(plan_of(tree, ref="v1", tag=True)) == []  # no rule matches: not added


def test_when_never_excludes_and_rule_when_falls_back_to_job_when() -> None:
    tree = """
    excluded:
      script: [x]
      rules:
        - if: $CI_PIPELINE_SOURCE == "push"
          when: never
        - when: always
    job-when:
      script: [x]
      when: always
      rules:
        - if: $CI_COMMIT_BRANCH
    default-when:
      script: [x]
      rules:
        - if: $CI_COMMIT_BRANCH
    """
    pipeline = plan_of(tree)
    assert names(pipeline) == ["job-when", "default-when"]
    assert [j.when for j in pipeline.jobs] == ["always", "on_success"]
    assert names(plan_of(tree, event="web")) == ["excluded", "job-when", "default-when"]


def test_empty_rules_list_means_never() -> None:
    assert plan_of("a: {script: [x], rules: []}\nb: {script: [x]}\n").jobs[0].name == "b"


def test_manual_in_rules_blocks_manual_at_job_level_does_not() -> None:
    pipeline = plan_of(
        """
        rule-manual:
          script: [x]
          rules: [{when: manual}]
        job-manual:
          script: [x]
          when: manual
        job-manual-with-rules:
          script: [x]
          when: manual
          rules: [{if: $CI_COMMIT_BRANCH}]
        rule-manual-allowed:
          script: [x]
          rules: [{when: manual, allow_failure: true}]
        explicit:
          script: [x]
          when: manual
          allow_failure: false
        """
    )
    blocking = {j.name: j.blocking_manual for j in pipeline.jobs}
    assert blocking == {
        "rule-manual": True,
        "job-manual": False,
        "job-manual-with-rules": False,
        "rule-manual-allowed": False,
        "explicit": True,
    }
    assert pipeline.job("rule-manual").allow_failure == AllowFailure(False)


def test_rule_allow_failure_interruptible_and_start_in() -> None:
    pipeline = plan_of(
        """
        job:
          script: [x]
          allow_failure: false
          interruptible: false
          rules:
            - allow_failure: {exit_codes: [3]}
              interruptible: true
              when: delayed
              start_in: 10 minutes
        """
    )
    planned = pipeline.jobs[0]
    assert planned.allow_failure == AllowFailure(True, (3,))
    assert planned.interruptible is True
    assert (planned.when, planned.start_in) == ("delayed", "10 minutes")


def test_rules_variables_override_job_variables_and_are_visible_only_when_matched() -> None:
    tree = """
    variables: {DEPLOY: "no", LEVEL: global}
    job:
      script: [x]
      variables: {LEVEL: job}
      rules:
        - if: $CI_COMMIT_BRANCH == "main"
          variables: {LEVEL: rule, DEPLOY: "yes"}
        - when: on_success
    """
    main = plan_of(tree).jobs[0].variables
    assert (main["LEVEL"], main["DEPLOY"]) == ("rule", "yes")
    other = plan_of(tree, ref="topic").jobs[0].variables
    assert (other["LEVEL"], other["DEPLOY"]) == ("job", "no")


def test_rules_needs_replace_job_needs() -> None:
    pipeline = plan_of(
        """
        stages: [build, test]
        a: {stage: build, script: [x]}
        b: {stage: build, script: [x]}
        job:
          stage: test
          script: [x]
          needs: [a]
          rules:
            - if: $CI_COMMIT_BRANCH == "main"
              needs: [b]
            - when: on_success
        """
    )
    assert [n.job for n in pipeline.job("job").needs] == ["b"]


def test_rules_see_job_global_pipeline_and_predefined_variables_unexpanded() -> None:
    tree = """
    variables: {GLOBAL: g, REF: $CI_COMMIT_REF_NAME}
    job:
      script: [x]
      variables: {OWN: o}
      rules:
        - if: $GLOBAL == "g" && $OWN == "o" && $CLI == "c" && $CI_JOB_NAME == "job"
          when: manual
        - if: $REF == "$CI_COMMIT_REF_NAME"
        - when: never
    """
    assert plan_of(tree, variables={"CLI": "c"}).jobs[0].when == "manual"
    # rules:if compares values as written: no nested expansion (gitlab#327780)
    assert plan_of(tree).jobs[0].when == "on_success"


# ---------------------------------------------------------------- changes and exists

CHANGES = """
job:
  script: [x]
  rules:
    - changes: [src/**/*.c, "docs/{a,b}.md"]
"""


def test_changes_match_the_diff_on_branch_pushes_and_merge_requests() -> None:
    assert names(plan_of(CHANGES, changed=["src/lib/x.c"])) == ["job"]
    assert names(plan_of(CHANGES, changed=["docs/b.md"])) == ["job"]
    assert names(plan_of(CHANGES, changed=["README.md"])) == []
    mr = plan_of(
        CHANGES.replace("- changes:", "- if: $CI_MERGE_REQUEST_IID\n      changes:"),
        event="merge_request_event",
        ref="topic",
        changed=["README.md"],
    )
    assert names(mr) == []


@pytest.mark.parametrize(
    "context",
    [
        {"changed": None},  # unknown diff (a new branch)
        {"ref": "v1.0", "tag": True, "changed": ["README.md"]},
        {"event": "schedule", "changed": ["README.md"]},
        {"event": "web", "changed": ["README.md"]},
        {"event": "api", "changed": ["README.md"]},
    ],
)
def test_changes_hold_without_a_push_diff(context: dict[str, object]) -> None:
    assert names(plan_of(CHANGES, **context)) == ["job"]


def test_changes_compare_to_uses_that_diff_in_any_pipeline() -> None:
    tree = """
    job:
      script: [x]
      rules:
        - changes:
            paths: [src/*]
            compare_to: refs/heads/main
    """
    against = {"refs/heads/main": ("src/a.c",)}
    assert names(plan_of(tree, event="schedule", changes_against=against)) == ["job"]
    assert names(plan_of(tree, changes_against={"refs/heads/main": ("doc.md",)})) == []
    # an unknown comparison holds, like an unknown diff
    assert names(plan_of(tree)) == ["job"]


def test_exists_with_globs_and_directories() -> None:
    tree = """
    docker:
      script: [x]
      rules: [{exists: [Dockerfile]}]
    go:
      script: [x]
      rules: [{exists: ["**/*.go"]}]
    docs:
      script: [x]
      rules: [{exists: [docs/]}]
    dotfile:
      script: [x]
      rules: [{exists: ["*.toml"]}]
    """
    pipeline = plan_of(tree, files=["cmd/main/main.go", "docs/index.md", ".config.toml"])
    assert names(pipeline) == ["go", "docs", "dotfile"]  # DOTMATCH: * matches .config.toml


def test_if_changes_and_exists_are_anded_within_a_rule() -> None:
    tree = """
    job:
      script: [x]
      rules:
        - if: $CI_COMMIT_BRANCH == "main"
          changes: [src/*]
          exists: [Makefile]
    """
    assert names(plan_of(tree, changed=["src/a"], files=["Makefile"])) == ["job"]
    assert names(plan_of(tree, changed=["src/a"], files=[])) == []
    assert names(plan_of(tree, ref="topic", changed=["src/a"], files=["Makefile"])) == []


# ---------------------------------------------------------------- workflow


def test_workflow_no_match_means_no_pipeline() -> None:
    pipeline = plan_of(
        """
        workflow:
          rules:
            - if: $CI_PIPELINE_SOURCE == "merge_request_event"
        job: {script: [x]}
        """
    )
    assert not pipeline.created
    assert pipeline.reason == "workflow:rules: no rule matched"
    assert pipeline.jobs == ()


def test_workflow_when_never_and_variables_override_globals() -> None:
    tree = """
    variables: {DEPLOY_ENV: staging, OTHER: kept}
    workflow:
      name: "Pipeline for $CI_COMMIT_REF_NAME"
      rules:
        - if: $CI_COMMIT_TAG
          when: never
        - if: $CI_COMMIT_BRANCH == "main"
          variables: {DEPLOY_ENV: production}
        - when: always
    job:
      script: [x]
      rules:
        - if: $DEPLOY_ENV == "production"
    """
    main = plan_of(tree)
    assert main.name == "Pipeline for $CI_COMMIT_REF_NAME"
    assert main.jobs[0].variables["DEPLOY_ENV"] == "production"
    assert main.jobs[0].variables["OTHER"] == "kept"
    assert main.variables["DEPLOY_ENV"] == "production"
    assert not plan_of(tree, ref="topic").created  # job rule no longer matches: empty
    tag = plan_of(tree, ref="v1", tag=True)
    assert not tag.created
    assert "when: never" in (tag.reason or "")


def test_only_pre_and_post_jobs_make_no_pipeline() -> None:
    pipeline = plan_of(
        """
        first: {stage: .pre, script: [x]}
        last: {stage: .post, script: [x]}
        main-only:
          script: [x]
          rules: [{if: $CI_COMMIT_BRANCH == "main"}]
        """,
        ref="topic",
    )
    assert not pipeline.created
    assert "only .pre/.post" in (pipeline.reason or "")


# ---------------------------------------------------------------- only / except


def test_no_rules_means_only_branches_and_tags() -> None:
    tree = "job: {script: [x]}\n"
    assert names(plan_of(tree)) == ["job"]
    assert names(plan_of(tree, ref="v1", tag=True)) == ["job"]
    assert names(plan_of(tree, event="schedule")) == ["job"]  # a schedule runs on a branch
    assert names(plan_of(tree, event="merge_request_event", ref="topic")) == []


def test_workflow_rules_drop_the_implicit_only() -> None:
    tree = """
    workflow:
      rules:
        - if: $CI_PIPELINE_SOURCE == "merge_request_event"
        - if: $CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS
          when: never
        - if: $CI_COMMIT_BRANCH
    job: {script: [x]}
    """
    assert names(plan_of(tree, event="merge_request_event", ref="topic")) == ["job"]


@pytest.mark.parametrize(
    ("refs", "context", "included"),
    [
        ("[main]", {}, True),
        ("[main]", {"ref": "topic"}, False),
        ("[/^release-.*$/]", {"ref": "release-1"}, True),
        ("[/^RELEASE/i]", {"ref": "release-1"}, True),
        ("[/^release/]", {"ref": "prerelease"}, False),
        ("[tags]", {"ref": "v1", "tag": True}, True),
        ("[tags]", {}, False),
        ("[branches]", {"event": "web"}, True),
        ("[merge_requests]", {"event": "merge_request_event", "ref": "topic"}, True),
        ("[merge_requests]", {}, False),
        ("[topic]", {"event": "merge_request_event", "ref": "topic"}, False),
        ("[schedules]", {"event": "schedule"}, True),
        ("[pushes]", {}, True),
        ("[pushes]", {"event": "web"}, False),
        ("[web]", {"event": "web"}, True),
        ("[api]", {"event": "api"}, True),
        ("[triggers]", {"event": "trigger"}, True),
        ("[pipelines]", {"event": "pipeline"}, True),
        ("[main@local/project]", {}, True),
        ("[main@other/project]", {}, False),
    ],
)
def test_only_refs(refs: str, context: dict[str, object], included: bool) -> None:
    tree = f"job: {{script: [x], only: {{refs: {refs}}}}}\n"
    assert names(plan_of(tree, **context)) == (["job"] if included else [])


def test_bare_list_means_refs_and_except_refs() -> None:
    tree = "job: {script: [x], except: [main, tags]}\n"
    assert names(plan_of(tree)) == []
    assert names(plan_of(tree, ref="topic")) == ["job"]
    assert names(plan_of(tree, ref="v1", tag=True)) == []
    assert names(plan_of("job: {script: [x], only: [main]}\n")) == ["job"]


def test_only_keys_are_anded_except_keys_are_ored() -> None:
    tree = """
    only-job:
      script: [x]
      only:
        refs: [main]
        variables: [$DEPLOY == "yes", $FORCE]
    except-job:
      script: [x]
      except:
        refs: [main]
        variables: [$SKIP]
    """
    assert names(plan_of(tree, variables={"DEPLOY": "yes"})) == ["only-job"]
    assert names(plan_of(tree, variables={"FORCE": "1"})) == ["only-job"]
    assert names(plan_of(tree, ref="topic", variables={"FORCE": "1"})) == ["except-job"]
    # except: any key holding is enough to exclude (refs alone, or variables alone)
    assert names(plan_of(tree, ref="topic", variables={"SKIP": "1"})) == []


def test_only_changes_and_except_changes_without_a_diff() -> None:
    tree = """
    only-changes: {script: [x], only: {changes: [src/*]}}
    except-changes: {script: [x], except: {changes: [docs/*]}}
    """
    assert names(plan_of(tree, changed=["src/a"])) == ["only-changes", "except-changes"]
    assert names(plan_of(tree, changed=["docs/a"])) == []
    # no push diff: changes hold, so except:changes excludes (a GitLab trap)
    assert names(plan_of(tree, ref="v1", tag=True, changed=["README"])) == ["only-changes"]


def test_only_kubernetes_never_holds_here_with_a_warning() -> None:
    tree = """
    deploy: {script: [x], only: {kubernetes: active}}
    other: {script: [x], except: {kubernetes: active}}
    """
    assert warnings(load(tree).diagnostics) == ["ignored-keyword", "ignored-keyword"]
    assert names(plan_of(tree)) == ["other"]


def test_catch_all_last_rule_without_workflow_rules_warns() -> None:
    config = load("job:\n  script: [x]\n  rules:\n    - if: $A\n    - when: always\n")
    assert warnings(config.diagnostics) == ["multiple-pipelines"]
    quiet = load(
        "workflow: {rules: [{when: always}]}\n"
        "job:\n  script: [x]\n  rules:\n    - if: $A\n    - when: always\n"
    )
    assert warnings(quiet.diagnostics) == []
