"""Doublestar globs, the pattern language of GitLab's ``artifacts:paths`` and ``exclude``.

GitLab's runner matches artifact paths with Go's ``doublestar`` library; we
follow its rules, on POSIX paths relative to the workspace:

- ``*`` matches any run of characters except ``/`` (dot files included: there
  is no special case for a leading ``.``);
- ``?`` matches one character except ``/``;
- ``[abc]``, ``[a-z]``, ``[!abc]`` / ``[^abc]`` match one character of (not of) a
  class, never ``/``;
- ``{a,b}`` matches either alternative (alternatives may contain globs);
- ``**`` *as a whole path segment* matches zero or more directories:
  ``a/**/b`` matches ``a/b`` and ``a/x/y/b``; a trailing ``**`` matches
  everything below; ``**`` inside a segment (``a**``) is just ``*``;
- ``\\`` escapes the next character.

A pattern is translated once into a regular expression matched against whole
relative paths (``fullmatch``), so matching costs one C call per path.
:func:`literal_base` gives the directory a pattern cannot match outside of,
so that a walk can start there instead of at the workspace root.
"""

from __future__ import annotations

import re

from gatehouse.core.globs import split_braces

_MAGIC = re.compile(r"[*?\[{\\]")


def has_magic(pattern: str) -> bool:
    return _MAGIC.search(pattern) is not None


def expand_braces(pattern: str) -> list[str]:
    """``a{b,c}d`` → ``[abd, acd]``; nested braces work, unbalanced ones are literal."""
    depth = 0
    start = -1
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            if depth == 0:
                start = i
            depth += 1
        elif char == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                options = split_braces(pattern[start + 1 : i])
                head, tail = pattern[:start], pattern[i + 1 :]
                return [
                    expanded
                    for option in options
                    for expanded in expand_braces(head + option + tail)
                ]
        i += 1
    return [pattern]


def _segment_regex(segment: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "\\" and i + 1 < len(segment):
            out.append(re.escape(segment[i + 1]))
            i += 2
            continue
        if char == "*":
            while i + 1 < len(segment) and segment[i + 1] == "*":
                i += 1
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = segment.find("]", i + 2 if segment[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = segment[i + 1 : end]
                negate = body[:1] in ("!", "^")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\").replace("^", "\\^")
                out.append(f"[^/{body}]" if negate else f"[{body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def glob_to_regex(pattern: str) -> str:
    """The regular expression (for ``fullmatch``) of one brace-free pattern."""
    segments = pattern.split("/")
    parts: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]+/)*")
        else:
            parts.append(_segment_regex(segment) + ("" if last else "/"))
    return "".join(parts)


def compile_globs(patterns: list[str] | tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex matching any of ``patterns`` (braces expanded); ``None`` for no patterns."""
    alternatives = [
        glob_to_regex(expanded) for pattern in patterns for expanded in expand_braces(pattern)
    ]
    if not alternatives:
        return None
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.DOTALL)


def literal_base(pattern: str) -> str:
    """The leading directories of ``pattern`` that contain no glob character (may be ``""``)."""
    segments = pattern.split("/")
    base: list[str] = []
    for segment in segments[:-1]:
        if has_magic(segment):
            break
        base.append(segment)
    return "/".join(base)
