"""The dialect's documentation names everything the code emits, so the two cannot drift apart."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from dialect_fixtures import load, plan_of
from gatehouse.core.config.jobs import GLOBAL_KEYWORDS, JOB_KEYWORDS, KEPT_KEYWORDS
from gatehouse.core.model import MergeRequest, PipelineContext
from gatehouse.core.planjson import pipeline_to_json
from gatehouse.core.predefined import PERSISTED, job_variables, pipeline_variables

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


# The modules of the dialect (loader, planner, lint and plan); other parts of the
# system document their own diagnostics.
DIALECT_SOURCES = [
    *sorted((ROOT / "src" / "gatehouse" / "core" / "config").glob("*.py")),
    *(
        ROOT / "src" / "gatehouse" / "core" / f"{name}.py"
        for name in ("planner", "rules", "expressions", "variables", "predefined", "planjson")
    ),
    *(ROOT / "src" / "gatehouse" / "cli" / f"{name}.py" for name in ("lint", "plan", "project")),
]


def _codes_in_source() -> set[str]:
    """Every diagnostic code passed to error()/warning()/info() by the dialect's modules."""
    codes: set[str] = set()
    for path in DIALECT_SOURCES:
        if path.exists():
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in ("error", "warning", "info")
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    codes.add(node.args[0].value)
    return codes


def _backticked(text: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", text))


def test_every_diagnostic_code_is_documented() -> None:
    documented = _backticked((DOCS / "configuration.md").read_text())
    codes = _codes_in_source()
    assert len(codes) > 60
    assert sorted(codes - documented) == []


def test_every_keyword_is_in_the_keyword_table() -> None:
    documented = _backticked((DOCS / "configuration.md").read_text())
    keywords = (JOB_KEYWORDS | KEPT_KEYWORDS | GLOBAL_KEYWORDS) - {"spec"}
    assert sorted(keywords - documented) == []
    assert "spec:inputs" in documented


def test_every_predefined_variable_is_in_the_table() -> None:
    documented = (DOCS / "variables.md").read_text()
    contexts = [
        PipelineContext(),
        PipelineContext(ref="v1", is_tag=True),
        PipelineContext(
            ref="t", event="merge_request_event", merge_request=MergeRequest("t", "main")
        ),
    ]
    names = {name for ctx in contexts for name in pipeline_variables(ctx)}
    config = load("a: {script: [x], parallel: 2}\n")
    names |= set(job_variables(config.jobs[0], "on_success")) | set(PERSISTED)
    assert sorted(n for n in names if f"`{n}`" not in documented) == []


def test_every_plan_json_field_is_documented() -> None:
    documented = _backticked((DOCS / "plan-json.md").read_text())
    document = pipeline_to_json(plan_of("a: {script: [x]}\n"))
    fields = set(document) | set(document["context"]) | set(document["jobs"][0])
    assert sorted(fields - documented) == []
