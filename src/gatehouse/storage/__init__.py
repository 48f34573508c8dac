"""Storage adapters: schema, migrations, SQLite (default), PostgreSQL and in-memory.

The rest of gatehouse opens a store with :func:`open_store` and talks to it
only through the ports of :mod:`gatehouse.core.ports` (``store.runs``,
``store.results``, ``store.audit``, ``store.gate``). Drivers are imported lazily: importing
this package costs no database library. See ``docs/storage.md``.
"""

from gatehouse.storage.store import Store, open_memory_store, open_store

__all__ = ["Store", "open_memory_store", "open_store"]
