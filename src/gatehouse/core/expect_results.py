"""Results of any format as deqp-runner ``(test, status)`` pairs, for ``gatehouse expect``.

Expectations files speak deqp-runner's statuses; results ingested from
JUnit, TAP, meson, googletest or KCIDB are model Tests. This maps one onto
the other, purely:

- the **name** is the test's path (``docs/results.md`` says how each format
  builds it); a repeated record of the same name that the producer marks as
  another invocation (``misc.occurrence`` k ≥ 2: TestNG data providers,
  ``meson test --repeat``) is named ``<path>#<k>`` so that it is not taken
  for a duplicate;
- the **status** is :func:`~gatehouse.core.expectations.from_kcidb_status`
  of the status and the producer's own word (``misc.original_status``:
  ``TIMEOUT`` stays Timeout);
- **attempts** of one test (``misc.attempt``; earlier ones carry
  ``misc.retried``) are one result: deqp-runner's rerun rule makes a test
  whose attempts disagree a **Flake**, otherwise the attempts' common status
  stands. Without this, a Surefire rerun would count as "two results for one
  test", which the algebra turns into Fail.

The producer's own expectations (pytest ``xfail``, TAP ``TODO``, meson
``EXPECTEDFAIL``) are not a baseline: their raw status goes to the algebra,
so such a test needs its baseline line like any other.
"""

from __future__ import annotations

from collections.abc import Iterable

from gatehouse.core.expectations import DeqpStatus, from_kcidb_status
from gatehouse.core.results import (
    MISC_ATTEMPT,
    MISC_OCCURRENCE,
    MISC_ORIGINAL_STATUS,
    Test,
)


def test_name(test: Test) -> str | None:
    if test.path is None:
        return None
    occurrence = (test.misc or {}).get(MISC_OCCURRENCE)
    return (
        f"{test.path}#{occurrence}" if isinstance(occurrence, int) and occurrence > 1 else test.path
    )


def deqp_status(test: Test) -> DeqpStatus:
    original = (test.misc or {}).get(MISC_ORIGINAL_STATUS)
    return from_kcidb_status(test.status, original if isinstance(original, str) else None)


def pairs_from_tests(tests: Iterable[Test]) -> list[tuple[str, DeqpStatus]]:
    """``(name, status)`` pairs in first-seen order; attempts folded, disagreeing ones Flake."""
    attempts: dict[tuple[str, str], list[tuple[int, DeqpStatus]]] = {}
    singles: list[tuple[str, DeqpStatus]] = []
    order: list[tuple[str, str] | int] = []
    for test in tests:
        name = test_name(test)
        if name is None:
            continue
        status = deqp_status(test)
        attempt = (test.misc or {}).get(MISC_ATTEMPT)
        if isinstance(attempt, int):
            key = (test.build_id, name)
            if key not in attempts:
                attempts[key] = []
                order.append(key)
            attempts[key].append((attempt, status))
        else:
            order.append(len(singles))
            singles.append((name, status))
    pairs: list[tuple[str, DeqpStatus]] = []
    for item in order:
        if isinstance(item, int):
            pairs.append(singles[item])
            continue
        statuses = [s for _, s in sorted(attempts[item], key=lambda a: a[0])]
        final = statuses[-1]
        pairs.append((item[1], final if all(s is final for s in statuses) else DeqpStatus.FLAKE))
    return pairs
