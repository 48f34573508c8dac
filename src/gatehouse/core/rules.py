"""Deciding whether a job is in a pipeline: ``rules``, legacy ``only``/``except``, ``workflow``.

``rules`` are evaluated in order and the first rule whose conditions all hold
decides: its ``when`` (``never`` excludes the job), ``allow_failure``,
``variables``, ``needs``, ``interruptible`` and ``start_in`` apply. Within a
rule, ``if``, ``changes`` and ``exists`` are ANDed; a rule with none of them
always matches. When no rule matches, the job is not in the pipeline.

``rules:changes`` holds whenever the change set is unknown and, as in GitLab,
for pipelines that are not branch pushes or merge requests (tags, schedules,
web, API, triggers, a new branch) — unless ``compare_to`` names a ref, in
which case the diff against that ref is used, whatever the pipeline.

Jobs without ``rules`` use ``only``/``except``. A job without ``rules`` and
without ``only`` behaves as ``only: [branches, tags]`` — so it is *not* in
merge-request pipelines — unless the configuration has ``workflow:rules``,
which drop that default (GitLab MR !21742). The entries of one key are ORed;
``only`` needs every key to hold, while ``except`` excludes the job as soon as
*one* of its keys holds (GitLab's code, not its documentation).

Where ``when: manual`` is written decides whether the job blocks the
pipeline: at job level it defaults to ``allow_failure: true``; set by a rule
it keeps the job's own default, ``allow_failure: false``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from gatehouse.core.expressions import ExpressionError, translate_regex
from gatehouse.core.globs import any_match
from gatehouse.core.model import (
    AllowFailure,
    Changes,
    JobSpec,
    Need,
    OnlyExcept,
    PipelineContext,
    Rule,
)
from gatehouse.core.variables import Variable

Lookup = Callable[[str], str | None]
DEFAULT_ONLY = OnlyExcept(refs=("branches", "tags"))
_DIFF_EVENTS = ("push", "merge_request_event", "external_pull_request_event")


@dataclass(frozen=True, slots=True)
class RuleFacts:
    """What rule conditions may look at, beyond variables."""

    context: PipelineContext
    files: Sequence[str]  # the project's files, for `exists`
    changes_against: Mapping[str, tuple[str, ...]]  # compare_to ref → changed files
    # GitLab drops the implicit `only: [branches, tags]` when workflow:rules exist.
    default_only: bool = True


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of ``rules``/``only``/``except`` for one job."""

    included: bool
    when: str
    allow_failure: AllowFailure
    variables: tuple[Variable, ...] = ()
    needs: tuple[Need, ...] | None = None
    needs_from_rule: bool = False
    interruptible: bool | None = None
    start_in: str | None = None
    rule: Rule | None = None
    reason: str = ""


def changes_hold(changes: Changes, facts: RuleFacts) -> bool:
    ctx = facts.context
    if changes.compare_to is not None:
        changed = facts.changes_against.get(changes.compare_to)
        if changed is None:
            return True
        return any_match(changes.paths, changed)
    if ctx.is_tag or ctx.event not in _DIFF_EVENTS or ctx.changed_files is None:
        return True
    return any_match(changes.paths, ctx.changed_files)


def rule_matches(rule: Rule, lookup: Lookup, facts: RuleFacts) -> bool:
    if rule.if_ is not None and not rule.if_.evaluate(lookup):
        return False
    if rule.changes is not None and not changes_hold(rule.changes, facts):
        return False
    return not (rule.exists is not None and not any_match(rule.exists, facts.files))


def first_match(rules: Sequence[Rule], lookup: Lookup, facts: RuleFacts) -> Rule | None:
    for rule in rules:
        if rule_matches(rule, lookup, facts):
            return rule
    return None


def _default_allow_failure(job: JobSpec) -> AllowFailure:
    return job.allow_failure or AllowFailure(job.when == "manual")


def decide(job: JobSpec, lookup: Lookup, facts: RuleFacts) -> Decision:
    """Whether and how ``job`` is in the pipeline described by ``facts``."""
    if job.rules is not None:
        rule = first_match(job.rules, lookup, facts)
        if rule is None:
            return Decision(False, "never", AllowFailure(False), reason="no rule matched")
        when = rule.when or job.when
        if when == "never":
            where = f" at {rule.loc}" if rule.loc else ""
            return Decision(
                False,
                "never",
                AllowFailure(False),
                rule=rule,
                reason=f"rule{where} says when: never",
            )
        return Decision(
            True,
            when,
            rule.allow_failure or _default_allow_failure(job),
            variables=rule.variables,
            needs=rule.needs if rule.needs is not None else job.needs,
            needs_from_rule=rule.needs is not None,
            interruptible=rule.interruptible
            if rule.interruptible is not None
            else job.interruptible,
            start_in=rule.start_in or job.start_in,
            rule=rule,
            reason=f"rule at {rule.loc} matched" if rule.loc else "a rule matched",
        )
    only = job.only
    if only is None and facts.default_only:
        only = DEFAULT_ONLY
    if only is not None and not only_matches(only, lookup, facts):
        return Decision(False, "never", AllowFailure(False), reason="only: does not match")
    if job.except_ is not None and except_matches(job.except_, lookup, facts):
        return Decision(False, "never", AllowFailure(False), reason="except: matches")
    return Decision(
        True,
        job.when,
        _default_allow_failure(job),
        needs=job.needs,
        interruptible=job.interruptible,
        start_in=job.start_in,
        reason="only/except",
    )


def _pluralize(word: str) -> str:
    """ActiveSupport's plural for the pipeline-source words GitLab compares (push → pushes)."""
    if word.endswith(("s", "sh", "ch", "x", "z")):
        return word + "es"
    return word + "s"


def _ref_matches(pattern: str, ctx: PipelineContext) -> bool:
    """One ``only``/``except`` ``refs`` entry, as GitLab's ``Policy::Refs`` decides it.

    ``tags`` and ``branches`` match tag and branch pipelines (a schedule on a
    branch is a branch pipeline; a merge-request pipeline is neither); any
    other keyword is the pipeline source without ``_event``, singular or
    plural (``pushes``, ``schedules``, ``merge_requests``, ``web``, ``api`` …);
    otherwise the entry is a branch or tag name, or a ``/regex/``, and matches
    only branch and tag pipelines. ``name@group/project`` also requires the
    project path.
    """
    name, _, project = pattern.partition("@")
    if project and project != ctx.project_path:
        return False
    branch = not ctx.is_tag and ctx.event != "merge_request_event"
    if name == "tags" and ctx.is_tag:
        return True
    if name == "branches" and branch:
        return True
    source = ctx.event.removesuffix("_event")
    if name in (source, _pluralize(source)):
        return True
    if source == "external_pull_request" and name == "merge_requests":
        return True
    if not (branch or ctx.is_tag):
        return False
    m = re.fullmatch(r"/(.*)/([ismU]*)", name)
    if m:
        try:
            return translate_regex(m.group(1), m.group(2)).search(ctx.ref) is not None
        except ExpressionError:
            return name == ctx.ref
    return name == ctx.ref


def _policies(spec: OnlyExcept, lookup: Lookup, facts: RuleFacts) -> list[bool]:
    """One answer per key given (refs, variables, changes, kubernetes), entries ORed within."""
    ctx = facts.context
    answers = []
    if spec.refs:
        answers.append(any(_ref_matches(r, ctx) for r in spec.refs))
    if spec.variables:
        answers.append(any(expr.evaluate(lookup) for expr in spec.variables))
    if spec.changes:
        answers.append(changes_hold(Changes(spec.changes), facts))
    if spec.kubernetes is not None:
        # `kubernetes: active` needs a project with an active Kubernetes
        # integration, which a gatehouse project never has.
        answers.append(False)
    return answers


def only_matches(spec: OnlyExcept, lookup: Lookup, facts: RuleFacts) -> bool:
    """``only``: every key given must hold (AND); within a key, any entry (OR)."""
    return all(_policies(spec, lookup, facts))


def except_matches(spec: OnlyExcept, lookup: Lookup, facts: RuleFacts) -> bool:
    """``except``: the job is excluded when *any* key given holds.

    This is what GitLab's code does (``@except.none? { … satisfied_by? }``, one
    policy per key), although its documentation describes ``except`` as the
    negation of the ANDed keys.
    """
    return any(_policies(spec, lookup, facts))
