"""The shell script a job's commands become: printed one by one, stopping at the first failure.

``before_script`` + ``script`` become one script run by one shell, so
``export``, ``cd`` and shell functions carry over from one command to the next
(GitLab's rule); ``after_script`` becomes a second script run by a new shell.

Like GitLab's runner, each command is printed before it runs (``$ make``; a
multi-line command shows its first line and ``# collapsed multi-line
command``), and the script starts with ``set -eo pipefail`` under bash
(``set -e`` under a POSIX ``sh``): the first command that fails — or the
first failing stage of a pipeline — ends the script with that status.
Commands are inserted verbatim, so a multi-line command (a YAML ``|`` block)
may hold ``if``/``for``/here-documents.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence


def echo_line(command: str) -> str:
    lines = command.strip("\n").split("\n")
    if len(lines) > 1:
        return f"$ {lines[0]} # collapsed multi-line command"
    return f"$ {lines[0]}"


def render_script(commands: Sequence[str], *, shell: str = "bash") -> str:
    """The script text for ``commands`` (see the module docstring)."""
    is_bash = os.path.basename(shell) == "bash"
    parts = ["set -eo pipefail" if is_bash else "set -e", "set +o noclobber"]
    for command in commands:
        parts.append(f"printf '%s\\n' {shlex.quote(echo_line(command))}")
        parts.append(command)
    return "\n".join(parts) + "\n"
