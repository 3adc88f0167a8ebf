"""What one line of a collected page is, told by its shape alone: a URL, an image URL, a locale, an
e-mail address or a phone number of the publisher blocks, a number, a genre, a sentence's end.

In: one stripped line. Out: yes or no (or the locale's match). Where a line stands, and what the
lines around it say, is for the header, middle and body modules to weigh.

Each test first rules out most lines by a character or a length its pattern requires, and each
pattern is anchored, so a long line costs one look at its first character or its length. A module
whose loops call a pattern's method binds the pattern to a name of its own rather than importing
it by name (see collector_middle: the method call is cheaper so in CPython 3.11).
"""

from __future__ import annotations

import re

URL = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://\S+")
# A region in capitals, or a script capitalized ("sr-Latn"): a tag such as "us-iran" is no locale.
LOCALE = re.compile(r"(?P<lang>[a-z]{2,3})[_-](?P<region>[A-Z]{2}|[A-Z][a-z]{3})")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?[\d ()\-]{7,20}")
NUMBER = re.compile(r"\d{1,5}(?:px)?")
# The longest line each of these patterns can match: a longer line is not tried.
LOCALE_MAX, _PHONE_MAX, NUMBER_MAX = 8, 21, 7
# An image URL: an image file, or a file in an image folder unless it is a web page (a related
# article can sit under /photo/ or be named "logo-...").
_IMAGE_URL = re.compile(
    r"\.(?:jpe?g|png|gif|webp|avif|svg|bmp|ico)(?:[?#]|$)|/img/|/images?/|/photos?/|/logo", re.IGNORECASE
)
_WEB_PAGE = re.compile(r"\.(?:s?html?|php|aspx?)(?:[?#]|$)", re.IGNORECASE)
GENRES = {"news", "article", "newsarticle", "reportage", "analysis", "opinion", "interview", "blog", "blogposting"}
# Characters that end a sentence: a set, so that a line's last character is looked up once
# rather than tested against each (line[-1:] in TERMINAL).
TERMINAL = frozenset(".!?…:;\"'”»)]" "।॥۔؟。！？›’")


def is_url(line: str) -> bool:
    # The first character rules out most lines without running the regular expression.
    return line[:1] in "Hh" and URL.fullmatch(line) is not None


def is_image_url(line: str) -> bool:
    # One search tells most URLs: an image file (its match starts with the extension's dot) or
    # none of the marks; a URL matched by its folder is an image unless it names a web page.
    mark = _IMAGE_URL.search(line)
    if mark is None:
        return False
    return mark.group()[0] == "." or _WEB_PAGE.search(line) is None


def locale(line: str) -> re.Match | None:
    # Only a short line with a separator can be a locale: no other is tried.
    if len(line) <= LOCALE_MAX and ("_" in line or "-" in line):
        return LOCALE.fullmatch(line)
    return None


def is_trailer_line(line: str) -> bool:
    """A line only the publisher blocks and what follows them hold (a genre such as "News"
    is not one of them: it can be a tag too)."""
    # Each test first rules out lines by a character or a length its pattern requires.
    if "@" in line:  # of the three, only an e-mail address holds one
        return EMAIL.fullmatch(line) is not None
    size = len(line)
    if size > _PHONE_MAX:  # longer than a locale or a phone number
        return False
    if size <= LOCALE_MAX and ("_" in line or "-" in line) and LOCALE.fullmatch(line):  # locale
        return True
    first = line[:1]
    return (
        (first in "+()-" or first.isdecimal())
        and _PHONE.fullmatch(line) is not None
        and sum(map(str.isdigit, line)) >= 7
    )


def is_contact(line: str) -> bool:
    """An e-mail address or a phone number: a line of the publisher blocks."""
    return is_trailer_line(line) and locale(line) is None
