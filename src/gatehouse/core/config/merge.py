"""The one deep-merge rule GitLab uses for ``include`` and ``extends``.

Merging ``over`` onto ``base``:

- a key only in ``base`` stays;
- a key in both whose values are both mappings is merged recursively;
- otherwise ``over``'s value replaces ``base``'s — lists are never
  concatenated (a later ``script`` or ``rules`` replaces the whole list);
- a ``null`` in ``over`` deletes the inherited key (``variables: null``,
  ``parallel: null``), whereas ``{}`` merges nothing and keeps it.

Key order follows the first appearance (Ruby's ``Hash#deep_merge``), which is
why jobs from included files come before the including file's own jobs.
Inputs are never mutated: loaded YAML shares objects between aliases.
"""

from __future__ import annotations

from typing import Any

from gatehouse.core.config.nodes import LocDict, copy_dict


def deep_merge(base: LocDict, over: LocDict) -> LocDict:
    out = copy_dict(base)
    if over.loc is not None:
        out.loc = over.loc
    for key, value in over.items():
        loc = over.key_locs.get(key)
        if value is None:
            out.pop(key, None)
            out.key_locs.pop(key, None)
            continue
        current: Any = out.get(key)
        if isinstance(current, LocDict) and isinstance(value, LocDict):
            out.set(key, deep_merge(current, value), loc)
        else:
            out.set(key, value, loc)
    return out
