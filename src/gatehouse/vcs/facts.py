"""Facts about a git repository that make up a pipeline context.

What GitLab knows about a pipeline (its ref, commit, project path, server,
the files a push changed) is read here from the local repository:

- the current branch (or ``HEAD`` when detached), the commit and its message;
- the default branch: ``origin/HEAD`` when set, else ``main`` or ``master``
  when such a branch exists, else the current branch;
- the project path and server from the ``origin`` remote URL
  (``git@gitlab.gnome.org:GNOME/glib.git`` → ``gitlab.gnome.org``,
  ``GNOME/glib``), so ``rules`` written for the real project behave as there;
- changed files: against a given revision, or for a push against the branch's
  upstream (the commits a push would send, plus uncommitted changes). Without
  an upstream they are unknown, and ``rules:changes`` holds, as GitLab does for
  a new branch.

Outside a git repository every fact falls back to a neutral default.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gatehouse.errors import UsageError


@dataclass(frozen=True, slots=True)
class RepositoryFacts:
    is_git: bool
    sha: str
    branch: str | None
    default_branch: str
    message: str
    author: str
    timestamp: str
    server_host: str | None
    namespace: str | None
    name: str | None


def _run(root: Path, *args: str) -> str | None:
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", errors="replace").strip()


def parse_remote(url: str) -> tuple[str | None, str | None, str | None]:
    """(host, namespace, name) from a git remote URL (ssh, scp-like or http)."""
    url = url.strip()
    m = re.match(r"^(?:[a-z+]+://)?(?:[^@/]+@)?([^/:]+)(?::\d+)?[:/](.+?)(?:\.git)?/?$", url)
    if not m or "/" not in m.group(2):
        return None, None, None
    host, path = m.group(1), m.group(2).strip("/")
    namespace, _, name = path.rpartition("/")
    return host, namespace or None, name or None


def read_facts(root: Path) -> RepositoryFacts:
    """The repository's facts in four git calls (start-up time matters)."""
    head = _run(root, "rev-parse", "--show-toplevel", "HEAD", "--symbolic-full-name", "HEAD")
    if head is None:
        # Not a repository, or a repository without a commit yet.
        if _run(root, "rev-parse", "--show-toplevel") is None:
            return RepositoryFacts(False, "0" * 40, None, "main", "", "", "", None, None, None)
        lines = ["", "0" * 40, _run(root, "symbolic-ref", "-q", "HEAD") or ""]
    else:
        lines = head.splitlines()
    sha, symbolic = lines[1], lines[2]
    branch = symbolic.removeprefix("refs/heads/") if symbolic.startswith("refs/heads/") else None
    log = (
        _run(root, "log", "-1", "--format=%an <%ae>%x00%cI%x00%B", "HEAD")
        if sha != "0" * 40
        else None
    )
    author, timestamp, message = ([*log.split("\x00", 2), "", "", ""])[:3] if log else ("", "", "")
    refs = _run(
        root,
        "for-each-ref",
        "--format=%(refname)%00%(symref)",
        "refs/remotes/origin/HEAD",
        "refs/heads/main",
        "refs/heads/master",
    )
    known: dict[str, str] = {}
    for line in (refs or "").splitlines():
        refname, _, target = line.partition("\x00")
        known[refname] = target
    default: str | None = None
    if known.get("refs/remotes/origin/HEAD"):
        default = known["refs/remotes/origin/HEAD"].removeprefix("refs/remotes/origin/")
    else:
        default = next((c for c in ("main", "master") if f"refs/heads/{c}" in known), None)
    remote = _run(root, "config", "--get", "remote.origin.url")
    host, namespace, name = parse_remote(remote) if remote else (None, None, None)
    return RepositoryFacts(
        True,
        sha,
        branch,
        default or branch or "main",
        message.strip(),
        author,
        timestamp,
        host,
        namespace,
        name,
    )


def ref_is_tag(root: Path, ref: str) -> bool:
    return _run(root, "rev-parse", "--verify", "-q", f"refs/tags/{ref}") is not None and (
        _run(root, "rev-parse", "--verify", "-q", f"refs/heads/{ref}") is None
    )


def resolve_commit(root: Path, rev: str) -> str:
    sha = _run(root, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}")
    if sha is None:
        raise UsageError(
            f"{rev!r} is not a commit in {root}", hint="give a branch, tag or commit SHA"
        )
    return sha


def changed_files(root: Path, base: str, *, include_worktree: bool = True) -> tuple[str, ...]:
    """Files changed since the merge base of ``base`` and HEAD (plus uncommitted changes)."""
    merge_base = _run(root, "merge-base", base, "HEAD") or _run(
        root, "rev-parse", "--verify", "-q", base
    )
    if merge_base is None:
        raise UsageError(f"cannot compare with {base!r}: not a revision of {root}")
    names: set[str] = set()
    committed = _run(root, "diff", "--name-only", "-z", merge_base, "HEAD")
    names.update(p for p in (committed or "").split("\0") if p)
    if include_worktree:
        worktree = _run(root, "diff", "--name-only", "-z", "HEAD")
        names.update(p for p in (worktree or "").split("\0") if p)
    return tuple(sorted(names))


def upstream(root: Path) -> str | None:
    return _run(root, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}")


def commit_details(root: Path, commit: str) -> tuple[str, str, str]:
    """(author, committer timestamp, message) of one commit; empty strings when unknown."""
    log = _run(root, "log", "-1", "--format=%an <%ae>%x00%cI%x00%B", commit)
    if not log:
        return "", "", ""
    author, timestamp, message = [*log.split("\x00", 2), "", ""][:3]
    return author, timestamp, message.strip()
