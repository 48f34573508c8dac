"""An in-memory :class:`~gatehouse.core.ports.FlakeOracle`: a list of known flaky jobs and tests.

A failure is a known flake only when *every* failing test it names is
covered by a known flake of that job (one unexplained failing test means the
change may have broken something); a failure that names no tests is a flake
only when a known flake covers the whole job. Patterns are shell-style
(``fnmatch``, case-sensitive). The results database will answer the same
question from known issues and flake history; this one serves tests,
simulations and small setups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from gatehouse.core.ports import FlakeQuery, FlakeVerdict


@dataclass(frozen=True, slots=True)
class KnownFlake:
    """A known flaky job (``test`` None) or flaky test(s) of matching jobs."""

    issue: str
    job: str = "*"
    test: str | None = None
    description: str = ""

    def covers_job(self, job: str) -> bool:
        return fnmatchcase(job, self.job)

    def covers_test(self, job: str, test: str) -> bool:
        return self.covers_job(job) and (self.test is None or fnmatchcase(test, self.test))


class KnownFlakes:
    """Classifies failures against a fixed list of :class:`KnownFlake` entries."""

    def __init__(self, known: Iterable[KnownFlake] = ()) -> None:
        self._known = list(known)

    def add(self, flake: KnownFlake) -> None:
        self._known.append(flake)

    def classify(self, query: FlakeQuery) -> FlakeVerdict:
        if not query.tests:
            whole = next(
                (f for f in self._known if f.test is None and f.covers_job(query.job)), None
            )
            if whole is not None:
                return FlakeVerdict(True, _evidence(query.job, None, whole), whole.issue)
            return FlakeVerdict(False, f"job {query.job} matches no known flake")
        matched = []
        for test in query.tests:
            flake = next((f for f in self._known if f.covers_test(query.job, test)), None)
            if flake is None:
                return FlakeVerdict(False, f"job {query.job} test {test} matches no known flake")
            matched.append(_evidence(query.job, test, flake))
        issue = next(f.issue for f in self._known if f.covers_test(query.job, query.tests[0]))
        return FlakeVerdict(True, "; ".join(matched), issue)


def _evidence(job: str, test: str | None, flake: KnownFlake) -> str:
    what = f"job {job}" + (f" test {test}" if test else "")
    about = f" ({flake.description})" if flake.description else ""
    return f"{what} matches known flaky issue {flake.issue}{about}"
