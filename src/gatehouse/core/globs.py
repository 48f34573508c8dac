"""Path globs with GitLab's semantics (Ruby ``File.fnmatch`` with PATHNAME | DOTMATCH | EXTGLOB).

GitLab matches ``rules:changes``, ``rules:exists`` and wildcard
``include:local`` paths with Ruby's ``File.fnmatch?`` and the flags
``FNM_PATHNAME | FNM_DOTMATCH | FNM_EXTGLOB``. That means:

- ``*`` matches any characters except ``/``; ``?`` one character except ``/``;
- ``**/`` matches zero or more whole directories (``**`` elsewhere acts like ``*``);
- ``[abc]``, ``[a-z]``, ``[!a]``/``[^a]`` character classes; ``\\x`` escapes;
- ``{a,b}`` alternatives, nestable (EXTGLOB);
- wildcards also match names starting with ``.`` (DOTMATCH);
- the whole path must match (paths are repository-relative, without ``./``).

Patterns are compiled once into Python regular expressions and cached.

Wildcard ``include:local`` paths are *not* matched this way: GitLab asks the
repository for files matching a regex built from the path, where ``**``
matches anything (slashes included) and ``*`` anything but a slash, and
every other character is literal (:func:`include_wildcard_filter`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_SPECIAL = set("*?[{\\")


def has_magic(pattern: str) -> bool:
    """Whether a pattern contains glob syntax (otherwise it is a plain path)."""
    return any(c in _SPECIAL for c in pattern)


def split_braces(body: str) -> list[str]:
    """Split the inside of ``{…}`` on top-level commas (shared with artifact globs)."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            current.append(body[i : i + 2])
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(c)
        i += 1
    parts.append("".join(current))
    return parts


def _find_closing_brace(pattern: str, start: int) -> int:
    depth = 0
    i = start
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _translate(pattern: str) -> str:
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**/", i) and (i == 0 or pattern[i - 1] == "/"):
                out.append("(?:[^/]*/)*")
                i += 3
                continue
            while i < n and pattern[i] == "*":
                i += 1
            out.append("[^/]*")
            continue
        if c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2 if i + 1 < n and pattern[i + 1] in "!^" else i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                negate = body[:1] in ("!", "^")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\")
                out.append(f"[{'^/' if negate else ''}{body}]")
                i = end + 1
                continue
        elif c == "{":
            end = _find_closing_brace(pattern, i)
            if end == -1:
                out.append(re.escape(c))
            else:
                alternatives = split_braces(pattern[i + 1 : end])
                out.append("(?:" + "|".join(_translate(a) for a in alternatives) + ")")
                i = end + 1
                continue
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    return re.compile(r"\A" + _translate(pattern) + r"\Z", re.DOTALL)


def glob_match(pattern: str, path: str) -> bool:
    """Whether ``path`` matches ``pattern`` (GitLab/Ruby fnmatch semantics)."""
    pattern = pattern.removeprefix("./")
    if not has_magic(pattern):
        return pattern == path
    return compile_glob(pattern).match(path) is not None


def glob_filter(pattern: str, paths: Iterable[str]) -> list[str]:
    """The paths matching ``pattern``, in their given order."""
    pattern = pattern.removeprefix("./")
    if not has_magic(pattern):
        return [p for p in paths if p == pattern]
    rx = compile_glob(pattern)
    return [p for p in paths if rx.match(p)]


def any_match(patterns: Iterable[str], paths: Iterable[str]) -> bool:
    """Whether any path matches any pattern (``rules:changes`` / ``rules:exists``).

    A pattern ending in ``/`` names a directory: it matches any path below it.
    """
    path_list = list(paths)
    path_set = set(path_list)
    for pattern in patterns:
        pattern = pattern.removeprefix("./")
        if pattern.endswith("/"):
            prefix_rx = compile_glob(pattern + "**/*")
            if any(prefix_rx.match(p) for p in path_list):
                return True
            continue
        if not has_magic(pattern):
            if pattern in path_set:
                return True
            continue
        rx = compile_glob(pattern)
        if any(rx.match(p) for p in path_list):
            return True
    return False


@lru_cache(maxsize=256)
def _compile_include_wildcard(pattern: str) -> re.Pattern[str]:
    parts = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            parts.append(".*?")
            i += 2
        elif pattern[i] == "*":
            parts.append("[^/]*?")
            i += 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(parts) + "$", re.DOTALL)


def include_wildcard_filter(pattern: str, paths: Iterable[str]) -> list[str]:
    """The paths a wildcard ``include:local`` names, GitLab's way (``**`` spans directories).

    ``configs/*.yml`` is the files directly in ``configs``; ``configs/**.yml``
    every ``.yml`` below it at any depth; ``configs/**/*.yml`` only those in
    a subdirectory. Only ``*`` is special.
    """
    rx = _compile_include_wildcard(pattern)
    return [p for p in paths if rx.match(p)]
