"""Test paths: the producer's own names joined into one dotted hierarchy.

A JUnit case is named by the suites around it, its ``classname`` and its
``name``; producers repeat themselves (Surefire names the suite after the
class, so suite ``org.x.FooTest`` holds classname ``org.x.FooTest``; meson
names the suite ``proj.suite - proj:test.Calc`` and the classname ``Calc``).
:func:`join_path` joins the segments with ``.`` and collapses the overlap
where one segment ends with what the next begins with, comparing whole
dot-separated components:

    ["org.x.FooTest", "org.x.FooTest", "testBar"]  -> "org.x.FooTest.testBar"
    ["gen.unit - gen:t.Calc", "Calc", "Adds"]      -> "gen.unit - gen:t.Calc.Adds"
    ["pytest", "tests.test_x", "test_y"]           -> "pytest.tests.test_x.test_y"
    ["", "JUnitXmlReporter.constructor", "works"]  -> "JUnitXmlReporter.constructor.works"

Empty segments are skipped. Characters are kept as the producer wrote them
(spaces, ``/``, ``[param]``): the path is a name, not KCIDB's restricted
alphabet, and a dot inside a producer's name is indistinguishable from a
level separator (documented in ``docs/results.md``).
"""

from __future__ import annotations

from collections.abc import Iterable


def _overlap(left: list[str], right: list[str]) -> int:
    """The largest k such that the last k components of left equal the first k of right."""
    for k in range(min(len(left), len(right)), 0, -1):
        if left[-k:] == right[:k]:
            return k
    return 0


def join_path(segments: Iterable[str | None]) -> str:
    """Join name segments into a dotted path, collapsing repeated prefixes."""
    components: list[str] = []
    for segment in segments:
        if not segment:
            continue
        parts = segment.split(".")
        if components:
            k = _overlap(components, parts)
            components.extend(parts[k:])
        else:
            components.extend(parts)
    return ".".join(components)
