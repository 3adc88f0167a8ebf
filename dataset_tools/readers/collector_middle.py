"""The metadata lines of a collected page between its timestamps and its repeated headline.

In: those lines, the page's URL, its visible lines (to recognise the articleBody line) and the
site name the header found. Out: the section, the tags, the main image, the articleBody line,
the related article URLs, the declared language, the keywords and the publisher blocks' first
name. Every output is optional: a page may declare any of them or none.

The lines come in this order, each item optional:

    [section] [tags...] [main image] [articleBody] [related URLs] [about lines]
    [publisher blocks, copyright year, genre, locale, thumbnail] [keywords line twice]

Each is recognised by what it is (`collector_shapes`) and by its place relative to the others.
Two rules of the layout (see `collector`'s docstring) are applied here: section or tag
(`read_middle`, `_opens_about_lines`) and where the tags end (`_leading_lines`,
`_names_the_publisher`); the language is the locale line's (`_read_trailer`).
"""

from __future__ import annotations

from dataset_tools.readers import collector_shapes
from dataset_tools.readers.collector_evidence import Opening
from dataset_tools.readers.collector_shapes import (
    GENRES,
    LOCALE_MAX,
    NUMBER_MAX,
    is_contact,
    is_image_url,
    is_trailer_line,
    is_url,
    locale,
)

# Bound to a name of this module rather than imported by name: CPython 3.11 calls a method of a
# name that an import binds by looking it up as an attribute, making a new bound method at every
# call (about 30 ns), where a method of a module-level name is loaded without one. The loops over
# every line call these patterns' `fullmatch`.
_URL, _LOCALE = collector_shapes.URL, collector_shapes.LOCALE
_EMAIL, _NUMBER = collector_shapes.EMAIL, collector_shapes.NUMBER

# The articleBody is looked for among this many long lines at most.
_BODY_CANDIDATES = 8


def read_middle(
    middle: list[str], url: str, visible: list[str], site_name: str | None
) -> tuple[str | None, list[str], str | None, str | None, list[str], str | None, list[str], str | None]:
    """(section, tags, main image, articleBody, related URLs, declared language, keywords, the
    publisher block's name), from the metadata lines between the timestamps and the repeated
    headline."""
    end = len(middle)
    keywords: list[str] = []
    # The keywords line comes twice, right before the headline.
    if end >= 2 and middle[-1] == middle[-2] and _could_be_keywords(middle[-1]):
        keywords = _split_keywords(middle[-1])
        end -= 2
    body_at = _find_article_body(middle, end, visible)
    leading, seen, section_named_tag = _leading_lines(middle, body_at, end, site_name)
    # The main image: the first URL between the leading lines and the articleBody; without an
    # articleBody, an image URL right after the leading lines.
    rest_start = len(leading)
    image_url: str | None = None
    article_body: str | None = None
    if body_at is not None:
        article_body = middle[body_at]
        image_url = next(filter(is_url, middle[rest_start:body_at]), None)
        rest_start = body_at + 1
    elif rest_start < end and is_url(middle[rest_start]) and is_image_url(middle[rest_start]):
        image_url = middle[rest_start]
        rest_start += 1
    related, language, publisher_name, first_is_about = _read_trailer(middle[rest_start:end], url, leading, seen)
    # Rule, section or tag: a tag named like the first line shows it is the section. Otherwise
    # the about lines repeat some of the tags, never the section: a first leading line that they
    # repeat is a tag, and the page names no section; one they leave out is the section. With
    # neither, the first line is the section by its place alone.
    section, tags = None, leading
    if leading and (section_named_tag or not first_is_about):
        section, tags = leading[0], leading[1:]
    # Only a two-letter code is an ISO 639-1 language: with any other, the language is detected.
    language = language if language and len(language) == 2 else None
    return section, tags, image_url, article_body, related, language, keywords, publisher_name


def _could_be_keywords(line: str) -> bool:
    return not (is_url(line) or locale(line) or ("@" in line and _EMAIL.fullmatch(line)) or _NUMBER.fullmatch(line))


def _split_keywords(line: str) -> list[str]:
    # The non-empty stripped parts, each once, in the order they first come.
    return list(dict.fromkeys(filter(None, map(str.strip, line.split(",")))))


def _find_article_body(middle: list[str], end: int, visible: list[str]) -> int | None:
    """Where the articleBody line is: the first long line that opens with the visible text."""
    # The articleBody starts within the first paragraphs; only the first few long lines are
    # candidates, so a file of many long lines costs no more than a bounded number of searches.
    opening = Opening(visible)
    candidates = 0
    for i in range(end):
        line = middle[i]
        if len(line) >= 40 and not is_url(line):
            if opening.starts(line):
                return i
            candidates += 1
            if candidates == _BODY_CANDIDATES:
                return None
    return None


def _leading_lines(
    middle: list[str], body_at: int | None, end: int, site_name: str | None
) -> tuple[list[str], set[str], bool]:
    """The leading short lines (the section, then the tags), their casefolded forms, and
    whether a tag repeats the first line's name (so that the first line is the section).

    Rule: they stop at the first URL, at the articleBody line, at the start of the publisher
    blocks (which come after the articleBody, when there is one), or where lines start to
    repeat: the "about" lines, a subset of the tags, come later, and right after the tags when
    nothing comes between.
    """
    leading: list[str] = []
    seen: set[str] = set()
    section_named_tag = False
    stop = body_at if body_at is not None else end
    for line in middle[:stop]:
        if (line[:1] in "Hh" and _URL.fullmatch(line)) or is_trailer_line(line):
            break
        # (The line after this one is at len(leading) + 1: every line so far is a leading line.)
        if body_at is None and _names_the_publisher(line, middle, len(leading) + 1, end, site_name):
            break
        folded = line.casefold()
        if folded in seen:
            if section_named_tag or folded != leading[0].casefold():
                break
            if _opens_about_lines(middle, len(leading) + 1, body_at, end, seen, site_name):
                break
            section_named_tag = True
        leading.append(line)
        seen.add(folded)
    return leading, seen, section_named_tag


def _opens_about_lines(
    middle: list[str], at: int, body_at: int | None, end: int, seen: set[str], site_name: str | None
) -> bool:
    """Whether a leading line repeating the first one, followed by the line at `at`, starts the
    about lines rather than being a tag named like the section.

    Tags are distinct, and only the section may share its name with one of them. The about lines
    (a run of repeated tags) follow the tags directly only when no image, articleBody or related
    link comes between, and are followed by the publisher blocks or nothing. So the repeat is a
    tag when a new leading line, the image or the articleBody follows it; otherwise it opens the
    about lines.
    """
    if at == body_at or (at < end and is_url(middle[at])):
        return False
    if at >= end:
        return True
    line = middle[at]
    return line.casefold() in seen or line == site_name or is_trailer_line(line)


def _names_the_publisher(line: str, middle: list[str], at: int, end: int, site_name: str | None) -> bool:
    """Whether `line`, followed by the line at `at`, opens the publisher blocks rather than
    being a section or a tag: a name before an e-mail address or a phone number, or the site
    name before what follows a publisher's name (a locale, a logo URL, a number, a genre) or
    the end of the metadata."""
    if at >= end:
        return line == site_name
    following = middle[at]
    if is_contact(following):
        return True
    return line == site_name and (
        is_url(following)
        or is_trailer_line(following)
        or (len(following) <= NUMBER_MAX and _NUMBER.fullmatch(following) is not None)
        or following.casefold() in GENRES
    )


def _read_trailer(
    lines: list[str], url: str, leading: list[str], seen: set[str]
) -> tuple[list[str], str | None, str | None, bool]:
    """(related article URLs, the locale's language, the publisher blocks' first name, whether
    the about lines repeat the first leading line) from the lines after the articleBody (or
    after the leading lines and the image, without one), up to the keywords.

    Those lines are: related article URLs, the "about" lines, then the publisher blocks,
    copyright year, genre, locale and the thumbnail (an image URL: never a related article).
    The about lines are the run of lines right after the URLs that repeat leading lines; of
    them, only whether one repeats the first leading line matters. Further down, a line equal
    to a leading line is no evidence: the genre "News" is also a common section name.

    Rule: the language is the first locale line's part before "_" or "-" (a locale has a region
    in capitals or a capitalized script, `collector_shapes.LOCALE`: "us-iran" is a tag).
    """
    related: list[str] = []
    language: str | None = None
    publisher_name: str | None = None
    first_is_about = False
    first_folded = leading[0].casefold() if leading else None
    about = 0  # 0: before the about lines, 1: in them, 2: past them
    # A line that comes again changes nothing the second time (a URL is kept or skipped again,
    # the locale and the publisher name are taken once), so each distinct line is looked at
    # once: the publisher blocks repeat their lines several times. (Their first occurrences
    # keep the order, and the run of about lines holds no line twice.)
    for line in dict.fromkeys(lines):
        # `is_url` and `locale` spelled out: the cheap tests before each pattern rule out
        # most lines, and this loop sees every line of the publisher blocks.
        if line[:1] in "Hh" and _URL.fullmatch(line):
            if language is None and line != url and not is_image_url(line):
                related.append(line)  # the lines are distinct: each URL comes once
            about = 2 if about else 0
            continue
        if about < 2:
            folded = line.casefold()
            if folded in seen:
                about = 1
                first_is_about = first_is_about or folded == first_folded
                continue
            about = 2
        if len(line) <= LOCALE_MAX and ("_" in line or "-" in line):
            match = _LOCALE.fullmatch(line)
            if match:
                if language is None:
                    language = match["lang"]
                continue
        if (
            publisher_name is None
            and not is_trailer_line(line)
            and not (len(line) <= NUMBER_MAX and _NUMBER.fullmatch(line))
            and line.casefold() not in GENRES
            and line.casefold() not in seen
            and len(line) <= 80
        ):
            publisher_name = line
    return related, language, publisher_name, first_is_about

