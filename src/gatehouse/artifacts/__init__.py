"""Artifacts: a content-addressed blob store."""
