"""Answers from the world: speculative merges, build results, classifications, landings.

Each handler records what the answer says about the one item waiting for
it; stale answers (their request or build is no longer current) are ignored.
Job failures go through the flake check here (ClassifyFailure, then a retry
of the job alone, or the item is failing); landings move the tip and the
window.
"""

from __future__ import annotations

from gatehouse.core.gate.commands import ClassifyFailure, ReleaseSpeculativeCommit, StartBuild
from gatehouse.core.gate.draft import Draft
from gatehouse.core.gate.events import (
    BuildFinished,
    FailureClassified,
    JobFailed,
    Landed,
    LandRefused,
    SpeculativeCommitBuilt,
    SpeculativeCommitConflicted,
    TargetMoved,
)
from gatehouse.core.gate.model import (
    AuditAction,
    Build,
    Failure,
    FailureCheck,
    FailureKind,
    Item,
    JobFailure,
    OutcomeKind,
    Presumption,
)


def _find_spec(draft: Draft, request: int) -> Item | None:
    for item in draft.items.values():
        if item.spec_request == request and item.merging:
            return item
    return None


def spec_built(draft: Draft, event: SpeculativeCommitBuilt) -> None:
    item = _find_spec(draft, event.request)
    if item is None:
        # Nobody waits for it any more, but the driver pinned it: let it go.
        draft.emit(ReleaseSpeculativeCommit(event.request, None, event.commit))
        return
    draft.update(item.id, commit=event.commit, tree=event.tree)


def spec_conflicted(draft: Draft, event: SpeculativeCommitConflicted) -> None:
    item = _find_spec(draft, event.request)
    if item is None:
        return
    failure = Failure(
        FailureKind.CONFLICT,
        files=tuple(event.files),
        change=event.change_id,
        evidence=(event.detail,) if event.detail else (),
    )
    item = draft.update(item.id, failure=failure)
    draft.audit(AuditAction.CONFLICT, item, failure.describe(), files=",".join(event.files) or None)


def job_failed(draft: Draft, event: JobFailed) -> None:
    item = draft.item_of_build(event.build)
    if item is None:
        return
    build = next(b for b in item.builds if b.id == event.build)
    _handle_job_failure(draft, item.id, build, event.failure)


def build_finished(draft: Draft, event: BuildFinished) -> None:
    item = draft.item_of_build(event.build)
    if item is None:
        return
    build = next(b for b in item.builds if b.id == event.build)
    item = draft.update(
        item.id,
        builds=tuple(b for b in item.builds if b.id != build.id),
        pipeline_done=item.pipeline_done or build.jobs is None,
    )
    for failure in event.failures:
        _handle_job_failure(draft, item.id, build, failure)
    item = draft.get(item.id)
    failed = {f.job for f in event.failures}
    for check in item.checks:
        if check.retry_build == build.id and check.failure.job not in failed:
            item = draft.update(item.id, checks=tuple(c for c in item.checks if c is not check))
            draft.audit(
                AuditAction.RETRY_PASSED,
                item,
                f"job {check.failure.job} passed on retry; its first failure was a flake",
                job=check.failure.job,
                evidence="; ".join(check.evidence) or None,
            )


def _handle_job_failure(draft: Draft, item_id: int, build: Build, failure: JobFailure) -> None:
    """A voting job failed: ask whether it is a known flake, or mark the item failing."""
    item = draft.get(item_id)
    key = (build.id, failure.job)
    if key in item.seen:
        return
    item = draft.update(item_id, seen=item.seen | {key})
    if item.failure is not None:
        if item.failure.kind is FailureKind.JOBS:
            more = Failure(
                FailureKind.JOBS, (*item.failure.jobs, failure), evidence=item.failure.evidence
            )
            draft.update(item_id, failure=more)
        return
    earlier = next((c for c in item.checks if c.failure.job == failure.job), None)
    evidence = earlier.evidence if earlier is not None else ()
    if item.retries_of(failure.job) >= draft.settings.flaky_retries:
        if draft.settings.flaky_retries:
            evidence = (*evidence, f"still failing after {item.retries_of(failure.job)} retry(ies)")
        _fail(draft, item_id, Failure(FailureKind.JOBS, (failure,), evidence=evidence))
        return
    assert item.commit is not None
    assert item.base_commit is not None
    request = draft.new_id()
    check = FailureCheck(failure, request=request, evidence=evidence)
    others = tuple(c for c in item.checks if c.failure.job != failure.job)
    draft.update(item_id, checks=(*others, check))
    draft.emit(
        ClassifyFailure(
            request,
            item_id,
            build.id,
            item.commit,
            item.base_commit,
            item.change_ids,
            failure,
        )
    )


def failure_classified(draft: Draft, event: FailureClassified) -> None:
    found = [
        (item, check)
        for item in draft.items.values()
        for check in item.checks
        if check.request == event.request
    ]
    if not found:
        return
    item, check = found[0]
    evidence = (*check.evidence, event.evidence) if event.evidence else check.evidence
    others = tuple(c for c in item.checks if c is not check)
    if not event.flaky:
        draft.update(item.id, checks=others)
        reason = event.evidence or "not a known flake"
        _fail(
            draft,
            item.id,
            Failure(FailureKind.JOBS, (check.failure,), evidence=(*check.evidence, reason)),
        )
        return
    commit, base = item.commit, item.base_commit
    assert commit is not None
    assert base is not None
    job = check.failure.job
    build = draft.new_id()
    retries = dict(item.retries)
    retries[job] = retries.get(job, 0) + 1
    item = draft.update(
        item.id,
        checks=(*others, FailureCheck(check.failure, retry_build=build, evidence=evidence)),
        retries=tuple(sorted(retries.items())),
        builds=(*item.builds, Build(build, (job,), draft.now)),
    )
    draft.emit(StartBuild(build, item.id, commit, base, item.changes, (job,)))
    draft.audit(
        AuditAction.RETRY,
        item,
        f"job {job} failed and matches a known flake; retrying it alone "
        f"({retries[job]}/{draft.settings.flaky_retries})",
        job=job,
        build=build,
        evidence=event.evidence or None,
    )


def _fail(draft: Draft, item_id: int, failure: Failure) -> None:
    item = draft.update(item_id, failure=failure, checks=())
    draft.audit(
        AuditAction.FAIL,
        item,
        failure.describe(),
        evidence="; ".join(failure.evidence) or None,
    )
    if draft.settings.fail_fast and item.builds:
        draft.cancel_builds(item)
        draft.update(item_id, builds=())


def _find_landing(draft: Draft, request: int) -> Item | None:
    for item in draft.items.values():
        if item.landing == request:
            return item
    return None


def landed(draft: Draft, event: Landed) -> None:
    item = _find_landing(draft, event.request)
    if item is None:
        return
    assert item.commit is not None
    draft.tip = item.commit
    draft.consecutive_failures = 0
    before = draft.window
    draft.window = draft.settings.grow(draft.window)
    landed = set(item.change_ids)
    for other_id in draft.order:
        other = draft.items[other_id]
        changes: dict[str, object] = {}
        if other.parent == item.id:
            # Its base was this item's commit, which is now the tip: nothing to redo.
            changes["parent"] = None
        if other.presumed is not None:
            changes["presumed"] = Presumption(
                other.presumed.changes - landed, other.presumed.car, other.presumed.failure
            )
        if changes:
            draft.update(other_id, **changes)
    draft.audit(
        AuditAction.MERGE,
        item,
        f"{draft.settings.target_branch} fast-forwarded to the tested commit",
        commit=item.commit,
        window_before=before,
        window=draft.window,
    )
    draft.remove(item.id, OutcomeKind.MERGED, f"merged as {item.commit}", item.commit)


def target_moved(draft: Draft, event: TargetMoved) -> None:
    item = _find_landing(draft, event.request)
    if item is None:
        return
    draft.update(item.id, landing=None)
    target_moved_to(
        draft,
        event.tip,
        f"landing #{item.id} found {draft.settings.target_branch} at {event.tip}, "
        f"not at the tested base {draft.tip}; everything is re-tested (never replayed)",
    )


def land_refused(draft: Draft, event: LandRefused) -> None:
    item = _find_landing(draft, event.request)
    if item is None:
        return
    draft.update(item.id, landing=None)
    item = draft.get(item.id)
    draft.audit(AuditAction.LAND_REFUSED, item, event.reason)
    draft.reset(item.id, AuditAction.RESTART, "landing was refused; re-tested after resume")
    draft.paused = f"landing #{item.id} ({item.label}) was refused: {event.reason}"
    draft.audit(AuditAction.PAUSE, None, draft.paused)


def target_moved_to(draft: Draft, tip: str, why: str) -> None:
    draft.audit(AuditAction.TARGET_MOVED, None, why, old_tip=draft.tip, tip=tip)
    draft.tip = tip
    for item_id in draft.order:
        item = draft.items[item_id]
        if item.landing is None:
            draft.reset(item_id, AuditAction.RESTART, "the target moved; re-tested on the new tip")
