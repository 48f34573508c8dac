"""Artifacts: selection rules on real files, storing, restoring, and the executor's when/reports rules."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gatehouse.artifacts.store import LocalBlobStore
from gatehouse.core.ports import (
    ArtifactFile,
    ArtifactManifest,
    ArtifactSpec,
    BlobRef,
    FailureReason,
    JobRequest,
)
from gatehouse.executors import artifacts
from gatehouse.executors.shell import ShellExecutor

from .conftest import Gate, log_text, output_lines, run

Make = Callable[..., JobRequest]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    for rel in [
        "build/app",
        "build/lib/a.o",
        "build/lib/b.o",
        "build/lib/keep.txt",
        "build/tmp/junk.o",
        "build/.hidden",
        "docs/index.html",
        "report.xml",
        "tracked.c",
    ]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    (root / "build" / "link").symlink_to("app")
    (root / "escape").symlink_to("/etc")
    (root / "empty").mkdir()
    return root


def pick(ws: Path, paths: list[str], **kw: object) -> list[str]:
    notes: list[str] = []
    selection = artifacts.select(str(ws), paths, note=notes.append, **kw)  # type: ignore[arg-type]
    pick.notes = notes  # type: ignore[attr-defined]
    return list(selection.files)


def test_a_directory_means_its_whole_content(ws: Path) -> None:
    assert pick(ws, ["build/lib/"]) == ["build/lib/a.o", "build/lib/b.o", "build/lib/keep.txt"]


def test_globs_and_double_star(ws: Path) -> None:
    assert pick(ws, ["build/**/*.o"]) == ["build/lib/a.o", "build/lib/b.o", "build/tmp/junk.o"]
    assert pick(ws, ["*.xml", "docs/*"]) == ["docs/index.html", "report.xml"]


def test_a_glob_matching_a_directory_takes_its_content(ws: Path) -> None:
    assert pick(ws, ["build/t*"]) == ["build/tmp/junk.o"]


def test_symlinks_are_kept_as_links_and_not_followed(ws: Path) -> None:
    assert "build/link" in pick(ws, ["build/"])
    selection = artifacts.select(str(ws), ["escape", "**"])
    assert selection.files["escape"] is True  # stored as a link
    assert not any(p.startswith("escape/") for p in selection.files)  # never walked into /etc


def test_a_literal_path_through_a_link_out_of_the_workspace_is_refused(ws: Path) -> None:
    assert pick(ws, ["escape/hostname"]) == []
    assert "leads outside the workspace" in pick.notes[0]  # type: ignore[attr-defined]


def test_exclude_is_not_recursive(ws: Path) -> None:
    # excluding a directory name excludes nothing below it (GitLab's rule) ...
    assert "build/tmp/junk.o" in pick(ws, ["build/"], exclude=["build/tmp"])
    # ... its content has to be matched
    assert "build/tmp/junk.o" not in pick(ws, ["build/"], exclude=["build/tmp/**"])
    assert pick(ws, ["build/lib/"], exclude=["build/**/*.o"]) == ["build/lib/keep.txt"]


def test_paths_that_escape_the_workspace_are_refused(ws: Path) -> None:
    assert pick(ws, ["../outside", "/etc/passwd", "build/../../x"]) == []
    notes = pick.notes  # type: ignore[attr-defined]
    assert len(notes) == 3
    assert all("refused" in n for n in notes)


def test_absolute_path_inside_the_workspace_is_accepted(ws: Path) -> None:
    assert pick(ws, [f"{ws}/report.xml"]) == ["report.xml"]


def test_no_matching_files_is_a_warning(ws: Path) -> None:
    assert pick(ws, ["nothing/*.bin"]) == []
    assert pick.notes == ["WARNING: artifacts: nothing/*.bin: no matching files"]  # type: ignore[attr-defined]


def test_dot_means_everything(ws: Path) -> None:
    assert "build/.hidden" in pick(ws, ["./"])
    assert "empty" not in pick(ws, ["."])  # directories are not artifacts


def test_untracked(ws: Path) -> None:
    tracked = frozenset({"tracked.c", "report.xml"})
    files = pick(ws, [], untracked=True, tracked=lambda: tracked, exclude=["build/**"])
    assert files == ["docs/index.html", "escape"]


def test_store_once_and_restore(ws: Path, tmp_path: Path) -> None:
    store = LocalBlobStore(str(tmp_path / "store"))
    (ws / "build" / "copy.o").write_text("build/lib/a.o")  # same content as a.o
    (ws / "build" / "app").chmod(0o755)
    selections = {
        "": artifacts.select(str(ws), ["build/"]),
        "junit": artifacts.select(str(ws), ["report.xml", "build/app"]),
    }
    manifests = artifacts.store_selections(store, str(ws), selections, consume=False)
    archive = manifests[""]
    by_path = {f.path: f for f in archive.files}
    assert by_path["build/copy.o"].blob == by_path["build/lib/a.o"].blob
    assert by_path["build/app"].mode == 0o755
    assert by_path["build/link"].mode == artifacts.SYMLINK_MODE
    junit = {f.path: f for f in manifests["junit"].files}
    assert junit["build/app"] is by_path["build/app"]  # stored once for both sets
    assert len(store.list_blobs()) == len(
        {f.blob for f in archive.files} | {junit["report.xml"].blob}
    )

    target = tmp_path / "target"
    target.mkdir()
    assert artifacts.restore(store, str(target), [archive]) == []
    assert (target / "build" / "lib" / "a.o").read_text() == "build/lib/a.o"
    assert os.readlink(target / "build" / "link") == "app"
    assert (target / "build" / "app").stat().st_mode & 0o777 == 0o755


def test_restore_refuses_paths_outside(tmp_path: Path) -> None:
    store = LocalBlobStore(str(tmp_path / "store"))
    blob = store.put_path(__file__)
    target = tmp_path / "target"
    target.mkdir()
    (target / "out").symlink_to(tmp_path)
    bad = ArtifactManifest(
        (
            ArtifactFile("../x", blob),
            ArtifactFile("/etc/x", blob),
            ArtifactFile("out/x", blob),
        )
    )
    problems = artifacts.restore(store, str(target), [bad])
    assert len(problems) == 3
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------------- through the executor


def test_artifacts_collected_on_success(
    shell: ShellExecutor, store: LocalBlobStore, request_for: Make
) -> None:
    request = request_for(
        "mkdir -p out/sub && echo bin > out/app && echo o > out/sub/x.o && echo log > out/build.log",
        after_script=("echo from-after > out/after.txt",),
        artifacts_out=ArtifactSpec(paths=("$CI_PROJECT_DIR/out",), exclude=("out/*.log",)),
    )
    outcome = run(shell, request)
    assert outcome.succeeded
    assert outcome.artifacts is not None
    assert [f.path for f in outcome.artifacts.files] == ["out/after.txt", "out/app", "out/sub/x.o"]
    for item in outcome.artifacts.files:
        assert store.exists(item.blob)
    assert "Uploading artifacts: 3 file(s)" in log_text(request)


@pytest.mark.parametrize(
    ("when", "exit_code", "collected"),
    [
        ("on_success", 0, True),
        ("on_success", 1, False),
        ("on_failure", 0, False),
        ("on_failure", 1, True),
        ("always", 0, True),
        ("always", 1, True),
    ],
)
def test_artifacts_when(
    shell: ShellExecutor, request_for: Make, when: str, exit_code: int, collected: bool
) -> None:
    request = request_for(
        "echo x > out.txt",
        f"exit {exit_code}",
        artifacts_out=ArtifactSpec(paths=("out.txt",), when=when),
    )
    outcome = run(shell, request)
    assert (outcome.artifacts is not None) is collected


def test_reports_are_collected_on_failure(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for(
        "echo '<testsuite/>' > junit.xml",
        "exit 1",
        artifacts_out=ArtifactSpec(paths=("junit.xml",), reports={"junit": ("junit.xml",)}),
    )
    outcome = run(shell, request)
    assert outcome.exit_code == 1
    assert outcome.artifacts is None  # on_success
    assert [f.path for f in outcome.reports["junit"].files] == ["junit.xml"]


def test_nothing_is_collected_after_a_timeout(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for(
        "echo '<testsuite/>' > junit.xml",
        "sleep 600",
        timeout=0.5,
        artifacts_out=ArtifactSpec(
            paths=("junit.xml",), when="always", reports={"junit": ("junit.xml",)}
        ),
    )
    outcome = run(shell, request)
    assert outcome.failure_reason is FailureReason.JOB_EXECUTION_TIMEOUT
    assert outcome.artifacts is None
    assert outcome.reports == {}


def test_nothing_is_collected_after_a_cancel(
    shell: ShellExecutor, request_for: Make, gate: Callable[..., Gate]
) -> None:
    fifo = gate()
    request = request_for(
        "echo x > out.txt",
        f"echo ready > {fifo.path}",
        "sleep 600",
        artifacts_out=ArtifactSpec(paths=("out.txt",), when="always"),
        timeout=120,  # only reached if the gate is broken: fail instead of hanging
    )
    outcome = fifo.cancel_when_reached(shell, request)
    assert outcome.failure_reason is FailureReason.CANCELED
    assert outcome.artifacts is None


def test_untracked_artifacts(shell: ShellExecutor, request_for: Make, workspaces: object) -> None:
    request = request_for(
        "echo new > generated.txt",
        "echo change >> README",
        artifacts_out=ArtifactSpec(untracked=True),
    )
    outcome = run(shell, request)
    assert outcome.artifacts is not None
    assert [f.path for f in outcome.artifacts.files] == ["generated.txt"]


def test_identical_content_is_stored_once(
    shell: ShellExecutor, store: LocalBlobStore, request_for: Make
) -> None:
    spec = ArtifactSpec(paths=("a", "b"))
    first = run(shell, request_for("echo same > a", "echo same > b", artifacts_out=spec))
    second = run(shell, request_for("echo same > a", "echo same > b", artifacts_out=spec))
    assert first.artifacts is not None
    assert second.artifacts is not None
    blobs = {f.blob for f in first.artifacts.files + second.artifacts.files}
    assert len(blobs) == 1
    assert len(store.list_blobs()) == 1


def test_artifacts_flow_to_a_later_job_as_private_copies(
    shell: ShellExecutor, store: LocalBlobStore, request_for: Make
) -> None:
    build = run(
        shell,
        request_for(
            "mkdir bin && printf '#!/bin/sh\\necho tool-ran\\n' > bin/tool && chmod +x bin/tool",
            artifacts_out=ArtifactSpec(paths=("bin/",)),
        ),
    )
    assert build.artifacts is not None
    blob = build.artifacts.files[0].blob
    test = request_for("bin/tool", "echo tampered >> bin/tool", artifacts_in=(build.artifacts,))
    assert run(shell, test).succeeded
    assert "tool-ran" in output_lines(test)
    with store.open(blob) as stream:  # the job changed its copy, not the blob
        assert b"tampered" not in stream.read()
    again = request_for("cat bin/tool", artifacts_in=(build.artifacts,))
    assert run(shell, again).succeeded
    assert "tampered" not in output_lines(again)


def test_a_missing_input_blob_is_an_unmet_prerequisite(
    shell: ShellExecutor, request_for: Make, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    manifest = ArtifactManifest((ArtifactFile("bin/tool", BlobRef("ab" * 32, 10)),))
    request = request_for(f"touch {marker}", artifacts_in=(manifest,))
    outcome = run(shell, request)
    assert outcome.failure_reason is FailureReason.UNMET_PREREQUISITES
    assert outcome.exit_code is None
    assert not marker.exists()
    text = log_text(request)
    assert "missing from the store: bin/tool (sha256 " + "ab" * 32 + ")" in text


def test_artifacts_are_kept_in_a_kept_workspace(
    store: LocalBlobStore, tmp_path: Path, request_for: Make
) -> None:
    from gatehouse.executors.workspace import Workspaces

    workspaces = Workspaces(str(tmp_path / "keep"), keep_failed=True)
    shell = ShellExecutor(store, workspaces, kill_grace=0.3)
    request = request_for(
        "echo data > out.txt",
        "exit 1",
        artifacts_out=ArtifactSpec(paths=("out.txt",), when="always"),
    )
    outcome = asyncio.run(shell.run(request, asyncio.Event()))
    assert outcome.artifacts is not None
    kept = next(Path(workspaces.root, "jobs").iterdir())
    assert (kept / "myproject" / "out.txt").read_text() == "data\n"  # copied, not moved
