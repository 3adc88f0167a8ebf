"""The top of a collected page and its two anchors: the URL, the titles, the timestamps, where the
visible page starts, and the site name and description.

In: the page's clean lines. Out, step by step (each step gives its values, or a problem: a
reject reason of `collector.REJECT_REASONS` and its detail):

- `check_url`: line 1 as the URL, its domain and article id;
- `find_timestamps`: anchor 1, the run of timestamp lines after the title and the header lines;
- `read_timestamps`: those lines as the published and modified times in UTC;
- `find_visible_page`: anchor 2, the last repetition of the headline, where the visible page
  starts, and whether line 3 is a second title;
- `split_header`: the lines between the titles and the timestamps as site name and description.

Two rules of the layout (see `collector`'s docstring) are applied here: where the visible page
starts (`find_visible_page`) and site name or description (`split_header`).
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from dataset_tools.readers import dates
from dataset_tools.readers.collector_shapes import TERMINAL, is_contact, is_url
from dataset_tools.readers.common import url_identity
from dataset_tools.readers.dates import is_whole_timestamp, parse_timestamp

Problem = tuple[str, str]  # (a reason of collector.REJECT_REASONS, the detail)

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,30}:")
# Schemes a reject's detail names (a link saved instead of the page's URL); any other word
# before a colon may be anything (`root:` of a password file) and is not repeated.
_KNOWN_SCHEMES = frozenset(
    "about blob chrome data file ftp ftps git irc javascript mailto news nntp sftp sms ssh tel urn view-source ws wss".split()
)
# Bound to a name of this module rather than imported by name: CPython 3.11 calls a method of a
# name that an import binds by looking it up as an attribute, making a new bound method at every
# call (about 30 ns), where a method of a module-level name is loaded without one.
_DATE_START = dates.DATE_START
# The title, second title, site name and description come before the timestamps; a file whose
# first timestamp is not within these lines has none where the layout puts them.
_HEADER_WINDOW = 6


def check_url(line: str) -> tuple[str, str, str, Problem | None]:
    """(the URL, its domain, the article id, None), or (line, "", "", the problem: line 1 is not a
    usable URL). The problem describes line 1 and never quotes it: a file that is no article
    (a `.env`, a password file) must not have its first line copied into the report."""
    if not is_url(line):
        scheme = _SCHEME.match(line)
        if scheme and scheme.group(0)[:-1].lower() in _KNOWN_SCHEMES:
            detail = f"line 1 is a {scheme.group(0).lower()} link, not an http(s):// URL ({_size(line)})"
            return line, "", "", ("not-a-url", detail)
        if _lacks_scheme(line):
            host = urlsplit("http://" + line).hostname
            return line, "", "", ("not-a-url", f"line 1 is a URL without its http(s):// scheme (host {host}, {_size(line)})")
        return line, "", "", ("not-a-url", f"line 1 is not an http(s):// URL: {_size(line)}")
    # The domain is "" when the URL has no host, or one that is not a valid host name. The id
    # does not depend on the scheme's case (it is lower-cased before hashing), so the line's
    # split serves the stored URL too.
    domain, identity = url_identity(line)
    if not domain:
        return line, "", "", ("not-a-url", f"line 1 has no valid host name (an http(s):// URL of {_size(line)})")
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


def _size(line: str) -> str:
    """Line 1 as a reject's detail describes it: its length in characters and words."""
    if not line.strip():
        return "an empty line"
    words = len(line.split())
    return f"{len(line)} characters" + (f" in {words} words" if words > 1 else "")


def find_timestamps(lines: list[str]) -> tuple[int, int, Problem | None]:
    """(where the timestamp lines start, where they end, None), or a problem: the file ends
    before the title, before or inside the timestamps, or has none where the layout puts them
    (within the few lines after the title)."""
    if len(lines) == 1:
        return 0, 0, ("truncated", "file ends after the URL: no title")
    if len(lines) == 2:
        return 0, 0, ("truncated", "file ends after the title")
    window_end = min(len(lines), 2 + _HEADER_WINDOW)
    start: int | None = None
    for i in range(2, window_end):
        # A date starts with a digit (\d is what isdecimal tells): the titles, site name and
        # description are ruled out without the pattern.
        if lines[i][:1].isdecimal() and _DATE_START.fullmatch(lines[i]):
            start = i
            break
    if start is None:
        if len(lines) <= 2 + _HEADER_WINDOW and not _has_visible_page(lines, lines[1]):
            return 0, 0, ("truncated", f"file ends inside its metadata after {len(lines)} lines, before any timestamp")
        return 0, 0, ("missing-timestamp", "no timestamp after the title, site name and description")
    end = start
    while end < len(lines) and _DATE_START.fullmatch(lines[end]):
        end += 1
    if end == len(lines):
        # Nothing follows the timestamps: the file was cut inside its metadata, maybe in the
        # middle of the last stamp, which then has no minutes or no offset yet.
        if not is_whole_timestamp(lines[-1]):
            return 0, 0, ("truncated", f"file ends inside its metadata, in the middle of a timestamp: {lines[-1]!r}")
        return 0, 0, ("truncated", "file ends inside its metadata, right after the timestamps")
    return start, end, None


def _has_visible_page(lines: list[str], title: str) -> bool:
    folded = title.casefold()
    return any(line.casefold() == folded for line in lines[3:])


def read_timestamps(lines: list[str], start: int, end: int) -> tuple[datetime | None, datetime | None, Problem | None]:
    """(published, modified or None, None) from the timestamp lines `lines[start:end]`, or (None,
    None, why the stamps are unusable).

    The layout has one timestamp (published) or three (created, published, modified); a
    modified time before the published time is a problem, as is any stamp `dates.parse_timestamp`
    refuses.
    """
    stamps: list[datetime] = []
    for i in range(start, end):
        # The three timestamps are often the same line: parse it once.
        if i > start and lines[i] == lines[i - 1]:
            stamps.append(stamps[-1])
            continue
        parsed, problem = parse_timestamp(lines[i])
        if problem:
            return None, None, ("invalid-timestamp", problem)
        stamps.append(parsed)
    if len(stamps) > 3:
        return None, None, ("invalid-timestamp", f"{len(stamps)} timestamp lines where the layout has one or three")
    published = stamps[1] if len(stamps) == 3 else stamps[0]
    modified = stamps[-1] if len(stamps) > 1 else None
    if modified is not None and modified < published:
        return None, None, (
            "invalid-timestamp",
            f"modified time {modified.isoformat()} is before the published time {published.isoformat()}",
        )
    return published, modified, None


def find_visible_page(lines: list[str], ts_start: int, ts_end: int) -> tuple[int, bool, Problem | None]:
    """(where the repeated headline is, whether line 3 is a second title, None), or a problem:
    the headline never repeats after the timestamps, or nothing follows it.

    Rule: the visible page starts after the last line equal to the title or the second title,
    case aside; failing that, equal once quotation marks, dashes and spaces are set aside (a
    page may print “ ” where its metadata has ").
    """
    title = lines[1]
    second_title = ts_start > 2 and _same_headline(lines[2], title)
    titles = (title, lines[2]) if second_title else (title,)
    headline_at = _last_headline(lines, titles, ts_end)
    if headline_at is None:
        if len(lines) - ts_end >= 2 and lines[-1] == lines[-2]:
            problem = ("no-body", "metadata without a visible article: the headline never repeats after the keywords")
        else:
            problem = ("truncated", "file ends inside its metadata: the headline never repeats to start the article")
        return 0, second_title, problem
    if headline_at + 1 == len(lines):
        problem = ("no-body", "metadata without a visible article: nothing follows the repeated headline")
        return headline_at, second_title, problem
    return headline_at, second_title, None


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


def split_header(
    header: list[str], title: str, middle: list[str], second_title: bool
) -> tuple[str | None, str | None, bool]:
    """(site name, description, whether they were told apart by shape alone) from the lines
    between the title and the timestamps.

    Those lines are [second title] [site name] [description], each optional. The second title
    equals the title or shares most of its words (`second_title` says whether the first line
    does). The site name is the line the publisher blocks repeat further down (`middle`, the
    lines after the timestamps, holds them); failing that evidence, a short line without a full
    stop. The description is the sentence-like line, and comes last.

    Rule: a lone line the publisher blocks do not repeat, where they give an e-mail or a phone,
    is the description. Without that evidence, a short line that ends no sentence is the site
    name (a sentence-like line, in words or, in scripts written without spaces, in characters,
    is the description): told apart by shape alone.
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
