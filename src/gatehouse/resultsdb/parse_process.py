"""The parsing half of an ingest: a results file → rows ready for the store, maybe in a second process.

Storing a million results costs SQLite about as much CPU as parsing them, so
a large file is parsed in a child process while this one writes: the child
parses, builds the model objects, encodes them into table rows
(:mod:`gatehouse.storage.rows`, the store's own encoding) and sends them in
messages of :data:`ROWS_PER_MESSAGE` rows through a pipe, leaving out the
columns no row of a message knows; the parent only merges rows into the open
transaction. The pipe holds little, so a child that
runs ahead blocks on it: memory stays flat whatever the file's size.

:class:`EncodedFile` does the parsing and encoding and is used the same way
in-process (small files, or where ``fork`` is not available). The child
starts by ``fork`` (no re-import, a few milliseconds) and touches nothing of
the parent's but the file it opens itself; it never uses the parent's
database connection. Warnings, the detected format and a rejection (an
``InputError`` with its location) travel through the pipe as plain data.
"""

from __future__ import annotations

import itertools
import multiprocessing
import traceback
from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import IO, Any

from gatehouse.core.results import Build, Checkout, Incident, Issue, Test
from gatehouse.errors import GatehouseError, InputError, Location, UsageError
from gatehouse.ingest import IngestContext, iter_result_lists
from gatehouse.ingest.findings import WarningCallback
from gatehouse.storage.rows import (
    BUILD_FIELDS,
    CHECKOUT_FIELDS,
    INCIDENT_FIELDS,
    ISSUE_FIELDS,
    TEST_FIELDS,
    Row,
    encode_build,
    encode_checkout,
    encode_incident,
    encode_issue,
    encode_test,
)

# Rows per message: large enough that pickling and pipe hops cost nothing
# next to the rows, small enough that a message is a few MiB at most.
ROWS_PER_MESSAGE = 10_000

Part = tuple[str, tuple[str, ...], list[Row]]  # (table, columns, rows)

_TABLES: dict[type, tuple[str, tuple[str, ...], Callable[[Any, float], Row]]] = {
    Checkout: ("checkouts", CHECKOUT_FIELDS, encode_checkout),
    Build: ("builds", BUILD_FIELDS, encode_build),
    Test: ("tests", TEST_FIELDS, encode_test),
    Issue: ("issues", ISSUE_FIELDS, encode_issue),
    Incident: ("incidents", INCIDENT_FIELDS, encode_incident),
}


def without_unknown_columns(
    columns: tuple[str, ...], rows: list[Row]
) -> tuple[tuple[str, ...], list[Row]]:
    """Drop the columns no row knows (all NULL); ``_timestamp`` (last) always stays.

    Why: the database driver binds every parameter of every row, and a
    typical JUnit report knows 9 of a test's 16 columns; binding the 7
    NULLs cost a fifth of the writer's time in the ingest benchmark.
    Leaving a column out of an upsert that would only bring NULLs changes
    nothing (merge-by-ID keeps the stored value for an unknown field).
    """
    keep = []
    for k in range(len(columns)):
        for row in rows:
            if row[k] is not None:
                keep.append(k)
                break
    if len(keep) == len(columns):
        return columns, rows
    keep.append(len(columns))
    if len(keep) == 1:  # itemgetter of one index returns the item, not a tuple
        return (), [(row[-1],) for row in rows]
    pick = itemgetter(*keep)
    return tuple(columns[k] for k in keep[:-1]), list(map(pick, rows))


class EncodedFile:
    """One results stream as (table, rows) parts, parents first, in file order."""

    def __init__(
        self,
        stream: IO[bytes],
        *,
        name: str,
        format: str,
        context: IngestContext,
        received_at: float,
        on_warning: WarningCallback | None = None,
    ) -> None:
        if format == "auto":
            from gatehouse.ingest.detect import sniff

            format, stream = sniff(stream, name)
        self.format = format
        self._stream = stream
        self._name = name
        self._context = context
        self._received_at = received_at
        self._on_warning = on_warning

    def parts(self) -> Iterator[Part]:
        """Consecutive lists of one type are merged up to ROWS_PER_MESSAGE rows."""
        kind: type | None = None
        rows: list[Row] = []
        stamp = itertools.repeat(self._received_at)
        for chunk in iter_result_lists(
            self._stream,
            name=self._name,
            format=self.format,
            context=self._context,
            on_warning=self._on_warning,
        ):
            if type(chunk[0]) is not kind or len(rows) >= ROWS_PER_MESSAGE:
                if rows:
                    yield self._part(kind, rows)
                kind, rows = type(chunk[0]), []
            rows.extend(map(_TABLES[kind][2], chunk, stamp))
        if rows:
            yield self._part(kind, rows)

    @staticmethod
    def _part(kind: type | None, rows: list[Row]) -> Part:
        assert kind is not None
        table, columns, _ = _TABLES[kind]
        return (table, *without_unknown_columns(columns, rows))


# --------------------------------------------------------------------------- the child


def _error_state(exc: GatehouseError) -> tuple[Any, ...]:
    location = getattr(exc, "location", None)
    where = None if location is None else (location.file, location.line, location.column)
    return (type(exc).__name__, exc.message, where, exc.hint)


def _error_from(state: tuple[Any, ...]) -> GatehouseError:
    kind, message, where, hint = state
    if kind == "UsageError":
        return UsageError(message, hint=hint)
    return InputError(message, None if where is None else Location(*where), hint=hint)


def _child(
    conn: Any,
    path: str,
    name: str,
    format: str,
    context: IngestContext,
    received_at: float,
) -> None:
    try:
        with open(path, "rb") as stream:
            encoded = EncodedFile(
                stream,
                name=name,
                format=format,
                context=context,
                received_at=received_at,
                on_warning=lambda d: conn.send(("warning", d)),
            )
            conn.send(("format", encoded.format))
            for part in encoded.parts():
                conn.send(("rows", part))
        conn.send(("done",))
    except GatehouseError as exc:
        conn.send(("error", _error_state(exc)))
    except BaseException:  # noqa: BLE001 - a bug: hand the traceback over, do not die silently
        conn.send(("crash", traceback.format_exc()))
    finally:
        conn.close()


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


class ParserProcess:
    """A child parsing ``path``; iterate :meth:`parts` in the parent, then :meth:`close`.

    ``format`` is known after the first part (or at the end for an empty
    file); a rejection is raised from :meth:`parts` as the child's
    ``InputError``. Closing before the end stops the child.
    """

    def __init__(
        self,
        path: str,
        *,
        name: str,
        format: str,
        context: IngestContext,
        received_at: float,
        on_warning: WarningCallback | None = None,
    ) -> None:
        ctx = multiprocessing.get_context("fork")
        self._conn, child_conn = ctx.Pipe(duplex=False)
        self._process = ctx.Process(
            target=_child,
            args=(child_conn, path, name, format, context, received_at),
            name="gatehouse-ingest-parser",
            daemon=True,
        )
        self._process.start()
        child_conn.close()
        self._on_warning = on_warning
        self.format: str | None = None

    def parts(self) -> Iterator[Part]:
        while True:
            try:
                message = self._conn.recv()
            except EOFError:
                raise RuntimeError(
                    f"the ingest parser process ended without a result "
                    f"(exit code {self._process.exitcode})"
                ) from None
            kind = message[0]
            if kind == "rows":
                yield message[1]
            elif kind == "warning":
                if self._on_warning is not None:
                    self._on_warning(message[1])
            elif kind == "format":
                self.format = message[1]
            elif kind == "done":
                return
            elif kind == "error":
                raise _error_from(message[1])
            else:
                raise RuntimeError(f"the ingest parser process failed:\n{message[1]}")

    def close(self) -> None:
        self._conn.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
