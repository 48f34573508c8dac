"""Path globs with Ruby ``File.fnmatch`` (PATHNAME | DOTMATCH | EXTGLOB) semantics."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatehouse.core.globs import any_match, glob_match, include_wildcard_filter


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.c", "main.c", True),
        ("*.c", "src/main.c", False),  # * does not cross /
        ("src/*.c", "src/main.c", True),
        ("**/*.c", "main.c", True),  # **/ matches zero directories
        ("**/*.c", "a/b/c/main.c", True),
        ("src/**/*.c", "src/main.c", True),
        ("src/**/*.c", "src/a/b/main.c", True),
        ("src/**", "src/a/b.c", False),  # ** not followed by / is a plain *
        ("src/**", "src/b.c", True),
        ("*", ".hidden", True),  # DOTMATCH
        ("**/*", ".gitlab/ci/x.yml", True),
        ("?.md", "a.md", True),
        ("?.md", "/.md", False),
        ("[ab].txt", "b.txt", True),
        ("[!ab].txt", "c.txt", True),
        ("[!ab].txt", "a.txt", False),
        ("[a-c]x", "bx", True),
        ("{src,lib}/*.rb", "lib/a.rb", True),
        ("{src,lib}/*.rb", "doc/a.rb", False),
        ("docs/{a,{b,c}}.md", "docs/c.md", True),
        ("\\*.md", "*.md", True),
        ("\\*.md", "a.md", False),
        ("./README.md", "README.md", True),
        ("README.md", "docs/README.md", False),
        ("Dockerfile", "Dockerfile", True),
    ],
)
def test_fnmatch_semantics(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


def test_any_match_directory_patterns_and_plain_paths() -> None:
    paths = ["docs/guide/intro.md", "src/main.c"]
    assert any_match(["docs/"], paths)
    assert not any_match(["doc/"], paths)
    assert any_match(["nothing", "src/main.c"], paths)
    assert not any_match([], paths)


def test_include_wildcards_are_a_different_dialect() -> None:
    paths = ["ci/a.yml", "ci/sub/b.yml", "ci/[x].yml"]
    assert include_wildcard_filter("ci/*.yml", paths) == ["ci/a.yml", "ci/[x].yml"]
    assert include_wildcard_filter("ci/**.yml", paths) == paths
    assert include_wildcard_filter("ci/**/*.yml", paths) == ["ci/sub/b.yml"]
    assert include_wildcard_filter("ci/[x].yml", paths) == ["ci/[x].yml"]  # [ is literal


SEGMENT = st.from_regex(r"[A-Za-z0-9_.-]{1,8}", fullmatch=True).filter(
    lambda s: s not in (".", "..")
)


@given(parts=st.lists(SEGMENT, min_size=1, max_size=4))
def test_a_literal_path_matches_itself(parts: list[str]) -> None:
    path = "/".join(parts)
    assert glob_match(path, path)


@given(dirs=st.lists(SEGMENT, max_size=4), name=SEGMENT)
def test_double_star_slash_matches_at_any_depth(dirs: list[str], name: str) -> None:
    path = "/".join([*dirs, name])
    assert glob_match(f"**/{name}", path)
    assert glob_match("**/*", path)


@given(dirs=st.lists(SEGMENT, min_size=1, max_size=4), name=SEGMENT)
def test_single_star_never_crosses_a_slash(dirs: list[str], name: str) -> None:
    assert not glob_match("*", "/".join([*dirs, name]))
