"""``gatehouse failures``: stored failures grouped by signature, with counts and where they were seen.

The failing tests and builds received since a time (two indexed queries)
are reduced to signatures by :func:`gatehouse.core.signatures.signature`:
the most telling line of the log excerpt, normalised (addresses, numbers,
``file:line``, temporary paths … replaced), so the same failure counts once
across runs and machines. A result without any excerpt is titled by its
comment, else by ``"<STATUS> in <path>"`` (it groups with itself only:
nothing says it is the same failure as another).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from gatehouse.core.ports import ResultsStore
from gatehouse.core.signatures import Signature, signature

EXAMPLES = 5


@dataclass
class FailureGroup:
    signature: Signature
    count: int = 0
    first_seen: float = float("inf")
    last_seen: float = 0.0
    origins: Counter[str] = field(default_factory=Counter)
    trees: Counter[str] = field(default_factory=Counter)
    branches: Counter[str] = field(default_factory=Counter)
    architectures: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # result ids, the first few

    def add(
        self,
        object_id: str,
        received_at: float,
        *,
        origin: str | None,
        tree: str | None,
        branch: str | None,
        architecture: str | None,
        path: str | None,
    ) -> None:
        self.count += 1
        self.first_seen = min(self.first_seen, received_at)
        self.last_seen = max(self.last_seen, received_at)
        for counter, value in (
            (self.origins, origin),
            (self.trees, tree),
            (self.branches, branch),
            (self.architectures, architecture),
            (self.paths, path),
        ):
            if value:
                counter[value] += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(object_id)


def excerpt_of(log: str | None, comment: str | None, status: str, path: str | None) -> str:
    return log or comment or f"{status} in {path or 'a build'}"


def failure_groups(results: ResultsStore, *, since: float) -> list[FailureGroup]:
    """Groups of failures received since ``since``, the most frequent first."""
    groups: dict[str, FailureGroup] = {}

    def group(text: str) -> FailureGroup:
        sig = signature(text)
        found = groups.get(sig.id)
        if found is None:
            found = groups[sig.id] = FailureGroup(sig)
        return found

    for run in results.failing_tests_since(since):
        t = run.test
        status = t.status.value if t.status else ""
        group(excerpt_of(t.log_excerpt, t.comment, status, t.path)).add(
            t.id,
            run.received_at,
            origin=t.origin,
            tree=run.tree_name,
            branch=run.git_repository_branch,
            architecture=run.architecture,
            path=t.path,
        )
    for build_run in results.failing_builds_since(since):
        b = build_run.build
        status = b.status.value if b.status else ""
        group(excerpt_of(b.log_excerpt, b.comment, status, None)).add(
            b.id,
            build_run.received_at,
            origin=b.origin,
            tree=build_run.tree_name,
            branch=build_run.git_repository_branch,
            architecture=b.architecture,
            path=None,
        )
    return sorted(groups.values(), key=lambda g: (-g.count, g.signature.title))
