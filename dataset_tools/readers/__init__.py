"""Readers: one module per raw layout, each turning one file's bytes into an `Article` or a `Reject`.

A reader is a pure function of (bytes, relative path): it never touches the file system, so
it runs unchanged in a worker process, on a cluster, or over bytes fetched from object storage.

To add a layout (saved HTML pages, JSONL exports, ...): write `readers/<layout>.py` ending with
a `READER = Reader(...)` (see `base.Reader`), and put it in `READERS` below, before the
collector, which claims every file. Its tests go in `tests/test_reader_<layout>.py`. A reader too
big for one module keeps its parts in `readers/<layout>_<part>.py`, as the collector does
(`collector.py` is the reader, its docstring names the parts). What any layout can reuse is in
`common.py` (decoding, line cleaning, URL identity, language detection) and `dates.py`
(timestamps, related-article date lines).
"""

from __future__ import annotations

from dataset_tools.readers import collector
from dataset_tools.readers.base import Reader
from dataset_tools.records import Article, Reject

# In order: the first reader that claims a file reads it. The collector layout claims them all.
READERS: tuple[Reader, ...] = (collector.READER,)

# The readers' ids, as report.json and manifest.json state them; part of the build cache's key.
PARSER_VERSION = ";".join(reader.id for reader in READERS)
# Every code a reader puts in `Article.fallbacks`, and what it means (the card explains them).
FALLBACKS: dict[str, str] = {code: text for reader in READERS for code, text in reader.fallbacks.items()}


def reader_for(path: str) -> Reader:
    """The reader of the raw file at `path` (relative to the raw folder)."""
    return next(reader for reader in READERS if reader.claims(path))


def parse_file(data: bytes, path: str) -> Article | Reject:
    """One raw file's bytes, read by the reader that claims it."""
    return reader_for(path).parse(data, path)


# The collector's function under its old name, for code that reads collector files only.
parse_article = collector.parse_article

__all__ = ["FALLBACKS", "PARSER_VERSION", "READERS", "Reader", "parse_article", "parse_file", "reader_for"]
