"""report.json's model: the summary a build writes at its head, which the card, the CLI and
`validate` read (the per-file list below it is read line by line where needed, never whole).

    {"dataset_version", "parser_version", "counts": {inputs, rows, duplicates, superseded,
     rejected, near_duplicates}, "rejects_by_reason": {reason: n}, "language_sources": {declared,
     detected, unknown}, "near_duplicates": {mode, threshold, groups, rows, by_domain,
     top_pairs, filter} (absent when they are off), "files": [one {"path", "outcome", ...} per input]}

`counts.near_duplicates` counts the copies a `drop` build left out (0 otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dataset_tools.fileio import read_json_listing_head

LANGUAGE_SOURCES = ("declared", "detected", "unknown")
COUNTS = ("inputs", "rows", "duplicates", "superseded", "rejected", "near_duplicates")


@dataclass
class ReportSummary:
    """report.json's head: the counts, rejects by reason and language sources (every key but
    the per-file list)."""

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
            near_duplicate_links=data.get("near_duplicates"),
        )


def read_report_summary(path: Path) -> ReportSummary:
    """The summary of a report.json, read without its per-file list.

    Raises:
        OSError, ValueError: the file is missing or not a report.
    """
    return ReportSummary.from_json(read_json_listing_head(path, "files"))


