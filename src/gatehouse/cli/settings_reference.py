"""Generate ``docs/settings.md`` from the registered settings dataclasses (``make docs``)."""

from __future__ import annotations

import dataclasses
import importlib

# Every module that declares settings; a test checks none is missing.
SETTINGS_MODULES = (
    "gatehouse.core.gate.settings",
    "gatehouse.engine.gate.settings",
    "gatehouse.engine.settings",
    "gatehouse.executors.settings",
    "gatehouse.storage.settings",
)


def render() -> str:
    from gatehouse.settings import REGISTRY

    for name in SETTINGS_MODULES:
        importlib.import_module(name)
    out = [
        "# Settings",
        "",
        "Generated from the code by `make docs`; do not edit by hand.",
        "",
        "Settings resolve as: command-line flag > `GATEHOUSE_*` environment variable >",
        "`gatehouse.toml` at the project root > the default. Durations are written like",
        "`90`, `30m` or `1h 30m`; sizes like `4 MiB` or `100MB`. `[variables]` in",
        '`gatehouse.toml` holds project variables (`NAME = "value"`, or',
        '`NAME = {value = "…", masked = true}` to mask the value in logs).',
        "",
    ]
    for cls in sorted(REGISTRY, key=lambda c: c.__module__ + c.__name__):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        out += [
            f"## {cls.__name__}",
            "",
            doc,
            "",
            "| gatehouse.toml | environment | default | meaning |",
            "|---|---|---|---|",
        ]
        for f in dataclasses.fields(cls):
            key = f.metadata.get("key") or "—"
            env = f.metadata.get("env") or "—"
            default = f.default if f.default is not dataclasses.MISSING else "—"
            out.append(f"| `{key}` | `{env}` | `{default!r}` | {f.metadata.get('doc', '')} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
