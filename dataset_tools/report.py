"""report.json's model: the summary a build writes at its head, which the card, the CLI and
`validate` read (the per-file list below it is read line by line where needed, never whole).

    {"dataset_version", "parser_version", "counts": {inputs, rows, duplicates, superseded,
     rejected}, "rejects_by_reason": {reason: n}, "language_sources": {declared, detected,
     unknown}, "cleaned": {rows, control_characters, rows_with_control_characters,
     rows_with_url_userinfo, rows_with_secret_parameters}, "files": [one {"path", "outcome",
     ...} per input]}

`cleaned` counts what the build's hygiene (`build.hygiene`) removed from the dataset's rows: the
rows it changed, the control characters removed, and the rows whose URLs lost user-info or
secret-looking query parameters. A row it changed has a "cleaned" entry in `files` (the counts
and the parameters' names, never their values).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dataset_tools.fileio import read_json_listing_head

LANGUAGE_SOURCES = ("declared", "detected", "unknown")
COUNTS = ("inputs", "rows", "duplicates", "superseded", "rejected")
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
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    language_sources: dict[str, int] = field(default_factory=dict)
    cleaned: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in COUNTS}

    def to_json(self) -> dict:
        return {
            "dataset_version": self.dataset_version,
            "parser_version": self.parser_version,
            "counts": self.counts(),
            "rejects_by_reason": self.rejects_by_reason,
            "language_sources": self.language_sources,
            "cleaned": self.cleaned,
        }

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
            cleaned=dict(data.get("cleaned") or {}),
        )


def read_report_summary(path: Path) -> ReportSummary:
    """The summary of a report.json, read without its per-file list.

    Raises:
        OSError, ValueError: the file is missing or not a report.
    """
    return ReportSummary.from_json(read_json_listing_head(path, "files"))


