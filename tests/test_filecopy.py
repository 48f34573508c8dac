"""Private copies of files and trees (gatehouse.filecopy)."""

from __future__ import annotations

import os
from pathlib import Path

from gatehouse.filecopy import copy_file, copy_tree


def test_copy_file_is_a_new_inode_with_the_mode(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(os.urandom(3 * (1 << 20) + 5))
    src.chmod(0o751)
    method = copy_file(str(src), str(tmp_path / "dst"))
    dst = tmp_path / "dst"
    assert method in {"reflink", "copy_file_range", "read"}
    assert dst.read_bytes() == src.read_bytes()
    assert dst.stat().st_ino != src.stat().st_ino
    assert dst.stat().st_mode & 0o777 == 0o751
    with dst.open("ab") as f:
        f.write(b"more")
    assert not src.read_bytes().endswith(b"more")


def test_copy_file_mode_is_not_subject_to_the_umask(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_text("x")
    old = os.umask(0o077)
    try:
        copy_file(str(src), str(tmp_path / "dst"), 0o755)
    finally:
        os.umask(old)
    assert (tmp_path / "dst").stat().st_mode & 0o777 == 0o755


def test_pseudo_files_are_read(tmp_path: Path) -> None:
    # /proc files report a size of 0 but have content
    assert copy_file("/proc/self/status", str(tmp_path / "status")) == "read"
    assert (tmp_path / "status").read_text().startswith("Name:")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    copy_file(str(tmp_path / "empty"), str(tmp_path / "copy"), size=0)
    assert (tmp_path / "copy").read_bytes() == b""


def test_copy_tree(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    (src / "a" / "b" / "f.txt").write_text("deep")
    (src / "run").write_text("#!/bin/sh\n")
    (src / "run").chmod(0o755)
    (src / "empty-dir").mkdir()
    (src / "link").symlink_to("a/b/f.txt")
    (src / "dangling").symlink_to("/nonexistent")
    os.mkfifo(src / "fifo")
    count = copy_tree(str(src), str(tmp_path / "dst"))
    dst = tmp_path / "dst"
    assert count == 4
    assert (dst / "a" / "b" / "f.txt").read_text() == "deep"
    assert (dst / "run").stat().st_mode & 0o777 == 0o755
    assert (dst / "empty-dir").is_dir()
    assert os.readlink(dst / "link") == "a/b/f.txt"
    assert os.readlink(dst / "dangling") == "/nonexistent"
    assert not (dst / "fifo").exists()
