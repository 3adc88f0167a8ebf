"""Row hygiene: control characters, URL user-info and secret-looking query parameters are
removed from every article, counted in report.json, and the builds stay byte-identical."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataset_tools.build import build_dataset
from dataset_tools.build.hygiene import Cleaned, clean_article, clean_articles, clean_url, is_secret_parameter
from dataset_tools.build.parse import articles_to_batch
from dataset_tools.readers import parse_file
from dataset_tools.readers.common import article_id
from dataset_tools.schema import load_table_schema
from dataset_tools.report import read_outcomes
from rawfiles import collected_article, write_raw

CONTROLS = "\x07\x1b\x7f\x85\u202e"  # BEL, ESC, DEL, NEL (C1), RIGHT-TO-LEFT OVERRIDE


def _parsed(**parts):
    record = parse_file(collected_article(**parts).encode(), "a.txt")
    assert not hasattr(record, "reason"), record
    return record


def test_a_clean_article_is_returned_as_it_is():
    article = _parsed()
    assert clean_article(article) == (article, None)
    assert clean_article(article)[0] is article


def test_control_characters_are_removed_from_every_text_field_and_counted():
    article = _parsed(
        title="Bell\x07 and escape\x1b[31m in the title",
        lead="RIVERTON (Example Wire) - The council\u202e met\x85 on Monday\tas planned, officials said.",
        tags=("river\x1bton", "transport"),
        article_body="",
    )
    cleaned, what = clean_article(article)
    assert what == Cleaned(control_characters=5)
    assert cleaned.title == "Bell and escape[31m in the title"
    assert cleaned.body.startswith("RIVERTON (Example Wire) - The council met on Monday\tas planned")  # a tab stays
    assert "\n\n" in cleaned.body  # paragraphs stay
    assert cleaned.tags == ("riverton", "transport")
    assert cleaned.word_count == len(cleaned.body.split())
    assert cleaned.id == article.id and cleaned.url == article.url
    assert dataclasses.replace(cleaned, title=article.title, body=article.body, tags=article.tags, word_count=article.word_count) == article


def test_url_user_info_and_secret_parameters_are_removed_and_the_id_follows_the_url():
    article = _parsed(
        url="https://reader:hunter2@news.example.org/2026/a.html?id=7&access_token=abc123&utm_source=x#top",
        image_url="https://cdn.example.org/img/a.jpg?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA&w=800",
        related_urls=("https://bot@news.example.org/2026/b.html",),
    )
    cleaned, what = clean_article(article)
    assert what == Cleaned(url_userinfo=True, secret_parameters=("X-Amz-Credential", "X-Amz-Signature", "access_token"))
    assert cleaned.url == "https://news.example.org/2026/a.html?id=7&utm_source=x#top"
    assert cleaned.image_url == "https://cdn.example.org/img/a.jpg?w=800"
    assert cleaned.related_urls == ("https://news.example.org/2026/b.html",)
    assert cleaned.id == article_id(cleaned.url) != article.id
    assert cleaned.domain == article.domain == "news.example.org"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://u:p@example.org/a", ("https://example.org/a", True, [])),
        ("https://example.org/@user/post?token=1", ("https://example.org/@user/post", False, ["token"])),  # an @ in the path is no user-info
        ("https://example.org/a?key=5&api-key=6", ("https://example.org/a?key=5", False, ["api-key"])),  # a bare key often picks the article
        ("https://example.org/a#frag?token=1", ("https://example.org/a#frag?token=1", False, [])),  # a fragment is no query
        ("https://example.org/a?sig=1&Password=2", ("https://example.org/a", False, ["sig", "Password"])),
        ("https://example.org/a?%74oken=1&page=2", ("https://example.org/a?page=2", False, ["%74oken"])),
        ("https://exa\u202emple.org/a", ("https://example.org/a", False, [])),
    ],
)
def test_clean_url(url, expected):
    cleaned, removed, userinfo, names = clean_url(url)
    assert (cleaned, userinfo, names) == expected
    assert removed == (1 if "\u202e" in url else 0)


@pytest.mark.parametrize("name", ["token", "access_token", "ID-TOKEN", "api_key", "apikey", "client_secret", "password", "passwd", "X-Amz-Security-Token", "signature", "sig", "auth", "jsessionid", "sessionid"])
def test_secret_looking_names(name):
    assert is_secret_parameter(name)


@pytest.mark.parametrize("name", ["key", "id", "page", "utm_source", "q", "tokens_left", "monkey", "author", "sign"])
def test_names_that_are_not_secrets(name):
    assert not is_secret_parameter(name)


_CHARACTERS = st.sampled_from(["a", "Ж", "ह", " ", "\n", "\t", "\xa0", "\u200c", "\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\u202d", "\u202e", "\u2066", "@", "?"])


@settings(max_examples=300, deadline=None)
@given(
    title=st.text(_CHARACTERS, min_size=1, max_size=8),
    body=st.text(_CHARACTERS, max_size=40),
    tags=st.lists(st.text(_CHARACTERS, min_size=1, max_size=5), max_size=3),
    path=st.text(_CHARACTERS, max_size=8),
)
def test_no_control_character_is_left_and_nothing_is_missed(title, body, tags, path):
    article = dataclasses.replace(_ARTICLE, title=title, body=body, tags=tuple(tags), image_url=f"https://cdn.example.org/{path}")
    cleaned, what = clean_article(article)
    texts = [cleaned.title, cleaned.body, *cleaned.tags]
    assert not any(c in CONTROL_SET for text in texts for c in text)
    assert not any(c in CONTROL_SET or c in "\u2066" for c in cleaned.image_url)
    if what is None:  # the quick check found nothing: there was nothing
        assert cleaned is article
        assert not any(c in CONTROL_SET for text in (title, body, *tags) for c in text)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text(_CHARACTERS, min_size=1, max_size=6), st.text(_CHARACTERS, max_size=30), st.text(_CHARACTERS, max_size=6)), min_size=1, max_size=6))
def test_a_batch_of_articles_is_cleaned_as_each_article_is(fields):
    """The map task's way (the batch's bytes tell at once whether any article may need work)
    finds exactly what cleaning each article on its own finds."""
    articles = [
        dataclasses.replace(_ARTICLE, title=title, body=body, related_urls=(f"https://news.example.org/{path}",), source_file=f"{n}.txt")
        for n, (title, body, path) in enumerate(fields)
    ]
    expected = {i: result for i, result in enumerate(map(clean_article, articles)) if result[1] is not None}
    assert clean_articles(articles, articles_to_batch(articles, _SCHEMA)) == expected


CONTROL_SET = {chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]} | {"\u202d", "\u202e"}
_ARTICLE = parse_file(collected_article().encode(), "a.txt")
_SCHEMA = load_table_schema(Path(__file__).resolve().parents[1] / "schemas" / "article.schema.json", frictionless=False)


def _corpus(raw: Path) -> None:
    write_raw(raw, "001.txt", collected_article(url="https://news.example.org/1.html", title="Plain story one"))
    write_raw(raw, "002.txt", collected_article(url="https://news.example.org/2.html", title=f"Story{CONTROLS} two"))
    write_raw(raw, "003.txt", collected_article(url="https://editor:s3cret-pass@news.example.org/3.html?token=tok-VALUE-42&page=1", title="Story three"))
    write_raw(raw, "004.txt", collected_article(url="https://news.example.org/4.html", title="Story four", image_url="https://cdn.example.org/img/4.jpg?sig=SIGVALUE"))


def test_the_report_counts_and_names_what_was_removed_and_no_value_is_kept(project, tmp_path):
    _corpus(project / "raw")
    command = [sys.executable, "-m", "dataset_tools", "build", "--workers", "1", "--project", str(project)]
    done = subprocess.run([*command, "--json"], cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    expected = {"rows": 3, "control_characters": len(CONTROLS), "rows_with_control_characters": 1, "rows_with_url_userinfo": 1, "rows_with_secret_parameters": 2}
    assert json.loads(done.stdout)["cleaned"] == expected
    report = json.loads((project / "dist" / "report.json").read_text())
    assert report["cleaned"] == expected
    by_path = read_outcomes(project / "dist")

    def cleaned(path: str) -> dict:
        return {key: by_path[path][key] for key in ("control_characters", "url_userinfo", "secret_parameters")}

    assert cleaned("001.txt") == {"control_characters": 0, "url_userinfo": False, "secret_parameters": None}
    assert cleaned("002.txt") == {"control_characters": len(CONTROLS), "url_userinfo": False, "secret_parameters": None}
    assert cleaned("003.txt") == {"control_characters": 0, "url_userinfo": True, "secret_parameters": ["token"]}
    assert cleaned("004.txt") == {"control_characters": 0, "url_userinfo": False, "secret_parameters": ["sig"]}
    rows = {row["source_file"]: row for row in pq.read_table(project / "dist" / "data").to_pylist()}
    assert rows["002.txt"]["title"] == "Story two"
    assert rows["003.txt"]["url"] == "https://news.example.org/3.html?page=1"
    assert rows["003.txt"]["id"] == hashlib.sha256(b"https://news.example.org/3.html?page=1").hexdigest()[:16] == by_path["003.txt"]["id"]
    # Nowhere in the data (decoded: the shards are compressed) nor in the text files.
    values = json.dumps([*rows.values(), *by_path.values()], default=str, ensure_ascii=False)  # the rows and the input listings
    texts = "".join(p.read_text() for p in (project / "dist").rglob("*") if p.suffix in (".json", ".md"))
    for value in ("s3cret-pass", "tok-VALUE-42", "SIGVALUE", *CONTROLS):
        assert value not in values and value not in texts

    table = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=300)  # the CLI's own summary
    assert table.returncode == 0 and "rows cleaned" in table.stdout and "control characters removed" in table.stdout


def test_clean_incremental_and_dask_builds_are_byte_identical(settings, project, tmp_path):
    raw = project / "raw"
    _corpus(raw)
    for n in range(40):
        write_raw(raw, f"1{n:02d}.txt", collected_article(url=f"https://u{n}:p@news.example.org/many-{n}.html?auth=A{n}", title=f"Story \x1b{n} of many"))
    build_dataset(settings, workers=2)
    write_raw(raw, "005.txt", collected_article(url="https://news.example.org/5.html?password=pw5", title="Story five\x07"))
    incremental = build_dataset(settings, workers=1)
    assert incremental.parsed == 1 and incremental.report.cleaned["rows"] == 44
    clean = build_dataset(settings, out=tmp_path / "clean", use_cache=False, workers=2)
    dask = build_dataset(settings, out=tmp_path / "dask", use_cache=False, workers=2, engine="dask")
    assert clean.report.cleaned == dask.report.cleaned == incremental.report.cleaned
    digest = {name: _digest(folder) for name, folder in (("incremental", project / "dist"), ("clean", tmp_path / "clean"), ("dask", tmp_path / "dask"))}
    assert digest["incremental"] == digest["clean"] == digest["dask"]


def test_a_page_collected_with_and_without_credentials_is_one_article(settings, project):
    write_raw(project / "raw", "001.txt", collected_article(url="https://news.example.org/a.html", title="The story"))
    write_raw(project / "raw", "002.txt", collected_article(url="https://me:pw@news.example.org/a.html?token=t", title="The story"))
    result = build_dataset(settings, workers=1)
    assert (result.rows, result.duplicates + result.superseded) == (1, 1)


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}
