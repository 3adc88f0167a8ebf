"""Which Hub repo a dataset's card files name, where a user reads it: README.md's load lines
(`load_dataset("namespace/name", ...)`) and the Hub URLs in its Citation section, and
croissant.json's `url` and `citeAs`. validate checks they all name the dataset's own repo, so a
card published to one repo never tells users to load (or cite) another.
"""

from __future__ import annotations

import re

_REPO = r"[A-Za-z0-9][\w.\-]*/[A-Za-z0-9][\w.\-]*"
LOAD_LINE = re.compile(rf"""load_dataset\(\s*["']({_REPO})["']""")
HUB_URL = re.compile(rf"huggingface\.co/datasets/({_REPO})")
_CITATION = re.compile(r"^## Citation[ \t]*$(.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)


def card_repo_names(text: str) -> list[tuple[str, str]]:
    """(where, repo id) for every repo README.md names: its load lines and its citation's URLs."""
    named = [("load line", repo) for repo in LOAD_LINE.findall(text)]
    for section in _CITATION.findall(text):
        named += [("citation", repo) for repo in HUB_URL.findall(section)]
    return named


def croissant_repo_names(document: dict) -> list[tuple[str, str]]:
    """(where, repo id) for every repo croissant.json names in `url` and `citeAs`."""
    named = []
    for key in ("url", "citeAs"):
        value = document.get(key)
        if isinstance(value, str):
            named += [(key, repo) for repo in HUB_URL.findall(value)]
    return named


def other_repos(named: list[tuple[str, str]], repo_id: str) -> list[tuple[str, str]]:
    """The entries of `named` that name another repo than `repo_id` (Hub ids ignore case)."""
    return [(where, repo) for where, repo in named if repo.casefold() != repo_id.casefold()]
