"""Where gatehouse keeps its state: the data directory and the database URL.

The embedded default needs no configuration: a ``.gatehouse/`` directory in
the project holds ``gatehouse.db`` (SQLite), logs and artifacts. A controller
sets ``GATEHOUSE_DATABASE_URL=postgresql://…`` instead. The CLI resolves these
settings (flags > environment > ``gatehouse.toml`` > defaults) and hands them
to :func:`gatehouse.storage.open_store`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from gatehouse.settings import parse_duration, register, setting

AUTO_MIGRATE_CHOICES = ("auto", "always", "never")


def parse_auto_migrate(value: str | bool) -> str:
    """``auto`` (SQLite yes, PostgreSQL no), ``always`` or ``never``; booleans map to the latter two."""
    if isinstance(value, bool):
        return "always" if value else "never"
    text = value.strip().lower()
    if text in {"true", "yes", "1", "on"}:
        return "always"
    if text in {"false", "no", "0", "off"}:
        return "never"
    if text not in AUTO_MIGRATE_CHOICES:
        raise ValueError(f"expected one of {', '.join(AUTO_MIGRATE_CHOICES)}, got {value!r}")
    return text


@register
@dataclass(frozen=True, slots=True)
class StorageSettings:
    data_dir: str = setting(
        ".gatehouse",
        "Directory for the database, logs and artifacts; relative paths are relative to the project.",
        env="GATEHOUSE_DATA_DIR",
        key="storage.data_dir",
    )
    database_url: str = setting(
        "",
        "Database URL: sqlite:///PATH or postgresql://USER@HOST/DB; empty means "
        "sqlite:///<data_dir>/gatehouse.db.",
        env="GATEHOUSE_DATABASE_URL",
        key="storage.database_url",
    )
    busy_timeout: float = setting(
        10.0,
        "How long a SQLite writer waits for another process's write lock before giving up.",
        env="GATEHOUSE_DB_BUSY_TIMEOUT",
        key="storage.busy_timeout",
        parse=parse_duration,
    )
    auto_migrate: str = setting(
        "auto",
        "Apply pending schema migrations when the database is opened: auto (SQLite "
        "yes, PostgreSQL no: run `gatehouse db migrate`), always or never.",
        env="GATEHOUSE_DB_AUTO_MIGRATE",
        key="storage.auto_migrate",
        parse=parse_auto_migrate,
    )

    def data_path(self, project_dir: str = ".") -> str:
        """The data directory as a path, anchored at ``project_dir`` when relative."""
        return os.path.join(project_dir, os.path.expanduser(self.data_dir))

    def url(self, project_dir: str = ".") -> str:
        """The database URL to open: the configured one, or SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        path = os.path.abspath(os.path.join(self.data_path(project_dir), "gatehouse.db"))
        return f"sqlite:///{path}"
