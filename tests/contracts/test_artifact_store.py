"""The ArtifactStore contract, run against every adapter (local directory and memory)."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatehouse.artifacts.memory import MemoryBlobStore
from gatehouse.artifacts.store import LocalBlobStore
from gatehouse.core.ports import ArtifactStore, BlobRef
from gatehouse.errors import StorageError


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    if request.param == "local":
        yield LocalBlobStore(str(tmp_path / "store"))
    else:
        yield MemoryBlobStore()


def _file(path: Path, content: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return str(path)


def test_put_path_names_the_blob_by_sha256(store: ArtifactStore, tmp_path: Path) -> None:
    ref = store.put_path(_file(tmp_path / "a.txt", b"hello\n"))
    assert ref == BlobRef(hashlib.sha256(b"hello\n").hexdigest(), 6)
    assert store.exists(ref)
    with store.open(ref) as stream:
        assert stream.read() == b"hello\n"


def test_identical_content_is_stored_once(store: ArtifactStore, tmp_path: Path) -> None:
    first = store.put_path(_file(tmp_path / "a", b"same"))
    second = store.put_stream(io.BytesIO(b"same"))
    third = store.put_path(_file(tmp_path / "b", b"other"))
    assert first == second
    assert first != third
    assert [b.sha256 for b in store.list_blobs()] == sorted([first.sha256, third.sha256])


def test_empty_content(store: ArtifactStore) -> None:
    ref = store.put_stream(io.BytesIO(b""))
    assert ref.size == 0
    assert ref.sha256 == hashlib.sha256(b"").hexdigest()
    assert store.exists(ref)


def test_put_stream_larger_than_the_buffer(store: ArtifactStore) -> None:
    content = os.urandom(3 * (1 << 20) + 17)
    ref = store.put_stream(io.BytesIO(content))
    assert ref == BlobRef(hashlib.sha256(content).hexdigest(), len(content))
    with store.open(ref) as stream:
        assert stream.read() == content


def test_missing_blob(store: ArtifactStore, tmp_path: Path) -> None:
    missing = BlobRef("0" * 64, 3)
    assert not store.exists(missing)
    with pytest.raises(StorageError, match="not in the artifact store"):
        store.open(missing)
    with pytest.raises(StorageError, match="not in the artifact store"):
        store.materialize(missing, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_exists_checks_the_size_too(store: ArtifactStore) -> None:
    ref = store.put_stream(io.BytesIO(b"abc"))
    assert not store.exists(BlobRef(ref.sha256, 4))


def test_a_bad_blob_name_is_refused(store: ArtifactStore) -> None:
    with pytest.raises(StorageError, match="not a SHA-256"):
        store.open(BlobRef("../../etc/passwd", 1))


def test_put_path_of_a_missing_file(store: ArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot store"):
        store.put_path(str(tmp_path / "nope"))


def test_delete(store: ArtifactStore) -> None:
    ref = store.put_stream(io.BytesIO(b"x"))
    store.delete(ref.sha256)
    assert not store.exists(ref)
    assert store.list_blobs() == []
    store.delete(ref.sha256)  # deleting twice is fine


def test_materialize_is_a_private_copy(store: ArtifactStore, tmp_path: Path) -> None:
    ref = store.put_stream(io.BytesIO(b"original\n"))
    dest = tmp_path / "ws" / "bin" / "tool"
    dest.parent.mkdir(parents=True)
    store.materialize(ref, str(dest), 0o755)
    assert dest.read_bytes() == b"original\n"
    assert dest.stat().st_mode & 0o777 == 0o755
    with dest.open("ab") as f:  # a job appending to its copy
        f.write(b"changed\n")
    with store.open(ref) as stream:
        assert stream.read() == b"original\n"
    # and a second copy starts from the original again
    second = tmp_path / "ws" / "again"
    store.materialize(ref, str(second))
    assert second.read_bytes() == b"original\n"
    assert second.stat().st_mode & 0o777 == 0o644


def test_materialize_replaces_a_symlink_without_following_it(
    store: ArtifactStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"precious")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "link").symlink_to(outside)
    ref = store.put_stream(io.BytesIO(b"artifact"))
    store.materialize(ref, str(ws / "link"))
    assert outside.read_bytes() == b"precious"
    assert not (ws / "link").is_symlink()
    assert (ws / "link").read_bytes() == b"artifact"


def test_materialize_over_an_existing_file(store: ArtifactStore, tmp_path: Path) -> None:
    ref = store.put_stream(io.BytesIO(b"new"))
    (tmp_path / "ws").mkdir()
    dest = tmp_path / "ws" / "f"
    dest.write_bytes(b"old content that is longer")
    store.materialize(ref, str(dest))
    assert dest.read_bytes() == b"new"
    assert [p.name for p in (tmp_path / "ws").iterdir()] == ["f"]  # no temporary left behind


def test_adopt_moves_the_file_in(store: ArtifactStore, tmp_path: Path) -> None:
    path = _file(tmp_path / "ws" / "out.bin", b"built")
    ref = store.adopt(path)
    assert not os.path.exists(path)
    assert ref == BlobRef(hashlib.sha256(b"built").hexdigest(), 5)
    with store.open(ref) as stream:
        assert stream.read() == b"built"
    # adopting identical content again keeps one blob and still removes the file
    again = _file(tmp_path / "ws" / "copy.bin", b"built")
    assert store.adopt(again) == ref
    assert not os.path.exists(again)
    assert len(store.list_blobs()) == 1


def test_adopt_of_a_hardlinked_file_copies(store: ArtifactStore, tmp_path: Path) -> None:
    original = tmp_path / "user-file"
    original.write_bytes(b"keep me")
    linked = tmp_path / "ws" / "linked"
    linked.parent.mkdir()
    os.link(original, linked)
    ref = store.adopt(str(linked))
    with original.open("ab") as f:
        f.write(b" changed")
    with store.open(ref) as stream:
        assert stream.read() == b"keep me"


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(contents=st.lists(st.binary(max_size=2000), max_size=8))
def test_every_put_reads_back_and_duplicates_collapse(
    store: ArtifactStore, contents: list[bytes]
) -> None:
    refs = [store.put_stream(io.BytesIO(c)) for c in contents]
    for content, ref in zip(contents, refs, strict=True):
        with store.open(ref) as stream:
            assert stream.read() == content
    assert {r.sha256 for r in refs} <= {b.sha256 for b in store.list_blobs()}
    for ref in refs:
        store.delete(ref.sha256)
