"""Phase 2: ``include``, resolved recursively and merged with the including file last."""

from __future__ import annotations

import pytest

from dialect_fixtures import errors, job, load, names, only, warnings
from gatehouse.core.config.include import MAX_INCLUDES


def test_included_files_merge_in_order_and_the_including_file_wins() -> None:
    config = load(
        {
            ".gitlab-ci.yml": """
            include: [a.yml, b.yml]
            build:
              stage: test
            own:
              script: [own]
            """,
            "a.yml": """
            build: {stage: build, script: [from-a], tags: [a]}
            only-a: {script: [a]}
            """,
            "b.yml": """
            build: {script: [from-b]}
            """,
        }
    )
    assert config.ok
    build = job(config, "build")
    assert build.script == ("from-b",)  # b.yml is merged after a.yml
    assert build.tags == ("a",)  # keys b.yml does not set stay
    assert build.stage == "test"  # the including file is merged last
    # jobs of included files come first (Ruby Hash#deep_merge key order)
    assert names(config) == ["build", "only-a", "own"]
    assert config.files == (".gitlab-ci.yml", "a.yml", "b.yml")


def test_include_forms_string_list_mapping() -> None:
    tree = {"ci/a.yml": "a: {script: [a]}\n", "ci/b.yml": "b: {script: [b]}\n"}
    for form in (
        "include: ci/a.yml",
        "include: {local: /ci/a.yml}",
        "include: [{local: ci/a.yml}]",
    ):
        assert names(load({**tree, ".gitlab-ci.yml": form + "\n"})) == ["a"]


def test_nested_includes_resolve_from_the_repository_root() -> None:
    config = load(
        {
            ".gitlab-ci.yml": "include: ci/jobs/all.yml\n",
            "ci/jobs/all.yml": """
            include: ci/templates.yml
            build:
              extends: .tmpl
            """,
            "ci/templates.yml": ".tmpl: {script: [make], stage: build}\n",
        }
    )
    assert config.ok
    assert job(config, "build").script == ("make",)
    assert config.files == (".gitlab-ci.yml", "ci/jobs/all.yml", "ci/templates.yml")


def test_nested_include_is_merged_under_its_including_file() -> None:
    config = load(
        {
            ".gitlab-ci.yml": "include: [a.yml]\n",
            "a.yml": "include: [c.yml]\njob: {script: [from-a]}\n",
            "c.yml": "job: {script: [from-c], stage: build}\n",
        }
    )
    assert job(config, "job").script == ("from-a",)
    assert job(config, "job").stage == "build"


def test_wildcards_follow_gitlab_repository_search() -> None:
    tree = {
        "configs/a.yml": "a: {script: [a]}\n",
        "configs/deep/b.yml": "b: {script: [b]}\n",
        "configs/deep/er/c.yaml": "c: {script: [c]}\n",
        "configs/d.yaml": "d: {script: [d]}\n",
    }

    def included(pattern: str) -> list[str]:
        return names(load({**tree, ".gitlab-ci.yml": f"include: '{pattern}'\n"}))

    assert included("configs/*.yml") == ["a"]  # one directory only
    assert included("/configs/*.y*ml") == ["a", "d"]
    assert included("configs/**.yml") == ["a", "b"]  # ** crosses directories
    assert included("configs/**/*.yml") == ["b"]  # at least one directory deeper
    assert included("configs/**") == ["a", "d", "b", "c"]  # in path order


def test_wildcard_matching_a_non_yaml_file_is_an_error() -> None:
    config = load(
        {
            ".gitlab-ci.yml": "include: 'ci/*'\n",
            "ci/jobs.yml": "a: {script: [a]}\n",
            "ci/README.md": "# not CI\n",
        }
    )
    assert errors(config.diagnostics) == ["invalid-include"]
    assert names(config) == ["a"]


def test_wildcard_matching_nothing_warns() -> None:
    config = load({".gitlab-ci.yml": "include: 'ci/*.yml'\nbuild: {script: [x]}\n"})
    assert warnings(config.diagnostics) == ["include-matches-nothing"]


def test_missing_local_include_is_located_and_loading_goes_on() -> None:
    config = load(
        """
        include:
          - local: ci/missing.yml
        build: {script: [make]}
        """
    )
    problem = only(config.diagnostics, "missing-include")
    assert problem.location is not None
    assert (problem.location.file, problem.location.line) == (".gitlab-ci.yml", 3)
    assert names(config) == ["build"]


def test_non_yaml_extension_is_an_error() -> None:
    config = load({".gitlab-ci.yml": "include: ci/jobs.json\nb: {script: [x]}\n"})
    assert errors(config.diagnostics) == ["invalid-include"]


def test_include_cycle_is_an_error() -> None:
    config = load(
        {
            ".gitlab-ci.yml": "include: a.yml\nb: {script: [x]}\n",
            "a.yml": "include: b.yml\n",
            "b.yml": "include: a.yml\n",
        }
    )
    problem = only(config.diagnostics, "include-cycle")
    assert "a.yml -> b.yml -> a.yml" in problem.message


def test_duplicates_count_towards_the_150_limit() -> None:
    entries = "\n".join("  - a.yml" for _ in range(MAX_INCLUDES))
    ok = load({".gitlab-ci.yml": f"include:\n{entries}\n", "a.yml": "a: {script: [a]}\n"})
    assert ok.ok
    too_many = load(
        {".gitlab-ci.yml": f"include:\n{entries}\n  - a.yml\n", "a.yml": "a: {script: [a]}\n"}
    )
    problem = only(too_many.diagnostics, "too-many-includes")
    assert problem.location is not None
    assert problem.location.line == MAX_INCLUDES + 2


def test_nested_includes_count_too() -> None:
    # 151 files, each including the next: the last one is over the limit.
    tree = {f"f{i}.yml": f"include: f{i + 1}.yml\n" for i in range(MAX_INCLUDES)}
    tree[f"f{MAX_INCLUDES}.yml"] = "j: {script: [x]}\n"
    tree[".gitlab-ci.yml"] = "include: f0.yml\nb: {script: [x]}\n"
    assert errors(load(tree).diagnostics) == ["too-many-includes"]


def test_include_rules_pick_one_of_two_files() -> None:
    tree = {
        ".gitlab-ci.yml": """
        include:
          - local: canonical.yml
            rules:
              - if: $CI_PROJECT_PATH == "group/project"
          - local: fork.yml
            rules:
              - if: $CI_PROJECT_PATH == "group/project"
                when: never
              - if: $CI_PROJECT_PATH
        build: {script: [x]}
        """,
        "canonical.yml": "canonical: {script: [x]}\n",
        "fork.yml": "fork: {script: [x]}\n",
    }
    assert names(load(tree, variables={"CI_PROJECT_PATH": "group/project"})) == [
        "canonical",
        "build",
    ]
    assert names(load(tree, variables={"CI_PROJECT_PATH": "someone/project"})) == [
        "fork",
        "build",
    ]
    # no rule matches when the variable is empty: neither file
    assert names(load(tree, variables={"CI_PROJECT_PATH": ""})) == ["build"]


def test_include_rules_do_not_see_yaml_variables() -> None:
    tree = {
        ".gitlab-ci.yml": """
        variables: {USE_EXTRA: "yes"}
        include:
          - local: extra.yml
            rules: [{if: $USE_EXTRA}]
        build: {script: [x]}
        """,
        "extra.yml": "extra: {script: [x]}\n",
    }
    assert names(load(tree)) == ["build"]
    assert names(load(tree, variables={"USE_EXTRA": "1"})) == ["extra", "build"]


def test_include_rules_exists_and_changes() -> None:
    tree = {
        ".gitlab-ci.yml": """
        include:
          - local: docs.yml
            rules: [{exists: ["docs/**/*.md"]}]
          - local: go.yml
            rules: [{exists: ["*.go"]}]
          - local: changed.yml
            rules: [{changes: ["src/*"]}]
        build: {script: [x]}
        """,
        "docs.yml": "docs: {script: [x]}\n",
        "go.yml": "go: {script: [x]}\n",
        "changed.yml": "changed: {script: [x]}\n",
        "docs/guide/intro.md": "hello\n",
    }
    # changes hold when the change set is unknown
    assert names(load(tree)) == ["docs", "changed", "build"]
    assert names(load(tree, changed=("README.md",))) == ["docs", "build"]
    assert names(load(tree, changed=("src/main.c",))) == ["docs", "changed", "build"]


def test_include_rules_bad_when_and_bad_if() -> None:
    tree = {
        ".gitlab-ci.yml": """
        include:
          - local: a.yml
            rules: [{if: '$A == "1"', when: manual}]
          - local: a.yml
            rules: [{if: '${A} == "1"'}]
        build: {script: [x]}
        """,
        "a.yml": "a: {script: [x]}\n",
    }
    assert errors(load(tree).diagnostics) == ["invalid-rule", "invalid-rule-if"]


def test_variables_are_expanded_in_include_paths() -> None:
    tree = {
        ".gitlab-ci.yml": "include: ci/$CI_COMMIT_REF_NAME.yml\nb: {script: [x]}\n",
        "ci/main.yml": "main-only: {script: [x]}\n",
    }
    assert names(load(tree)) == ["main-only", "b"]


def test_bad_include_entries() -> None:
    config = load(
        """
        include:
          - 42
          - {local: a.yml, project: x/y}
          - {file: a.yml}
          - {project: group/p}
          - {local: [a.yml]}
          - {local: a.yml, colour: red}
        b: {script: [x]}
        """
    )
    assert errors(config.diagnostics) == [
        "invalid-include",
        "invalid-include",
        "invalid-include",
        "invalid-include",
        "invalid-include",
        "missing-include",
    ]
    assert warnings(config.diagnostics) == ["unknown-keyword"]


@pytest.mark.parametrize(
    ("entry", "what"),
    [
        ("{project: group/lib, ref: v1, file: /ci/lib.yml}", "project 'group/lib' (ref v1)"),
        ("{remote: 'https://example.com/ci.yml'}", "remote 'https://example.com/ci.yml'"),
        ("'https://example.com/ci.yml'", "remote 'https://example.com/ci.yml'"),
        ("{template: Auto-DevOps.gitlab-ci.yml}", "template 'Auto-DevOps.gitlab-ci.yml'"),
        (
            "{component: $CI_SERVER_FQDN/group/comp/build@1.0}",
            "component 'gitlab.example.com/group/comp/build@1.0'",
        ),
    ],
)
def test_external_includes_are_reported_unavailable_with_their_location(
    entry: str, what: str
) -> None:
    config = load(f"variables: {{}}\ninclude:\n  - {entry}\nbuild: {{script: [x]}}\n")
    assert config.ok
    problem = only(config.diagnostics, "unavailable-include")
    assert problem.message.startswith(what)
    assert problem.location is not None
    assert (problem.location.file, problem.location.line) == (".gitlab-ci.yml", 3)
    assert names(config) == ["build"]


def test_mirror_layout_for_projects_components_remote_and_templates() -> None:
    main = """
    include:
      - project: group/lib
        ref: v1
        file: [/ci/a.yml, ci/b.yml]
      - project: group/other
        file: ci/c.yml
      - component: gitlab.example.com/group/comp/build@1.0
        inputs: {stage: test}
      - component: gitlab.example.com/group/comp/lint@2.0
      - remote: https://example.com/path/remote.yml
      - template: Jobs/Thing.gitlab-ci.yml
    """
    mirror = {
        "group/lib@v1/ci/a.yml": "from-lib-a: {script: [x]}\n",
        "group/lib/ci/b.yml": "from-lib-b: {script: [x]}\n",  # no @v1 copy: the plain one is used
        "group/other/ci/c.yml": "include: ci/nested.yml\n",
        "group/other/ci/nested.yml": "from-other-nested: {script: [x]}\n",
        "group/comp@1.0/templates/build.yml": (
            "spec:\n  inputs:\n    stage: {}\n---\ncomp-build:\n  stage: $[[ inputs.stage ]]\n"
            "  script: [x]\n"
        ),
        "group/comp/templates/lint/template.yml": "comp-lint: {script: [x]}\n",
        "remote/example.com/path/remote.yml": "include: local-from-remote.yml\n",
        "templates/Jobs/Thing.gitlab-ci.yml": "from-template: {script: [x]}\n",
    }
    config = load(
        {".gitlab-ci.yml": main, "local-from-remote.yml": "remote-nested: {script: [x]}\n"},
        mirror=mirror,
    )
    assert config.ok, config.diagnostics
    assert names(config) == [
        "from-lib-a",
        "from-lib-b",
        "from-other-nested",  # a nested local include of a project file is in that project
        "comp-build",
        "comp-lint",
        "remote-nested",  # a nested local include of a remote file is in the including project
        "from-template",
    ]
    assert job(config, "comp-build").stage == "test"
    assert "group/other/ci/nested.yml" in config.files


def test_mirror_without_the_file_still_reports_unavailable() -> None:
    config = load(
        "include: {project: group/lib, file: ci/a.yml}\nb: {script: [x]}\n",
        mirror={"group/elsewhere/ci/a.yml": "x: {script: [x]}\n"},
    )
    assert warnings(config.diagnostics) == ["unavailable-include"]


def test_jobs_extending_templates_of_unavailable_includes_load_incomplete() -> None:
    config = load(
        """
        include:
          - project: group/templates
            file: ci.yml
        build:
          extends: .remote-template
          variables: {A: "1"}
        test:
          extends: [.remote-template, .local]
        .local: {script: [make test]}
        """
    )
    assert config.ok
    assert warnings(config.diagnostics) == [
        "unavailable-include",  # line 2
        "incomplete-job",  # line 5: build has no script of its own
        "unresolved-extends",  # line 6
        "unresolved-extends",  # line 9
    ]
    assert job(config, "build").unresolved == (".remote-template",)
    assert job(config, "test").unresolved == (".remote-template",)
    assert job(config, "test").script == ("make test",)


def test_missing_extends_target_is_an_error_when_every_include_resolved() -> None:
    config = load("build:\n  extends: .remote-template\n  script: [x]\n")
    assert errors(config.diagnostics) == ["missing-extends"]
