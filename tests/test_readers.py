"""The reader registry: the first reader that claims a file reads it; a new layout is one module
(here, a toy JSON-lines reader written in the test) plus one line in `READERS`."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import pyarrow.parquet as pq
import pytest

from dataset_tools import readers
from dataset_tools.build import build_dataset
from dataset_tools.readers import PARSER_VERSION, READERS, Reader, collector, parse_file, reader_for
from dataset_tools.readers.common import url_identity
from dataset_tools.records import Article, Reject
from dataset_tools.report import read_outcomes
from rawfiles import collected_article, write_raw


def _parse_json_line(data: bytes, path: str) -> Article | Reject:
    sha = hashlib.sha256(data).hexdigest()
    try:
        item = json.loads(data)
        url, title, body, published = item["url"], item["title"], item["body"], datetime.fromisoformat(item["published"])
    except (ValueError, KeyError) as exc:
        return Reject(path, sha, "not-an-article", f"not a JSON article: {type(exc).__name__}", len(data))
    domain, identity = url_identity(url)
    return Article(
        identity, url, domain, title, None, body, published, None, None, (), (), None, "en", None, (),
        len(body.split()), path, sha, "jsonl/0.1",
    )


JSONL = Reader("jsonl", "0.1", _parse_json_line, lambda path: path.endswith(".json"))


def test_the_collector_reads_every_file_nothing_else_claims():
    assert [reader.name for reader in READERS] == ["collector"]
    assert reader_for("any/name.csv") is READERS[0] and PARSER_VERSION == READERS[0].id == f"collector/{collector.VERSION}"
    assert isinstance(parse_file(b"", "empty.txt"), Reject)


def test_a_second_reader_is_one_registry_line(settings, project, monkeypatch):
    monkeypatch.setattr(readers, "READERS", (JSONL, *READERS))
    write_raw(project / "raw", "a.txt", collected_article())
    item = {"url": "https://other.example.net/2026/story.html", "title": "A story from an export", "body": "One line of text from another crawler.", "published": "2026-02-03T04:05:00+00:00"}
    write_raw(project / "raw", "b.json", json.dumps(item))
    write_raw(project / "raw", "c.json", "{not json")
    result = build_dataset(settings, workers=1, use_cache=False)
    assert (result.rows, result.rejected) == (2, 1)
    rows = {row["source_file"]: row for row in pq.read_table(settings.out / "data").to_pylist()}
    assert rows["b.json"]["parser_version"] == "jsonl/0.1" and rows["b.json"]["title"] == item["title"]
    assert rows["a.txt"]["parser_version"] == READERS[0].id
    assert read_outcomes(settings.out)["c.json"]["reason"] == "not-an-article"


@pytest.mark.parametrize("path", ["x.txt", "deep/x.json.txt"])
def test_files_the_new_reader_does_not_claim_stay_with_the_collector(path, monkeypatch):
    monkeypatch.setattr(readers, "READERS", (JSONL, *READERS))
    assert readers.reader_for(path).name == "collector"
