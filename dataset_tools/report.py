"""What became of every input: report.json's model, and the reading of the input listings.

report.json holds the summary a build writes at its head, which the card, the CLI and
`validate` read, then one line per rejected input (read line by line where needed):

    {"dataset_version", "parser_version", "counts": {inputs, rows, duplicates, superseded,
     rejected, near_duplicates}, "rejects_by_reason": {reason: n}, "language_sources": {declared,
     detected, unknown}, "fallbacks": {"rows": n, "codes": {code: rows}}, "cleaned": {rows,
     control_characters, rows_with_control_characters, rows_with_url_userinfo,
     rows_with_secret_parameters}, "near_duplicates": {mode, threshold, groups, rows, by_domain,
     top_pairs, filter} (absent when they are off), "rejected": [one {"path", "reason", "detail",
     "size", "sha256"} per rejected input]}

`fallbacks` counts the rows for which the reader had to guess a field, in all and per kind of
guess (a code, see `readers.FALLBACKS`); each input's own codes are in its listing row.
`cleaned` counts what the build's hygiene (`build.hygiene`) removed from the dataset's rows: the
rows it changed, the control characters removed, and the rows whose URLs lost user-info or
secret-looking query parameters; each row's own counts are in its listing row (the counts and
the parameters' names, never their values). `counts.near_duplicates` counts the copies a `drop`
build left out (0 otherwise).

The other inputs are in the input listings (`layout.INPUTS_GLOB`): one Parquet row per input
whose article became a row, a duplicate, a superseded version or a near-duplicate left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from dataset_tools.fileio import read_json_listing_head
from dataset_tools.layout import REPORT_FILE, input_listings

LANGUAGE_SOURCES = ("declared", "detected", "unknown")
COUNTS = ("inputs", "rows", "duplicates", "superseded", "rejected", "near_duplicates")
CLEANED_COUNTS = ("rows", "control_characters", "rows_with_control_characters", "rows_with_url_userinfo", "rows_with_secret_parameters")


@dataclass
class ReportSummary:
    """report.json's head: the counts, rejects by reason, language sources and what hygiene
    removed (every key but the per-file list)."""

    dataset_version: str
    parser_version: str
    inputs: int = 0
    rows: int = 0
    duplicates: int = 0
    superseded: int = 0
    rejected: int = 0
    near_duplicates: int = 0
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    language_sources: dict[str, int] = field(default_factory=dict)
    fallback_rows: int = 0  # rows with at least one field guessed
    fallbacks: dict[str, int] = field(default_factory=dict)  # rows per code
    cleaned: dict[str, int] = field(default_factory=dict)
    near_duplicate_links: dict | None = None  # report.json's `near_duplicates` section

    def counts(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in COUNTS}

    def to_json(self) -> dict:
        head = {
            "dataset_version": self.dataset_version,
            "parser_version": self.parser_version,
            "counts": self.counts(),
            "rejects_by_reason": self.rejects_by_reason,
            "language_sources": self.language_sources,
            "fallbacks": {"rows": self.fallback_rows, "codes": self.fallbacks},
            "cleaned": self.cleaned,
        }
        if self.near_duplicate_links is not None:
            head["near_duplicates"] = self.near_duplicate_links
        return head

    @classmethod
    def from_json(cls, data: dict) -> ReportSummary:
        """The summary in a report.json head (missing keys count as zero or empty)."""
        counts = data.get("counts") or {}
        return cls(
            dataset_version=data.get("dataset_version", ""),
            parser_version=data.get("parser_version", ""),
            **{key: int(counts.get(key, 0)) for key in COUNTS},
            rejects_by_reason=dict(data.get("rejects_by_reason") or {}),
            language_sources=dict(data.get("language_sources") or {}),
            fallback_rows=int((data.get("fallbacks") or {}).get("rows", 0)),
            fallbacks=dict((data.get("fallbacks") or {}).get("codes") or {}),
            cleaned=dict(data.get("cleaned") or {}),
            near_duplicate_links=data.get("near_duplicates"),
        )


def read_report_summary(path: Path) -> ReportSummary:
    """The summary of a report.json, read without its per-file list.

    Raises:
        OSError, ValueError: the file is missing or not a report.
    """
    return ReportSummary.from_json(read_json_listing_head(path, "rejected"))


def read_outcomes(folder: Path) -> dict[str, dict]:
    """Every input of a built folder and what became of it, by path: the listings' rows
    ({"outcome": "row" | "duplicate" | "superseded" | "near-duplicate", "id", "other", ...}) and report.json's
    rejects ({"outcome": "rejected", "reason", "detail"}). Holds them all: for tests and small
    folders."""
    import pyarrow.parquet as pq

    found: dict[str, dict] = {}
    for path in input_listings(folder):
        for row in pq.read_table(path).to_pylist():
            found[row["path"]] = row
    for entry in json.loads((Path(folder) / REPORT_FILE).read_text(encoding="utf-8")).get("rejected", []):
        found[entry["path"]] = {**entry, "outcome": "rejected"}
    return dict(sorted(found.items()))


