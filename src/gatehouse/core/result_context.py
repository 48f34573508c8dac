"""One result with the context that triage, flakes and compare decide on.

A test result alone does not say on which tree, commit, machine or runner it
ran: that lives on its build and checkout. The deciding functions take plain
:class:`ResultContext` values so they need no database; whoever reads the
store joins a test (or a build) with its build and checkout and, where known,
the runner's tags and the text of its log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gatehouse.core.results import Build, Checkout, Status, Test


@dataclass(frozen=True, slots=True)
class ResultContext:
    """A test result (or, with ``test=None``, a build result) and where it ran.

    ``log`` is the text triage searches; when ``None`` the test's (else the
    build's) ``log_excerpt`` is used. ``tags`` are the runner's tags.
    """

    build: Build
    test: Test | None = None
    checkout: Checkout | None = None
    tags: frozenset[str] = frozenset()
    log: str | None = None

    @property
    def object_id(self) -> str:
        return self.test.id if self.test is not None else self.build.id

    @property
    def kind(self) -> str:
        return "test" if self.test is not None else "build"

    @property
    def status(self) -> Status | None:
        return self.test.status if self.test is not None else self.build.status

    @property
    def path(self) -> str | None:
        return self.test.path if self.test is not None else None

    @property
    def origin(self) -> str:
        return self.test.origin if self.test is not None else self.build.origin

    @property
    def tree(self) -> str | None:
        return self.checkout.tree_name if self.checkout else None

    @property
    def branch(self) -> str | None:
        return self.checkout.git_repository_branch if self.checkout else None

    @property
    def architecture(self) -> str | None:
        return self.build.architecture

    @property
    def environment(self) -> frozenset[str]:
        """Names of the test environment: its ``compatible`` strings and its comment."""
        env = self.test.environment if self.test is not None else None
        if env is None:
            return frozenset()
        names = set(env.compatible or ())
        if env.comment:
            names.add(env.comment)
        return frozenset(names)

    @property
    def environment_key(self) -> str:
        """A stable key for "the same environment": architecture + environment names."""
        return "|".join([self.architecture or "", *sorted(self.environment)])

    @property
    def input_key(self) -> str | None:
        """What "the same input" means: the tree plus commit and patchset hashes."""
        if self.checkout is None:
            return None
        commit = self.checkout.git_commit_hash
        patchset = self.checkout.patchset_hash
        if not commit and not patchset:
            return None
        return "|".join((self.checkout.tree_name or "", commit or "", patchset or ""))

    @property
    def attempt(self) -> int:
        misc: Mapping[str, object] = (self.test.misc if self.test is not None else None) or {}
        value = misc.get("attempt")
        return value if isinstance(value, int) else 1

    @property
    def log_text(self) -> str | None:
        if self.log is not None:
            return self.log
        if self.test is not None and self.test.log_excerpt:
            return self.test.log_excerpt
        return self.build.log_excerpt if self.test is None else None


def contexts_for_tests(
    tests: Iterable[Test],
    builds: Mapping[str, Build],
    checkouts: Mapping[str, Checkout],
    *,
    tags: Mapping[str, frozenset[str]] | None = None,
) -> list[ResultContext]:
    """Join tests with their builds and checkouts (``tags`` by build id).

    A test whose build is unknown gets a placeholder build (KCIDB stores
    incomplete data too), so nothing is silently dropped.
    """
    out = []
    for test in tests:
        build = builds.get(test.build_id) or Build(
            id=test.build_id, origin=test.origin, checkout_id=""
        )
        out.append(
            ResultContext(
                build=build,
                test=test,
                checkout=checkouts.get(build.checkout_id),
                tags=(tags or {}).get(build.id, frozenset()),
            )
        )
    return out
