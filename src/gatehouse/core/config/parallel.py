"""Phase 6 of loading: ``parallel: N`` and ``parallel: matrix`` into concrete jobs, GitLab's names.

``parallel: N`` makes ``name 1/N`` … ``name N/N``. ``parallel: matrix`` is a
list of rows, each the cartesian product of its keys' values; each
combination is one job named ``name: [v1, v2]`` — the values only, in key
order, joined with ``", "`` and kept verbatim — as GitLab's
``Normalizer::MatrixStrategy`` names them. At most 200 instances. The same
naming is used backwards by ``needs:parallel:matrix``
(:func:`gatehouse.core.config.validate.need_targets`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from gatehouse.core.config.needs import parse_matrix
from gatehouse.core.config.values import key_loc
from gatehouse.core.model import JobSpec, Need, ParallelIndex
from gatehouse.core.variables import Variable
from gatehouse.errors import Diagnostic, Location, error, warning

MAX_PARALLEL = 200


def matrix_job_name(base: str, values: Iterable[str]) -> str:
    """GitLab's name for a matrix instance: the values only, in key order, verbatim."""
    return f"{base}: [{', '.join(values)}]"


def matrix_combinations(rows: Iterable[Mapping[str, tuple[str, ...]]]) -> list[dict[str, str]]:
    """Each row's cartesian product, rows in order (duplicates kept, as GitLab counts them)."""
    combinations: list[dict[str, str]] = []
    for row in rows:
        keys = list(row)
        for values in itertools.product(*(row[k] for k in keys)):
            combinations.append(dict(zip(keys, values, strict=True)))
    return combinations


_MATRIX_BLOCK = re.compile(r"\$\[\[\s*matrix\.([A-Za-z0-9_]+)\s*\]\]")


def _interpolate_matrix(
    needs: tuple[Need, ...] | None,
    combo: Mapping[str, str],
    job_name: str,
    diags: list[Diagnostic],
) -> tuple[Need, ...] | None:
    """``$[[ matrix.NAME ]]`` in ``needs`` (job names and matrix values): 1:1 matrix mapping."""
    if not needs:
        return needs

    def sub(text: str, loc: Location | None) -> str:
        def one(m: re.Match[str]) -> str:
            if m.group(1) in combo:
                return combo[m.group(1)]
            diags.append(
                error(
                    "invalid-interpolation",
                    f"job {job_name!r}: $[[ matrix.{m.group(1)} ]] is not a matrix variable "
                    "of this job",
                    loc,
                    hint="matrix variables: " + ", ".join(combo),
                )
            )
            return m.group(0)

        return _MATRIX_BLOCK.sub(one, text) if "$[[" in text else text

    out = []
    for need in needs:
        matrix = need.matrix
        if matrix is not None:
            matrix = tuple(
                {k: tuple(sub(v, need.loc) for v in vs) for k, vs in row.items()} for row in matrix
            )
        out.append(replace(need, job=sub(need.job, need.loc), matrix=matrix))
    return tuple(out)


def expand_parallel(
    spec: JobSpec, raw: Any, loc: Location | None, diags: list[Diagnostic]
) -> list[JobSpec]:
    """``parallel: N`` → ``name 1/N`` …; ``parallel: matrix`` → ``name: [v1, v2]`` …

    Matrix instances get the matrix values as job variables (over the job's
    own same-named variables), and ``$[[ matrix.NAME ]]`` in their ``needs``
    is replaced by their own value, so two matrices can be paired 1:1.
    Identical value tuples from different rows give the same name: the later
    instance wins, as in GitLab, and the duplicate is reported.
    """
    if raw is None:
        return [spec]
    if isinstance(raw, int) and not isinstance(raw, bool):
        if not 1 <= raw <= MAX_PARALLEL:
            diags.append(
                error(
                    "invalid-parallel",
                    f"parallel must be between 1 and {MAX_PARALLEL}, not {raw}",
                    loc,
                )
            )
            return [spec]
        return [
            replace(spec, name=f"{spec.name} {i}/{raw}", parallel=ParallelIndex(i, raw))
            for i in range(1, raw + 1)
        ]
    if not isinstance(raw, dict) or "matrix" not in raw:
        diags.append(
            error("invalid-parallel", "parallel must be a number or a mapping with matrix:", loc)
        )
        return [spec]
    rows = parse_matrix(raw["matrix"], key_loc(raw, "matrix", loc), diags)
    combinations = matrix_combinations(rows)
    if len(combinations) > MAX_PARALLEL:
        diags.append(
            error(
                "invalid-parallel",
                f"parallel:matrix of job {spec.name!r} makes {len(combinations)} jobs; "
                f"GitLab allows at most {MAX_PARALLEL}",
                loc,
            )
        )
        return [spec]
    total = len(combinations)
    jobs: dict[str, JobSpec] = {}
    for i, combo in enumerate(combinations, start=1):
        name = matrix_job_name(spec.name, combo.values())
        if name in jobs:
            diags.append(
                warning(
                    "duplicate-matrix-job",
                    f"parallel:matrix produces {name!r} twice; the later one wins",
                    loc,
                )
            )
        matrix_vars = tuple(Variable(k, v, loc=loc) for k, v in combo.items())
        own = tuple(v for v in spec.variables if v.name not in combo)
        rules = spec.rules
        if rules is not None and any(r.needs for r in rules):
            rules = tuple(
                replace(r, needs=_interpolate_matrix(r.needs, combo, name, diags)) for r in rules
            )
        jobs[name] = replace(
            spec,
            name=name,
            variables=own + matrix_vars,
            needs=_interpolate_matrix(spec.needs, combo, name, diags),
            rules=rules,
            parallel=ParallelIndex(i, total, combo),
        )
    return list(jobs.values())
