"""The card's own words: what the project says about its data that no statistic can.

They come from the project, never from this package: the `card_text` setting names a Markdown
file (default `card.md` in the project) with one `## ` section per statement, for example

    ## Biases

    The outlets were chosen for ...

The sections (headings matched case-insensitively) are `SECTIONS`; the card and croissant.json
both make these statements. Text before the first section and HTML comments (`<!-- ... -->`,
where `dataset-tools init` leaves its guidance) are ignored. A section the file lacks, or every
section when the project has no such file, reads `MISSING`, the Hub's own placeholder. The
licence's own words are the `license_details` setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dataset_tools.errors import ConfigError

MISSING = "[More Information Needed]"

# The heading in the file -> the CardText field it fills.
SECTIONS = {
    "Collection": "data_collection",
    "Preprocessing": "data_preprocessing",
    "Biases": "biases",
    "Limitations": "limitations",
    "Personal information": "personal_information",
}

_HEADING = re.compile(r"^##[ \t]+(?P<title>.+?)[ \t#]*$", re.MULTILINE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


@dataclass(frozen=True)
class CardText:
    """The statements the card and croissant.json make about the data, in the project's words."""

    data_collection: str = MISSING
    data_preprocessing: str = MISSING
    biases: str = MISSING
    limitations: str = MISSING
    personal_information: str = MISSING


def load_card_text(path: Path | None) -> CardText:
    """The sections of the project's card text file; all `MISSING` when `path` is None.

    Raises:
        ConfigError: the file is missing, or has a `## ` section that is not one of `SECTIONS`
            or that appears twice.
    """
    if path is None:
        return CardText()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"card text file {path} not found",
            hint="Write it (sections: " + ", ".join(f"'## {title}'" for title in SECTIONS) + "), or fix the `card_text` setting.",
        ) from None
    text = _COMMENT.sub("", text.replace("\r\n", "\n"))
    names = {title.lower(): name for title, name in SECTIONS.items()}
    values: dict[str, str] = {}
    headings = list(_HEADING.finditer(text))
    for index, heading in enumerate(headings):
        title = heading.group("title").strip()
        name = names.get(title.lower())
        if name is None:
            raise ConfigError(
                f"{path}: unknown section '## {title}'",
                hint="The sections are " + ", ".join(f"'## {t}'" for t in SECTIONS) + "; put other headings at level 3 (###) inside them.",
            )
        if name in values:
            raise ConfigError(f"{path}: section '## {title}' appears twice", hint="Merge the two sections into one.")
        end = headings[index + 1].start() if index + 1 < len(headings) else len(text)
        values[name] = text[heading.end() : end].strip() or MISSING
    return CardText(**values)
