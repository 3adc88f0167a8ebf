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

This module is the reader: `parse_article` reads a file in that order, and each part of the
page is read by a module of its own (each one's docstring says what goes in and what comes out):

    common              bytes -> text -> clean lines; line 1's identity; language detection
    collector_header    line 1's URL, the timestamps (anchor 1), the repeated headline (anchor 2),
                        the site name and the description
    collector_middle    the lines between the anchors: section, tags, main image, articleBody,
                        related URLs, locale, the publisher blocks' name, keywords
    collector_body      the visible lines made the body: related dates dropped, paragraphs re-joined
    collector_evidence  the articleBody line set against the visible page (for middle and body)
    collector_shapes    what one line is by its shape: URL, image, locale, e-mail, phone, number...
    dates               timestamps and related-article date lines (for any layout)

Rules where the layout is ambiguous (each is applied, and documented again, where it says):

- Where the visible page starts (`collector_header.find_visible_page`): at the last line equal
  to the title or the second title, case aside; failing that, equal once quotation marks,
  dashes and spaces are set aside (a page may print “ ” where its metadata has ").
- Site name or description (`collector_header.split_header`): the lines between the titles and
  the timestamps are [second title] [site name] [description]. A second title is the title
  again, worded alike or with something added after it ("- outlet, date"). The site name is the
  line the publisher blocks repeat; a lone line they do not repeat, where they give an e-mail
  or a phone, is the description. Without that evidence, a short line that ends no sentence is
  the site name (a sentence-like line, in words or, in scripts written without spaces, in
  characters, is the description). Recorded as `header:by-shape`.
- Section or tag (`collector_middle.read_middle`, `_opens_about_lines`): the short lines
  after the timestamps are [section] [tags...]. Tags are distinct, and only the section may
  share its name with one of them (in any case): a first line that comes again among them is
  the section, and the repeat a tag of that name. Else the "about" lines (the run of lines
  right after the articleBody and related URLs that repeat tags) decide: they repeat some of
  the tags and never the section, so a first line they repeat is a tag (the page has no
  section). Without about lines the first line is the section. A line further down that equals
  a tag is no evidence: the genre "News" is also a section's name.
- Where the tags end (`collector_middle._leading_lines`, `_names_the_publisher`,
  `_opens_about_lines`): at the first URL, the articleBody, a line of the publisher blocks, or
  a repeated line. The publisher blocks come after the articleBody; on a page without one they
  start at a name followed by an e-mail address or a phone number, or at the site name followed
  by a locale, a logo, a number, a genre or nothing. When nothing comes between the tags and
  the about lines, a repeat of the first line starts the about lines if another repeat, the
  publisher lines or the end follows it.
- Paragraph breaks (`collector_body._join_paragraphs`, `_continues`): a line broken
  mid-sentence is joined with one space when the next line starts in lower case; when the line
  ends with a comma or inside an open bracket and the next starts with a letter or digit (in
  any script, with or without case); or when the next starts with a capital and the
  articleBody runs the two on with a space, where it glues real paragraphs with nothing (as its
  first paragraph end anywhere on the page shows) or, joining everything with a space, where
  the first line is longer than a subheading. A junction the articleBody glues is a real
  break, and so is one where the articleBody lacks either line (a caption, a link). Lines
  ending a sentence, bullet items and unmarked items of a list opened by a colon stay
  separate. With no articleBody line at all, only the length tells: a line longer than a
  subheading joins the next; recorded as `body:paragraphs-guessed`.
- Related dates (`collector_body.read_body`, `dates.is_date_and_clock`): the last
  visible line is dropped when it has the shape of a date and a clock in either order (any
  month name, with or without the year, a weekday, a zone or a 12-hour mark), the page links a
  related article, and the articleBody does not hold that line as text; one such line per
  related article at most, never the lead. Without an articleBody line to check, recorded as
  `body:date-guessed`.
- Language (`collector_middle._read_trailer`, then `parse_article`): the locale line's part
  before "_" or "-" (a locale has a region in capitals or a capitalized script: "us-iran" is a
  tag); without one, detected from the body (`language:detected`), or "und"
  (`language:unknown`). Never guessed from the domain.
- Publisher (`parse_article`): the site name; without one, the first name in the publisher
  blocks (`publisher:from-blocks`).

Every pass over the text is linear: lines are scanned a bounded number of times, substring
searches in the `articleBody` evidence are confined to a window that moves forward, and every
regular expression is anchored (or searches for a fixed mark) and free of nested quantifiers
(a group is at most optional, never repeated), so a long line cannot make it backtrack.
"""

from __future__ import annotations

import hashlib

from dataset_tools.readers.base import Reader
from dataset_tools.readers.collector_body import read_body
from dataset_tools.readers.collector_header import (
    Problem,
    check_url,
    find_timestamps,
    find_visible_page,
    read_timestamps,
    split_header,
)
from dataset_tools.readers.collector_middle import read_middle
from dataset_tools.readers.common import (
    UndecodableText,
    clean_lines,
    decode_text,
    detect_language,
    sniff_binary,
    sniff_other_format,
)
from dataset_tools.records import Article, Reject

NAME = "collector"
# 1.1: the first release's reader. 1.2: the real-pages fixes (issue 21). 1.3: a NUL anywhere
# makes a binary file, and a not-a-url detail describes line 1 instead of quoting it.
VERSION = "1.3"
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
    # The checks, in order; the first problem rejects the file.
    lines, problem = _page_lines(data)
    if problem:
        return Reject(source_file, sha, *problem, len(data))
    url, domain, identity, problem = check_url(lines[0])
    if problem:
        return Reject(source_file, sha, *problem, len(data))
    ts_start, ts_end, problem = find_timestamps(lines)  # anchor 1
    if problem:
        return Reject(source_file, sha, *problem, len(data))
    published, modified, problem = read_timestamps(lines, ts_start, ts_end)
    if problem:
        return Reject(source_file, sha, *problem, len(data))
    headline_at, second_title, problem = find_visible_page(lines, ts_start, ts_end)  # anchor 2
    if problem:
        return Reject(source_file, sha, *problem, len(data))

    # The fields, from the parts between the anchors and after them.
    title = lines[1]
    middle = lines[ts_end:headline_at]
    visible = lines[headline_at + 1 :]
    fallbacks: tuple[str, ...] = ()  # codes of FALLBACKS, in the order of Article's fields; most rows have none
    site_name, description, by_shape = split_header(lines[2:ts_start], title, middle, second_title)
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


def _page_lines(data: bytes) -> tuple[list[str], Problem | None]:
    """The file's non-empty clean lines (`common.clean_lines`), or a problem: the file is empty,
    binary, not text this project decodes, or a document of another format."""
    if not data or data.isspace():  # (no copy of the file, as data.strip() makes)
        return [], ("empty-file", "empty file" if not data else "file holds only whitespace")
    binary = sniff_binary(data)
    if binary:
        return [], ("binary-file", f"not text: {binary}")
    try:
        text, _encoding = decode_text(data)
    except UndecodableText as exc:
        return [], ("invalid-encoding", str(exc))
    replacement = text.find("\ufffd")
    if replacement != -1:
        detail = f"text holds a U+FFFD replacement character at character {replacement}: damaged before collection"
        return [], ("invalid-encoding", detail)
    lines = clean_lines(text)
    if not lines:
        return [], ("empty-file", "file holds only whitespace and invisible marks")
    other = sniff_other_format(text, lines[0])
    if other:
        return [], ("not-an-article", f"not a collected article: the file is {other}")
    return lines, None


def _claims(path: str) -> bool:
    # Every file of a raw folder is an input: a file no other reader claims is read as a
    # collected article, and rejected with its reason if it is not one.
    return True


READER = Reader(NAME, VERSION, parse_article, _claims, FALLBACKS)
