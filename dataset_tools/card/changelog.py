"""The entry of one version in CHANGELOG.md: its release date and its text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_HEADING = re.compile(r"^##\s+(?P<title>.*)$", re.MULTILINE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ChangelogEntry:
    """A release heading's version and date (None when the heading has none) and the text under it."""

    version: str
    date: str | None
    text: str


def changelog_entry(path: Path, version: str) -> ChangelogEntry | None:
    """The section of CHANGELOG.md headed `## [version] - date`, or None when there is none."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    headings = list(_HEADING.finditer(text))
    version_pattern = re.compile(rf"^\[?v?{re.escape(version)}\]?(\s|$)")
    for index, heading in enumerate(headings):
        title = heading.group("title").strip()
        if version_pattern.match(title):
            end = headings[index + 1].start() if index + 1 < len(headings) else len(text)
            date = _DATE.search(title)
            return ChangelogEntry(version, date.group(0) if date else None, text[heading.end() : end].strip())
    return None
