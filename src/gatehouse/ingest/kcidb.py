"""KCIDB JSON of any schema version, validated and upgraded by ``kcidb-io``.

KCIDB's own library decides: a document is accepted or refused exactly as
``kcidb_io.schema.LATEST.validate`` decides (it validates against the
schema of the document's own version, with format checking), then upgraded
step by step to the latest version (v5.3 today) with
``LATEST.upgrade``. We add nothing to either decision; we translate a
refusal into an :class:`~gatehouse.errors.InputError` that quotes
``jsonschema``'s reason verbatim with its JSON path
(``$.tests[3].path: 'a b' does not match '^…$'``) and names the schema
version that refused it. An upgrade kcidb-io refuses
(``InheritanceImpossible``: a v4 test path the v5 pattern rejects, a
non-https repository URL, a NUL character) is located by retrying the
upgrade one object at a time, so the message names the object
(``$.checkouts[0]``) as well as kcidb-io's reason.

Then every object maps one to one onto the results model (fields starting
with ``_`` are database metadata and are ignored, as KCIDB says). When the
context names an origin, every object must have it: a submitter speaks for
its own objects only (parent links may point at other origins); the
exception is origin ``_``, kcidb-io's own (the v5 upgrade turns a v4
``waived`` test into issue ``_:waived`` and an incident).

Large documents: validation needs the whole document (kcidb-io validates a
parsed JSON value), so the file is read and parsed whole; what streams is
the mapping, which hands out objects one at a time and drops each parsed
dict once mapped. ``bench/bench_ingest_parse.py`` measures the cost:
validation dominates.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

from gatehouse.core.results import (
    Build,
    Checkout,
    Culprit,
    Incident,
    Issue,
    Resource,
    Status,
    Test,
    TestEnvironment,
    TestNumber,
)
from gatehouse.errors import InputError, Location, MachineError
from gatehouse.ingest.context import IngestContext
from gatehouse.ingest.findings import Findings

Result = Checkout | Build | Test | Issue | Incident
_LISTS = ("checkouts", "builds", "tests", "issues", "incidents")
# kcidb-io's own objects made while upgrading (v4 "waived" → issue "_:waived").
_KCIDB_IO_ORIGIN = "_"


def _resources(value: Any) -> tuple[Resource, ...] | None:
    if value is None:
        return None
    return tuple(Resource(name=item["name"], url=item["url"]) for item in value)


def _strings(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _status(value: Any) -> Status | None:
    return None if value is None else Status(value)


def _checkout(o: Mapping[str, Any]) -> Checkout:
    return Checkout(
        id=o["id"],
        origin=o["origin"],
        tree_name=o.get("tree_name"),
        git_repository_url=o.get("git_repository_url"),
        git_commit_hash=o.get("git_commit_hash"),
        git_commit_name=o.get("git_commit_name"),
        git_commit_message=o.get("git_commit_message"),
        git_repository_branch=o.get("git_repository_branch"),
        patchset_hash=o.get("patchset_hash"),
        start_time=o.get("start_time"),
        log_url=o.get("log_url"),
        log_excerpt=o.get("log_excerpt"),
        comment=o.get("comment"),
        valid=o.get("valid"),
        misc=o.get("misc"),
        git_commit_tags=_strings(o.get("git_commit_tags")),
        git_repository_branch_tip=o.get("git_repository_branch_tip"),
        patchset_files=_resources(o.get("patchset_files")),
        message_id=o.get("message_id"),
        origin_builds_finish_time=o.get("origin_builds_finish_time"),
        origin_tests_finish_time=o.get("origin_tests_finish_time"),
    )


def _build(o: Mapping[str, Any]) -> Build:
    return Build(
        id=o["id"],
        origin=o["origin"],
        checkout_id=o["checkout_id"],
        status=_status(o.get("status")),
        architecture=o.get("architecture"),
        config_name=o.get("config_name"),
        compiler=o.get("compiler"),
        command=o.get("command"),
        start_time=o.get("start_time"),
        duration=o.get("duration"),
        log_url=o.get("log_url"),
        log_excerpt=o.get("log_excerpt"),
        comment=o.get("comment"),
        misc=o.get("misc"),
        config_url=o.get("config_url"),
        input_files=_resources(o.get("input_files")),
        output_files=_resources(o.get("output_files")),
    )


def _environment(value: Any) -> TestEnvironment | None:
    if value is None:
        return None
    return TestEnvironment(
        comment=value.get("comment"),
        compatible=_strings(value.get("compatible")),
        misc=value.get("misc"),
    )


def _number(value: Any) -> TestNumber | None:
    if value is None:
        return None
    return TestNumber(value=value["value"], unit=value.get("unit"), prefix=value.get("prefix"))


def _test(o: Mapping[str, Any]) -> Test:
    return Test(
        id=o["id"],
        origin=o["origin"],
        build_id=o["build_id"],
        path=o.get("path"),
        status=_status(o.get("status")),
        environment=_environment(o.get("environment")),
        start_time=o.get("start_time"),
        duration=o.get("duration"),
        log_url=o.get("log_url"),
        log_excerpt=o.get("log_excerpt"),
        comment=o.get("comment"),
        misc=o.get("misc"),
        number=_number(o.get("number")),
        input_files=_resources(o.get("input_files")),
        output_files=_resources(o.get("output_files")),
    )


def _issue(o: Mapping[str, Any]) -> Issue:
    culprit = o.get("culprit")
    return Issue(
        id=o["id"],
        version=o["version"],
        origin=o["origin"],
        report_url=o.get("report_url"),
        report_subject=o.get("report_subject"),
        culprit=None
        if culprit is None
        else Culprit(
            code=bool(culprit.get("code", False)),
            tool=bool(culprit.get("tool", False)),
            harness=bool(culprit.get("harness", False)),
        ),
        comment=o.get("comment"),
        categories=_strings(o.get("categories")),
        misc=o.get("misc"),
    )


def _incident(o: Mapping[str, Any]) -> Incident:
    return Incident(
        id=o["id"],
        origin=o["origin"],
        issue_id=o["issue_id"],
        issue_version=o["issue_version"],
        build_id=o.get("build_id"),
        test_id=o.get("test_id"),
        present=o.get("present"),
        comment=o.get("comment"),
        misc=o.get("misc"),
    )


_MAPPERS: dict[str, Callable[[Mapping[str, Any]], Result]] = {
    "checkouts": _checkout,
    "builds": _build,
    "tests": _test,
    "issues": _issue,
    "incidents": _incident,
}


def _load(raw: bytes, name: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg}", Location(name, exc.lineno, exc.colno)
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 JSON ({exc.reason})", Location(name)) from None


def _declared_version(data: Any) -> str:
    version = data.get("version") if isinstance(data, dict) else None
    if isinstance(version, dict):
        return f"v{version.get('major', '?')}.{version.get('minor', 0)}"
    return "no version"


def _locate_upgrade_failure(raw: bytes, latest: Any, failure: type[Exception]) -> str:
    """The JSON path of the first object whose own upgrade kcidb-io refuses, else ``$``."""
    original = json.loads(raw)
    version = original.get("version")
    for list_name, objects in original.items():
        if not isinstance(objects, list):
            continue
        for index, obj in enumerate(objects):
            try:
                latest.upgrade({"version": version, list_name: [obj]}, copy=False)
            except failure:
                return f"$.{list_name}[{index}]"
            except Exception:  # noqa: BLE001, S112 - only kcidb-io's refusal locates
                continue
    return "$"


def parse_kcidb(stream: IO[bytes], context: IngestContext, findings: Findings) -> Iterator[Result]:
    """Validate and upgrade a KCIDB document with kcidb-io, then yield its objects."""
    try:
        import jsonschema
        import kcidb_io
        from kcidb_io.schema.abstract import InheritanceImpossible
    except ImportError as exc:
        raise MachineError(
            "reading KCIDB documents needs the kcidb-io package",
            hint="pip install 'gatehouse[kcidb]' (kcidb-io is GPL-2.0-or-later)",
        ) from exc

    name = findings.name
    raw = stream.read()
    data = _load(raw, name)
    latest = kcidb_io.schema.LATEST
    schema = (latest.get_exactly_compatible(data) if isinstance(data, dict) else None) or latest
    try:
        latest.validate(data)
    except jsonschema.exceptions.ValidationError as exc:
        raise InputError(
            f"{exc.json_path}: {exc.message}",
            Location(name),
            hint=f"refused by kcidb-io's KCIDB {schema} schema (the document says "
            f"{_declared_version(data)})",
        ) from None
    try:
        data = latest.upgrade(data, copy=False)
    except InheritanceImpossible as exc:
        where = _locate_upgrade_failure(raw, latest, InheritanceImpossible)
        raise InputError(
            f"{where}: cannot upgrade to KCIDB {latest}: {exc}",
            Location(name),
            hint=f"kcidb-io refused to upgrade this {_declared_version(json.loads(raw))} "
            "document; correct the object and resubmit",
        ) from None
    del raw
    if context.has_metadata():
        findings.warn(
            "kcidb-context",
            "checkout/build options are ignored for KCIDB: its objects name their own",
        )
    if context.origin is not None:
        _check_origin(data, context.origin, name)
    for list_name in _LISTS:
        objects = data.pop(list_name, None) or []
        mapper = _MAPPERS[list_name]
        for index, obj in enumerate(objects):
            objects[index] = None  # drop the parsed dict as soon as it is mapped
            yield mapper(obj)


def _check_origin(data: Mapping[str, Any], origin: str, name: str) -> None:
    """Refuse, before anything is handed out, objects of another origin than the submitter's."""
    for list_name in _LISTS:
        for index, obj in enumerate(data.get(list_name) or ()):
            if obj["origin"] not in (origin, _KCIDB_IO_ORIGIN):
                raise InputError(
                    f"$.{list_name}[{index}].origin: {obj['origin']!r} is not the submitting "
                    f"origin {origin!r}",
                    Location(name),
                    hint="submit other origins' objects under their own origin",
                )
