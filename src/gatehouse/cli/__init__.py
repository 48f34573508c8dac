"""Thin commands over the engine and the core."""
