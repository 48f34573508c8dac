"""Where ingested results belong, and the deterministic IDs that put them there.

A results file rarely says which commit or which build it tested: a JUnit
report is a list of cases. :class:`IngestContext` carries what the caller
knows (the origin, the commit, tree, branch, architecture, environment, a
build id) and :class:`TestFactory` turns each parsed case into a
:class:`~gatehouse.core.results.Test` attached to the right build.

IDs are derived, never random, so that ingesting the same file with the same
context twice yields the same IDs and the database merges the second
submission into the first instead of duplicating it:

    checkout id  = the given one, else ``<origin>:c<24 hex>`` from
                   sha256(repository url, commit, tree, branch), else from
                   the build id, else from the report's name
    build id     = the given one, else ``<origin>:b<24 hex>`` from
                   sha256(checkout id, architecture, config, environment,
                   report name)
    test id      = ``<origin>:<32 hex>`` from sha256(build id, report name,
                   the case's key within the report)

The case key is chosen by each parser so that it is unique within one report
(JUnit: suite path and its occurrence, classname, name and the running
count of that name; TAP: the unique path; meson: name and occurrence). The
report name is the ``name`` the caller passes (normalised: ``./`` and
repeated slashes removed), so re-ingesting must use the same name.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gatehouse.core.results import Build, Checkout, Status, Test, TestEnvironment
from gatehouse.errors import UsageError

ORIGIN_PATTERN = re.compile(r"^[a-z0-9_]+$")
_OBJECT_ID = re.compile(r"^[a-z0-9_]+:[^\0]*$")
_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")  # SHA-1 or SHA-256 object names
_ARCHITECTURE = re.compile(r"^[a-z0-9_]*$")  # KCIDB build.architecture

# Our own pipelines' results use this origin (docs/results.md).
GATEHOUSE_ORIGIN = "gatehouse"

_SEP = "\x1f"  # unit separator: cannot occur in XML text, rare elsewhere
KEY_SEPARATOR = _SEP


@dataclass(frozen=True, slots=True)
class IngestContext:
    """What the caller knows about the results being ingested.

    ``origin`` names the submitting CI system (``^[a-z0-9_]+$``); it is
    required for every format but KCIDB, whose objects carry their own (when
    given for KCIDB, every object must have this origin). ``checkout_id`` and
    ``build_id`` may be full KCIDB ids (``origin:local``, possibly another
    origin's object) or a local part that gets ``<origin>:`` prepended.
    """

    origin: str | None = None
    checkout_id: str | None = None
    build_id: str | None = None
    commit: str | None = None
    tree: str | None = None
    branch: str | None = None
    repository_url: str | None = None
    architecture: str | None = None
    config: str | None = None
    environment: str | None = None

    def __post_init__(self) -> None:
        if self.origin is not None and not ORIGIN_PATTERN.match(self.origin):
            raise UsageError(
                f"origin {self.origin!r} is not valid: use lowercase letters, digits and '_'",
                hint="e.g. --origin my_lab",
            )
        if self.commit is not None and not _COMMIT.match(self.commit):
            raise UsageError(
                f"commit {self.commit!r} is not a full lowercase hexadecimal commit hash",
                hint="pass the full 40-character hash (git rev-parse HEAD)",
            )
        if self.architecture is not None and not _ARCHITECTURE.match(self.architecture):
            raise UsageError(
                f"architecture {self.architecture!r} is not valid: use lowercase letters, "
                "digits and '_' (KCIDB: ^[a-z0-9_]*$)",
                hint="e.g. x86_64 or arm64",
            )
        for label, value in (("checkout id", self.checkout_id), ("build id", self.build_id)):
            if value is not None and (not value or "\0" in value):
                raise UsageError(f"{label} {value!r} is not valid")

    def has_metadata(self) -> bool:
        """True when anything beyond the origin is set (KCIDB ignores it)."""
        return any(
            v is not None
            for v in (
                self.checkout_id,
                self.build_id,
                self.commit,
                self.tree,
                self.branch,
                self.repository_url,
                self.architecture,
                self.config,
                self.environment,
            )
        )


def normalise_name(name: str) -> str:
    """A report name as used in IDs: ``./a//b.xml`` and ``a/b.xml`` are one report."""
    if not name:
        return ""
    norm = posixpath.normpath(name.replace("\\", "/"))
    return "" if norm == "." else norm


def _digest(*parts: str) -> str:
    return hashlib.sha256(_SEP.join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _full_id(origin: str, value: str) -> str:
    return value if _OBJECT_ID.match(value) else f"{origin}:{value}"


def _origin_of(object_id: str) -> str:
    return object_id.split(":", 1)[0]


class TestFactory:
    """Makes the Tests of one report, and the checkout and build they belong to.

    One instance per parsed report. ``checkout()`` and ``build()`` return the
    objects to submit alongside the tests (``None`` when the id belongs to
    another origin: we only describe our own objects).
    """

    __test__ = False  # not a pytest test class
    __slots__ = (
        "_environment",
        "_hash_prefix",
        "build_id",
        "checkout_id",
        "context",
        "origin",
        "report",
    )

    def __init__(self, context: IngestContext, report_name: str) -> None:
        if context.origin is None:
            raise UsageError(
                "an origin is needed to ingest this format",
                hint="pass --origin NAME (lowercase letters, digits, '_')",
            )
        self.context = context
        self.origin: str = context.origin
        self.report = normalise_name(report_name)
        self.checkout_id = self._derive_checkout_id()
        self.build_id = self._derive_build_id()
        self._environment = (
            TestEnvironment(comment=context.environment) if context.environment else None
        )
        self._hash_prefix = hashlib.sha256(
            (_SEP.join(("test", self.build_id, self.report)) + _SEP).encode(
                "utf-8", "surrogatepass"
            )
        )

    def _derive_checkout_id(self) -> str:
        ctx = self.context
        if ctx.checkout_id is not None:
            return _full_id(self.origin, ctx.checkout_id)
        facts = (ctx.repository_url, ctx.commit, ctx.tree, ctx.branch)
        if any(f is not None for f in facts):
            seed = _digest("checkout", *(f or "" for f in facts))
        elif ctx.build_id is not None:
            seed = _digest("checkout-of-build", _full_id(self.origin, ctx.build_id))
        else:
            seed = _digest("checkout-of-report", self.report)
        return f"{self.origin}:c{seed[:24]}"

    def _derive_build_id(self) -> str:
        ctx = self.context
        if ctx.build_id is not None:
            return _full_id(self.origin, ctx.build_id)
        seed = _digest(
            "build",
            self.checkout_id,
            ctx.architecture or "",
            ctx.config or "",
            ctx.environment or "",
            self.report,
        )
        return f"{self.origin}:b{seed[:24]}"

    def checkout(self) -> Checkout | None:
        if _origin_of(self.checkout_id) != self.origin:
            return None
        ctx = self.context
        return Checkout(
            id=self.checkout_id,
            origin=self.origin,
            tree_name=ctx.tree,
            git_repository_url=ctx.repository_url,
            git_commit_hash=ctx.commit,
            git_repository_branch=ctx.branch,
        )

    def build(self) -> Build | None:
        if _origin_of(self.build_id) != self.origin:
            return None
        ctx = self.context
        return Build(
            id=self.build_id,
            origin=self.origin,
            checkout_id=self.checkout_id,
            architecture=ctx.architecture,
            config_name=ctx.config,
        )

    def parents(self) -> Iterator[Checkout | Build]:
        """The checkout and build to submit before the tests (our origin's only)."""
        checkout = self.checkout()
        if checkout is not None:
            yield checkout
        build = self.build()
        if build is not None:
            yield build

    def test_id(self, key: str) -> str:
        """The id of the case whose key (unique within this report) is ``key``."""
        h = self._hash_prefix.copy()
        h.update(key.encode("utf-8", "surrogatepass"))
        return f"{self.origin}:{h.hexdigest()[:32]}"

    def plain_test(self, key: str, path: str, duration: float | None) -> Test:
        """A passing test with nothing but a name and a duration (the common case, kept fast)."""
        h = self._hash_prefix.copy()
        h.update(key.encode("utf-8", "surrogatepass"))
        return Test(
            f"{self.origin}:{h.hexdigest()[:32]}",
            self.origin,
            self.build_id,
            path,
            Status.PASS,
            self._environment,
            None,
            duration,
        )

    def test(
        self,
        key: str,
        path: str,
        status: Status | None,
        *,
        duration: float | None = None,
        start_time: str | None = None,
        log_excerpt: str | None = None,
        comment: str | None = None,
        misc: Mapping[str, Any] | None = None,
    ) -> Test:
        return Test(
            id=self.test_id(key),
            origin=self.origin,
            build_id=self.build_id,
            path=path,
            status=status,
            environment=self._environment,
            start_time=start_time,
            duration=duration,
            log_excerpt=log_excerpt or None,
            comment=comment or None,
            misc=misc or None,
        )


def key_of(*parts: str) -> str:
    """Join the parts of a case key (parsers use it so keys never run together)."""
    return _SEP.join(parts)
