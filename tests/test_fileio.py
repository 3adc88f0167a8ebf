"""report.json and manifest.json lines made column-wise are exactly the JSON orjson writes."""

from __future__ import annotations

import orjson
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dataset_tools.fileio import (
    json_lines,
    read_json_listing_head,
    write_json_listing_lines,
)

texts = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(['a"b', "back\\slash", "tab\there", "nul\x00", "\x1f", "é ü Ж 中", "\u2028", "\x7f"]))
numbers = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1))


def _slow(rows: list[dict]):
    return lambda indices: [orjson.dumps(rows[i]) for i in indices]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(texts, numbers, texts), max_size=20), st.lists(st.booleans(), max_size=20))
def test_json_lines_equal_orjson(values, flags):
    rows = [{"path": p, "size": n, "sha256": h} for p, n, h in values]
    columns = [
        # A slice of a longer array, its neighbours needing escapes: only its own bytes count.
        ("path", pa.chunked_array([pa.array(['"', *(r["path"] for r in rows), "\x01"], pa.string()).slice(1, len(rows))])),
        ("size", pa.array([r["size"] for r in rows], pa.int64())),
        ("sha256", pa.array([r["sha256"] for r in rows], pa.string())),
    ]
    flagged = pa.array((flags + [False] * len(rows))[: len(rows)], pa.bool_())
    lines = json_lines(columns, _slow(rows), flagged)
    assert lines.to_pylist() == [orjson.dumps(r).decode() for r in rows]


def test_a_shared_value_is_written_in_every_line():
    rows = [{"path": "a.txt", "outcome": "row"}, {"path": "b.txt", "outcome": "row"}]
    lines = json_lines([("path", pa.array(["a.txt", "b.txt"])), ("outcome", pa.scalar("row"))], _slow(rows))
    assert lines.to_pylist() == [orjson.dumps(r).decode() for r in rows]


def test_a_listing_is_the_indented_head_then_one_item_per_line(tmp_path):
    rows = [{"path": f"{i:03d}.txt", "size": i} for i in range(7)]
    lines = json_lines([("path", pa.array([r["path"] for r in rows])), ("size", pa.array([r["size"] for r in rows]))], _slow(rows))
    head = {"counts": {"inputs": 7}}
    write_json_listing_lines(tmp_path / "lines.json", head, "files", [lines.slice(0, 3), lines.slice(3, 0), lines.slice(3)])
    expected = '{\n  "counts": {\n    "inputs": 7\n  },\n  "files": [\n' + ",\n".join(
        "    " + orjson.dumps(r).decode() for r in rows
    ) + "\n  ]\n}\n"
    assert (tmp_path / "lines.json").read_text() == expected
    assert orjson.loads((tmp_path / "lines.json").read_bytes()) == {**head, "files": rows}
    assert read_json_listing_head(tmp_path / "lines.json", "files") == head

    write_json_listing_lines(tmp_path / "empty.json", head, "files", [])
    assert (tmp_path / "empty.json").read_text() == '{\n  "counts": {\n    "inputs": 7\n  },\n  "files": []\n}\n'
    assert orjson.loads((tmp_path / "empty.json").read_bytes()) == {**head, "files": []}
    assert read_json_listing_head(tmp_path / "empty.json", "files") == head
