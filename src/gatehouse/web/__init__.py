"""The web front: JSON API and dashboard."""
