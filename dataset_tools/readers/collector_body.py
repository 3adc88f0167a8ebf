"""The visible article of a collected page: its lines after the repeated headline, made the body.

In: the visible lines, the articleBody line (or None) and the number of related-article URLs.
Out: the body (the lead and each paragraph, joined by a blank line), its number of words, and
whether the reader had to guess: paragraphs joined or kept apart by a line's length alone, a
related article's date dropped without an articleBody to check it against.

Two rules of the layout (see `collector`'s docstring) are applied here: related dates
(`read_body`) and paragraph breaks (`_join_paragraphs`, `_continues`). The articleBody is the
evidence for both (`collector_evidence.Evidence`).
"""

from __future__ import annotations

import re
from operator import itemgetter

from dataset_tools.readers import collector_shapes
from dataset_tools.readers.collector_evidence import Evidence
from dataset_tools.readers.dates import is_date_and_clock

# Characters a paragraph or a subheading never ends with: a line ending with one is cut mid-sentence.
_OPEN_CLAUSE = frozenset(",،、，([{")
_BULLET = re.compile(r"(?:[-–—•*·▪●►✓✔]|\d{1,2}[.)])\s")
_HEADING_MAX_WORDS = 8
_LIST_ITEM_MAX = 120
# Bound to a name of this module rather than imported by name: CPython 3.11 calls a method of a
# name that an import binds by looking it up as an attribute (a new bound method at every call).
_TERMINAL = collector_shapes.TERMINAL


def read_body(visible: list[str], article_body: str | None, related: int) -> tuple[str, int, bool, bool]:
    """(the body, its number of words, whether a paragraph junction was decided by a line's
    length alone, whether a date line was dropped without an articleBody to check) from the
    visible lines, the articleBody line and the number of `related` article URLs."""
    evidence = Evidence(article_body)
    # Rule, related dates: the last visible line is dropped when it has the shape of a date and a
    # clock in either order, the page links a related article, and the articleBody does not
    # hold that line as text; one such line per related article at most, never the lead.
    lines = visible
    dates = 0
    while dates < related and len(lines) > 1 and is_date_and_clock(lines[-1]):
        if evidence.contains(lines[-1]):
            break
        lines = lines[:-1]
        dates += 1
    paragraphs, words, unconfirmed = _join_paragraphs(lines, evidence)
    return "\n\n".join(paragraphs), words, unconfirmed, bool(dates and not evidence.text)


def _join_paragraphs(lines: list[str], evidence: Evidence) -> tuple[list[str], int, bool]:
    """Re-join paragraphs that the page broke across two lines mid-sentence; returns the
    paragraphs, their number of words (`len(body.split())` of the joined body) and whether a
    junction was decided by a line's length alone (no articleBody line to look at).

    A line that ends a sentence, a bullet item, and the line after either stay separate. A
    line continuing in lower case joins the previous one (unless both are items of a list
    opened by a colon), and so does any line after one ending with a comma or inside an open
    bracket. A line starting with a capital joins on evidence: the articleBody runs the two
    lines on with a space, where it glues real paragraphs with nothing, or (when it joins
    everything with a space) where the previous line is no subheading. A junction the
    articleBody glues, or where it lacks either line, is a real paragraph break. With no
    articleBody at all, a line longer than a subheading joins the next.
    """
    junctions, words = evidence.follow_lines(lines)
    # A paragraph ends with the last line joined to it, so whether the paragraph before a line
    # ends a sentence is whether the line before it does. When every line but the last does,
    # no line joins the one before: each line is a paragraph.
    if _TERMINAL.issuperset(map(itemgetter(-1), lines[:-1])):
        return list(lines), words, False
    unconfirmed = False
    has_evidence = bool(evidence.text)
    style: str | None = None  # how the evidence joins real paragraphs: "space" | "glued"
    looked = False  # whether the lines after this one were searched for `style`
    paragraphs: list[str] = []
    last_is_item = False  # the last paragraph is an item of a list that a line ending in ":" opened
    for line, junction in zip(lines, junctions):
        if not paragraphs:
            paragraphs.append(line)
            continue
        previous = paragraphs[-1]
        if previous[-1] in _TERMINAL:
            if junction and style is None:
                style = junction
        else:
            # A "space" junction is weighed against the style, which a paragraph end further
            # down may show when none has come yet (the lead is often missing).
            if style is None and junction == "space" and not looked:
                style, looked = _paragraph_style(lines, junctions), True
            joins = _continues(previous, line, junction, style, last_is_item, has_evidence)
            if joins is None:  # told by the line's length alone
                joins = _longer_than_a_heading(previous)
                unconfirmed = True
            if joins:
                paragraphs[-1] = f"{previous} {line}"
                continue
        opens_list = previous.endswith(":") or last_is_item
        # Items without a marker, continuing a list in lower case; a capitalized line ends it.
        last_is_item = opens_list and line[:1].islower() and len(line) <= _LIST_ITEM_MAX
        paragraphs.append(line)
    return paragraphs, words, unconfirmed


def _paragraph_style(lines: list[str], junctions: list[str | None]) -> str | None:
    """How the evidence joins real paragraphs ("space" or "glued"): at the first line that ends a
    sentence and is followed in the evidence."""
    for line, junction in zip(lines, junctions[1:]):
        if junction and line[-1] in _TERMINAL:
            return junction
    return None


def _continues(
    previous: str, line: str, junction: str | None, style: str | None, previous_is_item: bool, has_evidence: bool
) -> bool | None:
    """Whether `line` continues the paragraph `previous`, which does not end a sentence; None
    when only the length of `previous` can tell (no articleBody line to look at)."""
    if _BULLET.match(line) or _BULLET.match(previous):
        return False
    if junction == "glued":
        return False
    first = line[:1]
    if first.islower():
        return not (previous_is_item and len(line) <= _LIST_ITEM_MAX)
    if junction == "space" and style == "glued":
        return True
    # A comma or an open bracket leaves the sentence unfinished, whatever script follows (a
    # quotation opening the next line may be its own paragraph, introduced by the comma).
    if first.isalnum() and (
        previous[-1] in _OPEN_CLAUSE
        or previous.rfind("(") > previous.rfind(")")
        or previous.rfind("[") > previous.rfind("]")
    ):
        return True
    if not first.isalpha():
        return False
    if junction == "space":
        return _longer_than_a_heading(previous)
    # Not a line the articleBody runs on from the one before: one of them (a caption, a link to
    # another article) is missing from it. With no articleBody at all, only the length tells.
    return False if has_evidence else None


def _longer_than_a_heading(line: str) -> bool:
    # More than _HEADING_MAX_WORDS words: splitting off that many and a remainder tells.
    return len(line.split(maxsplit=_HEADING_MAX_WORDS)) > _HEADING_MAX_WORDS
