"""Escaping of article-derived text for the card's Markdown body.

Titles, keywords, sections, outlet names and the example record come from collected pages.
Put into the card they must read as text: no HTML (`<script>` shows as `<script>`), no
Markdown (`# Heading`, `[link](javascript:x)`, `| pipe |`, `**bold**` stay literal), no new
line that could start a heading, a `---` header fence or a table row.
"""

from __future__ import annotations

import re

# Punctuation that opens or closes Markdown inline syntax anywhere in a line (emphasis, code,
# links, images, tables, strikethrough, headings, escapes); &<> become HTML entities instead.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#!|~])")
# At the start of the text, characters that would open a block: a list item, a setext or
# thematic break line ("---", "==="), an ordered list ("1." or "1)").
_LEADING = re.compile(r"^(?:([-+=])|(\d+)([.)]))")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def md_text(value: object, limit: int | None = None) -> str:
    """`value` as one line of inert Markdown text, shortened to `limit` characters (before escaping).

    Whitespace runs (new lines included) become one space, control characters are dropped,
    `&`, `<`, `>` become HTML entities and Markdown punctuation is backslash-escaped.
    """
    text = _CONTROL.sub("", str(value))
    text = _SPACE.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)].rstrip() + "…"
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN.sub(r"\\\1", text)
    return _LEADING.sub(_escape_leading, text)


def _escape_leading(match: re.Match) -> str:
    if match.group(1):
        return "\\" + match.group(1)
    return match.group(2) + "\\" + match.group(3)


def md_code(value: object) -> str:
    """`value` as inline code; safe for identifiers such as field names and file names."""
    text = _SPACE.sub(" ", _CONTROL.sub("", str(value))).strip()
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}".replace("|", "\\|")
