"""gatehouse: a self-hosted gating CI.

GitLab-CI pipelines run unchanged on this machine or on contributed runners, a
speculative merge queue lands only tested commits, and one results database
holds results from any CI system. See ``docs/architecture.md`` for the layout.
"""

__version__ = "0.1.0.dev0"
