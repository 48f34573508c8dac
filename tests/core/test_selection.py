"""Which jobs `gatehouse run [JOB…] [--needs] [--stage S]` covers."""

from __future__ import annotations

from gatehouse.core.config import MemoryFiles, load_config
from gatehouse.core.model import PipelineContext
from gatehouse.core.planner import PlanOptions, plan
from gatehouse.core.selection import select

YAML = """
stages: [build, test, deploy]
build: {stage: build, script: [x]}
docs: {stage: build, script: [x]}
unit: {stage: test, script: [x], needs: [build], parallel: 2}
lint: {stage: test, script: [x]}
deploy: {stage: deploy, script: [x], needs: [unit]}
"""


def pipeline():
    cfg = load_config(MemoryFiles({".gitlab-ci.yml": YAML}))
    return plan(cfg, PipelineContext(), PlanOptions())


def test_everything_by_default() -> None:
    s = select(pipeline())
    assert s.jobs == {"build", "docs", "unit 1/2", "unit 2/2", "lint", "deploy"}
    assert s.named == frozenset()


def test_base_name_selects_all_instances() -> None:
    s = select(pipeline(), ["unit"])
    assert s.jobs == {"unit 1/2", "unit 2/2"}


def test_needs_closure_follows_needs_and_stage_order() -> None:
    assert select(pipeline(), ["deploy"], with_needs=True).jobs == {
        "deploy",
        "unit 1/2",
        "unit 2/2",
        "build",
    }
    # lint has no needs: it downloads artifacts from every earlier-stage job.
    assert select(pipeline(), ["lint"], with_needs=True).jobs == {"lint", "build", "docs"}


def test_stage_selection_and_unknown_names() -> None:
    s = select(pipeline(), ["deplyo"], stage="build")
    assert s.jobs == {"build", "docs"}
    assert s.unknown == (("deplyo", "deploy"),)
    assert select(pipeline(), stage="nope").unknown[0][0] == "stage nope"
