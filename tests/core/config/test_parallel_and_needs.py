"""``parallel``/``parallel:matrix`` expansion with GitLab's names, and the static ``needs`` checks."""

from __future__ import annotations

import pytest

from dialect_fixtures import errors, job, load, names, only, warnings
from gatehouse.core.model import ParallelIndex


def test_parallel_n_names_and_indexes() -> None:
    config = load("test: {script: [x], parallel: 3}\n")
    assert names(config) == ["test 1/3", "test 2/3", "test 3/3"]
    assert job(config, "test 2/3").parallel == ParallelIndex(2, 3)
    assert {j.base_name for j in config.jobs} == {"test"}
    assert config.visible_job_count == 1


@pytest.mark.parametrize("value", ["0", "201", "-1", "two", "{number: 2}"])
def test_parallel_bad_values(value: str) -> None:
    assert errors(load(f"test: {{script: [x], parallel: {value}}}\n").diagnostics) == [
        "invalid-parallel"
    ]


def test_parallel_one_is_allowed() -> None:
    assert names(load("test: {script: [x], parallel: 1}\n")) == ["test 1/1"]


def test_matrix_names_values_only_in_key_order_spaces_kept() -> None:
    config = load(
        """
        build:
          script: [x]
          variables: {OS: overridden, KEEP: me}
          parallel:
            matrix:
              - OS: [ubuntu 22.04, "debian 12"]
                ARCH: amd64
              - OS: alpine
                ARCH: [arm64, riscv64]
                EXTRA: 1
        """
    )
    assert names(config) == [
        "build: [ubuntu 22.04, amd64]",
        "build: [debian 12, amd64]",
        "build: [alpine, arm64, 1]",
        "build: [alpine, riscv64, 1]",
    ]
    first = job(config, "build: [ubuntu 22.04, amd64]")
    assert {v.name: v.value for v in first.variables} == {
        "KEEP": "me",
        "OS": "ubuntu 22.04",  # matrix values win over the job's own variables
        "ARCH": "amd64",
    }
    assert first.parallel == ParallelIndex(1, 4, {"OS": "ubuntu 22.04", "ARCH": "amd64"})
    assert job(config, "build: [alpine, riscv64, 1]").parallel.index == 4


def test_colliding_tuples_later_wins_with_a_warning() -> None:
    config = load(
        """
        build:
          script: [x]
          parallel:
            matrix:
              - {A: x, B: y}
              - {C: x, D: y}
        """
    )
    assert names(config) == ["build: [x, y]"]
    assert job(config, "build: [x, y]").parallel.matrix == {"C": "x", "D": "y"}
    assert warnings(config.diagnostics) == ["duplicate-matrix-job"]


def test_two_hundred_permutations_fine_two_hundred_and_one_not() -> None:
    values_200 = ", ".join(str(i) for i in range(100))
    ok = load(
        f"b:\n  script: [x]\n  parallel:\n    matrix:\n      - {{A: [{values_200}], B: [x, y]}}\n"
    )
    assert len(ok.jobs) == 200
    too_many = load(
        f"b:\n  script: [x]\n  parallel:\n    matrix:\n"
        f"      - {{A: [{values_200}], B: [x, y]}}\n      - {{C: z}}\n"
    )
    problem = only(too_many.diagnostics, "invalid-parallel")
    assert "201 jobs" in problem.message


def test_long_matrix_names_are_kept_verbatim_up_to_gitlab_limit() -> None:
    long_value = "my-app-controller-" + "x" * 200
    config = load(
        f"b:\n  script: [x]\n  parallel:\n    matrix:\n      - {{N: [short, {long_value}]}}\n"
    )
    assert config.ok
    assert names(config) == ["b: [short]", f"b: [{long_value}]"]
    too_long = "y" * 260
    bad = load(f"b:\n  script: [x]\n  parallel:\n    matrix:\n      - {{N: [{too_long}]}}\n")
    assert errors(bad.diagnostics) == ["job-name-too-long"]


@pytest.mark.parametrize(
    "matrix",
    ["[]", "[[a]]", "[{bad-name: x}]", "[{}]", "{A: x}"],
)
def test_matrix_errors(matrix: str) -> None:
    config = load(f"b:\n  script: [x]\n  parallel: {{matrix: {matrix}}}\n")
    assert errors(config.diagnostics), config.diagnostics


def test_matrix_null_value_makes_no_instance() -> None:
    config = load(
        "b:\n  script: [x]\n  parallel:\n    matrix:\n      - {A: [1, 2], B: null}\n      - {A: 3}\n"
    )
    assert names(config) == ["b: [3]"]


# ---------------------------------------------------------------- needs (static checks)


def test_needs_forms() -> None:
    config = load(
        """
        stages: [a, b]
        one: {stage: a, script: [x]}
        two: {stage: a, script: [x]}
        job:
          stage: b
          script: [x]
          needs:
            - one
            - {job: two, artifacts: false}
            - {job: ghost, optional: true}
            - {project: group/other, job: build, ref: main, artifacts: true}
            - {pipeline: $PARENT_PIPELINE_ID, job: generate}
        """
    )
    assert config.ok, config.diagnostics
    needs = job(config, "job").needs
    assert [(n.job, n.artifacts, n.optional) for n in needs] == [
        ("one", True, False),
        ("two", False, False),
        ("ghost", True, True),
        ("build", True, False),
        ("generate", True, False),
    ]
    assert needs[3].project == "group/other"
    assert needs[4].pipeline == "$PARENT_PIPELINE_ID"


def test_needs_empty_list_and_same_stage() -> None:
    config = load("a: {script: [x]}\nb: {script: [x], needs: [a]}\nc: {script: [x], needs: []}\n")
    assert config.ok
    assert job(config, "c").needs == ()
    assert job(config, "b").stage == job(config, "a").stage


def test_need_on_a_missing_job_is_located() -> None:
    config = load("a: {script: [x]}\nb:\n  script: [x]\n  needs: [a, ghost]\n")
    problem = only(config.diagnostics, "missing-need")
    assert "'ghost'" in problem.message
    assert problem.location is not None
    assert problem.location.line == 4


def test_need_on_a_later_stage_is_an_error() -> None:
    config = load(
        "stages: [a, b]\nfirst: {stage: a, script: [x], needs: [second]}\nsecond: {stage: b, script: [x]}\n"
    )
    problem = only(config.diagnostics, "need-later-stage")
    assert "later stage b" in problem.message


def test_needs_cycle_is_an_error() -> None:
    config = load(
        """
        a: {script: [x], needs: [c]}
        b: {script: [x], needs: [a]}
        c: {script: [x], needs: [b]}
        """
    )
    problem = only(config.diagnostics, "needs-cycle")
    assert problem.message == "needs form a cycle: a -> c -> b -> a"


def test_needs_bad_entries() -> None:
    config = load(
        """
        a: {script: [x]}
        b: {script: [x], needs: [{job: a, artifacts: maybe}, {name: a}, 42, {job: a, colour: red}]}
        """
    )
    # {name: a} is two mistakes: an unknown key and no job name
    assert errors(config.diagnostics) == ["invalid-needs"] * 5


def test_more_than_fifty_needs() -> None:
    jobs = "".join(f"j{i}: {{script: [x]}}\n" for i in range(51))
    needs = ", ".join(f"j{i}" for i in range(51))
    assert errors(load(jobs + f"last: {{script: [x], needs: [{needs}]}}\n").diagnostics) == [
        "too-many-needs"
    ]


def test_matrix_needs_name_instances_in_the_matrix_order() -> None:
    config = load(
        """
        stages: [build, test]
        build:
          stage: build
          script: [x]
          parallel:
            matrix:
              - {OS: [linux, mac], ARCH: [amd64, arm64]}
        all:
          stage: test
          script: [x]
          needs: [build]
        some:
          stage: test
          script: [x]
          needs:
            - job: build
              parallel:
                matrix:
                  - {OS: linux, ARCH: [amd64, arm64]}
        one:
          stage: test
          script: [x]
          needs: ["build: [mac, arm64]"]
        wrong-order:
          stage: test
          script: [x]
          needs:
            - job: build
              parallel: {matrix: [{ARCH: amd64, OS: linux}]}
        """
    )
    problem = only(config.diagnostics, "missing-need")
    assert "wrong-order" in problem.message
    assert (
        problem.message
        == "job 'wrong-order' needs matrix instance of 'build', which is not defined"
    )


def test_matrix_expressions_pair_two_matrices() -> None:
    config = load(
        """
        stages: [build, test]
        build:
          stage: build
          script: [x]
          parallel: {matrix: [{OS: [linux, mac]}]}
        test:
          stage: test
          script: [x]
          parallel: {matrix: [{OS: [linux, mac]}]}
          needs:
            - job: build
              parallel: {matrix: [{OS: "$[[ matrix.OS ]]"}]}
        package:
          stage: test
          script: [x]
          parallel: {matrix: [{PLATFORM: [linux]}]}
          needs: ["build: [$[[ matrix.PLATFORM ]]]", "$[[ matrix.NOPE ]]"]
        """
    )
    assert [n.matrix for n in job(config, "test: [mac]").needs] == [({"OS": ("mac",)},)]
    assert next(n.job for n in job(config, "package: [linux]").needs) == "build: [linux]"
    assert "invalid-interpolation" in errors(config.diagnostics)


def test_dependencies_must_name_earlier_jobs() -> None:
    config = load(
        """
        stages: [a, b]
        early: {stage: a, script: [x]}
        late: {stage: b, script: [x]}
        job: {stage: a, script: [x], dependencies: [late, ghost]}
        """
    )
    assert errors(config.diagnostics) == ["dependency-not-earlier", "missing-dependency"]


def test_duplicate_needs_and_dependencies_outside_needs() -> None:
    config = load(
        """
        stages: [a, b]
        one: {stage: a, script: [x]}
        two: {stage: a, script: [x]}
        dup: {stage: b, script: [x], needs: [one, {job: one, artifacts: false}]}
        deps: {stage: b, script: [x], needs: [one], dependencies: [one, two]}
        """
    )
    assert errors(config.diagnostics) == ["duplicate-need", "dependency-not-in-needs"]
    assert config.diagnostics[1].message == (
        "job 'deps': dependencies the two should be part of needs"
    )


def test_rule_needs_are_checked_like_job_needs() -> None:
    config = load(
        """
        stages: [a, b]
        early:
          stage: a
          script: [x]
          rules:
            - if: $X
              needs: [late, ghost]
        late: {stage: b, script: [x]}
        """
    )
    assert errors(config.diagnostics) == ["need-later-stage", "missing-need"]
