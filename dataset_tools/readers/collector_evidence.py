"""The articleBody line as evidence about the visible page.

A collected page's metadata holds the JSON-LD `articleBody`: the article's text on one line. It is
never the body (it may lack the lead or the quotes, glue paragraphs with no space, or glue a
subheading to the next sentence), but it tells which long metadata line is the article, and how
the page's lines join. Two readers of it:

- `Opening`: the first paragraphs of the visible page, to recognise the articleBody line among
  the metadata lines by its opening (in: a metadata line; out: whether it is the articleBody).
- `Evidence`: the articleBody line, to follow the visible lines in it in order (in: the visible
  lines; out: how the evidence joins each to the line before: with a space, glued, or unknown;
  and whether it holds a line as text).

Every search is confined to a window that moves forward, so a whole page costs linear time.
"""

from __future__ import annotations

# The articleBody line is confirmed by finding this many of its first characters in the visible text.
_EVIDENCE_KEY = 60
# How far past the expected place a line may start in the articleBody evidence (lines the
# evidence omits, such as subheadings or captions, shift it).
_EVIDENCE_SLACK = 2000
_VISIBLE_KEY_CHARS = 50_000


class Opening:
    """The first paragraphs of the visible text, to recognise the articleBody line by its opening."""

    __slots__ = ("_visible", "_head", "_spaced", "_squeezed")

    def __init__(self, visible: list[str]) -> None:
        self._visible = visible
        self._head: str | None = None
        self._spaced: str | None = None
        self._squeezed: str | None = None

    def starts(self, line: str) -> bool:
        """Whether `line` (a stripped line) opens with text of the visible page: the articleBody line."""
        head = line[: _EVIDENCE_KEY * 2]
        # The key is the head squeezed, cut to _EVIDENCE_KEY characters. A head without
        # whitespace but single spaces squeezes to itself (less a space at its very end, which
        # the cut drops anyway): its key is the line's first characters.
        if head.isprintable() and "  " not in head:
            key = line[:_EVIDENCE_KEY]
        else:
            key = " ".join(head.split())[:_EVIDENCE_KEY]
        if len(key) < 30:
            return False
        # The key is looked for in the first 50 visible lines joined with a space (cut to
        # _VISIBLE_KEY_CHARS characters). The articleBody starts with the first or the second
        # paragraph, so the first two lines, the start of that text, are joined and searched
        # first; the rest is joined only when the key is not there.
        visible = self._visible
        if self._head is None:
            self._head = " ".join(visible[:2])[:_VISIBLE_KEY_CHARS]
        if key in self._head:
            return True
        if self._spaced is None:
            self._spaced = " ".join(visible[:50])[:_VISIBLE_KEY_CHARS] if len(visible) > 2 else self._head
        if key in self._spaced:
            return True
        # The key may span a paragraph break that the articleBody glued: compare without spaces.
        if self._squeezed is None:
            self._squeezed = "".join(self._spaced.split())
        return "".join(key.split()) in self._squeezed


class Evidence:
    """The articleBody line, searched in order: each visible line is looked for just after where
    the previous one was found, within a bounded window, so the whole body costs linear time.

    `text` is "" when the page has no articleBody line: nothing is then found in it.
    """

    __slots__ = ("text", "cursor")

    def __init__(self, article_body: str | None) -> None:
        # Squeezed, the evidence holds no whitespace but single spaces.
        self.text = _squeeze(article_body) if article_body else ""
        self.cursor = 0

    def contains(self, line: str) -> bool:
        return bool(self.text) and _squeeze(line) in self.text

    def follow(self, line: str, previous_end: int | None) -> tuple[int | None, str | None, bool]:
        """Look for the next visible line, its whitespace squeezed, just after the last match.

        Returns (where the line ends in the evidence, or None when it is not there; how the
        evidence joins it to the previous line, which ended at `previous_end`: "space",
        "glued" or None for unknown; whether the line stands in the evidence as it is).
        """
        text = self.text
        if not text:
            return None, None, False
        cursor = self.cursor
        # Most lines are found as they are, without squeezing them first: a line found so holds
        # no whitespace but single spaces (the evidence holds no other), so it is its squeezed
        # form, and the search is the one below.
        key = line[:_EVIDENCE_KEY]
        # A line most often starts right at the cursor or one space after it. Starting there, it
        # is where the search would find its key first (at the cursor, or one after when the
        # key is not at the cursor itself), which is told without searching.
        if text.startswith(line, cursor):
            at, verbatim = cursor, True
        elif text.startswith(line, cursor + 1) and not text.startswith(key, cursor):
            at, verbatim = cursor + 1, True
        else:
            at = text.find(key, cursor, cursor + len(key) + _EVIDENCE_SLACK)
            verbatim = at != -1 and text.startswith(line, at)
        if verbatim:
            end = at + len(line)
        else:
            # A line that is its own squeezed form (a stripped line without other whitespace or
            # double spaces) would be searched again for the same key with the same outcome.
            # So would a line whose key is not there and is its own squeezed form: the key is
            # then the squeezed line's first characters too (a run of whitespace that starts
            # after the key squeezes into what comes after it).
            if at == -1 and key.isprintable() and "  " not in key:
                return None, None, False
            if line.isprintable() and "  " not in line:
                return None, None, False
            squeezed = " ".join(line.split())
            key = squeezed[:_EVIDENCE_KEY]
            at = text.find(key, cursor, cursor + len(key) + _EVIDENCE_SLACK)
            if at == -1 or not text.startswith(squeezed, at):
                return None, None, False
            end = at + len(squeezed)
        self.cursor = end
        if previous_end is None:
            return end, None, verbatim
        # The junction: does the line's head (its first 20 characters, squeezed) follow the
        # previous line directly ("glued") or after one space ("space")? The two shapes almost
        # every line has are told apart without cutting the head out: a line starting right
        # where the previous one ended is glued; one starting a space later is not glued (its
        # first character is no space) and so is spaced.
        if at == previous_end:
            return end, "glued", verbatim
        if at == previous_end + 1 and text[previous_end] == " " and text[at] != " ":
            return end, "space", verbatim
        head = text[at : min(end, at + 20)]
        if text.startswith(head, previous_end):
            return end, "glued", verbatim
        if text.startswith(" " + head, previous_end):
            return end, "space", verbatim
        return end, None, verbatim

    def follow_lines(self, lines: list[str]) -> tuple[list[str | None], int]:
        """How the evidence joins each line to the one before ("space", "glued" or None, as
        `follow` tells; None for the first line), and the lines' number of words.

        Words are counted line by line (joining stripped lines with whitespace neither splits nor
        merges a word). A line found as it is in the squeezed evidence holds no whitespace but
        single spaces, and is stripped: its words are its spaces plus one, counted without
        splitting it.

        Once a line is found, the rest of the lines most often follow it in the evidence joined by
        one separator, as the page's articleBody joins its paragraphs: one comparison of the rest
        so joined tells (once per call, so the work stays linear), and gives what following them
        one by one would. With a space, each line starts one character after the cursor, where the
        cursor holds the space and not its first character: its junction is "space". Glued, each
        line starts right at the cursor: "glued". Either way each line is found as it is.
        """
        junctions: list[str | None] = []
        words = 0
        previous_end: int | None = None
        tried = False
        text = self.text
        follow = self.follow
        for k, line in enumerate(lines):
            if previous_end is not None and not tried:
                tried = True
                separator = " " if text.startswith(" ", previous_end) else ""
                rest = separator.join(lines[k:])
                if text.startswith(rest, previous_end + len(separator)):
                    self.cursor = previous_end + len(separator) + len(rest)
                    junctions += ["space" if separator else "glued"] * (len(lines) - k)
                    # Each line's spaces plus one: the separators add len(lines) - k - 1 spaces.
                    words += rest.count(" ") + (1 if separator else len(lines) - k)
                    return junctions, words
            previous_end, junction, verbatim = follow(line, previous_end)
            junctions.append(junction)
            words += line.count(" ") + 1 if verbatim else len(line.split())
        return junctions, words


def _squeeze(line: str) -> str:
    """A stripped line with each run of whitespace as one space."""
    # Most lines hold no whitespace but single spaces (every other whitespace character is
    # unprintable): they are returned as they are, without splitting them into words.
    if line.isprintable() and "  " not in line:
        return line
    return " ".join(line.split())
