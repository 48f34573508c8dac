"""``spec:inputs`` and ``$[[ inputs.x ]]`` interpolation, done per file before any merge."""

from __future__ import annotations

import pytest

from dialect_fixtures import errors, job, load, names

TEMPLATE = """
spec:
  inputs:
    stage:
      default: test
    job-prefix: {}
    retries:
      type: number
      default: 1
    verbose:
      type: boolean
      default: false
    targets:
      type: array
      default: [linux]
    flavour:
      options: [debug, release]
      default: debug
    version:
      regex: ^v\\d+\\.\\d+$
      default: v1.0
---
"$[[ inputs.job-prefix ]]-build":
  stage: $[[ inputs.stage ]]
  retry: $[[ inputs.retries ]]
  variables:
    VERBOSE: "verbose=$[[ inputs.verbose ]]"
    FLAVOUR: build-$[[ inputs.flavour ]]
    VERSION: $[[ inputs.version ]]
  tags: $[[ inputs.targets ]]
  script: [make]
"""


def _with(inputs: str) -> dict[str, str]:
    return {
        ".gitlab-ci.yml": f"include:\n  - local: ci/build.yml\n    inputs: {inputs}\n",
        "ci/build.yml": TEMPLATE,
    }


def test_defaults_fill_what_is_not_given_and_values_keep_their_type() -> None:
    config = load(_with("{job-prefix: app, targets: [linux, arm]}"))
    assert config.ok, config.diagnostics
    built = job(config, "app-build")  # interpolated in a key
    assert built.stage == "test"
    assert built.retry.max == 1  # a whole-string block keeps the input's type (number)
    assert built.tags == ("linux", "arm")  # … and an array stays an array
    assert {v.name: v.value for v in built.variables} == {
        "VERBOSE": "verbose=false",
        "FLAVOUR": "build-debug",
        "VERSION": "v1.0",
    }


def test_a_whole_string_block_keeps_the_type_even_when_quoted() -> None:
    config = load(
        {
            ".gitlab-ci.yml": "include:\n  - local: t.yml\n    inputs: {flag: true}\n",
            "t.yml": (
                "spec:\n  inputs:\n    flag: {type: boolean}\n---\n"
                'job:\n  variables: {FLAG: "$[[ inputs.flag ]]"}\n  script: [x]\n'
            ),
        }
    )
    # the block becomes the boolean true, which variables refuse, as GitLab does
    assert errors(config.diagnostics) == ["invalid-variables"]


def test_required_input_missing() -> None:
    config = load(_with("{}"))
    assert "missing-input" in errors(config.diagnostics)


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ("{job-prefix: a, retries: two}", "must be a number"),
        ("{job-prefix: a, verbose: 'yes'}", "must be a boolean"),
        ("{job-prefix: a, targets: linux}", "must be a array"),
        ("{job-prefix: a, flavour: profile}", "is not one of the allowed options"),
        ("{job-prefix: a, version: '1.0'}", "does not match the regex"),
        ("{job-prefix: a, colour: red}", "unknown input 'colour'"),
    ],
)
def test_bad_inputs_are_located_at_the_include(inputs: str, problem: str) -> None:
    config = load(_with(inputs))
    bad = [d for d in config.diagnostics if d.is_error]
    # (a wrongly typed value may also upset the keyword it lands in: a second error)
    assert problem in bad[0].message
    assert bad[0].location is not None
    assert (bad[0].location.file, bad[0].location.line) == (".gitlab-ci.yml", 2)


def test_inputs_given_to_a_file_without_spec_are_unknown() -> None:
    config = load(
        {
            ".gitlab-ci.yml": "include:\n  - local: a.yml\n    inputs: {x: 1}\n",
            "a.yml": "a: {script: [x]}\n",
        }
    )
    assert errors(config.diagnostics) == ["unknown-input"]


def test_functions() -> None:
    config = load(
        {
            ".gitlab-ci.yml": """
            include:
              - local: t.yml
                inputs: {name: "it's $CI_COMMIT_REF_NAME"}
            """,
            "t.yml": """
            spec:
              inputs:
                name: {}
            ---
            job:
              variables:
                SHORT: $[[ inputs.name | truncate(0,4) ]]
                EXPANDED: $[[ inputs.name | expand_vars ]]
                ESCAPED: $[[ inputs.name | posix_escape ]]
                BOTH: $[[ inputs.name | expand_vars | truncate(5,4) ]]
              script: [x]
            """,
        }
    )
    assert config.ok, config.diagnostics
    values = {v.name: v.value for v in job(config, "job").variables}
    assert values == {
        "SHORT": "it's",
        "EXPANDED": "it's main",
        "ESCAPED": "'it'\"'\"'s $CI_COMMIT_REF_NAME'",
        "BOTH": "main",
    }


def test_unknown_function_and_unknown_input_are_errors() -> None:
    config = load(
        """
        spec:
          inputs:
            a: {default: x}
        ---
        job:
          script:
            - echo $[[ inputs.a | shout ]]
            - echo $[[ inputs.b ]]
            - echo $[[ env.HOME ]]
        """
    )
    assert errors(config.diagnostics) == ["invalid-interpolation"] * 3


def test_main_file_spec_inputs_use_defaults() -> None:
    config = load(
        """
        spec:
          inputs:
            suffix: {default: fast}
        ---
        "test-$[[ inputs.suffix ]]": {script: [x]}
        """
    )
    assert names(config) == ["test-fast"]


def test_interpolation_happens_per_file_before_merging() -> None:
    # The including file's text is not interpolated with the included file's inputs.
    config = load(
        {
            ".gitlab-ci.yml": """
            include:
              - local: t.yml
                inputs: {stage: build}
            job:
              variables: {RAW: "$[[ inputs.stage ]]"}
            """,
            "t.yml": "spec:\n  inputs:\n    stage: {}\n---\njob:\n  stage: $[[ inputs.stage ]]\n  script: [x]\n",
        }
    )
    assert errors(config.diagnostics) == ["invalid-interpolation"]
    assert job(config, "job").stage == "build"
