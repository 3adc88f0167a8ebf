"""What flows between the stages: one `Article` per usable raw file, one `Reject` per other,
and the `Outcome` each input file ends as.

`Article` and `Reject` are small slotted records. A reader returns exactly one of them for every file it is
given; nothing is dropped without a record of why.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import Enum


@dataclass(slots=True, frozen=True)
class Article:
    """One parsed article: the dataset row plus how sure the reader is of it.

    The attribute names and order are exactly the row's columns (see `ROW_FIELDS`);
    `language_source` and `fallbacks` are report metadata, not columns. `fallbacks` holds a
    short stable code for each field the reader had to guess or take from a fallback rather
    than read from what the page declares (the reader documents its codes, e.g.
    `collector.FALLBACKS`); () when every field is read as declared.
    """

    id: str
    url: str
    domain: str
    title: str
    description: str | None
    body: str
    published_at: datetime
    modified_at: datetime | None
    section: str | None
    tags: tuple[str, ...]
    keywords: tuple[str, ...]
    image_url: str | None
    language: str
    publisher: str | None
    related_urls: tuple[str, ...]
    word_count: int
    source_file: str
    source_sha256: str
    parser_version: str
    language_source: str = field(default="declared", compare=False)  # declared | detected | unknown
    fallbacks: tuple[str, ...] = field(default=(), compare=False)

    def row(self) -> dict:
        """The article as a dataset row (lists for list columns)."""
        out = {}
        for name in ROW_FIELDS:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out


ROW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Article) if f.name not in ("language_source", "fallbacks"))


@dataclass(slots=True, frozen=True)
class Reject:
    """A raw file that is not a usable article.

    `reason` is a short stable code (counted and grouped in the report, e.g. `empty-file`);
    `detail` is the specific, human message (e.g. "invalid UTF-8 at byte 1043").
    """

    source_file: str
    source_sha256: str
    reason: str
    detail: str
    size: int = 0


class Outcome(str, Enum):
    """What became of one input file: exactly one of these, named in report.json."""

    ROW = "row"  # its article is a row of the dataset
    DUPLICATE = "duplicate"  # byte-identical to an earlier file (named), which is the row
    SUPERSEDED = "superseded"  # the same URL with an older modified time; a later file (named) is the row
    NEAR_DUPLICATE = "near-duplicate"  # a copy of an earlier article (its file named), dropped by `near_duplicates = "drop"`
    REJECTED = "rejected"  # not a usable article: a `Reject` with its reason


# Reject reasons the build decides (a reader's own reasons live with the reader): short stable
# codes, counted in the report.
BUILD_REJECT_REASONS: dict[str, str] = {
    "too-large": "the file is over max_file_bytes: checked from its size before it is read, and no read goes past the limit (a file that grew since the listing); neither read whole nor hashed",
    "unreadable": "the file could not be read from disk, or a folder not read (its path ends with '/'): permission denied, an I/O error",
    "schema-violation": "the parsed row breaks a constraint of the table schema",
    "special-file": "a FIFO, a socket or a device, not a regular file: never opened",
    "link-outside-raw": "a symbolic link whose target is outside the raw folder: not followed",
    "broken-link": "a symbolic link to nothing, or in a loop",
    "link-to-folder": "a symbolic link to a folder: not followed (the build walks the raw folder's own sub-folders only)",
    "path-too-long": "the path is longer than the system allows (PATH_MAX): a file or folder that cannot be opened by its path",
    "name-not-utf8": "the file name is not valid UTF-8: it cannot be stored as text provenance; the report shows it escaped (\\xNN)",
}
