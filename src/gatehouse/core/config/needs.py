"""Phase 6 of loading: ``needs`` entries and ``parallel:matrix`` rows.

A ``needs`` entry is a job name or a mapping (``job``, ``artifacts``,
``optional``, ``parallel: {matrix: …}``, or ``project``/``pipeline`` for
needs outside this pipeline). Nested lists are flattened and ``null`` entries
dropped, as GitLab does. Which concrete jobs an entry denotes is decided
later (:func:`gatehouse.core.config.validate.need_targets`), once parallel
jobs are expanded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gatehouse.core.config.values import flatten, item_loc, key_loc
from gatehouse.core.model import Need
from gatehouse.errors import Diagnostic, Location, error

MAX_NEEDS = 50


def parse_needs(value: Any, loc: Location | None, diags: list[Diagnostic]) -> tuple[Need, ...]:
    needs: list[Need] = []
    if not isinstance(value, list):
        value = [value]
    for item, where in flatten(value, loc):
        if isinstance(item, str):
            needs.append(Need(item, loc=where))
            continue
        if not isinstance(item, dict):
            diags.append(
                error(
                    "invalid-needs",
                    f"a needs entry must be a job name or a mapping, not {item!r}",
                    where,
                )
            )
            continue
        for k in item:
            if k not in ("job", "artifacts", "optional", "parallel", "project", "pipeline", "ref"):
                diags.append(
                    error("invalid-needs", f"needs: unknown key {k!r}", key_loc(item, k, where))
                )
        artifacts = item.get("artifacts", True)
        optional = item.get("optional", False)
        if not isinstance(artifacts, bool) or not isinstance(optional, bool):
            diags.append(
                error("invalid-needs", "needs: artifacts and optional must be true or false", where)
            )
            continue
        if "pipeline" in item:
            needs.append(
                Need(
                    str(item.get("job", "")),
                    artifacts,
                    optional,
                    pipeline=str(item["pipeline"]),
                    loc=where,
                )
            )
            continue
        job = item.get("job")
        if not isinstance(job, str):
            diags.append(
                error("invalid-needs", "needs: a mapping entry needs a job name (job: …)", where)
            )
            continue
        if "project" in item:
            needs.append(Need(job, artifacts, optional, project=str(item["project"]), loc=where))
            continue
        matrix = None
        parallel = item.get("parallel")
        if parallel is not None:
            rows = parallel.get("matrix") if isinstance(parallel, dict) else None
            if not isinstance(rows, list):
                diags.append(
                    error("invalid-needs", "needs:parallel must have a matrix list", where)
                )
            else:
                matrix = tuple(_matrix_row(row, where, diags) for row in rows)
        needs.append(Need(job, artifacts, optional, matrix, loc=where))
    if len(needs) > MAX_NEEDS:
        diags.append(
            error("too-many-needs", f"{len(needs)} needs; GitLab allows at most {MAX_NEEDS}", loc)
        )
    return tuple(needs)


def _matrix_row(
    row: Any, loc: Location | None, diags: list[Diagnostic]
) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(row, dict):
        diags.append(
            error("invalid-matrix", "a matrix entry must be a mapping of variables to values", loc)
        )
        return {}
    if not row:
        diags.append(error("invalid-matrix", "a matrix entry needs at least one variable", loc))
    out: dict[str, tuple[str, ...]] = {}
    for k, v in row.items():
        values = v if isinstance(v, list) else [] if v is None else [v]
        out[str(k)] = tuple(str(x) for x in values)
    return out


def parse_matrix(
    value: Any, loc: Location | None, diags: list[Diagnostic]
) -> list[Mapping[str, tuple[str, ...]]]:
    if not isinstance(value, list) or not value:
        diags.append(
            error("invalid-parallel", "parallel:matrix must be a non-empty list of mappings", loc)
        )
        return []
    rows = []
    for i, row in enumerate(value):
        where = item_loc(value, i, loc)
        parsed = _matrix_row(row, where, diags)
        for k in parsed:
            if not re.match(r"^[A-Za-z0-9_]+$", k):
                diags.append(
                    error(
                        "invalid-parallel",
                        f"matrix variable name {k!r} may only use letters, digits and '_'",
                        where,
                    )
                )
        rows.append(parsed)
    return rows
