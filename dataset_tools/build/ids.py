"""Row ids as numbers: an id is 16 hex digits (the start of the SHA-256 of the normalized URL,
see `readers.common.article_id`), which is exactly a uint64. Stages that sort, join or count
ids by the hundred thousand do it on these numbers: 8 bytes an id, no Python object each.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_DIGITS = 16


def id_numbers(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Row ids (16 lowercase hex digits, no nulls) as uint64: the same order, and exact."""
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    if not len(ids):
        return np.zeros(0, np.uint64)
    ids = ids.cast(pa.string())
    offsets = np.frombuffer(ids.buffers()[1], np.int32)[ids.offset : ids.offset + len(ids) + 1]
    data = np.frombuffer(ids.buffers()[2], np.uint8)[offsets[0] : offsets[-1]].reshape(-1, _DIGITS)
    nibbles = np.where(data >= ord("a"), data - (ord("a") - 10), data - ord("0")).astype(np.uint8)
    octets = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]  # the 8 bytes of each id, most significant first
    return np.ascontiguousarray(octets).view(">u8").reshape(-1).astype(np.uint64)


def id_strings(numbers: np.ndarray) -> list[str]:
    """uint64 ids back to their 16 hex digits."""
    return [f"{int(n):016x}" for n in numbers]
