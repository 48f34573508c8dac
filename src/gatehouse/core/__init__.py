"""The functional core: everything that decides, nothing that touches the world.

Modules here import only the standard library, pure parsers (PyYAML) and each
other. No files, sockets, clocks, threads or databases: what the core needs
from the world it asks through the Protocols in :mod:`gatehouse.core.ports`.
``tests/test_architecture.py`` enforces this.
"""
