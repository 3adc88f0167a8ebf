"""A body's words and word 5-grams (shingles), as near-duplicate detection compares them.

In: bodies (an Arrow string array). Out: each body's shingle hashes (uint32, in text order,
repeats kept) end to end, and where each body's begin. The definition:

- the body is lower-cased (Arrow's `utf8_lower`) and split at whitespace (what Python's
  `str.split()` splits at);
- each word loses its punctuation and symbol characters: ASCII punctuation, and the code points
  of `DROP` (Latin-1 signs, general punctuation and invisible format characters, Arabic and
  Devanagari punctuation, currency, arrows and dingbats, CJK and full-width punctuation); a word
  left empty is dropped. So `“Hello,` and `hello` are one word, quotes and dashes none;
- a word's hash is FNV-1a (64 bits) of its UTF-8 bytes; a shingle folds SHINGLE_WORDS
  consecutive words' hashes (s = s * STEP + w) or, in a body of fewer words, all of them; its
  value is the top 32 bits of murmur3's 64-bit finalizer of s.

`shingles` runs the C version (`dataset_tools._shingles`, built where a C compiler was at
install: 2-3 us a body) and falls back to `shingles_reference`, the same in Python (tens of
us a body); a test checks that both give the same values. Nothing depends on the Python
version's Unicode tables: the lists are spelled out here.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

try:  # the C version, built where a C compiler was at install (see dataset_tools/_shingles.c)
    from dataset_tools._shingles import shingles as _c_shingles
except ImportError:  # pragma: no cover - exercised where the extension is not built
    _c_shingles = None

SHINGLE_WORDS = 5
STEP = 0x100000001B3
_FNV_OFFSET, _FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3
_MASK = (1 << 64) - 1
ASCII_DROP = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
# Inclusive code point ranges dropped from words (keep in step with _shingles.c).
DROP = (
    (0x00A1, 0x00BF), (0x00D7, 0x00D7), (0x00F7, 0x00F7), (0x060C, 0x060C), (0x061B, 0x061B),
    (0x061F, 0x061F), (0x066A, 0x066D), (0x06D4, 0x06D4), (0x0964, 0x0965), (0x0970, 0x0970),
    (0x200B, 0x2027), (0x202A, 0x202E), (0x2030, 0x205E), (0x2060, 0x206F), (0x20A0, 0x20CF),
    (0x2190, 0x27BF), (0x3001, 0x303F), (0xFE10, 0xFE1F), (0xFE30, 0xFE6F), (0xFEFF, 0xFEFF),
    (0xFF01, 0xFF0F), (0xFF1A, 0xFF20), (0xFF3B, 0xFF40), (0xFF5B, 0xFF65),
)
_TRANSLATE = {ord(c): None for c in ASCII_DROP} | {cp: None for lo, hi in DROP for cp in range(lo, hi + 1)}


SLICE_BODIES = 1024  # bodies lower-cased and hashed at a time (see `shingles`)


def shingles(bodies: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Each body's shingle values (uint32) end to end, and the int64 offsets (one more than
    there are bodies) where each body's values begin.

    The C version runs SLICE_BODIES bodies at a time: over a map task's 8,192 bodies at once,
    the combined and lower-cased copies of the text and the values' spare room came to about
    3.3 times the text (43 MB a task on the benchmark corpus); a slice at a time, to the values
    and a slice's copies."""
    if _c_shingles is None:
        return shingles_reference(pc.utf8_lower(_plain(bodies)))
    values, counts = [np.zeros(0, np.uint32)], [np.zeros(0, np.int64)]
    for start in range(0, len(bodies), SLICE_BODIES):
        part_values, part_counts = _c_slice(pc.utf8_lower(_plain(bodies.slice(start, SLICE_BODIES))))
        values.append(part_values)
        counts.append(part_counts)
    return np.concatenate(values), np.concatenate([[0], np.cumsum(np.concatenate(counts))]).astype(np.int64)


def _c_slice(lowered: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The C version over lower-cased bodies: their values, and each body's number of values."""
    offsets = np.frombuffer(lowered.buffers()[1], np.int32)[lowered.offset : lowered.offset + len(lowered) + 1].astype(np.int64)
    data = lowered.buffers()[2]
    data = memoryview(data) if data is not None else b""
    values = np.empty(len(data) // 2 + len(lowered) + 1, np.uint32)
    counts = np.empty(len(lowered), np.int64)
    written = _c_shingles(data, offsets, values, counts)
    return values[:written].copy(), counts


def shingles_reference(lowered: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """`shingles` in Python, over lower-cased bodies: the definition the C version follows."""
    values: list[int] = []
    offsets = [0]
    hashes: dict[str, int] = {}
    for body in lowered.to_pylist():
        words = []
        for token in body.split():
            h = hashes.get(token)
            if h is None:
                h = hashes[token] = _word_hash(token)
            if h is not None:
                words.append(h)
        if len(words) >= SHINGLE_WORDS:
            values.extend(_fold(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1))
        elif words:
            values.append(_fold(words))
        offsets.append(len(values))
    return np.array(values, np.uint32), np.array(offsets, np.int64)


def _plain(bodies: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(bodies, pa.ChunkedArray):
        bodies = bodies.combine_chunks()
    return bodies.cast(pa.string()).fill_null("")


def _word_hash(token: str) -> int | None:
    kept = token.translate(_TRANSLATE)
    if not kept:
        return None
    h = _FNV_OFFSET
    for byte in kept.encode("utf-8"):
        h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return h


def _fold(words: list[int]) -> int:
    s = 0
    for w in words:
        s = (s * STEP + w) & _MASK
    return _mix(s) >> 32


def _mix(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK
    return h ^ (h >> 33)
