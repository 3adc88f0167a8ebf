"""outputs: report.json accounts for every input with its outcome; manifest.json lists every input."""

from __future__ import annotations

import json

import pyarrow as pa

from dataset_tools.build.dedup import LOSERS_SCHEMA
from dataset_tools.build.filetable import FILES_SCHEMA
from dataset_tools.build.outputs import write_manifest, write_report
from dataset_tools.readers import PARSER_VERSION
from dataset_tools.report import ReportSummary, read_report_summary
from dataset_tools.schema import load_table_schema

FILES = [
    {"path": "a.txt", "size": 10, "mtime_ns": 1, "sha256": "aa", "kind": "article", "id": "01", "bucket": 0, "language": "en", "language_source": "declared"},
    {"path": "b.txt", "size": 10, "mtime_ns": 1, "sha256": "aa", "kind": "article", "id": "01", "bucket": 0, "language": "en", "language_source": "declared"},
    {"path": "c.txt", "size": 3, "mtime_ns": 1, "sha256": "cc", "kind": "rejected", "reason": "empty-file", "detail": "the file has no bytes"},
    {"path": 'd "quoted".txt', "size": 9, "mtime_ns": 1, "sha256": "dd", "kind": "article", "id": "02", "bucket": 0, "language": "de", "language_source": "detected"},
]


def _files():
    table = pa.Table.from_pylist(FILES, schema=FILES_SCHEMA)
    return lambda: iter(table.to_batches(max_chunksize=2))


def test_the_report_names_each_inputs_outcome_and_its_head_reads_back_alone(tmp_path):
    losers = pa.Table.from_pylist([{"path": "b.txt", "outcome": "duplicate", "other": "a.txt", "id": "01", "bucket": 0}], schema=LOSERS_SCHEMA)
    summary, digest = write_report(tmp_path / "report.json", _files(), losers, "1.2.3")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["counts"] == {"inputs": 4, "rows": 2, "duplicates": 1, "superseded": 0, "rejected": 1}
    assert report["rejects_by_reason"] == {"empty-file": 1}
    assert report["language_sources"] == {"declared": 1, "detected": 1, "unknown": 0}
    assert report["files"] == [
        {"path": "a.txt", "outcome": "row", "id": "01", "language": "en", "language_source": "declared"},
        {"path": "b.txt", "outcome": "duplicate", "id": "01", "of": "a.txt"},
        {"path": "c.txt", "outcome": "rejected", "reason": "empty-file", "detail": "the file has no bytes"},
        {"path": 'd "quoted".txt', "outcome": "row", "id": "02", "language": "de", "language_source": "detected"},
    ]
    assert digest["bytes"] == (tmp_path / "report.json").stat().st_size
    assert read_report_summary(tmp_path / "report.json") == summary
    assert summary == ReportSummary("1.2.3", PARSER_VERSION, 4, 2, 1, 0, 1, {"empty-file": 1}, {"declared": 1, "detected": 1, "unknown": 0})


def test_the_manifest_lists_the_shards_the_other_files_and_every_input(tmp_path, settings):
    schema = load_table_schema(settings.schema)
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    (tmp_path / "README.md").write_text("card")
    (tmp_path / ".hidden").write_text("scratch")  # a dot file is no part of the build
    shards = [{"path": "data/train-00000-of-00001.parquet", "rows": 2, "sha256": "ee", "bytes": 5}]
    write_manifest(tmp_path / "manifest.json", tmp_path, shards, schema, "1.2.3", files=_files())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["dataset_version"] == "1.2.3" and manifest["data_files"] == shards
    assert [f["path"] for f in manifest["files"]] == ["README.md"]
    assert manifest["inputs"] == [{"path": f["path"], "size": f["size"], "sha256": f["sha256"]} for f in FILES]
