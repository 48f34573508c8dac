"""The architecture's rules, checked: a pure core, adapters that never import each other."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "gatehouse"

# Standard-library modules that touch the world (files, processes, sockets,
# clocks, threads, databases). The core must not import them.
IO_MODULES = {
    "os",
    "subprocess",
    "socket",
    "sqlite3",
    "threading",
    "multiprocessing",
    "asyncio",
    "time",
    "shutil",
    "tempfile",
    "signal",
    "select",
    "selectors",
    "http",
    "urllib",
    "ssl",
    "glob",
    "pathlib",
    "io",
    "smtplib",
    "mmap",
    "fcntl",
    "pty",
    "concurrent",
    "logging",
    "random",
    "uuid",
    "secrets",
    "ctypes",
    "zipfile",
    "tarfile",
}
# Third-party modules the core may use: pure parsers only.
CORE_THIRD_PARTY = {"yaml"}
ADAPTER_PACKAGES = {
    "executors",
    "queues",
    "storage",
    "artifacts",
    "ingest",
    "vcs",
    "notify",
    "matchers",
}


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def _calls_open(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open"
    ]


def test_core_imports_no_io() -> None:
    problems = []
    for path in sorted((SRC / "core").rglob("*.py")):
        rel = path.relative_to(SRC.parent)
        for module, line in _imports(path):
            top = module.split(".")[0]
            if top == "gatehouse":
                if not (
                    module.startswith("gatehouse.core")
                    or module in {"gatehouse.errors", "gatehouse.settings"}
                ):
                    problems.append(f"{rel}:{line}: core imports {module}")
            elif top in IO_MODULES:
                problems.append(f"{rel}:{line}: core imports I/O module {module}")
            elif (
                top not in sys.stdlib_module_names
                and top not in CORE_THIRD_PARTY
                and top != "__future__"
            ):
                problems.append(f"{rel}:{line}: core imports third-party {module}")
        problems.extend(f"{rel}:{line}: core calls open()" for line in _calls_open(path))
    assert problems == []


def test_adapters_do_not_import_each_other() -> None:
    problems = []
    for pkg in sorted(ADAPTER_PACKAGES):
        for path in sorted((SRC / pkg).rglob("*.py")):
            rel = path.relative_to(SRC.parent)
            for module, line in _imports(path):
                parts = module.split(".")
                if (
                    parts[0] == "gatehouse"
                    and len(parts) > 1
                    and parts[1] in ADAPTER_PACKAGES - {pkg}
                ):
                    problems.append(f"{rel}:{line}: adapter {pkg} imports {module}")
    assert problems == []


def test_checker_detects_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom gatehouse.storage import x\nopen('f')\n")
    assert ("os", 1) in _imports(bad)
    assert ("gatehouse.storage", 2) in _imports(bad)
    assert _calls_open(bad) == [3]
