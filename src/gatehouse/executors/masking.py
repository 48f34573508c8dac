"""Masking: secrets in a job's output replaced by ``[MASKED]``, also across read boundaries.

A job's output reaches us in chunks of whatever size the pipe hands over, so a
secret can arrive split in two (``…pass`` then ``word…``). Replacing in each
chunk alone would leak both halves. The :class:`Masker` therefore holds back
the shortest tail of each chunk that could still become a secret:

1. find the longest suffix of the data that is a *proper prefix* of some
   secret (only those bytes can be completed by the next chunk);
2. move the cut further left while any complete occurrence of a secret would
   straddle it, so that no occurrence is ever split between what is emitted
   now and what is kept (this matters when one secret contains another);
3. replace every secret, longest first, in what is left of the cut, and keep
   the tail for the next chunk. At the end of the stream the tail is flushed
   (masked).

The held tail is shorter than the longest secret, so output is delayed by at
most that many bytes. All the work is ``bytes.find``/``bytes.replace`` over
the chunk (C speed); a job without masked variables pays nothing.

Each value is masked as given and, when different, in its URL-encoded form
(secrets often end up in URLs). Empty values are ignored; a rule such as
GitLab's "masked values have at least 8 characters" belongs to the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

MASK = b"[MASKED]"


class Masker:
    """Streaming replacement of secrets; feed chunks in order, then :meth:`flush`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values: set[bytes] = set()
        for secret in secrets:
            if not secret:
                continue
            raw = secret.encode()
            values.add(raw)
            encoded = quote(secret, safe="").encode()
            if encoded != raw:
                values.add(encoded)
        # Longest first: when one secret contains another, the whole is masked.
        self._secrets = sorted(values, key=len, reverse=True)
        self._pending = b""

    @property
    def active(self) -> bool:
        return bool(self._secrets)

    def feed(self, chunk: bytes) -> bytes:
        """Masked bytes that are safe to emit now (possibly fewer than were fed)."""
        if not self._secrets:
            return chunk
        data = self._pending + chunk if self._pending else chunk
        cut = self._safe_cut(data)
        if cut == len(data):
            self._pending = b""
            return self._replace(data)
        self._pending = data[cut:]
        return self._replace(data[:cut])

    def flush(self) -> bytes:
        """Everything held back, masked; call at the end of a stream."""
        data, self._pending = self._pending, b""
        return self._replace(data)

    def _replace(self, data: bytes) -> bytes:
        for secret in self._secrets:
            if secret in data:
                data = data.replace(secret, MASK)
        return data

    def _safe_cut(self, data: bytes) -> int:
        size = len(data)
        cut = size
        for secret in self._secrets:
            first = secret[:1]
            i = data.find(first, max(0, size - len(secret) + 1))
            while i != -1 and i < cut:
                if secret.startswith(data[i:]):
                    cut = i
                    break
                i = data.find(first, i + 1)
        moved = True
        while moved:
            moved = False
            for secret in self._secrets:
                # An occurrence starting in [cut - len + 1, cut) ends after the cut.
                low = max(0, cut - len(secret) + 1)
                i = data.find(secret, low, min(size, cut + len(secret) - 1))
                if i != -1 and i < cut:
                    cut = i
                    moved = True
        return cut
