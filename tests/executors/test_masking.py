"""Masking secrets in a chunked stream."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gatehouse.executors.masking import MASK, Masker


def _stream(masker: Masker, chunks: list[bytes]) -> bytes:
    return b"".join(masker.feed(c) for c in chunks) + masker.flush()


def _reference(secrets: list[str], data: bytes) -> bytes:
    for secret in sorted({s.encode() for s in secrets if s}, key=len, reverse=True):
        data = data.replace(secret, MASK)
    return data


def test_whole_secret_in_one_chunk() -> None:
    assert _stream(Masker(["hunter22"]), [b"pw=hunter22\n"]) == b"pw=[MASKED]\n"


def test_secret_split_across_chunks() -> None:
    masker = Masker(["hunter22"])
    first = masker.feed(b"the password is hun")
    assert b"hun" not in first  # held back: it may be the start of the secret
    second = masker.feed(b"ter22 and again hunter")
    third = masker.feed(b"22!\n")
    out = first + second + third + masker.flush()
    assert out == b"the password is [MASKED] and again [MASKED]!\n"


def test_secret_split_one_byte_at_a_time() -> None:
    data = b"a hunter22 b hunter22 c"
    out = _stream(Masker(["hunter22"]), [data[i : i + 1] for i in range(len(data))])
    assert out == b"a [MASKED] b [MASKED] c"


def test_a_prefix_that_does_not_become_the_secret_is_emitted_later() -> None:
    masker = Masker(["hunter22"])
    assert masker.feed(b"hunt") == b""
    assert masker.feed(b"ing season\n") == b"hunting season\n"


def test_a_secret_containing_another() -> None:
    out = _stream(Masker(["abc", "xxabcxx"]), [b"1 xxab", b"cxx 2 abc 3"])
    assert out == b"1 [MASKED] 2 [MASKED] 3"


def test_url_encoded_form_is_masked_too() -> None:
    out = _stream(Masker(["p@ss word!"]), [b"https://u:p%40ss%20word%21@host/ and p@ss word!"])
    assert out == b"https://u:[MASKED]@host/ and [MASKED]"


def test_empty_secrets_are_ignored() -> None:
    masker = Masker(["", ""])
    assert not masker.active
    assert masker.feed(b"unchanged") == b"unchanged"


@given(
    secrets=st.lists(st.text(alphabet="abc", min_size=1, max_size=6), min_size=1, max_size=3),
    text=st.text(alphabet="abc\n", max_size=60),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=8),
)
def test_chunking_never_changes_the_result(secrets: list[str], text: str, cuts: list[int]) -> None:
    data = text.encode()
    points = sorted({min(c, len(data)) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert _stream(Masker(secrets), chunks) == _reference(secrets, data)
