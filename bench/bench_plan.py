"""How long lint + plan take on the largest corpus config, against baselines measured alongside.

Two measurements, each printed with its baseline and the ratio:

1. In process: the median of N runs of ``load_config`` + ``plan`` on
   gitlab-runner's tree (18 files, 125 jobs), and on the same tree with one
   more included file of 25 jobs (150 jobs, the size the target is stated
   for: under 0.3 s of work). Files are read into memory first, so only the
   work is timed. Baseline: parsing the same YAML files with PyYAML's
   composer (the C one when available), which is the least any loader
   must do.
2. As a whole command: ``python -m gatehouse plan --json DIR`` on a copy of
   the tree, against ``python -c pass`` (the interpreter's start-up floor).

Usage: ``python bench/bench_plan.py [--quick] [--runs N] [--corpus DIR]``.
Figures depend on the machine and its load; compare the ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGET_SECONDS = 0.3
EXTRA_FILE = "bench/extra-jobs.gitlab-ci.yml"


def find_corpus(given: str | None) -> Path:
    here = Path(__file__).resolve().parent.parent
    for candidate in (
        given,
        os.environ.get("GATEHOUSE_CORPUS"),
        str(here.parent / "shared" / "corpus"),
        "/work/shared/corpus",
    ):
        if candidate and (Path(candidate) / "gitlab-ci" / "gitlab-runner").is_dir():
            return Path(candidate)
    sys.exit("bench_plan: the corpus is not available (give --corpus DIR or GATEHOUSE_CORPUS)")


def median_seconds(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def read_tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix in (".yml", ".yaml")
    }


def with_extra_jobs(tree: dict[str, str], count: int) -> dict[str, str]:
    """The same tree plus one included file of ``count`` jobs built from its templates."""
    jobs = "".join(
        f"bench job {i}:\n"
        f"  extends: [.go-cache, .rules:merge_request_pipelines:no_docs]\n"
        f"  stage: test\n"
        f"  needs: [binaries]\n"
        f"  script: [make test-{i}]\n"
        for i in range(count)
    )
    out = dict(tree)
    out[EXTRA_FILE] = jobs
    out[".gitlab-ci.yml"] = tree[".gitlab-ci.yml"].replace(
        "include:\n", f"include:\n  - local: /{EXTRA_FILE}\n", 1
    )
    return out


def in_process(tree: dict[str, str], runs: int) -> tuple[float, float, int]:
    import yaml

    from gatehouse.core.config import MemoryFiles, load_config
    from gatehouse.core.model import PipelineContext
    from gatehouse.core.planner import PlanOptions, plan

    files = MemoryFiles(tree)
    context = PipelineContext(
        ref="main", project_namespace="gitlab-org", project_name="gitlab-runner"
    )
    options = PlanOptions(files=files.list_files())
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    jobs = 0

    def lint_and_plan() -> None:
        nonlocal jobs
        config = load_config(files)
        assert config.ok, [d.render() for d in config.diagnostics if d.is_error]
        plan(config, context, options)
        jobs = len(config.jobs)

    def parse_only() -> None:
        for text in tree.values():
            for _ in yaml.compose_all(text, Loader=loader):
                pass

    lint_and_plan()  # warm: imports and caches, as a long-running server has them
    return median_seconds(lint_and_plan, runs), median_seconds(parse_only, runs), jobs


def whole_command(root: Path, runs: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "project"
        shutil.copytree(root, copy)
        command = [sys.executable, "-m", "gatehouse", "plan", "--json", str(copy)]
        floor = [sys.executable, "-c", "pass"]
        # Measure what an installed gatehouse does: with byte-code caches (kept in
        # the temporary directory, even where PYTHONDONTWRITEBYTECODE is set).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")

        def run(argv: list[str]) -> Callable[[], object]:
            return lambda: subprocess.run(argv, check=True, capture_output=True, env=env)

        run(command)()  # warm up: byte-code caches and the file system cache
        return median_seconds(run(command), runs), median_seconds(run(floor), runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (few repetitions)")
    parser.add_argument("--runs", type=int, help="repetitions per measurement (median is kept)")
    parser.add_argument("--corpus", help="the shared corpus directory")
    args = parser.parse_args()
    runs = args.runs or (2 if args.quick else 15)
    root = find_corpus(args.corpus) / "gitlab-ci" / "gitlab-runner"
    tree = read_tree(root)

    print(f"gitlab-runner: {len(tree)} YAML files; median of {runs} runs")
    for label, files in (("as is", tree), ("+25 jobs", with_extra_jobs(tree, 25))):
        work, parse, jobs = in_process(files, runs)
        verdict = "within" if work < TARGET_SECONDS else "OVER"
        print(
            f"  in process, {label:9} {jobs:4d} jobs: lint+plan {work * 1000:7.1f} ms | "
            f"YAML parse only {parse * 1000:6.1f} ms | ratio {work / parse:5.1f}x | "
            f"{verdict} the {TARGET_SECONDS:.1f} s target"
        )
    command, floor = whole_command(root, max(1, runs // 3))
    print(
        f"  whole command: gatehouse plan --json {command * 1000:7.1f} ms | "
        f"python -c pass {floor * 1000:6.1f} ms | ratio {command / floor:5.1f}x | "
        f"above the floor {(command - floor) * 1000:6.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
