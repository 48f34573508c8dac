"""Phases 5 and 6: stages, defaults, flattening and every job keyword into the model."""

from __future__ import annotations

import pytest

from dialect_fixtures import errors, job, load, names, only, warnings
from gatehouse.core.model import AllowFailure, Retry

# ---------------------------------------------------------------- stages


def test_default_stages_and_the_test_stage_for_stageless_jobs() -> None:
    config = load("build: {script: [x]}\n")
    assert config.stages == (".pre", "build", "test", "deploy", ".post")
    assert job(config, "build").stage == "test"


def test_declared_stages_get_pre_and_post_and_lose_duplicates() -> None:
    config = load(
        """
        stages: [.post, compile, [lint, [check]], compile, .pre]
        a: {stage: check, script: [x]}
        b: {stage: .pre, script: [x]}
        """
    )
    # nested lists are flattened (GitLab 16.9+); .pre/.post are placed by GitLab
    assert config.stages == (".pre", "compile", "lint", "check", ".post")
    assert warnings(config.diagnostics) == ["duplicate-stage"]


def test_unknown_stage_is_an_error_with_a_hint() -> None:
    config = load("stages: [build, test]\njob: {stage: tset, script: [x]}\n")
    problem = only(config.diagnostics, "unknown-stage")
    assert problem.hint is not None
    assert problem.hint.startswith("did you mean 'test'?")
    assert problem.location is not None
    assert problem.location.line == 2


def test_types_is_the_deprecated_spelling_of_stages() -> None:
    config = load("types: [one]\njob: {type: one, script: [x]}\n")
    assert config.stages == (".pre", "one", ".post")
    assert job(config, "job").stage == "one"
    assert warnings(config.diagnostics) == ["deprecated-keyword"]


# ---------------------------------------------------------------- defaults


def test_default_is_copied_not_merged() -> None:
    config = load(
        """
        default:
          image: ruby:3
          artifacts: {paths: [default/], expire_in: 1 week}
          before_script: [setup]
          tags: [docker]
        job:
          script: [x]
          artifacts: {paths: [mine/]}
        plain:
          script: [x]
        """
    )
    mine = job(config, "job")
    # the job's artifacts replace the default's whole mapping: no expire_in from default
    assert mine.artifacts.paths == ("mine/",)
    assert mine.artifacts.expire_in is None
    assert mine.image.name == "ruby:3"
    assert mine.before_script == ("setup",)
    plain = job(config, "plain")
    assert plain.artifacts.paths == ("default/",)
    assert plain.artifacts.expire_in == "1 week"


def test_a_null_job_value_still_takes_the_default() -> None:
    config = load("default: {image: alpine}\njob: {script: [x], image: null}\n")
    assert job(config, "job").image.name == "alpine"


def test_inherit_default_false_and_list() -> None:
    config = load(
        """
        default:
          image: alpine
          before_script: [setup]
          retry: 2
        none:
          inherit: {default: false}
          script: [x]
        some:
          inherit: {default: [image, retry]}
          script: [x]
        """
    )
    none = job(config, "none")
    assert (none.image, none.before_script, none.retry) == (None, (), Retry())
    some = job(config, "some")
    assert (some.image.name, some.before_script, some.retry.max) == ("alpine", (), 2)


def test_inherit_variables_false_and_list_is_kept_for_the_planner() -> None:
    config = load(
        """
        variables: {A: a, B: b}
        none: {inherit: {variables: false}, script: [x]}
        some: {inherit: {variables: [B]}, script: [x]}
        """
    )
    assert job(config, "none").inherit_variables is False
    assert job(config, "some").inherit_variables == ("B",)


def test_legacy_top_level_keywords_act_as_defaults() -> None:
    config = load(
        """
        image: debian
        services: [postgres]
        before_script: [legacy-setup]
        after_script: [legacy-teardown]
        cache: {paths: [.cache/]}
        job: {script: [x]}
        """
    )
    built = job(config, "job")
    assert built.image.name == "debian"
    assert [s.name for s in built.services] == ["postgres"]
    assert built.before_script == ("legacy-setup",)
    assert built.after_script == ("legacy-teardown",)
    assert built.cache[0].paths == (".cache/",)


def test_top_level_and_default_both_set_is_an_error() -> None:
    config = load("image: a\ndefault: {image: b}\njob: {script: [x]}\n")
    problem = only(config.diagnostics, "conflicting-default")
    assert problem.message == "image is defined in top-level and `default:` entry"


def test_default_timeout_is_ignored_and_unknown_default_keys_warn() -> None:
    config = load("default: {timeout: 3h, variables: {A: b}}\njob: {script: [x]}\n")
    assert warnings(config.diagnostics) == ["ignored-keyword", "unknown-keyword"]
    assert job(config, "job").timeout is None


# ---------------------------------------------------------------- flattening


def test_scripts_rules_and_needs_are_flattened_tags_and_dependencies_are_not() -> None:
    config = load(
        """
        stages: [a, b]
        .common: {before_script: [one, [two]], script: [make]}
        first: {stage: a, script: [x]}
        second: {stage: a, script: [x]}
        job:
          stage: b
          before_script: [!reference [.common, before_script], three]
          script: [[[deep]], !reference [.common, script]]
          after_script: [[a, [b]]]
          rules: [[{if: $A}], [{when: manual}]]
          needs: [[first], [[second]]]
        """
    )
    assert config.ok, config.diagnostics
    built = job(config, "job")
    assert built.before_script == ("one", "two", "three")
    assert built.script == ("deep", "make")
    assert built.after_script == ("a", "b")
    assert built.rules is not None
    assert [r.when for r in built.rules] == [None, "manual"]
    assert [n.job for n in built.needs] == ["first", "second"]
    nested_tags = load("job: {script: [x], tags: [[a]]}\n")
    assert errors(nested_tags.diagnostics) == ["invalid-tags"]
    nested_deps = load(
        "stages: [a, b]\nx: {stage: a, script: [x]}\njob: {stage: b, script: [x], dependencies: [[x]]}\n"
    )
    assert "invalid-dependencies" in errors(nested_deps.diagnostics)


def test_null_needs_entries_are_dropped_null_commands_are_errors() -> None:
    config = load("a: {script: [x]}\nb: {script: [x], needs: [a, null, ~]}\n")
    assert config.ok
    assert [n.job for n in job(config, "b").needs] == ["a"]
    bad = load("job:\n  script:\n    - make\n    -\n    - 42\n")
    assert errors(bad.diagnostics) == ["invalid-script", "invalid-script"]
    assert [d.hint for d in bad.diagnostics] == ["remove the empty item", 'quote it: "42"']


def test_numbers_in_string_lists_are_errors_with_a_hint() -> None:
    config = load("job: {script: [x], tags: [2004, linux]}\n")
    problem = only(config.diagnostics, "invalid-value")
    assert problem.hint == 'quote it: "2004"'
    assert job(config, "job").tags == ("linux",)


# ---------------------------------------------------------------- unknown keys and jobs


def test_unknown_job_keyword_is_kept_and_warned_with_a_suggestion() -> None:
    config = load("job:\n  script: [x]\n  artefacts: {paths: [a]}\n  release: {tag_name: v1}\n")
    problem = only(config.diagnostics, "unknown-keyword")
    assert problem.hint == "did you mean 'artifacts'?"
    assert problem.location is not None
    assert problem.location.line == 3
    built = job(config, "job")
    assert set(built.extra) == {"artefacts", "release"}  # kept, not interpreted


def test_top_level_scalar_is_not_a_job() -> None:
    config = load("stage: build\njob: {script: [x]}\n")
    problem = only(config.diagnostics, "unknown-keyword")
    assert problem.hint == "did you mean 'stages'?"
    assert config.visible_job_count == 1


def test_missing_script_and_trigger_only_jobs() -> None:
    config = load("job: {stage: test}\nbridge: {trigger: group/project}\n")
    assert errors(config.diagnostics) == ["missing-script"]
    assert job(config, "bridge").trigger.project == "group/project"


def test_hidden_jobs_are_templates_only() -> None:
    config = load(".hidden: {script: [x]}\nvisible: {script: [x]}\n")
    assert names(config) == ["visible"]
    assert config.visible_job_count == 1


def test_no_jobs_at_all() -> None:
    assert errors(load("variables: {A: b}\n.t: {script: [x]}\n").diagnostics) == ["no-jobs"]


# ---------------------------------------------------------------- when, allow_failure, retry, timeout


@pytest.mark.parametrize(
    ("yaml", "expected"),
    [
        ("true", AllowFailure(True)),
        ("false", AllowFailure(False)),
        ("{exit_codes: 3}", AllowFailure(True, (3,))),
        ("{exit_codes: [3, 4]}", AllowFailure(True, (3, 4))),
    ],
)
def test_allow_failure_forms(yaml: str, expected: AllowFailure) -> None:
    config = load(f"job: {{script: [x], allow_failure: {yaml}}}\n")
    assert job(config, "job").allow_failure == expected


def test_allow_failure_exit_codes_permit_only_those_codes() -> None:
    rule = AllowFailure(True, (3,))
    assert rule.permits(3)
    assert not rule.permits(4)
    assert not rule.permits(None)


@pytest.mark.parametrize("yaml", ["maybe", "{exit_codes: [x]}", "{codes: 1}", "1"])
def test_allow_failure_errors(yaml: str) -> None:
    config = load(f"job: {{script: [x], allow_failure: {yaml}}}\n")
    assert errors(config.diagnostics) == ["invalid-allow-failure"]


@pytest.mark.parametrize(
    ("yaml", "expected"),
    [
        ("0", Retry(0)),
        ("2", Retry(2)),
        ("{max: 1, when: script_failure}", Retry(1, ("script_failure",))),
        (
            "{max: 2, when: [runner_system_failure, api_failure], exit_codes: [137, 255]}",
            Retry(2, ("runner_system_failure", "api_failure"), (137, 255)),
        ),
        ("{max: 1, exit_codes: 1}", Retry(1, ("always",), (1,))),
    ],
)
def test_retry_forms(yaml: str, expected: Retry) -> None:
    config = load(f"job: {{script: [x], retry: {yaml}}}\n")
    assert config.ok
    assert job(config, "job").retry == expected


@pytest.mark.parametrize(
    ("yaml", "code"),
    [
        ("3", "invalid-retry"),
        ("-1", "invalid-retry"),
        ("{max: 5}", "invalid-retry"),
        ("{max: 1, exit_codes: [x]}", "invalid-retry"),
        ("always", "invalid-retry"),
    ],
)
def test_retry_errors(yaml: str, code: str) -> None:
    config = load(f"job: {{script: [x], retry: {yaml}}}\n")
    assert errors(config.diagnostics) == [code]


def test_retry_unknown_when_warns() -> None:
    config = load("job: {script: [x], retry: {max: 1, when: [cosmic_rays]}}\n")
    assert warnings(config.diagnostics) == ["unknown-retry-when"]


@pytest.mark.parametrize(
    ("yaml", "seconds"),
    [
        ("3h 30m", 12600.0),
        ("90 minutes", 5400.0),
        ("1 hour", 3600.0),
        ("600", 600.0),
        ("2d", 172800.0),
    ],
)
def test_timeout_durations(yaml: str, seconds: float) -> None:
    assert job(load(f"job: {{script: [x], timeout: '{yaml}'}}\n"), "job").timeout == seconds


@pytest.mark.parametrize("yaml", ["soon", "0", "3 fortnights", "true"])
def test_timeout_errors(yaml: str) -> None:
    config = load(f"job: {{script: [x], timeout: {yaml}}}\n")
    problem = only(config.diagnostics, "invalid-timeout")
    assert problem.location is not None
    assert problem.location.line == 1


def test_when_values_and_delayed() -> None:
    config = load(
        """
        a: {script: [x], when: manual}
        b: {script: [x], when: delayed, start_in: 30 minutes}
        c: {script: [x], when: always}
        """
    )
    assert [job(config, n).when for n in "abc"] == ["manual", "delayed", "always"]
    assert job(config, "b").start_in == "30 minutes"
    bad = load(
        "a: {script: [x], when: never}\nb: {script: [x], when: delayed}\n"
        "c: {script: [x], start_in: 1m}\n"
    )
    assert errors(bad.diagnostics) == ["invalid-when"] * 3


def test_rules_exclude_only_except_and_start_in() -> None:
    config = load(
        """
        a: {script: [x], rules: [{when: always}], only: [main]}
        b: {script: [x], rules: [{when: delayed, start_in: 1m}], start_in: 1m}
        """
    )
    assert errors(config.diagnostics) == ["rules-with-only", "start-in-with-rules"]


def test_interruptible_resource_group_coverage() -> None:
    config = load(
        """
        job:
          script: [x]
          interruptible: true
          resource_group: deploy-$CI_ENVIRONMENT_NAME
          coverage: '/Total: (\\d+\\.\\d+)%/'
        """
    )
    built = job(config, "job")
    assert built.interruptible is True
    assert built.resource_group == "deploy-$CI_ENVIRONMENT_NAME"
    assert built.coverage == "Total: (\\d+\\.\\d+)%"
    bad = load("a: {script: [x], interruptible: yes please, coverage: 'Total'}\n")
    assert errors(bad.diagnostics) == ["invalid-value", "invalid-coverage"]


# ---------------------------------------------------------------- artifacts, cache, image, services …


def test_artifacts_parsing() -> None:
    config = load(
        """
        job:
          script: [x]
          artifacts:
            name: build-$CI_JOB_NAME
            paths: [out/, "**/*.log"]
            exclude: [out/**/*.o]
            untracked: true
            when: always
            expire_in: 2 days
            expose_as: Build output
            reports:
              junit: [report.xml]
              dotenv: build.env
              coverage_report: {coverage_format: cobertura, path: coverage.xml}
        never:
          script: [x]
          artifacts: {paths: [a], expire_in: never, public: false}
        """
    )
    assert config.ok, config.diagnostics
    a = job(config, "job").artifacts
    assert (a.name, a.paths, a.exclude, a.untracked, a.when) == (
        "build-$CI_JOB_NAME",
        ("out/", "**/*.log"),
        ("out/**/*.o",),
        True,
        "always",
    )
    assert (a.expire_in, a.expire_seconds, a.expose_as) == ("2 days", 172800.0, "Build output")
    assert dict(a.reports) == {
        "junit": ("report.xml",),
        "dotenv": ("build.env",),
        "coverage_report": ("coverage.xml",),
    }
    n = job(config, "never").artifacts
    assert (n.expire_in, n.expire_seconds, n.access) == ("never", None, "developer")


def test_artifacts_errors() -> None:
    config = load(
        """
        a: {script: [x], artifacts: [out/]}
        b: {script: [x], artifacts: {when: sometimes}}
        c: {script: [x], artifacts: {expire_in: a while}}
        d: {script: [x], artifacts: {paths: [a], compress: true}}
        """
    )
    assert errors(config.diagnostics) == ["invalid-artifacts", "invalid-when", "invalid-artifacts"]
    assert warnings(config.diagnostics) == ["unknown-keyword"]


def test_cache_parsing_and_limits() -> None:
    config = load(
        """
        job:
          script: [x]
          cache:
            - key: {files: [Gemfile.lock], prefix: ruby}
              paths: [vendor/]
              policy: pull
            - key: $CI_COMMIT_REF_SLUG
              paths: [node_modules/]
              when: always
              fallback_keys: [main]
              unprotect: true
        """
    )
    first, second = job(config, "job").cache
    assert (first.key, first.key_files, first.key_prefix, first.policy) == (
        None,
        ("Gemfile.lock",),
        "ruby",
        "pull",
    )
    assert (second.key, second.when, second.fallback_keys, second.unprotect) == (
        "$CI_COMMIT_REF_SLUG",
        "always",
        ("main",),
        True,
    )
    five = "\n".join(f"    - {{key: k{i}, paths: [p]}}" for i in range(5))
    assert errors(load(f"job:\n  script: [x]\n  cache:\n{five}\n").diagnostics) == ["invalid-cache"]
    assert errors(load("job: {script: [x], cache: {policy: take}}\n").diagnostics) == [
        "invalid-cache"
    ]
    assert errors(load("job: {script: [x], cache: {when: later}}\n").diagnostics) == [
        "invalid-cache"
    ]
    odd = load("job: {script: [x], cache: {key: {files_commits: [a]}, colour: red}}\n")
    assert sorted(warnings(odd.diagnostics)) == ["ignored-keyword", "unknown-keyword"]


def test_image_and_services() -> None:
    config = load(
        """
        job:
          script: [x]
          image:
            name: registry.example.com/tools:1
            entrypoint: [""]
            pull_policy: [always, if-not-present]
          services:
            - postgres:16
            - name: redis:7
              alias: cache
              command: [redis-server, [--appendonly, "yes"]]
              variables: {REDIS_ARGS: x}
        """
    )
    built = job(config, "job")
    assert built.image.name == "registry.example.com/tools:1"
    assert built.image.entrypoint == ("",)
    assert built.image.pull_policy == ("always", "if-not-present")
    postgres, redis = built.services
    assert postgres.name == "postgres:16"
    assert (redis.alias, redis.command) == ("cache", ("redis-server", "--appendonly", "yes"))
    assert [v.name for v in redis.variables] == ["REDIS_ARGS"]
    bad = load(
        "a: {script: [x], image: {entrypoint: [sh]}}\nb: {script: [x], services: postgres}\n"
    )
    assert errors(bad.diagnostics) == ["invalid-image", "invalid-services"]


def test_environment_and_trigger() -> None:
    config = load(
        """
        deploy:
          script: [x]
          environment:
            name: review/$CI_COMMIT_REF_SLUG
            url: https://$CI_COMMIT_REF_SLUG.example.com
            on_stop: stop
            auto_stop_in: 1 day
        simple: {script: [x], environment: production}
        child:
          trigger:
            include: [{local: child.yml}]
            strategy: depend
            forward: {yaml_variables: true, pipeline_variables: false}
        downstream: {trigger: {project: group/other, branch: main}}
        """
    )
    env = job(config, "deploy").environment
    assert (env.name, env.on_stop, env.auto_stop_in) == (
        "review/$CI_COMMIT_REF_SLUG",
        "stop",
        "1 day",
    )
    assert job(config, "simple").environment.name == "production"
    child = job(config, "child").trigger
    assert (child.strategy, dict(child.forward)) == (
        "depend",
        {"yaml_variables": True, "pipeline_variables": False},
    )
    assert job(config, "downstream").trigger.branch == "main"
    bad = load("a: {script: [x], environment: {url: x}}\nb: {trigger: 42}\n")
    assert errors(bad.diagnostics) == ["invalid-environment", "invalid-trigger"]


# ---------------------------------------------------------------- variables and rules:if at load time


def test_variables_long_form_null_values_and_names() -> None:
    config = load(
        """
        variables:
          EMPTY_GLOBAL:
          DEPLOY_TO:
            value: staging
            description: Where to deploy
            options: [staging, production]
          RAW: {value: "$HOME", expand: false}
          "bad name": x
        job:
          script: [x]
          variables:
            EMPTY_JOB: null
        """
    )
    assert config.ok
    values = {v.name: (v.value, v.expand) for v in config.variables}
    assert values == {
        "EMPTY_GLOBAL": ("", True),
        "DEPLOY_TO": ("staging", True),
        "RAW": ("$HOME", False),
        "bad name": ("x", True),
    }
    assert config.variables[1].description == "Where to deploy"
    assert config.variables[1].options == ("staging", "production")
    assert [v.value for v in job(config, "job").variables] == [""]
    assert warnings(config.diagnostics) == [
        "null-variable",
        "invalid-variable-name",
        "null-variable",
    ]


def test_variable_errors() -> None:
    config = load(
        """
        variables:
          CHOICE: {value: other, options: [a, b]}
          EXPAND: {value: x, expand: sometimes}
          LIST: [a, b]
        job: {script: [x], variables: [A=b]}
        """
    )
    assert errors(config.diagnostics) == ["invalid-variables"] * 4


def test_curly_braces_in_rules_if_are_rejected_with_a_hint() -> None:
    config = load('job:\n  script: [x]\n  rules:\n    - if: ${CI_COMMIT_BRANCH} == "main"\n')
    problem = only(config.diagnostics, "invalid-rule-if")
    assert problem.hint == "rules:if takes $NAME, not ${NAME} (GitLab rejects the braces too)"
    assert problem.location is not None
    assert problem.location.line == 4
    # the broken rule is dropped, the job keeps its other rules (none here)
    assert job(config, "job").rules == ()


def test_workflow_rules_allow_only_always_and_never() -> None:
    config = load(
        """
        workflow:
          name: $CI_COMMIT_TITLE
          rules:
            - if: $A
              when: manual
            - if: $B
              start_in: 1m
            - when: always
              auto_cancel: {on_new_commit: interruptible}
        job: {script: [x]}
        """
    )
    assert errors(config.diagnostics) == ["invalid-when"]
    assert warnings(config.diagnostics) == ["ignored-keyword"]
    assert config.workflow is not None
    assert config.workflow.name == "$CI_COMMIT_TITLE"
    assert config.workflow.rules is not None
    assert dict(config.workflow.rules[-1].auto_cancel or {}) == {"on_new_commit": "interruptible"}


def test_unknown_rule_keys_are_errors() -> None:
    config = load("job:\n  script: [x]\n  rules:\n    - if: $A\n      unless: $B\n")
    problem = only(config.diagnostics, "invalid-rule")
    assert "'unless'" in problem.message
