"""No configuration, however wrong, makes the loader or the planner raise.

Hypothesis builds YAML trees from the dialect's own keywords with values of
every shape (right and wrong); loading and planning must turn every mistake
into diagnostics.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialect_fixtures import plan_of
from gatehouse.core.config import MemoryFiles, load_config

JOB_KEYS = [
    "script", "before_script", "after_script", "stage", "needs", "rules", "only", "except",
    "when", "allow_failure", "retry", "timeout", "parallel", "variables", "tags", "artifacts",
    "cache", "image", "services", "dependencies", "extends", "trigger", "environment",
    "inherit", "coverage", "interruptible", "resource_group", "start_in", "unknown",
]  # fmt: skip
RULE_KEYS = ["if", "changes", "exists", "when", "allow_failure", "variables", "needs", "start_in"]
SUBKEYS = [
    *RULE_KEYS, "job", "matrix", "paths", "name", "key", "files", "reports", "exit_codes", "max",
    "entrypoint", "project", "file", "local", "remote", "component", "rules", "inputs", "optional",
    "artifacts", "parallel", "default", "variables", "expand", "value", "compare_to", "refs",
    "kubernetes", "policy", "junit", "include", "strategy", "forward", "url", "alias", "command",
    "prefix", "untracked", "expire_in", "spec", "options", "type", "regex", "description",
]  # fmt: skip
NAMES = st.sampled_from(["build", "test", ".tmpl", "deploy", "a b", "x"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 300),
    st.sampled_from(
        [
            "",
            "x",
            "build",
            ".tmpl",
            "manual",
            "delayed",
            "$A == 'x'",
            "${A}",
            "$A =~ /(/",
            "/^a.*/",
            "1h",
            "*.c",
            "matrix",
            "never",
        ]
    ),
)


def _values(depth: int = 2) -> st.SearchStrategy[Any]:
    if depth == 0:
        return SCALARS
    inner = _values(depth - 1)
    return st.one_of(
        SCALARS,
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(SUBKEYS), inner, max_size=3),
    )


JOBS = st.dictionaries(st.sampled_from(JOB_KEYS), _values(), max_size=6)
TOP = st.dictionaries(
    st.one_of(NAMES, st.sampled_from(["stages", "variables", "workflow", "default", "include"])),
    st.one_of(JOBS, _values()),
    max_size=5,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=TOP)
def test_loading_and_planning_never_raise(tree: dict[str, Any]) -> None:
    text = yaml.safe_dump(tree, sort_keys=False)
    config = load_config(MemoryFiles({".gitlab-ci.yml": text, "a.yml": text}))
    for kwargs in ({}, {"all_jobs": True}, {"event": "merge_request_event", "ref": "t"}):
        plan_of(config, **kwargs)


def test_unknown_stage_job_is_left_out_of_the_plan() -> None:
    config = load_config(
        MemoryFiles({".gitlab-ci.yml": "a: {stage: nowhere, script: [x]}\nb: {script: [x]}\n"})
    )
    assert not config.ok
    assert [j.name for j in plan_of(config).jobs] == ["b"]
