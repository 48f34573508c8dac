"""The results database as the gate's :class:`~gatehouse.core.ports.FlakeOracle`.

When a voting job of a queue item fails and it still has a flaky retry
left, the gate asks whether the failure is a *known flake* before it blames
the change (docs/gate.md, "Flake-aware retry"). This oracle answers from
the results database, in two steps, and says why:

1. **Known issues.** The latest version of every active known issue
   (:mod:`gatehouse.core.known_issues`, stored as KCIDB issues) is compiled
   once into a :class:`~gatehouse.core.triage.Triager` (all log patterns in
   one multi-pattern matcher) and kept until the set of issues changes. The
   failure is presented to it the way triage sees a result: each failing
   test as a FAIL test of a FAIL build (the job), the job's log excerpt as
   the log, the gate's commit, tree and target branch as the checkout; a
   job without named tests is presented as the build alone, so ``kind:
   build``/``any`` patterns (typically a log regex) can match it.
2. **Flake history.** A failing test that no issue explains is looked up
   in its stored history (:meth:`ResultsStore.test_history`) and judged by
   :func:`gatehouse.core.flakes.find_flakes`: the same input passing and
   failing, or a flip rate above the threshold. A test that always fails is
   *broken*, not flaky.

A failure is a known flake only when **every** failing test it names is
explained one way or the other — one unexplained failing test means the
change may have broken something, and it is not retried. The verdict's
evidence names the issue (id, version, title, culprit) or the history
(kind, flip rate, the runs) for the audit log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from gatehouse.core.flakes import FlakeFinding, FlakeSettings, find_flakes
from gatehouse.core.known_issues import KnownIssue, from_kcidb
from gatehouse.core.ports import (
    FlakeQuery,
    FlakeVerdict,
    PatternMatcherEngine,
    ResultsStore,
    TestRun,
)
from gatehouse.core.result_context import ResultContext
from gatehouse.core.results import Build, Checkout, Status, Test
from gatehouse.core.triage import Match, Triager, compile_issues
from gatehouse.errors import ConfigError

ORIGIN = "gatehouse"


@dataclass(frozen=True, slots=True)
class _Explanation:
    evidence: str
    issue: str | None = None


class ResultsFlakeOracle:
    """Classifies gate failures against the known issues and flake history of a results store."""

    def __init__(
        self,
        results: ResultsStore,
        matchers: PatternMatcherEngine,
        *,
        tree: str | None = None,
        branch: str | None = None,
        history: int = 50,
        settings: FlakeSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.results = results
        self.matchers = matchers
        self.tree = tree
        self.branch = branch
        self.history = history
        self.settings = settings or FlakeSettings()
        self.clock = clock
        self._compiled: tuple[tuple[tuple[str, int], ...], Triager] | None = None

    def classify(self, query: FlakeQuery) -> FlakeVerdict:
        triager = self._triager()
        checkout = Checkout(
            id=f"{ORIGIN}:gate-{query.commit[:12]}",
            origin=ORIGIN,
            tree_name=self.tree,
            git_commit_hash=query.commit,
            git_repository_branch=self.branch,
        )
        build = Build(
            id=f"{ORIGIN}:gate-{query.commit[:12]}-{query.job}",
            origin=ORIGIN,
            checkout_id=checkout.id,
            status=Status.FAIL,
            config_name=query.job,
            log_excerpt=query.detail or None,
        )
        if not query.tests:
            found = triager.match(ResultContext(build=build, checkout=checkout, log=query.detail))
            if found:
                why = self._issue_evidence(triager, f"job {query.job}", found[0])
                return FlakeVerdict(True, why.evidence, why.issue)
            return FlakeVerdict(
                False,
                f"job {query.job} failed without named tests and its log matches no known issue",
            )
        explained: list[_Explanation] = []
        for name in query.tests:
            test = Test(
                id=f"{build.id}:{name}",
                origin=ORIGIN,
                build_id=build.id,
                path=name,
                status=Status.FAIL,
                log_excerpt=query.detail or None,
            )
            context = ResultContext(build=build, test=test, checkout=checkout, log=query.detail)
            found = triager.match(context)
            what = f"job {query.job} test {name}"
            if found:
                explained.append(self._issue_evidence(triager, what, found[0]))
                continue
            finding = self._flaky_history(name)
            if finding is None:
                return FlakeVerdict(
                    False,
                    f"{what} matches no known issue and is not flaky in its last "
                    f"{self.history} stored results",
                )
            explained.append(_Explanation(f"{what} is a known flake: {_describe(finding)}"))
        issue = next((e.issue for e in explained if e.issue is not None), None)
        return FlakeVerdict(True, "; ".join(e.evidence for e in explained), issue)

    # ------------------------------------------------------------------ known issues

    def _triager(self) -> Triager:
        issues: list[KnownIssue] = []
        for stored in self.results.list_issues():
            try:
                issues.append(from_kcidb(stored))
            except ConfigError:
                continue  # a malformed issue explains nothing; `gatehouse issue show` reports it
        key = tuple(sorted((i.id, i.version) for i in issues))
        if self._compiled is None or self._compiled[0] != key:
            now = datetime.fromtimestamp(self.clock(), UTC)
            self._compiled = (key, compile_issues(issues, self.matchers, now=now))
        return self._compiled[1]

    @staticmethod
    def _issue_evidence(triager: Triager, what: str, match: Match) -> _Explanation:
        issue = next(i for i in triager.issues if i.id == match.issue_id)
        culprit = ", ".join(
            name for name in ("code", "tool", "harness") if getattr(issue.culprit, name)
        )
        title = f": {issue.title}" if issue.title else ""
        return _Explanation(
            f"{what} matches known issue {issue.id} v{issue.version}{title}"
            + (f" (culprit: {culprit})" if culprit else ""),
            issue.id,
        )

    # ------------------------------------------------------------------ history

    def _flaky_history(self, path: str) -> FlakeFinding | None:
        runs = self.results.test_history(path, limit=self.history)
        if not runs:
            return None
        contexts = [_context(run) for run in runs]
        received = {run.test.id: run.received_at for run in runs}
        report = find_flakes(
            contexts,
            self.settings,
            order_key=lambda r: f"{received.get(r.object_id, 0.0):020.6f}",
        )
        return next((f for f in report.flaky if f.path == path), None)


def _context(run: TestRun) -> ResultContext:
    test = run.test
    checkout = Checkout(
        id=run.checkout_id or "",
        origin=test.origin,
        tree_name=run.tree_name,
        git_commit_hash=run.git_commit_hash,
        git_repository_branch=run.git_repository_branch,
    )
    build = Build(
        id=test.build_id,
        origin=test.origin,
        checkout_id=run.checkout_id or "",
        architecture=run.architecture,
        config_name=run.config_name,
        compiler=run.compiler,
    )
    return ResultContext(build=build, test=test, checkout=checkout)


def _describe(finding: FlakeFinding) -> str:
    if finding.kind == "history":
        rate = f"{finding.flip_rate:.0%}" if finding.flip_rate is not None else "?"
        return f"flip rate {rate} over its last {len(finding.runs)} runs ({finding.runs})"
    where = "re-runs in one job" if finding.kind == "rerun" else "the same input"
    return (
        f"passed and failed on {where} "
        f"(passed: {_ids(finding.passed)}; failed: {_ids(finding.failed)})"
    )


def _ids(ids: Sequence[str]) -> str:
    return ", ".join(ids[:3]) + (" …" if len(ids) > 3 else "")
