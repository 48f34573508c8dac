"""After a restart: the commands whose answers a persisted state still waits for.

A driver persists the state *before* it executes the commands of a step, so
a process that stops (Ctrl-C, a crash, a kill) leaves a state that names
every question it had asked and not yet seen answered: a speculative merge
being built (``spec_request`` without a commit), builds running
(``builds``), failures being classified (``checks`` with a ``request``) and
a landing (``landing``). :func:`in_flight` asks them again, with the same
ids, so the answers are recognised exactly as the first ones would have
been. Repeating is safe: a merge is rebuilt (its pin is overwritten), a
build runs again from scratch, a classification is a question, and a landing
is an idempotent compare-and-swap (a branch already at the commit answers
``Landed``), so nothing lands twice and nothing is lost.
"""

from __future__ import annotations

from gatehouse.core.gate.commands import (
    BuildSpeculativeCommit,
    ClassifyFailure,
    Command,
    Land,
    StartBuild,
)
from gatehouse.core.gate.model import GateState


def in_flight(state: GateState) -> tuple[Command, ...]:
    """Re-issue every request the state waits for, head of the queue first."""
    commands: list[Command] = []
    target = state.settings.target_branch
    for item in state.queue:
        if item.landing is not None and item.commit is not None and item.tree is not None:
            commands.append(
                Land(
                    item.landing,
                    item.id,
                    target,
                    item.commit,
                    item.tree,
                    state.tip,
                    item.change_ids,
                )
            )
            continue
        if item.merging and item.spec_request is not None and item.base_commit is not None:
            commands.append(
                BuildSpeculativeCommit(item.spec_request, item.id, item.base_commit, item.changes)
            )
        if item.commit is None or item.base_commit is None:
            continue
        for build in item.builds:
            commands.append(
                StartBuild(
                    build.id, item.id, item.commit, item.base_commit, item.changes, build.jobs
                )
            )
        for check in item.checks:
            if check.request is not None:
                # The build the failure came from is not kept; answers match on the request.
                origin = item.builds[-1].id if item.builds else 0
                commands.append(
                    ClassifyFailure(
                        check.request,
                        item.id,
                        origin,
                        item.commit,
                        item.base_commit,
                        item.change_ids,
                        check.failure,
                    )
                )
    return tuple(commands)
