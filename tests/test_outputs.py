"""outputs: report.json counts every input and names each reject; the input listings name
every other input's outcome, a month a file; manifest.json hashes every file."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq

from dataset_tools.build import outputs
from dataset_tools.build.dedup import LOSERS_SCHEMA
from dataset_tools.build.filetable import FILES_SCHEMA
from dataset_tools.build.outputs import write_listings, write_manifest, write_report
from dataset_tools.readers import PARSER_VERSION
from dataset_tools.report import ReportSummary, read_outcomes, read_report_summary
from dataset_tools.schema import load_table_schema

JAN, FEB = datetime(2026, 1, 3, tzinfo=timezone.utc), datetime(2026, 2, 3, tzinfo=timezone.utc)
ARTICLE = {"size": 10, "mtime_ns": 1, "kind": "article", "language": "en", "language_source": "declared", "control_characters": 0, "url_userinfo": False}
FILES = [
    {"path": "a.txt", "sha256": "aa", "id": "01", "part": 202601, "published_at": JAN, **ARTICLE, "fallbacks": ["header:by-shape"]},
    {"path": "b.txt", "sha256": "aa", "id": "01", "part": 202601, "published_at": JAN, **ARTICLE},
    {"path": "c.txt", "size": 3, "mtime_ns": 1, "sha256": "cc", "kind": "rejected", "reason": "empty-file", "detail": "the file has no bytes"},
    {"path": 'd "quoted".txt', "sha256": "dd", "id": "02", "part": 202602, "published_at": FEB, **ARTICLE, "language": "de",
     "language_source": "detected", "fallbacks": ["language:detected", "header:by-shape"]},
]
LOSERS = pa.Table.from_pylist([{"path": "b.txt", "outcome": "duplicate", "other": "a.txt", "id": "01", "part": 202601}], schema=LOSERS_SCHEMA)


def _files():
    table = pa.Table.from_pylist(FILES, schema=FILES_SCHEMA)
    return lambda: iter(table.to_batches(max_chunksize=2))


def test_the_report_counts_every_input_names_each_reject_and_its_head_reads_back_alone(tmp_path):
    summary, digest = write_report(tmp_path / "report.json", _files(), LOSERS, "1.2.3")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["counts"] == {"inputs": 4, "rows": 2, "duplicates": 1, "superseded": 0, "rejected": 1, "near_duplicates": 0}
    assert report["rejects_by_reason"] == {"empty-file": 1}
    assert report["language_sources"] == {"declared": 1, "detected": 1, "unknown": 0}
    assert report["fallbacks"] == {"rows": 2, "codes": {"header:by-shape": 2, "language:detected": 1}}  # rows only: b.txt is a duplicate
    assert report["rejected"] == [{"path": "c.txt", "reason": "empty-file", "detail": "the file has no bytes", "size": 3, "sha256": "cc"}]
    assert digest["bytes"] == (tmp_path / "report.json").stat().st_size
    assert read_report_summary(tmp_path / "report.json") == summary
    nothing_cleaned = dict.fromkeys(("rows", "control_characters", "rows_with_control_characters", "rows_with_url_userinfo", "rows_with_secret_parameters"), 0)
    assert summary == ReportSummary(
        "1.2.3", PARSER_VERSION, inputs=4, rows=2, duplicates=1, superseded=0, rejected=1, near_duplicates=0,
        rejects_by_reason={"empty-file": 1}, language_sources={"declared": 1, "detected": 1, "unknown": 0},
        fallback_rows=2, fallbacks={"header:by-shape": 2, "language:detected": 1}, cleaned=nothing_cleaned,
    )


def test_each_months_listing_names_its_inputs_outcomes_in_path_order(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "LISTING_GROUP_ROWS", 1)  # row groups of one row: still whatever the batches
    written = write_listings(tmp_path, _files(), LOSERS, {202601, 202602})
    assert sorted(written) == ["inputs/2026/01.parquet", "inputs/2026/02.parquet"]
    january = pq.read_table(tmp_path / "inputs/2026/01.parquet")
    assert january.to_pylist() == [
        {"path": "a.txt", "size": 10, "sha256": "aa", "outcome": "row", "id": "01", "other": None, "language": "en", "language_source": "declared",
         "fallbacks": ["header:by-shape"], "control_characters": 0, "url_userinfo": False, "secret_parameters": None},
        {"path": "b.txt", "size": 10, "sha256": "aa", "outcome": "duplicate", "id": "01", "other": "a.txt", "language": "en", "language_source": "declared",
         "fallbacks": None, "control_characters": 0, "url_userinfo": False, "secret_parameters": None},
    ]
    assert pq.ParquetFile(tmp_path / "inputs/2026/01.parquet").metadata.num_row_groups == 2
    assert written["inputs/2026/02.parquet"]["bytes"] == (tmp_path / "inputs/2026/02.parquet").stat().st_size
    assert write_listings(tmp_path / "only-feb", _files(), LOSERS, {202602}).keys() == {"inputs/2026/02.parquet"}
    write_report(tmp_path / "report.json", _files(), LOSERS, "1.2.3")
    assert list(read_outcomes(tmp_path)) == sorted(f["path"] for f in FILES)


def test_the_manifest_hashes_the_shards_and_every_other_file(tmp_path, settings):
    schema = load_table_schema(settings.schema)
    folder = tmp_path / "out"
    (folder / "inputs" / "2026").mkdir(parents=True)
    (folder / "README.md").write_text("card")
    (folder / "inputs" / "2026" / "01.parquet").write_bytes(b"listing")
    (folder / ".hidden").write_text("scratch")  # a dot file is no part of the build
    shards = [{"path": "data/2026/01/train-0000.parquet", "rows": 2, "sha256": "ee", "bytes": 5}]
    write_manifest(folder / "manifest.json", folder, shards, schema, "1.2.3")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["dataset_version"] == "1.2.3" and manifest["data_files"] == shards
    assert [f["path"] for f in manifest["files"]] == ["README.md", "inputs/2026/01.parquet"]
    assert "inputs" not in manifest  # the inputs' SHA-256 are in the listings, which the manifest hashes
