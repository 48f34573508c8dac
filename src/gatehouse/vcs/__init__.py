"""Version control: speculative merges, pins and compare-and-swap landing (git).

:class:`~gatehouse.vcs.git.GitRepository` runs ``git`` on a real repository;
:class:`~gatehouse.vcs.memory.MemoryRepository` is the in-memory twin. Both
implement :class:`gatehouse.core.ports.Repository` and pass the same
contract tests (``tests/contracts/test_repository_contract.py``).
"""
