"""Near-duplicates' words and shingles: the C version equals the Python reference."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.build import neardup_text
from rawfiles import story_paragraphs


def test_the_c_shingles_equal_the_python_reference():
    assert neardup_text._c_shingles is not None, "the C extension was not built"
    pieces = ["harbour", "Board", "ÉCLUSE", "шлюз", "ميناء", "बंदरगाह", "a", ",", ".", "“", "”", "«", "»", "—", "-", "'s",
              "\u00a0", "\u2009", "\u200b", "\u3000", "\x1c", "\x85", "€", "→", "😀", "\ufeff", "İ", "ß", "।", "،", " ", "\n\n", "\t"]
    rng = random.Random(5)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randrange(0, 80))) for _ in range(2000)]
    texts += ["", "one", "a b c d", "a b c d e", "a b c d e f", "— – …", "\n".join(story_paragraphs(3))]
    array = pa.array(texts + [None])
    values, offsets = neardup_text.shingles(array)
    expected_values, expected_offsets = neardup_text.shingles_reference(pc.utf8_lower(array.fill_null("")))
    assert np.array_equal(offsets, expected_offsets) and np.array_equal(values, expected_values)
    # Made a slice of bodies at a time, over chunks that end elsewhere than the slices: the same.
    assert len(texts) > neardup_text.SLICE_BODIES
    chunked = pa.chunked_array([array.slice(0, 700), array.slice(700, 1000), array.slice(1700)])
    chunked_values, chunked_offsets = neardup_text.shingles(chunked)
    assert np.array_equal(chunked_offsets, expected_offsets) and np.array_equal(chunked_values, expected_values)
    empty_values, empty_offsets = neardup_text.shingles(pa.array([], pa.string()))
    assert len(empty_values) == 0 and empty_offsets.tolist() == [0]
    # Punctuation, case and whitespace do not count: the same words give the same shingles.
    a, _ = neardup_text.shingles(pa.array(["“The harbour,” board said — again  today."]))
    b, _ = neardup_text.shingles(pa.array(["the harbour board said again today"]))
    assert np.array_equal(a, b) and len(a) == 2


def test_the_c_jaccard_equals_the_numpy_reference():
    from dataset_tools.build.neardup_links import _c_jaccard, pair_jaccard, pair_jaccard_reference

    assert _c_jaccard is not None, "the C extension was not built"
    rng = np.random.default_rng(3)
    lengths = rng.integers(0, 40, 300)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    values = rng.integers(0, 60, offsets[-1]).astype(np.uint32)  # small values: repeats and overlaps
    a, b = rng.integers(0, 300, 2000), rng.integers(0, 300, 2000)
    before = values.copy()
    got = pair_jaccard(values, offsets, a, b)
    assert np.array_equal(values, before)  # the caller's values are not sorted in place
    assert np.array_equal(got, pair_jaccard_reference(values, offsets, a, b))
    x, y = {1, 2, 3, 4}, {3, 4, 5}
    assert pair_jaccard(np.array([4, 1, 2, 3, 1, 5, 3, 4], np.uint32), np.array([0, 5, 8]), np.array([0, 0]), np.array([1, 0])).tolist() == [
        len(x & y) / len(x | y), 1.0]
