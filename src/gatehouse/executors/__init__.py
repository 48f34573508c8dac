"""Executors: run one job in a workspace (shell, bubblewrap sandbox, fake)."""
