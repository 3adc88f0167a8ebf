"""Builders for raw files in the collector layout, written in the project's own words.

`collected_article(...)` returns the text of one file; every part of the layout can be left
out or varied, so tests can say exactly which variant they exercise.
"""

from __future__ import annotations

from pathlib import Path

LEAD = "RIVERTON (Example Wire) - The city council of Riverton approved a new plan for its bicycle lanes on Monday, officials said."
PARAGRAPHS = (
    "The plan adds forty kilometres of protected lanes over the next three years and links the old harbour to the university district.",
    "Council members debated the cost for most of the afternoon, and several residents spoke about safety on the main bridge.",
    "The transport office said construction would begin in the spring once the contracts are signed.",
)


def collected_article(
    *,
    url: str = "https://news.example.org/20260105/riverton-approves-bicycle-plan-1000001.html",
    title: str = "Riverton Approves New Bicycle Lane Plan",
    second_title: str | None = None,
    with_second_title: bool = True,
    site_name: str | None = "Example Wire",
    description: str | None = "The council backed a three-year plan for protected bicycle lanes across the city.",
    timestamps: tuple[str, ...] = ("2026-01-05T09:15+0000", "2026-01-05T09:15+0000", "2026-01-05T11:40+0000"),
    section: str | None = "cities",
    tags: tuple[str, ...] = ("riverton", "transport", "cycling"),
    image_url: str | None = "https://cdn.example.org/img/2026/01/bike-lanes_1920x1080.jpg",
    article_body: str | None = None,
    related_urls: tuple[str, ...] = ("https://news.example.org/20251220/riverton-budget-vote-1000000.html",),
    about: tuple[str, ...] = ("riverton", "transport"),
    publisher: str = "blocks",
    locale: str | None = "en_EN",
    thumbnail: str | None = "https://cdn.example.org/img/2026/01/bike-lanes_thumb.jpg",
    keywords: str | None = "riverton bicycle plan, protected lanes, city council",
    lead: str = LEAD,
    paragraphs: tuple[str, ...] = PARAGRAPHS,
    body_lines: tuple[str, ...] | None = None,
    related_date: str | None = None,
    newline: str = "\n",
    final_newline: bool = True,
) -> str:
    """The text of one collected article. `body_lines` replaces lead + paragraphs verbatim.

    `article_body=None` writes the JSON-LD line as the page usually has it: the visible lines
    after the lead joined by a space; pass "" to leave the line out. `publisher` is "blocks"
    (4-line blocks, as Sputnik), "logo" (name, logo URL, width, height), "name" (the name
    alone) or "none" (nothing but the locale).
    """
    lines: list[str] = [url, title]
    if with_second_title:
        lines.append(second_title or title)
    if site_name:
        lines.append(site_name)
    if description:
        lines.append(description)
    lines.extend(timestamps)
    if section:
        lines.append(section)
    lines.extend(tags)
    if image_url:
        lines.append(image_url)
    visible = list(body_lines) if body_lines is not None else [lead, *paragraphs]
    evidence = article_body if article_body is not None else " ".join(visible[1:])
    if evidence:
        lines.append(evidence)
    lines.extend(related_urls)
    lines.extend(about)
    name = site_name or "Example Wire"
    if publisher == "blocks":
        block = [name, "desk@example.org", "+10000000000", "Example Wire Media Ltd"]
        lines += block + ["2026"] + block + ["News"]
    elif publisher == "logo":
        lines += [name, "https://cdn.example.org/logo.png", "600", "60", "2026", "News"]
    elif publisher == "name":
        lines += [name]
    if locale:
        lines.append(locale)
    if thumbnail:
        lines.append(thumbnail)
    if keywords:
        lines += [keywords, keywords]
    lines.append(title)
    lines.extend(visible)
    if related_date:
        lines.append(related_date)
    text = newline.join(lines)
    return text + newline if final_newline else text


def write_raw(folder: Path, name: str, content: str | bytes) -> Path:
    """Write one raw file (text as UTF-8) and return its path."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


# -- stories for near-duplicate tests: long bodies made of sentences from our own word lists ----

_SUBJECTS = ("the harbour board", "the river council", "a group of farmers", "the city engineers", "the school trustees",
             "the regional museum", "the transport office", "a team of surveyors", "the market traders", "the water authority")
_VERBS = ("approved", "questioned", "delayed", "announced", "reviewed", "welcomed", "rejected", "proposed", "measured", "described")
_OBJECTS = ("a plan for new footbridges", "the budget for winter repairs", "a survey of the northern dunes",
            "the timetable for the ferry", "a proposal to widen the canal", "the cost of the grain silos",
            "a report on the flooded meadows", "the lease of the old mill", "a study of the tidal gates", "the repairs to the lighthouse")
_TAILS = ("after a long meeting", "before the spring season", "in a statement on Tuesday", "despite some objections",
          "following a public hearing", "with support from residents", "at the request of the mayor", "for the third time this year")


def story_paragraphs(seed: int, paragraphs: int = 6, sentences: int = 4) -> tuple[str, ...]:
    """Paragraphs of plain news prose, different for every `seed` (the same for the same one)."""
    import random

    rng = random.Random(f"story:{seed}")
    out = []
    for _ in range(paragraphs):
        out.append(" ".join(
            f"{rng.choice(_SUBJECTS).capitalize()} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}, "
            f"and {rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} in district {rng.randrange(1000)}."
            for _ in range(sentences)
        ))
    return tuple(out)


def wire_copy(
    n: int,
    *,
    host: str = "news.example.org",
    published: str = "2026-01-05T09:15+0000",
    dateline: str = "RIVERTON (Example Wire) - ",
    paragraphs: tuple[str, ...] | None = None,
    story: int | None = None,
) -> str:
    """One collected article at https://<host>/story-<n>.html, published at `published`, whose
    body is `dateline` + the first paragraph of `paragraphs` (story `story`'s by default), then
    the others."""
    body = paragraphs if paragraphs is not None else story_paragraphs(n if story is None else story)
    return collected_article(
        url=f"https://{host}/2026/story-{n}.html",
        title=f"Harbour works, part {n}",
        timestamps=(published, published, published),
        lead=dateline + body[0],
        paragraphs=body[1:],
    )
