"""Deciding whether a job is in a pipeline: ``rules``, legacy ``only``/``except``, ``workflow``.

``rules`` are evaluated in order and the first rule whose conditions all hold
decides: its ``when`` (``never`` excludes the job), ``allow_failure``,
``variables``, ``needs``, ``interruptible`` and ``start_in`` apply. Within a
rule, ``if``, ``changes`` and ``exists`` are ANDed; a rule with none of them
always matches. When no rule matches, the job is not in the pipeline.

``rules:changes`` holds whenever the change set is unknown and, as in GitLab,
for pipelines that are not pushes or merge requests (tags, schedules, web,
API, triggers) — unless ``compare_to`` names a ref, in which case the diff
against that ref is used.

Jobs without ``rules`` use ``only``/``except``; a job with none of the three
behaves as ``only: [branches, tags]``, so it is *not* in merge-request
pipelines. Conditions of several ``only`` keys are ANDed, the entries of one
key ORed; ``except`` excludes when all its keys match.

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
_DIFF_EVENTS = ("push", "merge_request_event", "external_pull_request_event")


@dataclass(frozen=True, slots=True)
class RuleFacts:
    """What rule conditions may look at, beyond variables."""

    context: PipelineContext
    files: Sequence[str]  # the project's files, for `exists`
    changes_against: Mapping[str, tuple[str, ...]]  # compare_to ref → changed files


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
    if ctx.event not in _DIFF_EVENTS or ctx.changed_files is None:
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
    if only is None and job.except_ is None:
        only = OnlyExcept(refs=("branches", "tags"))
    if only is not None and not only_matches(only, lookup, facts):
        return Decision(False, "never", AllowFailure(False), reason="only: does not match")
    if job.except_ is not None and only_matches(job.except_, lookup, facts):
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


_REF_KEYWORDS: dict[str, Callable[[PipelineContext], bool]] = {
    "branches": lambda c: not c.is_tag and c.event != "merge_request_event",
    "tags": lambda c: c.is_tag,
    "merge_requests": lambda c: c.event == "merge_request_event",
    "schedules": lambda c: c.event == "schedule",
    "web": lambda c: c.event == "web",
    "api": lambda c: c.event == "api",
    "triggers": lambda c: c.event == "trigger",
    "pushes": lambda c: c.event == "push",
    "pipelines": lambda c: c.event in ("pipeline", "parent_pipeline"),
    "chat": lambda c: c.event == "chat",
    "external": lambda c: c.event == "external",
    "external_pull_requests": lambda c: c.event == "external_pull_request_event",
}


def _ref_matches(pattern: str, ctx: PipelineContext) -> bool:
    keyword = _REF_KEYWORDS.get(pattern)
    if keyword is not None:
        return keyword(ctx)
    name, _, project = pattern.partition("@")
    if project and project != ctx.project_path:
        return False
    ref = (
        ctx.merge_request.source_branch
        if ctx.merge_request and ctx.event == "merge_request_event"
        else ctx.ref
    )
    m = re.fullmatch(r"/(.+)/([a-zA-Z]*)", name, re.DOTALL)
    if m:
        try:
            return translate_regex(m.group(1), m.group(2)).search(ref) is not None
        except ExpressionError:
            return False
    return name == ref


def only_matches(spec: OnlyExcept, lookup: Lookup, facts: RuleFacts) -> bool:
    """All keys given must match (AND); within a key, any entry (OR)."""
    ctx = facts.context
    if spec.refs and not any(_ref_matches(r, ctx) for r in spec.refs):
        return False
    if spec.variables and not any(expr.evaluate(lookup) for expr in spec.variables):
        return False
    return not (spec.changes and not changes_hold(Changes(spec.changes), facts))
