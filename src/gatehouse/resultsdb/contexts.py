"""Stored results with their context: a test joined with its build and checkout.

The deciding functions of the core (triage, flakes, compare) take
:class:`~gatehouse.core.result_context.ResultContext` values. A stored test
only links to its build by id, and the build to its checkout, so whoever
reads tests from the store must fetch their parents; :class:`ContextReader`
does that with one query per batch of unknown ids and keeps what it read,
since the tests of one read share few builds.

A build's runner tags (the ``tags`` a pattern can require) come from its
``misc.tags`` (our own jobs record their tags there; see ``docs/results.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from gatehouse.core.result_context import ResultContext
from gatehouse.core.results import MISC_TAGS, Build, Checkout, Test


class ParentReader(Protocol):
    """What the reader needs: a ResultsStore or an open ResultsTransaction."""

    def get_builds(self, build_ids: Sequence[str]) -> Sequence[Build]: ...

    def get_checkouts(self, checkout_ids: Sequence[str]) -> Sequence[Checkout]: ...


def runner_tags(build: Build) -> frozenset[str]:
    """The runner tags recorded on a build (``misc.tags``), if any."""
    tags = (build.misc or {}).get(MISC_TAGS)
    if isinstance(tags, list | tuple):
        return frozenset(str(t) for t in tags)
    return frozenset()


class ContextReader:
    """Joins tests and builds with their parents, reading each parent once."""

    def __init__(self, reader: ParentReader) -> None:
        self._reader = reader
        self._builds: dict[str, Build | None] = {}
        self._checkouts: dict[str, Checkout | None] = {}

    def remember(self, builds: Iterable[Build] = (), checkouts: Iterable[Checkout] = ()) -> None:
        """Parents already in hand (the objects a file being ingested just stored)."""
        for b in builds:
            self._builds[b.id] = b
        for c in checkouts:
            self._checkouts[c.id] = c

    def forget_build(self, build_id: str) -> None:
        self._builds.pop(build_id, None)

    def for_tests(self, tests: Iterable[Test]) -> list[ResultContext]:
        tests = list(tests)
        self._load_builds(t.build_id for t in tests)
        out = []
        for test in tests:
            build = self._builds.get(test.build_id) or Build(
                id=test.build_id, origin=test.origin, checkout_id=""
            )
            out.append(self._context(build, test))
        return out

    def for_builds(self, builds: Iterable[Build]) -> list[ResultContext]:
        builds = list(builds)
        self.remember(builds=builds)
        self._load_checkouts(b.checkout_id for b in builds)
        return [self._context(b, None) for b in builds]

    def _context(self, build: Build, test: Test | None) -> ResultContext:
        return ResultContext(
            build=build,
            test=test,
            checkout=self._checkouts.get(build.checkout_id),
            tags=runner_tags(build),
        )

    def _load_builds(self, ids: Iterable[str]) -> None:
        missing = sorted({i for i in ids if i not in self._builds})
        if missing:
            found = {b.id: b for b in self._reader.get_builds(missing)}
            for build_id in missing:
                self._builds[build_id] = found.get(build_id)
        self._load_checkouts(b.checkout_id for b in self._builds.values() if b is not None)

    def _load_checkouts(self, ids: Iterable[str]) -> None:
        missing = sorted({i for i in ids if i and i not in self._checkouts})
        if missing:
            found = {c.id: c for c in self._reader.get_checkouts(missing)}
            for checkout_id in missing:
                self._checkouts[checkout_id] = found.get(checkout_id)
