"""LocalBlobStore specifics: on-disk layout, read-only blobs, the rename fast path."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

from gatehouse.artifacts.store import LocalBlobStore


def test_layout_and_read_only_blobs(tmp_path: Path) -> None:
    store = LocalBlobStore(str(tmp_path / "s"))
    ref = store.put_stream(io.BytesIO(b"abc"))
    sha = hashlib.sha256(b"abc").hexdigest()
    blob = tmp_path / "s" / "blobs" / sha[:2] / sha[2:]
    assert blob.read_bytes() == b"abc"
    assert stat.S_IMODE(blob.stat().st_mode) == 0o444
    assert store.blob_path(ref.sha256) == str(blob)
    assert list((tmp_path / "s" / "tmp").iterdir()) == []


def test_adopt_renames_on_the_same_file_system(tmp_path: Path) -> None:
    store = LocalBlobStore(str(tmp_path / "s"))
    ws_file = tmp_path / "ws" / "big.bin"
    ws_file.parent.mkdir()
    ws_file.write_bytes(b"x" * 10000)
    inode = ws_file.stat().st_ino
    ref = store.adopt(str(ws_file))
    # the very same inode now lives in the store: no copy was made
    assert os.stat(store.blob_path(ref.sha256)).st_ino == inode


def test_materialized_copy_is_a_new_inode(tmp_path: Path) -> None:
    store = LocalBlobStore(str(tmp_path / "s"))
    ref = store.put_stream(io.BytesIO(b"data"))
    dest = tmp_path / "out"
    store.materialize(ref, str(dest))
    assert dest.stat().st_ino != os.stat(store.blob_path(ref.sha256)).st_ino
    assert dest.stat().st_nlink == 1


def test_durable_store_writes_the_same_layout(tmp_path: Path) -> None:
    store = LocalBlobStore(str(tmp_path / "s"), durable=True)
    src = tmp_path / "f"
    src.write_bytes(b"durable")
    ref = store.put_path(str(src))
    moved = store.adopt(str(src))
    assert ref == moved
    assert Path(store.blob_path(ref.sha256)).read_bytes() == b"durable"


def test_a_second_store_on_the_same_root_sees_the_blobs(tmp_path: Path) -> None:
    first = LocalBlobStore(str(tmp_path / "s"))
    ref = first.put_stream(io.BytesIO(b"shared"))
    assert LocalBlobStore(str(tmp_path / "s")).list_blobs() == [ref]
