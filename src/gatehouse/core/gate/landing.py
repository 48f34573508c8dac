"""Whether a landing may go ahead: the checks every repository adapter makes first.

Landing moves the target branch to exactly the tested commit, by
fast-forward, and only from the tip that was tested on. Before touching the
branch an adapter asks :func:`landing_verdict`; ``None`` means "go ahead",
anything else is the answer to give (already landed, target moved, refused).
Keeping the rule here keeps the real git adapter and the in-memory one from
drifting apart.
"""

from __future__ import annotations

from collections.abc import Callable

from gatehouse.core.ports import LandOutcome, LandResult


def landing_verdict(
    branch: str,
    commit: str,
    *,
    tree: str,
    expected_tree: str,
    current: str | None,
    expected_tip: str,
    descends: Callable[[str, str], bool],
) -> LandResult | None:
    """``None`` when ``branch`` may be fast-forwarded to ``commit``; else the result to report."""
    if tree != expected_tree:
        return LandResult(
            LandOutcome.REFUSED,
            current,
            f"commit {commit} has tree {tree}, but tree {expected_tree} was tested",
        )
    if current is None:
        return LandResult(LandOutcome.REFUSED, None, f"branch {branch} does not exist")
    if current == commit:
        # Already there (a landing repeated after a restart): the end state holds.
        return LandResult(LandOutcome.LANDED, commit, "already at the commit")
    if current != expected_tip:
        return LandResult(
            LandOutcome.TARGET_MOVED,
            current,
            f"{branch} is at {current}, not at the tested base {expected_tip}",
        )
    if not descends(expected_tip, commit):
        return LandResult(
            LandOutcome.REFUSED,
            current,
            f"{commit} does not descend from {expected_tip}: not a fast-forward",
        )
    return None
