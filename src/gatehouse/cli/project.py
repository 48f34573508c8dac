"""Shared by ``lint``, ``plan`` and ``run``: the project, its configuration and the pipeline context.

Command-line flags are turned here, once, into the pure inputs of the core:
a :class:`ProjectFiles` for the project, an :class:`IncludeContext` for
loading, a :class:`PipelineContext` and :class:`PlanOptions` for planning.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gatehouse.errors import UsageError

if TYPE_CHECKING:  # the core is imported when a command runs, not when --help is built
    from gatehouse.core.model import PipelineConfig, PipelineContext
    from gatehouse.core.planner import PlanOptions
    from gatehouse.core.ports import ProjectFiles

EVENTS = ("push", "merge_request_event", "schedule", "web", "api", "trigger", "pipeline")


def add_project_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir", nargs="?", default=".", metavar="DIR", help="project directory (default: .)"
    )
    parser.add_argument(
        "--file",
        "-f",
        default=".gitlab-ci.yml",
        metavar="PATH",
        help="pipeline file, relative to DIR (default: .gitlab-ci.yml)",
    )
    parser.add_argument(
        "--include-dir",
        metavar="DIR",
        help="mirror of external includes (project/remote/template/component); see docs/configuration.md",
    )


def add_context_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pipeline context")
    group.add_argument(
        "--ref", help="branch or tag the pipeline is for (default: the current branch)"
    )
    group.add_argument(
        "--tag",
        action="store_true",
        help="treat --ref as a tag (detected automatically when it is one)",
    )
    group.add_argument(
        "--event", choices=EVENTS, default="push", help="pipeline source (default: push)"
    )
    group.add_argument(
        "--target-branch",
        metavar="BRANCH",
        help="target branch of a merge_request_event (default: the default branch)",
    )
    changed = group.add_mutually_exclusive_group()
    changed.add_argument(
        "--changed", nargs="+", metavar="PATH", help="the changed files, for rules:changes"
    )
    changed.add_argument(
        "--changed-from",
        metavar="REV",
        help="changed files = diff between REV (merge base) and HEAD plus uncommitted changes",
    )
    group.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a pipeline variable (highest precedence); repeatable",
    )


def parse_vars(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--var {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class Project:
    root: Path
    main_file: str
    config: PipelineConfig
    context: PipelineContext
    options: PlanOptions
    files: list[str]


def open_project(args: argparse.Namespace, *, evaluate_rules: bool = True) -> Project:
    """Read the repository, load the configuration and build the context from flags."""
    from gatehouse.core.model import MergeRequest, PipelineContext
    from gatehouse.vcs import facts as git_facts
    from gatehouse.vcs.files import DirectoryFiles, WorkingTreeFiles

    root = Path(args.dir).resolve()
    if not root.is_dir():
        raise UsageError(f"{args.dir}: not a directory")
    facts = git_facts.read_facts(root)
    variables = parse_vars(getattr(args, "var", []) or [])
    ref = getattr(args, "ref", None) or facts.branch or facts.default_branch
    is_tag = bool(getattr(args, "tag", False)) or (
        facts.is_git and getattr(args, "ref", None) is not None and git_facts.ref_is_tag(root, ref)
    )
    event = getattr(args, "event", "push") or "push"
    merge_request = None
    if event == "merge_request_event":
        target = getattr(args, "target_branch", None) or facts.default_branch
        merge_request = MergeRequest(
            source_branch=ref, target_branch=target, title=facts.message.partition("\n")[0]
        )
    changed: tuple[str, ...] | None = None
    if getattr(args, "changed", None):
        changed = tuple(p.removeprefix("./") for p in args.changed)
    elif getattr(args, "changed_from", None):
        changed = git_facts.changed_files(root, args.changed_from)
    elif facts.is_git and merge_request is not None:
        try:
            changed = git_facts.changed_files(root, merge_request.target_branch)
        except UsageError:
            changed = None
    elif facts.is_git and event == "push":
        up = git_facts.upstream(root)
        changed = git_facts.changed_files(root, up) if up else None
    context = PipelineContext(
        ref=ref,
        is_tag=is_tag,
        event=event,
        sha=facts.sha,
        default_branch=facts.default_branch,
        commit_message=facts.message,
        commit_author=facts.author,
        commit_timestamp=facts.timestamp,
        project_dir=str(root),
        project_name=facts.name or root.name,
        project_namespace=facts.namespace or "local",
        server_host=facts.server_host or "gitlab.example.com",
        changed_files=changed,
        variables=variables,
        merge_request=merge_request,
        config_path=args.file,
    )
    project_files = WorkingTreeFiles(root)
    mirror = DirectoryFiles(args.include_dir) if getattr(args, "include_dir", None) else None
    if mirror is not None and not mirror.root.is_dir():
        raise UsageError(f"--include-dir {args.include_dir}: not a directory")

    def compare_to(ref: str) -> tuple[str, ...] | None:
        if not facts.is_git:
            return None
        try:
            return git_facts.changed_files(root, ref)
        except UsageError:
            return None

    config, options, listing = load_for_context(
        project_files,
        context,
        main_file=args.file,
        mirror=mirror,
        compare_to=compare_to,
        evaluate_rules=evaluate_rules,
    )
    return Project(root, args.file, config, context, options, listing)


def load_for_context(
    files: ProjectFiles,
    context: PipelineContext,
    *,
    main_file: str,
    mirror: ProjectFiles | None,
    compare_to: Callable[[str], tuple[str, ...] | None],
    evaluate_rules: bool = True,
) -> tuple[PipelineConfig, PlanOptions, list[str]]:
    """Load the configuration from ``files`` for ``context``; the planner's options with it.

    Shared by the commands that plan the working tree (``lint``, ``plan``,
    ``run``) and the gate, which plans a speculative commit. ``compare_to``
    gives the changed files against a ref, for ``rules:changes:compare_to``.
    """
    from gatehouse.core.config import IncludeContext, load_config
    from gatehouse.core.planner import PlanOptions
    from gatehouse.core.predefined import pipeline_variables

    variables = dict(context.variables)
    include_vars = {**pipeline_variables(context), **variables}
    config = load_config(
        files,
        main_file=main_file,
        context=IncludeContext(include_vars, context.changed_files),
        mirror=mirror,
    )
    listing = list(files.list_files())
    changes_against: dict[str, tuple[str, ...]] = {}
    for job in config.jobs:
        for rule in job.rules or ():
            ref_to = rule.changes.compare_to if rule.changes else None
            if ref_to and ref_to not in changes_against:
                found = compare_to(ref_to)
                if found is not None:
                    changes_against[ref_to] = found
    options = PlanOptions(
        evaluate_rules=evaluate_rules, files=listing, changes_against=changes_against
    )
    return config, options, listing
