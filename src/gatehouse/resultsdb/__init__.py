"""The results database at work: ingest, triage, flakes, compare and failures over a store.

The deciding code is pure and lives in :mod:`gatehouse.core` (triage,
flakes, compare, signatures); the parsers live in :mod:`gatehouse.ingest`
and the tables in :mod:`gatehouse.storage`. This package is the shell that
joins them: it reads results from a :class:`~gatehouse.core.ports.ResultsStore`,
hands plain data to the core, and writes back what the core decided
(incidents). The command line (``gatehouse ingest``, ``issue``, ``triage``,
``flakes``, ``compare``, ``failures``), the engine's results feed and, later,
the HTTP API all call these functions; none of them reads the environment or
prints.

Modules:

- :mod:`.ingest`         a results file → one transaction (parse, store, triage)
- :mod:`.parse_process`  the parsing half of a large ingest, in a second process
- :mod:`.known`          known issues in the store: load, add, edit, retire; the triager
- :mod:`.contexts`       stored tests joined with their builds and checkouts
- :mod:`.retriage`       ``gatehouse triage``: triage stored failures again
- :mod:`.flakes`         ``gatehouse flakes``: flake detection over stored history
- :mod:`.compare`        ``gatehouse compare``: two pipelines, commits or checkouts
- :mod:`.failures`       ``gatehouse failures``: failures grouped by signature
- :mod:`.feed`           the engine's ResultsReporter: our pipelines in the model
"""
