"""Doublestar glob semantics."""

from __future__ import annotations

import pytest

from gatehouse.executors.globs import compile_globs, expand_braces, has_magic, literal_base


def matches(pattern: str, path: str) -> bool:
    regex = compile_globs([pattern])
    assert regex is not None
    return regex.fullmatch(path) is not None


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.o", "main.o", True),
        ("*.o", "src/main.o", False),  # * does not cross directories
        ("*", ".hidden", True),  # no special case for dot files
        ("**/*.o", "main.o", True),  # ** matches zero directories
        ("**/*.o", "a/b/c/main.o", True),
        ("build/**", "build/x", True),
        ("build/**", "build/a/b/c", True),
        ("build/**", "buildx/a", False),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "a/xb", False),
        ("a**b", "axxb", True),  # ** inside a segment is *
        ("a**b", "ax/xb", False),
        ("file?.txt", "file1.txt", True),
        ("file?.txt", "file/.txt", False),
        ("file[0-9].txt", "file7.txt", True),
        ("file[!0-9].txt", "filex.txt", True),
        ("file[!0-9].txt", "file7.txt", False),
        ("file[^0-9].txt", "file7.txt", False),
        ("*.{c,h}", "x.h", True),
        ("*.{c,h}", "x.o", False),
        ("{src,include}/**/*.h", "include/a/b.h", True),
        ("\\*.txt", "*.txt", True),
        ("\\*.txt", "a.txt", False),
        ("out.(1)+", "out.(1)+", True),  # regex characters are literal
    ],
)
def test_glob(pattern: str, path: str, expected: bool) -> None:
    assert matches(pattern, path) is expected


def test_expand_braces() -> None:
    assert expand_braces("a{b,c}d") == ["abd", "acd"]
    assert expand_braces("{a,b{1,2}}") == ["a", "b1", "b2"]
    assert expand_braces("no braces") == ["no braces"]
    assert expand_braces("unbalanced{") == ["unbalanced{"]


def test_literal_base() -> None:
    assert literal_base("build/out/*.bin") == "build/out"
    assert literal_base("build/**/x") == "build"
    assert literal_base("*.o") == ""
    assert literal_base("plain/file") == "plain"


def test_has_magic() -> None:
    assert has_magic("a/*.c")
    assert not has_magic("a/b.c")


def test_no_patterns() -> None:
    assert compile_globs([]) is None
