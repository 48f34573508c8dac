"""Looking back at runs: ``gatehouse runs``, ``show``, ``log``, ``artifacts``, ``gc``.

All of them read the project's data directory (``.gatehouse/`` by default) and
work while a pipeline runs in another terminal (SQLite in WAL mode). A job is
named as ``NAME`` (its latest attempt in the latest pipeline that has it),
``PIPELINE:NAME``, or ``#ID`` (a job attempt's id).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gatehouse.errors import EXIT_OK, UsageError


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-C",
        "--directory",
        dest="dir",
        default=".",
        metavar="DIR",
        help="project directory (default: .)",
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", help="data directory (default: DIR/.gatehouse)"
    )


def register(sub: Any) -> None:
    runs = sub.add_parser(
        "runs",
        help="list recent pipelines",
        description="List the project's recent pipelines, newest first.",
    )
    _common(runs)
    runs.add_argument("--limit", "-n", type=int, default=20, help="how many (default: 20)")
    runs.add_argument("--json", action="store_true", help="print JSON")
    runs.set_defaults(handler=_runs)

    show = sub.add_parser(
        "show",
        help="show one pipeline's jobs",
        description="Show a pipeline's jobs, attempts and artifacts.",
    )
    _common(show)
    show.add_argument(
        "pipeline",
        nargs="?",
        type=int,
        metavar="PIPELINE",
        help="pipeline id (default: the latest)",
    )
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_show)

    log = sub.add_parser(
        "log",
        help="print a job's log",
        description="Print a job's log; with -f keep following it while the job runs (also from another terminal).",
    )
    _common(log)
    log.add_argument("job", metavar="JOB", help="NAME, PIPELINE:NAME or #ID")
    log.add_argument(
        "-f", "--follow", action="store_true", help="follow the log until the job finishes"
    )
    log.add_argument("--timestamps", "-t", action="store_true", help="show each line's timestamp")
    log.set_defaults(handler=_log)

    artifacts = sub.add_parser(
        "artifacts",
        help="list or extract a job's artifacts",
        description="List a job's artifacts (and reports), or copy them into a directory with --to.",
    )
    _common(artifacts)
    artifacts.add_argument("job", metavar="JOB", help="NAME, PIPELINE:NAME or #ID")
    artifacts.add_argument("--to", metavar="DIR", help="extract the files into DIR")
    artifacts.add_argument(
        "--kind", default="archive", help="archive (default) or a report type such as junit"
    )
    artifacts.add_argument("--json", action="store_true", help="print JSON")
    artifacts.set_defaults(handler=_artifacts)

    cancel = sub.add_parser(
        "cancel",
        help="cancel a running pipeline",
        description=(
            "Ask the process running a pipeline (in another terminal, or the gate) to cancel it: "
            "jobs not started are canceled, running ones get their after_script, then stop."
        ),
    )
    _common(cancel)
    cancel.add_argument(
        "pipeline",
        nargs="?",
        type=int,
        metavar="PIPELINE",
        help="pipeline id (default: the latest running)",
    )
    cancel.add_argument(
        "--force", action="store_true", help="kill running jobs at once, without after_script"
    )
    cancel.set_defaults(handler=_cancel)

    gc = sub.add_parser(
        "gc",
        help="delete expired artifacts and unreferenced blobs",
        description="Apply artifacts:expire_in: forget expired artifact sets and delete blobs no set refers to.",
    )
    _common(gc)
    gc.add_argument("--dry-run", action="store_true", help="only say what would be deleted")
    gc.set_defaults(handler=_gc)


def open_data(args: argparse.Namespace) -> tuple[Any, Path, Path]:
    """The project's store, data directory and project root."""
    from gatehouse.cli.config_file import settings_for
    from gatehouse.storage import open_store
    from gatehouse.storage.settings import StorageSettings

    root = Path(args.dir).resolve()
    settings = settings_for(StorageSettings, root, {"data_dir": getattr(args, "data_dir", None)})
    data_dir = Path(settings.data_dir)
    if not data_dir.is_absolute():
        data_dir = root / data_dir
    if not data_dir.is_dir() and not settings.database_url:
        raise UsageError(
            f"no runs here: {data_dir} does not exist", hint="run a pipeline first: gatehouse run"
        )
    store = open_store(settings, project_dir=str(root))
    from gatehouse.engine.liveness import settle_interrupted

    settle_interrupted(store.runs, data_dir, str(root))
    return store, data_dir, root


def find_job(runs: Any, project_dir: str, spec: str) -> Any:
    """Resolve ``NAME``, ``PIPELINE:NAME`` or ``#ID`` to a job attempt."""
    if spec.startswith("#") or spec.isdigit():
        job = runs.get_job(int(spec.lstrip("#")))
        if job is None:
            raise UsageError(f"no job attempt {spec}")
        return job
    pipeline_part, sep, name = spec.partition(":")
    if sep and pipeline_part.isdigit():
        pipelines = [runs.get_pipeline(int(pipeline_part))]
        if pipelines[0] is None:
            raise UsageError(f"no pipeline {pipeline_part}")
    else:
        name = spec
        pipelines = list(runs.list_pipelines(limit=50, project_dir=project_dir))
    for pipeline in pipelines:
        attempts = [j for j in runs.list_jobs(pipeline.id) if j.name == name]
        if attempts:
            return max(attempts, key=lambda j: j.attempt)
    raise UsageError(
        f"no job {name!r} in the recent pipelines", hint="gatehouse show lists a pipeline's jobs"
    )


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines) + "\n"


def _runs(args: argparse.Namespace) -> int:
    from gatehouse.cli.progress import fmt_seconds

    store, _, root = open_data(args)
    with store:
        pipelines = list(store.runs.list_pipelines(limit=args.limit, project_dir=str(root)))
        if args.json:
            json.dump([_pipeline_json(p) for p in pipelines], sys.stdout, indent=2)
            sys.stdout.write("\n")
            return EXIT_OK
        rows = []
        for p in pipelines:
            took = (p.finished_at or time.time()) - (p.started_at or p.created_at)
            rows.append(
                (
                    str(p.id),
                    p.status.value,
                    p.ref,
                    p.event,
                    (p.sha or "")[:8],
                    p.source,
                    _when(p.created_at),
                    fmt_seconds(took),
                )
            )
        sys.stdout.write(
            _table(("pipeline", "status", "ref", "event", "sha", "source", "created", "took"), rows)
        )
    return EXIT_OK


def job_json(j: Any) -> dict[str, Any]:
    """One job attempt as JSON (``run --json``, ``show --json``)."""
    from gatehouse.cli.progress import duration

    return {
        "id": j.id,
        "name": j.name,
        "stage": j.stage,
        "attempt": j.attempt,
        "retried": j.retried,
        "status": j.status.value,
        "exit_code": j.exit_code,
        "failure_reason": j.failure_reason,
        "duration": duration(j),
        "log": j.log_path,
    }


def _pipeline_json(p: Any) -> dict[str, Any]:
    return {
        "id": p.id,
        "status": p.status.value,
        "ref": p.ref,
        "sha": p.sha,
        "event": p.event,
        "source": p.source,
        "created_at": p.created_at,
        "started_at": p.started_at,
        "finished_at": p.finished_at,
    }


def _show(args: argparse.Namespace) -> int:
    from gatehouse.cli.progress import duration, fmt_seconds

    store, _, root = open_data(args)
    with store:
        if args.pipeline is None:
            latest = list(store.runs.list_pipelines(limit=1, project_dir=str(root)))
            if not latest:
                raise UsageError("no pipelines yet", hint="gatehouse run")
            pipeline = latest[0]
        else:
            pipeline = store.runs.get_pipeline(args.pipeline)
            if pipeline is None:
                raise UsageError(f"no pipeline {args.pipeline}")
        jobs = list(store.runs.list_jobs(pipeline.id))
        if args.json:
            data = _pipeline_json(pipeline)
            data["jobs"] = [
                {
                    **job_json(j),
                    "artifacts": [
                        {
                            "kind": a.kind,
                            "files": len(a.manifest.files),
                            "bytes": a.manifest.size,
                            "expire_at": a.expire_at,
                        }
                        for a in store.runs.list_artifacts(j.id)
                    ],
                }
                for j in jobs
            ]
            json.dump(data, sys.stdout, indent=2)
            sys.stdout.write("\n")
            return EXIT_OK
        sys.stdout.write(
            f"pipeline #{pipeline.id}  {pipeline.status.value}  {pipeline.ref} ({pipeline.event}) "
            f"at {(pipeline.sha or '')[:8]}  created {_when(pipeline.created_at)}\n\n"
        )
        rows = []
        for j in jobs:
            sets = store.runs.list_artifacts(j.id)
            files = sum(len(a.manifest.files) for a in sets if a.kind == "archive")
            status = j.status.value + (" (retried)" if j.retried else "")
            why = f"exit {j.exit_code}" if j.exit_code not in (None, 0) else ""
            if j.failure_reason and j.failure_reason != "script_failure":
                why = (why + ", " if why else "") + j.failure_reason
            rows.append(
                (
                    f"#{j.id}",
                    j.name,
                    j.stage,
                    str(j.attempt),
                    status,
                    fmt_seconds(duration(j)),
                    why,
                    str(files) if files else "",
                )
            )
        sys.stdout.write(
            _table(("id", "job", "stage", "try", "status", "took", "why", "artifacts"), rows)
        )
    return EXIT_OK


def _log(args: argparse.Namespace) -> int:
    from gatehouse.executors.joblog import follow, read_log

    store, _, root = open_data(args)
    with store:
        job = find_job(store.runs, str(root), args.job)
        path = job.log_path
        if not args.follow:
            if not path or not Path(path).is_file():
                raise UsageError(
                    f"job {job.name!r} (#{job.id}) has no log yet",
                    hint="it may not have started; try -f",
                )
            lines = read_log(path)
        else:
            if not path:
                # Not submitted yet: wait until the engine names its log.
                while not path:
                    time.sleep(0.2)
                    job = store.runs.get_job(job.id)
                    if job.status.is_final and not job.log_path:
                        return EXIT_OK
                    path = job.log_path
            job_id = job.id

            def finished() -> bool:
                current = store.runs.get_job(job_id)
                return current is None or current.status.is_final

            lines = follow(path, finished)
        out = sys.stdout
        for line in lines:
            out.write((line.render(timestamps=True) if args.timestamps else line.text) + "\n")
            if args.follow:
                out.flush()
    return EXIT_OK


def _artifacts(args: argparse.Namespace) -> int:
    store, data_dir, root = open_data(args)
    with store:
        job = find_job(store.runs, str(root), args.job)
        sets = [a for a in store.runs.list_artifacts(job.id) if a.kind == args.kind]
        if not sets:
            kinds = sorted({a.kind for a in store.runs.list_artifacts(job.id)})
            raise UsageError(
                f"job {job.name!r} (#{job.id}) has no {args.kind} artifacts",
                hint=("it has: " + ", ".join(kinds))
                if kinds
                else "the job declared none, or they expired (gatehouse gc)",
            )
        artifact_set = sets[0]
        files = artifact_set.manifest.files
        if args.json:
            json.dump(
                {
                    "job": job.id,
                    "name": artifact_set.name,
                    "kind": artifact_set.kind,
                    "expire_at": artifact_set.expire_at,
                    "files": [
                        {
                            "path": f.path,
                            "size": f.blob.size,
                            "sha256": f.blob.sha256,
                            "mode": f.mode,
                        }
                        for f in files
                    ],
                },
                sys.stdout,
                indent=2,
            )
            sys.stdout.write("\n")
        if args.to:
            from gatehouse.artifacts.store import LocalBlobStore

            blobs = LocalBlobStore(str(data_dir / "blobs"))
            dest = Path(args.to).resolve()
            for f in files:
                target = (dest / f.path).resolve()
                if dest not in target.parents:
                    raise UsageError(f"refusing to write {f.path!r} outside {dest}")
                target.parent.mkdir(parents=True, exist_ok=True)
                blobs.materialize(f.blob, str(target), f.mode)
            if not args.json:
                sys.stdout.write(
                    f"extracted {len(files)} file(s) of {job.name!r} (#{job.id}) into {dest}\n"
                )
        elif not args.json:
            for f in files:
                sys.stdout.write(f"{f.blob.size:>12}  {f.path}\n")
            total = artifact_set.manifest.size
            expiry = (
                f", expire {_when(artifact_set.expire_at)}"
                if artifact_set.expire_at
                else ", never expire"
            )
            sys.stdout.write(f"{len(files)} file(s), {total} bytes{expiry}\n")
    return EXIT_OK


def _cancel(args: argparse.Namespace) -> int:
    from gatehouse.engine.liveness import is_alive, request_cancel

    store, data_dir, root = open_data(args)
    with store:
        if args.pipeline is None:
            running = [
                p
                for p in store.runs.list_pipelines(limit=50, project_dir=str(root))
                if p.status.value == "running"
            ]
            if not running:
                raise UsageError("no pipeline is running here")
            pipeline = running[0]
        else:
            pipeline = store.runs.get_pipeline(args.pipeline)
            if pipeline is None:
                raise UsageError(f"no pipeline {args.pipeline}")
        if pipeline.status.value != "running" or not is_alive(data_dir, pipeline.id):
            raise UsageError(
                f"pipeline #{pipeline.id} is not running (it is {pipeline.status.value})"
            )
        request_cancel(data_dir, pipeline.id, force=args.force)
        sys.stdout.write(f"asked pipeline #{pipeline.id} to cancel\n")
    return EXIT_OK


def _gc(args: argparse.Namespace) -> int:
    from gatehouse.artifacts.store import LocalBlobStore

    store, data_dir, _ = open_data(args)
    with store:
        now = time.time()
        expired = list(store.runs.expired_artifacts(now))
        if not args.dry_run:
            for artifact_set in expired:
                store.runs.delete_artifacts(artifact_set.job_id, artifact_set.kind)
        referenced = store.runs.referenced_blobs()
        blobs = LocalBlobStore(str(data_dir / "blobs"))
        unreferenced = [b for b in blobs.list_blobs() if b.sha256 not in referenced]
        freed = sum(b.size for b in unreferenced)
        if not args.dry_run:
            for blob in unreferenced:
                blobs.delete(blob.sha256)
        if args.dry_run:
            sys.stdout.write(
                f"would forget {len(expired)} expired artifact set(s) and delete {len(unreferenced)} "
                f"unreferenced blob(s), {freed} bytes (plus the blobs only those sets use)\n"
            )
        else:
            sys.stdout.write(
                f"forgot {len(expired)} expired artifact set(s); deleted {len(unreferenced)} blob(s), {freed} bytes\n"
            )
    return EXIT_OK
