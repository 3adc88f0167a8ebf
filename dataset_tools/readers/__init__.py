"""Readers: one module per raw layout. Each turns one file's bytes into an `Article` or a `Reject`.

A reader is a pure function of (bytes, relative path): it never touches the file system, so
it runs unchanged in a worker process, on a cluster, or over bytes fetched from object storage.
"""

from dataset_tools.readers.collector import PARSER_VERSION, parse_article

__all__ = ["PARSER_VERSION", "parse_article"]
