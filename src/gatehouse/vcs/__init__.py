"""Version control: workspaces, speculative merges, fast-forward landing (git)."""
