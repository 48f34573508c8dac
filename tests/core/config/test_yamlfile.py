"""Phase 1: one YAML file into located values, with GitLab's YAML 1.1 quirks."""

from __future__ import annotations

from dialect_fixtures import errors, job, load, only, warnings
from gatehouse.core.config.nodes import LocDict, Reference
from gatehouse.core.config.yamlfile import parse_yaml


def test_values_remember_file_and_line() -> None:
    parsed = parse_yaml("a:\n  b: [1, 2]\n  c:\n    - x\n", "ci.yml")
    assert isinstance(parsed.body, LocDict)
    inner = parsed.body["a"]
    assert str(inner.key_loc("c")) == "ci.yml:3:3"
    assert str(inner["c"].item_loc(0)) == "ci.yml:4:7"


def test_anchors_and_aliases_inside_one_file() -> None:
    config = load(
        """
        .base: &base
          script: [make]
          tags: [linux]
        build:
          <<: *base
          tags: [arm]
        lint:
          script: *lint_script
        """.replace("*lint_script", "&lint_script [ruff check]")
    )
    assert config.ok
    build = job(config, "build")
    assert build.script == ("make",)
    assert build.tags == ("arm",)  # the explicit key wins over the merged one
    assert job(config, "lint").script == ("ruff check",)


def test_merge_key_is_shallow() -> None:
    config = load(
        """
        .base: &base
          script: [make]
          variables: {A: "1", B: "2"}
        build:
          <<: *base
          variables: {B: "3"}
        """
    )
    # `<<:` does not deep-merge: the job's own variables mapping replaces the anchor's.
    assert {v.name: v.value for v in job(config, "build").variables} == {"B": "3"}


def test_merge_key_list_of_anchors_first_wins() -> None:
    config = load(
        """
        .a: &a {script: [from-a], stage: build}
        .b: &b {script: [from-b], tags: [b]}
        build:
          <<: [*a, *b]
        """
    )
    build = job(config, "build")
    assert build.script == ("from-a",)  # YAML merge: earlier mappings in the list win
    assert build.tags == ("b",)


def test_anchors_do_not_cross_files() -> None:
    config = load(
        {
            ".gitlab-ci.yml": """
            include: [ci/jobs.yml]
            .base: &base {script: [make]}
            """,
            "ci/jobs.yml": """
            build:
              <<: *base
            """,
        }
    )
    problem = only(config.diagnostics, "invalid-yaml")
    assert problem.location is not None
    assert problem.location.file == "ci/jobs.yml"
    assert problem.location.line == 3
    assert "undefined alias" in problem.message


def test_alias_of_a_list_inside_a_list_is_flattened_in_script() -> None:
    config = load(
        """
        .setup: &setup [apt-get update, apt-get install -y make]
        build:
          script:
            - *setup
            - make
        """
    )
    assert job(config, "build").script == ("apt-get update", "apt-get install -y make", "make")


def test_octal_looking_number_is_coerced_with_a_warning() -> None:
    config = load(
        """
        variables:
          MODE: 012
          OK: 12
          VERSION: 1.10
        build: {script: [x]}
        """
    )
    values = {v.name: v.value for v in config.variables}
    assert values == {"MODE": "10", "OK": "12", "VERSION": "1.1"}
    coerced = [d for d in config.diagnostics if d.code == "coerced-value"]
    assert len(coerced) == 2
    assert "012" in coerced[0].message
    assert coerced[0].hint == 'quote it to keep it as written: MODE: "012"'


def test_sexagesimal_numbers_are_yaml_1_1_too() -> None:
    config = load("variables: {DURATION: 1:30}\nbuild: {script: [x]}\n")
    assert config.variables[0].value == "90"
    assert warnings(config.diagnostics) == ["coerced-value"]


def test_booleans_in_variables_are_rejected_with_a_quoting_hint() -> None:
    config = load(
        """
        variables:
          DEBUG: true
          QUIET: no
        build: {script: [x]}
        """
    )
    assert errors(config.diagnostics) == ["invalid-variables", "invalid-variables"]
    first = config.diagnostics[0]
    assert first.location is not None
    assert first.location.line == 3
    assert first.hint == 'quote it: DEBUG: "true"'
    # `no` is YAML 1.1 false, as in GitLab's parser
    assert config.diagnostics[1].hint == 'quote it: QUIET: "false"'


def test_dates_stay_strings() -> None:
    config = load("variables: {RELEASED: 2024-01-31}\nbuild: {script: [x]}\n")
    assert config.ok
    assert config.variables[0].value == "2024-01-31"


def test_duplicate_keys_warn_and_the_later_wins() -> None:
    config = load(
        """
        build:
          script: [first]
          script: [second]
        """
    )
    assert job(config, "build").script == ("second",)
    warning = only(config.diagnostics, "duplicate-key")
    assert warning.location is not None
    assert warning.location.line == 4
    assert "first defined at line 3" in warning.message


def test_invalid_yaml_is_located() -> None:
    config = load(
        """
        build:
          script: [make
        test:
          script: [x]
        """
    )
    problem = only(config.diagnostics, "invalid-yaml")
    assert problem.location is not None
    assert problem.location.file == ".gitlab-ci.yml"
    assert problem.location.line == 4
    assert problem.hint


def test_unknown_tags_are_errors() -> None:
    config = load("build:\n  script: !shell make\n")
    problem = only(config.diagnostics, "unknown-tag")
    assert "!shell" in problem.message
    assert problem.location is not None
    assert problem.location.line == 2


def test_reference_tag_is_kept_opaque_until_resolved() -> None:
    parsed = parse_yaml("a: !reference [.tmpl, script]\n", "f.yml")
    assert parsed.body["a"] == Reference((".tmpl", "script"), parsed.body["a"].loc)


def test_reference_tag_needs_a_sequence_of_names() -> None:
    assert [d.code for d in parse_yaml("a: !reference .tmpl\n", "f").diagnostics] == [
        "invalid-reference"
    ]
    assert [d.code for d in parse_yaml("a: !reference [[x]]\n", "f").diagnostics] == [
        "invalid-reference"
    ]
    assert [d.code for d in parse_yaml("a: !reference []\n", "f").diagnostics] == [
        "invalid-reference"
    ]


def test_header_document_and_too_many_documents() -> None:
    parsed = parse_yaml("spec:\n  inputs: {}\n---\nbuild: {script: [x]}\n", "f.yml")
    assert parsed.header is not None
    assert "spec" in parsed.header
    assert "build" in parsed.body
    extra = parse_yaml("a: 1\n---\nb: 2\n---\nc: 3\n", "f.yml")
    assert [d.code for d in extra.diagnostics] == ["invalid-yaml"]


def test_empty_file_and_non_mapping_file() -> None:
    assert errors(load("").diagnostics) == ["no-jobs"]
    assert errors(load("- a\n- b\n").diagnostics) == ["invalid-config"]


def test_a_mapping_key_must_be_a_scalar() -> None:
    config = load("? [a, b]\n: 1\nbuild: {script: [x]}\n")
    assert "invalid-key" in errors(config.diagnostics)
