"""The collector layout: one page per text file, structured metadata first, then the visible article.

See the project's design notes (raw-layout) for the layout line by line. In short:

    URL / title / [second title] / [site name] / [description] / 1 or 3 timestamps /
    [section] / [tags...] / [main image] / [articleBody line] / [related URLs] / [about lines] /
    [publisher blocks, copyright year, genre, locale, thumbnail] / [keywords line twice] /
    headline again / lead / paragraphs... / [related article's date line]

The reader follows that structure rather than fixed line numbers. It has two anchors: the run
of timestamp lines, and the last repetition of the headline, where the visible page starts.
Between them, each item is recognised by what it is (a URL, an image URL, a locale, the long
line the visible text confirms as `articleBody`, lines that repeat earlier tags) and by its
place relative to the others.

Rules where the layout is ambiguous:

- Where the visible page starts: at the last line equal to the title or the second title, case
  aside; failing that, equal once quotation marks, dashes and spaces are set aside (a page may
  print “ ” where its metadata has ").
- Site name or description: the lines between the titles and the timestamps are [second title]
  [site name] [description]. A second title is the title again, worded alike or with something
  added after it ("- outlet, date"). The site name is the line the publisher blocks repeat;
  a lone line they do not repeat, where they give an e-mail or a phone, is the description.
  Without that evidence, a short line that ends no sentence is the site name (a sentence-like
  line, in words or, in scripts written without spaces, in characters, is the description).
  Recorded as `header:by-shape`.
- Section or tag: the short lines after the timestamps are [section] [tags...]. Tags are
  distinct, and only the section may share its name with one of them (in any case): a first
  line that comes again among them is the section, and the repeat a tag of that name. Else the
  "about" lines (the run of lines right after the articleBody and related URLs that repeat
  tags) decide: they repeat some of the tags and never the section, so a first line they repeat
  is a tag (the page has no section). Without about lines the first line is the section. A line
  further down that equals a tag is no evidence: the genre "News" is also a section's name.
- Where the tags end: at the first URL, the articleBody, a line of the publisher blocks, or a
  repeated line. The publisher blocks come after the articleBody; on a page without one they
  start at a name followed by an e-mail address or a phone number, or at the site name followed
  by a locale, a logo, a number, a genre or nothing. When nothing comes between the tags and
  the about lines, a repeat of the first line starts the about lines if another repeat, the
  publisher lines or the end follows it.
- Paragraph breaks: a line broken mid-sentence is joined with one space when the next line
  starts in lower case; when the line ends with a comma or inside an open bracket and the next
  starts with a letter or digit (in any script, with or without case); or when the next starts
  with a capital and the articleBody runs the two on with a space, where it glues real
  paragraphs with nothing (as its first paragraph end anywhere on the page shows) or, joining
  everything with a space, where the first line is longer than a subheading. A junction the
  articleBody glues is a real break, and so is one where the articleBody lacks either line (a
  caption, a link). Lines ending a sentence, bullet items and unmarked items of a list opened
  by a colon stay separate. With no articleBody line at all, only the length tells: a line
  longer than a subheading joins the next; recorded as `body:paragraphs-guessed`.
- Related dates: the last visible line is dropped when it has the shape of a date and a clock
  in either order (any month name, with or without the year, a weekday, a zone or a 12-hour
  mark), the page links a related article, and the articleBody does not hold that line as text;
  one such line per related article at most, never the lead. Without an articleBody line to
  check, recorded as `body:date-guessed`.
- Language: the locale line's part before "_" or "-" (a locale has a region in capitals or a
  capitalized script: "us-iran" is a tag); without one, detected from the body
  (`language:detected`), or "und" (`language:unknown`). Never guessed from the domain.
- Publisher: the site name; without one, the first name in the publisher blocks
  (`publisher:from-blocks`).

Every pass over the text is linear: lines are scanned a bounded number of times, substring
searches in the `articleBody` evidence are confined to a window that moves forward, and every
regular expression is anchored (or searches for a fixed mark) and free of nested quantifiers
(a group is at most optional, never repeated), so a long line cannot make it backtrack.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from dataset_tools.readers.base import Reader
from dataset_tools.readers.collector_body import read_body
from dataset_tools.readers.collector_middle import read_middle
from dataset_tools.readers.collector_shapes import TERMINAL, is_contact, is_url
from dataset_tools.readers.common import (
    UndecodableText,
    clean_lines,
    decode_text,
    detect_language,
    sniff_binary,
    sniff_other_format,
    url_identity,
)
from dataset_tools.readers.dates import DATE_START, is_whole_timestamp, parse_timestamp
from dataset_tools.records import Article, Reject

NAME = "collector"
VERSION = "1.2"
PARSER_VERSION = f"{NAME}/{VERSION}"

# Reject reasons: short stable codes, counted in the build report. `detail` says the specifics.
REJECT_REASONS: dict[str, str] = {
    "empty-file": "the file has no bytes, or only whitespace",
    "binary-file": "the file is not text: a known binary signature (PNG, PDF, ZIP, ...) or NUL bytes, whatever its name",
    "invalid-encoding": "not valid UTF-8 (damaged bytes, named by offset) and not a whole Windows-1251 Cyrillic file; or text holding U+FFFD",
    "not-an-article": "a file of another format (a JSON document or JSON lines export, an HTML page, a CSV table with a header row): not a collected article",
    "not-a-url": "line 1 is not an http(s):// URL with a valid host (javascript:, file:, a bare word, nothing)",
    "truncated": "the file ends inside its metadata: after the URL, after the title, before, inside or right after the timestamps, or before the headline repeats",
    "no-body": "the metadata is complete but no visible article follows the headline",
    "missing-timestamp": "the metadata has no timestamp where the layout puts them",
    "invalid-timestamp": "a timestamp line that is not a date-time, is impossible (2021-02-30T25:61), lacks its UTC offset, lies outside 1990-2099, a modified time before the published time, or more than three timestamps",
}  # the build's own reasons (too-large, unreadable, schema-violation) are records.BUILD_REJECT_REASONS

# Fallback codes: short stable codes in `Article.fallbacks`, one for each field the reader had
# to guess or take from a fallback because the page does not declare it. A declared value is no
# fallback; a row whose every field is read as the page gives it has none.
FALLBACKS: dict[str, str] = {
    "header:by-shape": "site name and description told apart by their place and shape alone: no publisher "
    "line repeats the site name and no e-mail or phone line shows publisher blocks that would (or a second "
    "title was too differently worded to recognise)",
    "body:paragraphs-guessed": "no articleBody line: a visible line that ends no sentence, followed by one not in "
    "lower case, was joined to it or kept apart by its length alone (longer than a subheading: joined)",
    "body:date-guessed": "no articleBody line: a trailing date-shaped line was dropped as the related article's "
    "date without evidence that it is not text",
    "language:detected": "no locale line: the language is detected from the body text",
    "language:unknown": "no locale line and a text too short or unclear to detect: the language is 'und'",
    "publisher:from-blocks": "the header names no site: the publisher is the first name in the publisher blocks",
}

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,30}:")
# The title, second title, site name and description come before the timestamps; a file whose
# first timestamp is not within these lines has none where the layout puts them.
_HEADER_WINDOW = 6


def parse_article(data: bytes, source_file: str) -> Article | Reject:
    """Parse one raw file in the collector layout.

    Args:
        data: the file's exact bytes.
        source_file: its path relative to the raw folder (provenance only; never opened).

    Returns:
        An `Article` whose fields come from what the file says, or a `Reject` whose `reason`
        is one of `REJECT_REASONS` and whose `detail` names the specific problem. Never raises
        on bad input.
    """
    sha = hashlib.sha256(data).hexdigest()

    def reject(reason: str, detail: str) -> Reject:
        return Reject(source_file, sha, reason, detail, len(data))

    if not data or data.isspace():  # (no copy of the file, as data.strip() makes)
        return reject("empty-file", "empty file" if not data else "file holds only whitespace")
    binary = sniff_binary(data)
    if binary:
        return reject("binary-file", f"not text: {binary}")
    try:
        text, _encoding = decode_text(data)
    except UndecodableText as exc:
        return reject("invalid-encoding", str(exc))
    replacement = text.find("\ufffd")
    if replacement != -1:
        return reject("invalid-encoding", f"text holds a U+FFFD replacement character at character {replacement}: damaged before collection")

    lines = clean_lines(text)
    if not lines:
        return reject("empty-file", "file holds only whitespace and invisible marks")
    other = sniff_other_format(text, lines[0])
    if other:
        return reject("not-an-article", f"not a collected article: the file is {other}")
    url, domain, identity, problem = _check_url(lines[0])
    if problem:
        return reject("not-a-url", problem)
    if len(lines) == 1:
        return reject("truncated", "file ends after the URL: no title")
    title = lines[1]
    if len(lines) == 2:
        return reject("truncated", "file ends after the title")

    # Anchor 1: the timestamps.
    window_end = min(len(lines), 2 + _HEADER_WINDOW)
    ts_start: int | None = None
    for i in range(2, window_end):
        # A date starts with a digit (\d is what isdecimal tells): the titles, site name and
        # description are ruled out without the pattern.
        if lines[i][:1].isdecimal() and DATE_START.fullmatch(lines[i]):
            ts_start = i
            break
    if ts_start is None:
        if len(lines) <= 2 + _HEADER_WINDOW and not _has_visible_page(lines, title):
            return reject("truncated", f"file ends inside its metadata after {len(lines)} lines, before any timestamp")
        return reject("missing-timestamp", "no timestamp after the title, site name and description")
    ts_end = ts_start
    while ts_end < len(lines) and DATE_START.fullmatch(lines[ts_end]):
        ts_end += 1
    if ts_end == len(lines):
        # Nothing follows the timestamps: the file was cut inside its metadata, maybe in the
        # middle of the last stamp, which then has no minutes or no offset yet.
        if not is_whole_timestamp(lines[-1]):
            return reject("truncated", f"file ends inside its metadata, in the middle of a timestamp: {lines[-1]!r}")
        return reject("truncated", "file ends inside its metadata, right after the timestamps")
    stamps: list[datetime] = []
    for i in range(ts_start, ts_end):
        # The three timestamps are often the same line: parse it once.
        if i > ts_start and lines[i] == lines[i - 1]:
            stamps.append(stamps[-1])
            continue
        parsed, problem = parse_timestamp(lines[i])
        if problem:
            return reject("invalid-timestamp", problem)
        stamps.append(parsed)
    if len(stamps) > 3:
        return reject("invalid-timestamp", f"{len(stamps)} timestamp lines where the layout has one or three")
    published = stamps[1] if len(stamps) == 3 else stamps[0]
    modified = stamps[-1] if len(stamps) > 1 else None
    if modified is not None and modified < published:
        return reject(
            "invalid-timestamp",
            f"modified time {modified.isoformat()} is before the published time {published.isoformat()}",
        )

    # Anchor 2: the last repetition of the headline starts the visible page.
    second_title = ts_start > 2 and _same_headline(lines[2], title)
    titles = (title, lines[2]) if second_title else (title,)
    headline_at = _last_headline(lines, titles, ts_end)
    if headline_at is None:
        if len(lines) - ts_end >= 2 and lines[-1] == lines[-2]:
            return reject("no-body", "metadata without a visible article: the headline never repeats after the keywords")
        return reject("truncated", "file ends inside its metadata: the headline never repeats to start the article")
    visible = lines[headline_at + 1 :]
    if not visible:
        return reject("no-body", "metadata without a visible article: nothing follows the repeated headline")

    middle = lines[ts_end:headline_at]
    fallbacks: tuple[str, ...] = ()  # codes of FALLBACKS, in the order of Article's fields; most rows have none
    site_name, description, by_shape = _split_header(lines[2:ts_start], title, middle, second_title)
    if by_shape:
        fallbacks += ("header:by-shape",)
    section, tags, image_url, article_body, related_urls, language, keywords, publisher_name = read_middle(
        middle, url, visible, site_name
    )

    body, words, unconfirmed, date_guessed = read_body(visible, article_body, len(related_urls))
    if unconfirmed:
        fallbacks += ("body:paragraphs-guessed",)
    if date_guessed:
        fallbacks += ("body:date-guessed",)

    language_source = "declared"
    if language is None:
        language = detect_language(body)
        language_source = "detected" if language else "unknown"
        fallbacks += (f"language:{language_source}",)
        language = language or "und"
    publisher = site_name
    if publisher is None and publisher_name is not None:
        publisher = publisher_name
        fallbacks += ("publisher:from-blocks",)

    # Positional, in the order of Article's fields (named in the comments): twenty keyword
    # arguments cost more to match than the rest of building the record.
    return Article(
        identity,  # id
        url,
        domain,
        title,
        description,
        body,
        published,  # published_at
        modified,  # modified_at
        section,
        tuple(tags),
        tuple(keywords),
        image_url,
        language,
        publisher,
        tuple(related_urls),
        words,  # word_count
        source_file,
        sha,  # source_sha256
        PARSER_VERSION,  # parser_version
        language_source,
        fallbacks,
    )


def _check_url(line: str) -> tuple[str, str, str, str | None]:
    """(the URL, its domain, the article id, None), or (line, "", "", why line 1 is not a usable URL)."""
    if not is_url(line):
        shown = _shown(line)
        scheme = _SCHEME.match(line)
        if scheme and not line.lower().startswith(("http:", "https:")):
            return line, "", "", f"line 1 is a {scheme.group(0).lower()} link, not an http(s):// URL: {shown!r}"
        if _lacks_scheme(line):
            return line, "", "", f"line 1 is a URL without its http(s):// scheme: {shown!r}"
        return line, "", "", f"line 1 is not an http(s):// URL: {shown!r}"
    # The domain is "" when the URL has no host, or one that is not a valid host name. The id
    # does not depend on the scheme's case (it is lower-cased before hashing), so the line's
    # split serves the stored URL too.
    domain, identity = url_identity(line)
    if not domain:
        return line, "", "", f"line 1 has no valid host name: {_shown(line)!r}"
    # The scheme is case-insensitive; store it lower-cased so the row matches ^https?://.
    if line.startswith(("http:", "https:")):  # already lower-cased
        return line, domain, identity, None
    scheme, rest = line.split(":", 1)
    return f"{scheme.lower()}:{rest}", domain, identity, None


def _lacks_scheme(line: str) -> bool:
    """Whether line 1 is a host name with a top-level domain and maybe a path (`www.example.org/a`)."""
    if len(line) > 2000 or not line.isprintable() or " " in line:
        return False
    domain, _ = url_identity("http://" + line)
    return "." in domain and domain.rsplit(".", 1)[1].isalpha()


def _shown(line: str) -> str:
    """Line 1 as a reject's detail quotes it: cut to 60 characters."""
    return line if len(line) <= 60 else line[:57] + "..."


def _has_visible_page(lines: list[str], title: str) -> bool:
    folded = title.casefold()
    return any(line.casefold() == folded for line in lines[3:])


def _last_headline(lines: list[str], titles: tuple[str, ...], start: int) -> int | None:
    lengths = set(map(len, titles))
    shortest = min(lengths)
    folded: set[str] | None = None
    # The length test first: casefolding every long body line would cost more than it finds.
    # A line is tried when its length is a title's, or within 8 of the shortest title's.
    low, high = shortest - 8, shortest + 8
    for i in range(len(lines) - 1, start - 1, -1):
        line = lines[i]
        size = len(line)
        if low < size < high or size in lengths:
            if line in titles:  # most often the headline repeats as it is: nothing to casefold
                return i
            if folded is None:
                folded = set(map(str.casefold, titles))
            if line.casefold() in folded:
                return i
    # Else the page may print the headline with other quotation marks, dashes or spaces than
    # its metadata ("…" for "...", « » for "). Only then is every line of a near length compared
    # without them: a file that repeats its headline as it is never gets here.
    keys = set(map(_loose, titles))
    low, high = low - 4, max(lengths) + 12
    for i in range(len(lines) - 1, start - 1, -1):
        line = lines[i]
        if low < len(line) < high and _loose(line) in keys:
            return i
    return None


# Quotation marks dropped and dashes made one, for `_loose`.
_LOOSE = str.maketrans({**dict.fromkeys("\"'«»„“”‟‚‘’‛‹›「」『』", None), **dict.fromkeys("‐‑‒–—―", "-")})


def _loose(text: str) -> str:
    return " ".join(text.casefold().translate(_LOOSE).split())


def _split_header(
    header: list[str], title: str, middle: list[str], second_title: bool
) -> tuple[str | None, str | None, bool]:
    """(site name, description, whether they were told apart by shape alone) from the lines
    between the title and the timestamps.

    Those lines are [second title] [site name] [description], each optional. The second title
    equals the title or shares most of its words (`second_title` says whether the first line
    does). The site name is the line the publisher blocks repeat further down; failing that
    evidence, a short line without a full stop. The description is the sentence-like line, and
    comes last.
    """
    rest = list(header)
    if rest and second_title and (len(rest) > 1 or rest[0].casefold().startswith(title.casefold())):
        rest = rest[1:]
    guessed = len(rest) > 2
    if guessed:  # a second title worded too differently to recognise
        rest = rest[-2:]
    if not rest:
        return None, None, False
    # At most three look-ups in the later lines: scanning the list costs less than hashing every
    # line (the articleBody among them) into a set.
    if len(rest) == 1:
        only = rest[0]
        if only in middle:
            return only, None, guessed
        if _is_sentence_like(only):
            return None, only, True
        # Publisher blocks with an e-mail or a phone name the site: blocks that do not repeat
        # this short line show it is no site name.
        if any(map(is_contact, middle)):
            return None, only, guessed
        return only, None, True
    first, second = rest
    if first in middle:
        return first, second, guessed
    if second in middle:
        return second, None if _same_headline(first, title) else first, guessed
    return first, second, True


def _same_headline(line: str, title: str) -> bool:
    if line == title:
        return True
    folded_line, folded_title = line.casefold(), title.casefold()
    # The same words, or the title with something added ("- the outlet, the date").
    if folded_line.startswith(folded_title):
        return True
    words, title_words = set(folded_line.split()), set(folded_title.split())
    return bool(words) and len(words & title_words) >= 0.6 * max(len(words), len(title_words))


def _is_sentence_like(line: str) -> bool:
    # Words or, in scripts written without spaces, characters: a site name is short.
    return len(line) > 80 or (line[-1:] in TERMINAL and (len(line) > 30 or len(line.split()) > 5))


def _claims(path: str) -> bool:
    # Every file of a raw folder is an input: a file no other reader claims is read as a
    # collected article, and rejected with its reason if it is not one.
    return True


READER = Reader(NAME, VERSION, parse_article, _claims, FALLBACKS)
