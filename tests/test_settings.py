"""Settings: precedence, parsing errors, and every setting documented."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from gatehouse.cli.settings_reference import SETTINGS_MODULES, render
from gatehouse.errors import UsageError
from gatehouse.settings import REGISTRY, parse_duration, parse_size, resolve

ROOT = Path(__file__).resolve().parent.parent


def test_precedence_flag_env_file_default() -> None:
    from gatehouse.engine.settings import EngineSettings

    file = {"run": {"concurrency": 3, "default_timeout": "2h"}}
    env = {"GATEHOUSE_CONCURRENCY": "5"}
    assert resolve(EngineSettings).concurrency == 0
    assert resolve(EngineSettings, file=file).concurrency == 3
    assert resolve(EngineSettings, file=file, env=env).concurrency == 5
    assert resolve(EngineSettings, file=file, env=env, flags={"concurrency": 7}).concurrency == 7
    assert resolve(EngineSettings, file=file).default_timeout == 7200


def test_a_bad_value_names_where_it_came_from() -> None:
    from gatehouse.engine.settings import EngineSettings

    with pytest.raises(UsageError, match=r"GATEHOUSE_MAX_TIMEOUT: .*not a duration"):
        resolve(EngineSettings, env={"GATEHOUSE_MAX_TIMEOUT": "soon"})
    with pytest.raises(UsageError, match=r"gatehouse.toml: run.log_limit"):
        resolve(EngineSettings, file={"run": {"log_limit": "lots"}})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("1h 30m", 5400),
        ("3 hours 5 minutes", 11100),
        ("2 days", 172800),
        ("1.5h", 5400),
        (45, 45),
    ],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5 parsecs", "1h and then"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|unit"):
        parse_duration(text)


def test_sizes() -> None:
    assert parse_size("4 MiB") == 4 * 1024 * 1024
    assert parse_size("100MB") == 100_000_000
    with pytest.raises(ValueError, match="not a size"):
        parse_size("big")


def test_every_settings_module_is_listed_and_documented() -> None:
    declaring = set()
    for path in (ROOT / "src" / "gatehouse").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(d, ast.Name) and d.id == "register" for d in node.decorator_list
            ):
                rel = path.relative_to(ROOT / "src").with_suffix("")
                declaring.add(".".join(rel.parts))
    assert declaring == set(SETTINGS_MODULES)
    text = render()
    for cls in REGISTRY:
        for f in dataclasses.fields(cls):
            assert f.metadata.get("doc"), f"{cls.__name__}.{f.name} has no description"
            if f.metadata.get("env"):
                assert f.metadata["env"] in text
    assert (ROOT / "docs" / "settings.md").read_text() == text
