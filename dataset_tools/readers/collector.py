"""The collector layout: one page per text file, structured metadata first, then the visible article.

See the project's design notes (raw-layout) for the layout line by line. In short:

    URL / title / [second title] / [site name] / [description] / 1 or 3 timestamps /
    [section] / [tags...] / [main image] / [articleBody line] / [related URLs] / [about lines] /
    [publisher blocks, copyright year, genre, locale, thumbnail] / [keywords line twice] /
    headline again / lead / paragraphs... / [related article's date line]

The reader follows that structure (anchors: the timestamps, the last repetition of the headline)
rather than fixed line numbers, and returns an `Article` or a `Reject` with a specific reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone

from dataset_tools.readers.common import (
    UndecodableText,
    article_id,
    clean_line,
    decode_text,
    detect_language,
    sniff_binary,
    url_domain,
    word_count,
)
from dataset_tools.records import Article, Reject

NAME = "collector"
VERSION = "1.0"
PARSER_VERSION = f"{NAME}/{VERSION}"

_URL = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)
_TIMESTAMP_SHAPE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)"
    r"\s*(?P<offset>Z|[+-]\d{2}:?\d{2}|[+-]\d{2})?",
    re.IGNORECASE,
)
_LOCALE = re.compile(r"(?P<lang>[a-z]{2,3})[_-][A-Za-z]{2,4}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?[\d\s()\-]{7,}")
_YEAR = re.compile(r"(19|20)\d{2}")
_DIMENSION = re.compile(r"\d{1,5}(px)?")
_IMAGE_URL = re.compile(r"\.(jpe?g|png|gif|webp|avif|svg)(\?|$)|/img/|/images?/", re.IGNORECASE)
_GENRES = {"news", "article", "newsarticle", "reportage", "analysis", "opinion", "interview"}
# The trailing date of a related article: "30 December 2025, 00:05 GMT",
# "5 de septiembre 2024, 18:39 GMT", "11:54 22.12.2025", and similar localized forms.
_RELATED_DATE = re.compile(
    r"(?:\d{1,2}(?:\.)?\s+(?:de\s+)?[^\W\d_]+\.?\s+(?:de\s+)?\d{4}(?:\s*г\.?)?,?\s+\d{1,2}:\d{2}(?:\s*(?:GMT|UTC|MSK)(?:[+-]\d{1,2})?)?)"
    r"|(?:\d{1,2}:\d{2},?\s+\d{1,2}[./]\d{1,2}[./]\d{4})"
    r"|(?:\d{1,2}[./]\d{1,2}[./]\d{4},?\s+\d{1,2}:\d{2}(?:\s*(?:GMT|UTC|MSK))?)"
    r"|(?:[^\W\d_]+\.?\s+\d{1,2},\s+\d{4},?\s+\d{1,2}:\d{2}(?:\s*(?:GMT|UTC|MSK))?)",
    re.UNICODE,
)
_SENTENCE_END = tuple(".!?…:;\"'”»)]") + ("।", "۔", "؟", "。")
_BULLET = re.compile(r"[-–—•*·▪●]\s|\d{1,2}[.)]\s")
# Far longer than any page's metadata block; bounds the search for the timestamps.
_MAX_HEADER_LINES = 12


def parse_article(data: bytes, source_file: str) -> Article | Reject:
    """Parse one raw file in the collector layout.

    Args:
        data: the file's exact bytes.
        source_file: its path relative to the raw folder (provenance only; never opened).

    Returns:
        An `Article` whose fields come from what the file says, or a `Reject` naming why the
        file is not a usable article. Never raises on bad input.
    """
    sha = hashlib.sha256(data).hexdigest()

    def reject(reason: str, detail: str) -> Reject:
        return Reject(source_file, sha, reason, detail, len(data))

    if not data.strip():
        return reject("empty-file", "empty file" if not data else "file holds only whitespace")
    binary = sniff_binary(data)
    if binary:
        return reject("binary-file", f"not text: {binary}")
    try:
        text, _encoding = decode_text(data)
    except UndecodableText as exc:
        return reject("invalid-encoding", str(exc))
    if "\ufffd" in text:
        return reject("invalid-encoding", f"text holds U+FFFD replacement characters at char {text.index(chr(0xfffd))}")

    lines = [clean_line(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    first = lines[0]
    if first[:1] in "{[" and _looks_like_json(text):
        return reject("not-an-article", "not a collected article: the file is a JSON document")
    if not _URL.fullmatch(first):
        shown = first if len(first) <= 60 else first[:57] + "..."
        return reject("not-a-url", f"line 1 is not an http(s):// URL: {shown!r}")
    url = first
    if len(lines) < 2:
        return reject("truncated", "file ends after the URL: no title")
    title = lines[1]
    if len(lines) == 2:
        return reject("truncated", "file ends after the title")

    # Anchor 1: the timestamps.
    ts_start = next(
        (i for i in range(2, min(len(lines), 2 + _MAX_HEADER_LINES)) if _TIMESTAMP_SHAPE.fullmatch(lines[i])),
        None,
    )
    if ts_start is None:
        if len(lines) <= 6:
            return reject("truncated", "file ends inside its metadata, before the timestamps")
        return reject("missing-timestamp", "no publication timestamp in the metadata")
    ts_end = ts_start
    while ts_end < len(lines) and _TIMESTAMP_SHAPE.fullmatch(lines[ts_end]):
        ts_end += 1
    stamps: list[datetime] = []
    for line in lines[ts_start:ts_end]:
        parsed = _parse_timestamp(line)
        if parsed is None:
            return reject("invalid-timestamp", f"impossible timestamp {line!r}")
        stamps.append(parsed)
    if len(stamps) >= 3:
        published, modified = stamps[1], stamps[2]
    elif len(stamps) == 2:
        published, modified = stamps[0], stamps[1]
    else:
        published, modified = stamps[0], None
    if modified is not None and modified < published:
        return reject(
            "invalid-timestamp",
            f"modified time {modified.isoformat()} is before the published time {published.isoformat()}",
        )

    # Anchor 2: the last repetition of the headline starts the visible page.
    headline_at = _last_index(lines, title, ts_end)
    if headline_at is None:
        return reject("truncated", "file ends inside its metadata: the headline never repeats to start the article")
    visible = lines[headline_at + 1 :]
    if not visible:
        return reject("no-body", "metadata without a visible article after the headline")

    header = lines[2:ts_start]
    site_name, description = _split_header(header, title, lines[ts_end:headline_at])
    meta = _parse_middle(lines[ts_end:headline_at], url, site_name)

    body_lines = visible
    if meta["related_urls"] and len(body_lines) > 1 and _RELATED_DATE.fullmatch(body_lines[-1]):
        body_lines = body_lines[:-1]
    paragraphs = _join_paragraphs(body_lines, meta["article_body"])
    body = "\n\n".join(paragraphs)
    if not body:
        return reject("no-body", "metadata without a visible article after the headline")

    language = meta["language"]
    language_source = "declared"
    if language is None:
        language = detect_language(body)
        language_source = "detected" if language else "unknown"
        language = language or "und"

    return Article(
        id=article_id(url),
        url=url,
        domain=url_domain(url),
        title=title,
        description=description,
        body=body,
        published_at=published,
        modified_at=modified,
        section=meta["section"],
        tags=tuple(meta["tags"]),
        keywords=tuple(meta["keywords"]),
        image_url=meta["image_url"],
        language=language,
        publisher=site_name,
        related_urls=tuple(meta["related_urls"]),
        word_count=word_count(body),
        source_file=source_file,
        source_sha256=sha,
        parser_version=PARSER_VERSION,
        language_source=language_source,
    )


def _looks_like_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _parse_timestamp(value: str) -> datetime | None:
    """An ISO-8601 timestamp with any offset spelling, in UTC; None when impossible."""
    match = _TIMESTAMP_SHAPE.fullmatch(value)
    if match is None:
        return None
    offset = (match.group("offset") or "Z").upper()
    if offset != "Z":
        sign, digits = offset[0], offset[1:].replace(":", "")
        digits = digits if len(digits) == 4 else digits + "00"
        offset = f"{sign}{digits[:2]}:{digits[2:]}"
    time = match.group("time").replace(",", ".")
    if len(time.split(":")[0]) == 1:
        time = "0" + time
    try:
        stamp = datetime.fromisoformat(f"{match.group('date')}T{time}{'+00:00' if offset == 'Z' else offset}")
    except ValueError:
        return None
    return stamp.astimezone(timezone.utc)


def _last_index(lines: list[str], value: str, start: int) -> int | None:
    folded = value.casefold()
    for i in range(len(lines) - 1, start - 1, -1):
        if lines[i] == value or lines[i].casefold() == folded:
            return i
    return None


def _split_header(header: list[str], title: str, middle: list[str]) -> tuple[str | None, str | None]:
    """(site name, description) from the lines between the title and the timestamps.

    Those lines are [second title] [site name] [description]. The second title usually equals
    the title; the site name is the line that the publisher blocks repeat further down; the
    description is a sentence-like line and comes last.
    """
    rest = list(header)
    if rest and rest[0].casefold() == title.casefold():
        rest = rest[1:]
    elif len(rest) == 3:  # a second title worded differently
        rest = rest[1:]
    if not rest:
        return None, None
    later = set(middle)
    if len(rest) == 1:
        only = rest[0]
        if only in later or not _is_sentence_like(only):
            return only, None
        return None, only
    site_name, description = rest[0], rest[-1]
    if site_name not in later and rest[-1] in later:
        site_name, description = rest[-1], rest[0]
    return site_name, description


def _is_sentence_like(line: str) -> bool:
    return len(line) > 60 or line.endswith(_SENTENCE_END) and len(line.split()) > 6


def _parse_middle(middle: list[str], url: str, site_name: str | None) -> dict:
    """Section, tags, images, articleBody, related URLs, locale and keywords from the metadata
    lines between the timestamps and the headline's last repetition."""
    section: str | None = None
    tags: list[str] = []
    image_url: str | None = None
    article_body: str | None = None
    related: list[str] = []
    language: str | None = None
    keywords: list[str] = []

    end = len(middle)
    # The keywords line comes twice, right before the headline.
    if end >= 2 and middle[-1] == middle[-2] and not _URL.fullmatch(middle[-1]) and not _LOCALE.fullmatch(middle[-1]):
        keywords = _split_keywords(middle[-1])
        end -= 2

    # Leading short lines: the section, then the tags, until the first URL or long line.
    i = 0
    leading: list[str] = []
    while i < end and not _URL.fullmatch(middle[i]) and not _is_article_body(middle[i]) and not _is_trailer_line(middle[i], site_name):
        leading.append(middle[i])
        i += 1
    if leading:
        section, tags = leading[0], leading[1:]
    if i < end and _URL.fullmatch(middle[i]) and _IMAGE_URL.search(middle[i]):
        image_url = middle[i]
        i += 1
    if i < end and _is_article_body(middle[i]):
        article_body = middle[i]
        i += 1
    seen_locale = False
    for line in middle[i:end]:
        if _URL.fullmatch(line):
            # After the locale comes the thumbnail; other links before it are related articles.
            if not seen_locale and not _IMAGE_URL.search(line) and line != url and line not in related:
                related.append(line)
            continue
        if language is None and _LOCALE.fullmatch(line):
            language = _LOCALE.fullmatch(line).group("lang").lower()
            seen_locale = True
    return {
        "section": section,
        "tags": tags,
        "image_url": image_url,
        "article_body": article_body,
        "related_urls": related,
        "language": language if language and len(language) == 2 else None,
        "keywords": keywords,
    }


def _is_article_body(line: str) -> bool:
    return len(line) > 200


def _is_trailer_line(line: str, site_name: str | None) -> bool:
    return (
        (site_name is not None and line == site_name)
        or bool(_EMAIL.fullmatch(line))
        or bool(_LOCALE.fullmatch(line))
    )


def _split_keywords(line: str) -> list[str]:
    seen: dict[str, None] = {}
    for part in line.split(","):
        word = part.strip()
        if word:
            seen.setdefault(word, None)
    return list(seen)


def _join_paragraphs(lines: list[str], article_body: str | None) -> list[str]:
    """Re-join paragraphs that the page broke across two lines mid-sentence.

    A line that does not end a sentence is joined to the next when the next starts in lower
    case, or when the articleBody evidence shows the two lines run on with a space (it glues
    real paragraph breaks with no space). Subheadings and bullet items stay their own lines.
    """
    evidence = article_body or ""
    paragraphs: list[str] = []
    for line in lines:
        if paragraphs and _continues(paragraphs[-1], line, evidence):
            paragraphs[-1] = f"{paragraphs[-1]} {line}"
        else:
            paragraphs.append(line)
    return paragraphs


def _continues(previous: str, line: str, evidence: str) -> bool:
    if previous.endswith(_SENTENCE_END) or _BULLET.match(line) or _BULLET.match(previous):
        return False
    first = line[:1]
    if first.islower():
        return True
    if not evidence or not first.isalpha():
        return False
    tail, head = previous[-40:], line[:40]
    return f"{tail} {head}" in evidence and f"{tail}{head}" not in evidence and len(previous) > 80
