"""Phase 4: ``!reference`` — resolved after ``extends``, across files, nested, cycle-checked."""

from __future__ import annotations

from dialect_fixtures import errors, job, load, only, warnings


def test_reference_to_a_key_produced_by_extends() -> None:
    config = load(
        """
        .base: {before_script: [setup]}
        .tmpl:
          extends: .base
          script: [build]
        job:
          before_script: [!reference [.tmpl, before_script], extra]
          script: !reference [.tmpl, script]
        """
    )
    built = job(config, "job")
    assert built.before_script == ("setup", "extra")
    assert built.script == ("build",)


def test_nested_references_and_subkeys() -> None:
    config = load(
        """
        .vars:
          variables: {A: "1", B: "2"}
        .setup:
          script:
            - !reference [.vars, variables, A]
            - echo setup
        .steps:
          script:
            - !reference [.setup, script]
            - echo steps
        job:
          script:
            - !reference [.steps, script]
            - echo done
          variables: !reference [.vars, variables]
        """
    )
    built = job(config, "job")
    assert built.script == ("1", "echo setup", "echo steps", "echo done")
    assert {v.name: v.value for v in built.variables} == {"A": "1", "B": "2"}


def test_reference_to_a_top_level_scalar_across_files() -> None:
    config = load(
        {
            ".gitlab-ci.yml": """
            include: ci/sizes.yml
            job:
              tags: [!reference [.instance-2xlarge]]
              script: [x]
            """,
            "ci/sizes.yml": ".instance-2xlarge: $RUNNER_TAG_2XLARGE\n",
        }
    )
    assert config.ok
    assert job(config, "job").tags == ("$RUNNER_TAG_2XLARGE",)


def test_circular_chain_is_an_error() -> None:
    config = load(
        """
        .a:
          script: [!reference [.b, script]]
        .b:
          script: [!reference [.a, script]]
        job:
          script: !reference [.a, script]
        """
    )
    problem = only(config.diagnostics, "reference-cycle")
    assert "part of a circular chain" in problem.message


def test_missing_reference_and_suggestion() -> None:
    config = load(
        """
        .setup: {script: [x]}
        job:
          script: !reference [.stup, script]
        other:
          script: !reference [.setup, before_script]
        """
    )
    assert errors(config.diagnostics) == ["missing-reference", "missing-reference"]
    first = config.diagnostics[0]
    assert first.hint == "did you mean '.setup'?"
    assert first.location is not None
    assert first.location.line == 4


def test_null_or_false_target_counts_as_missing() -> None:
    config = load(
        """
        .t:
          script: [x]
          interruptible: false
          after_script: null
        a: {script: [x], interruptible: !reference [.t, interruptible]}
        b: {script: [x], after_script: !reference [.t, after_script]}
        """
    )
    assert errors(config.diagnostics) == ["missing-reference", "missing-reference"]


def test_references_nest_ten_deep_not_eleven() -> None:
    def chain(depth: int) -> str:
        lines = [f".r{i}: {{script: !reference [.r{i + 1}, script]}}" for i in range(depth)]
        lines.append(f".r{depth}: {{script: [bottom]}}")
        lines.append("job: {script: !reference [.r0, script]}")
        return "\n".join(lines) + "\n"

    ok = load(chain(9))  # job -> .r0 -> … -> .r9: ten references in a row
    assert ok.ok, ok.diagnostics
    assert job(ok, "job").script == ("bottom",)
    assert "reference-too-deep" in errors(load(chain(10)).diagnostics)


def test_reference_into_unavailable_include_is_a_warning() -> None:
    config = load(
        """
        include: {project: g/p, file: t.yml}
        job:
          script: [!reference [.remote, script], local]
        """
    )
    assert warnings(config.diagnostics) == ["unavailable-include", "unresolved-reference"]
    assert job(config, "job").script == ("local",)


def test_nested_references_nest_lists_and_commands_allow_ten_levels() -> None:
    def chain(depth: int) -> str:
        lines = [f".r{i}: {{script: [!reference [.r{i + 1}, script]]}}" for i in range(depth)]
        lines.append(f".r{depth}: {{script: [bottom]}}")
        lines.append("job: {script: !reference [.r0, script]}")
        return "\n".join(lines) + "\n"

    ok = load(chain(9))  # a list nested ten deep: flattened
    assert ok.ok, ok.diagnostics
    assert job(ok, "job").script == ("bottom",)
    # one more: eleven levels of lists (and eleven references in a row)
    assert errors(load(chain(10)).diagnostics) == ["reference-too-deep", "invalid-script"]


def test_reference_items_must_be_strings() -> None:
    config = load("job:\n  script: !reference [.t, 1]\n.t: {script: [x]}\n")
    assert "invalid-reference" in errors(config.diagnostics)
