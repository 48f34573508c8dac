"""The command table: every sub-command is registered where COMMANDS says."""

from __future__ import annotations

import argparse

import pytest

from gatehouse.cli.main import COMMAND_MODULES, COMMANDS, build_parser, main


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def test_commands_table_matches_the_modules() -> None:
    assert _subcommands(build_parser()) == set(COMMANDS)
    assert set(COMMANDS.values()) == set(COMMAND_MODULES)
    for name in COMMANDS:
        assert name in _subcommands(build_parser(name))


def test_unknown_command_is_a_usage_error_listing_the_choices(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["plna"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'plna'" in err
    assert "plan" in err
