"""Every class of bad input is a named reject with its exact reason and detail; none raises."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dataset_tools.build.parse import read_input
from dataset_tools.inputs import source_for
from dataset_tools.readers import parse_article
from dataset_tools.readers.collector import REJECT_REASONS
from dataset_tools.records import Reject
from rawfiles import LEAD, collected_article, write_raw

NAME = "009_dddd000000000009.txt"


def rejected(data: bytes | str) -> Reject:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    record = parse_article(raw, NAME)
    assert isinstance(record, Reject), record
    assert record.reason in REJECT_REASONS
    assert (record.source_file, record.source_sha256, record.size) == (NAME, hashlib.sha256(raw).hexdigest(), len(raw))
    return record


def reason_detail(data: bytes | str) -> tuple[str, str]:
    record = rejected(data)
    return record.reason, record.detail


GOOD = collected_article()


@pytest.mark.parametrize(
    ("data", "detail"),
    [(b"", "empty file"), (b" \n\t\r\n  ", "file holds only whitespace")],
)
def test_empty_and_whitespace_files(data, detail):
    assert reason_detail(data) == ("empty-file", detail)


def test_invisible_marks_only():
    assert reason_detail("\ufeff\u200b\n\u200e\n".encode()) == ("empty-file", "file holds only whitespace and invisible marks")


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not text: PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "not text: PDF document"),
        (b"PK\x03\x04\x14\x00\x00\x00", "not text: ZIP archive"),
        (GOOD.encode()[:300] + b"\x00" + GOOD.encode()[300:], "not text: binary data (NUL byte at offset 300)"),
        (GOOD.encode("utf-16"), "not text: binary data (NUL byte at offset 3)"),
    ],
)
def test_binaries_whatever_their_name(data, detail):
    assert reason_detail(data) == ("binary-file", detail)


def test_utf8_damaged_in_the_middle():
    data = bytearray(GOOD.encode())
    at = data.index(b"forty kilometres")
    data[at : at + 2] = b"\xc3\x28"
    assert reason_detail(bytes(data)) == ("invalid-encoding", f"invalid UTF-8 at byte {at}")


def test_cyrillic_utf8_damaged_in_the_middle_is_not_read_as_another_code_page():
    text = collected_article(lead="РИВЕРТОН - Городской совет утвердил новый план велосипедных дорожек в понедельник.")
    data = bytearray(text.encode())
    at = data.index("велосипедных".encode())
    data[at] = 0xFF
    assert reason_detail(bytes(data)) == ("invalid-encoding", f"invalid UTF-8 at byte {at}")


def test_western_legacy_encoding_is_not_guessed():
    text = collected_article(lead="RIVERTON - The café owners on the quay welcomed the plan, officials said.")
    at = text.encode("utf-8").index("é".encode())
    assert reason_detail(text.encode("cp1252")) == ("invalid-encoding", f"invalid UTF-8 at byte {at}")


def test_replacement_character_in_the_text():
    text = collected_article(lead="RIVERTON - The council appr\ufffdved the plan.")
    at = text.index("\ufffd")
    assert reason_detail(text) == (
        "invalid-encoding",
        f"text holds a U+FFFD replacement character at character {at}: damaged before collection",
    )


@pytest.mark.parametrize(
    ("first", "detail"),
    [
        ("javascript:void(0)", "line 1 is a javascript: link, not an http(s):// URL (18 characters)"),
        ("file:///home/user/page.html", "line 1 is a file: link, not an http(s):// URL (27 characters)"),
        ("Riverton Approves New Bicycle Lane Plan", "line 1 is not an http(s):// URL: 39 characters in 6 words"),
        ("https://", "line 1 is not an http(s):// URL: 8 characters"),
        ("https:///no-host/page.html", "line 1 has no valid host name (an http(s):// URL of 26 characters)"),
        ("http://exa_mple!.org/page", "line 1 has no valid host name (an http(s):// URL of 25 characters)"),
        ("ftp://archive.example.org/saved/page.html", "line 1 is a ftp: link, not an http(s):// URL (41 characters)"),
        ("news.example.org/20260105/plan-1.html", "line 1 is a URL without its http(s):// scheme (host news.example.org, 37 characters)"),
        ("www.example.org", "line 1 is a URL without its http(s):// scheme (host www.example.org, 15 characters)"),
        ("root:x:0:0:root:/root:/bin/bash", "line 1 is not an http(s):// URL: 31 characters"),  # never quoted, not even its first word
    ],
)
def test_line_one_not_an_http_url(first, detail):
    assert reason_detail(collected_article(url=first)) == ("not-a-url", detail)


def test_missing_url_line():
    text = collected_article().split("\n", 1)[1]
    assert reason_detail(text) == ("not-a-url", "line 1 is not an http(s):// URL: 39 characters in 6 words")


def test_url_only():
    assert reason_detail("https://news.example.org/a.html\n") == ("truncated", "file ends after the URL: no title")


def test_title_with_nothing_after_it():
    assert reason_detail("https://news.example.org/a.html\nA title\n\n") == ("truncated", "file ends after the title")


def test_metadata_without_a_visible_body():
    lines = GOOD.splitlines()
    headline_at = len(lines) - 1 - lines[::-1].index("Riverton Approves New Bicycle Lane Plan")
    assert reason_detail("\n".join(lines[: headline_at + 1])) == (
        "no-body", "metadata without a visible article: nothing follows the repeated headline"
    )
    assert reason_detail("\n".join(lines[:headline_at])) == (
        "no-body", "metadata without a visible article: the headline never repeats after the keywords"
    )


@pytest.mark.parametrize(
    ("keep", "detail"),
    [
        (3, "file ends inside its metadata after 3 lines, before any timestamp"),
        (5, "file ends inside its metadata after 5 lines, before any timestamp"),
        (8, "file ends inside its metadata, right after the timestamps"),
        (12, "file ends inside its metadata: the headline never repeats to start the article"),
        (20, "file ends inside its metadata: the headline never repeats to start the article"),
    ],
)
def test_file_cut_off_inside_its_metadata(keep, detail):
    assert reason_detail("\n".join(GOOD.splitlines()[:keep])) == ("truncated", detail)


@pytest.mark.parametrize(
    ("last", "detail"),
    [
        ("2026-01-05T09:1", "file ends inside its metadata, in the middle of a timestamp: '2026-01-05T09:1'"),
        ("2026-01-05T09:15", "file ends inside its metadata, in the middle of a timestamp: '2026-01-05T09:15'"),
        ("2026-01-05T09:15+0000", "file ends inside its metadata, right after the timestamps"),
    ],
)
def test_file_cut_off_inside_a_timestamp(last, detail):
    # The cut comes before any line that follows the stamps: truncated, not an invalid stamp.
    lines = GOOD.splitlines()
    at = lines.index("2026-01-05T09:15+0000")
    assert reason_detail("\n".join([*lines[: at + 1], last])) == ("truncated", detail)


def test_missing_timestamps():
    assert reason_detail(collected_article(timestamps=())) == (
        "missing-timestamp", "no timestamp after the title, site name and description"
    )


@pytest.mark.parametrize(
    ("stamps", "detail"),
    [
        (("2021-02-30T25:61+0000",), "impossible timestamp '2021-02-30T25:61+0000'"),
        (("2026-02-29T10:00+0000",), "impossible timestamp '2026-02-29T10:00+0000'"),
        (("2026-01-05T09:15+2500",), "impossible timestamp '2026-01-05T09:15+2500'"),
        (("2026-01-05Tnoon",), "not an ISO-8601 date-time with a UTC offset: '2026-01-05Tnoon'"),
        (("2026-01-05",), "not an ISO-8601 date-time with a UTC offset: '2026-01-05'"),
        (("2026-01-05T09:15",), "timestamp without a UTC offset: '2026-01-05T09:15'"),
        (("1969-07-20T20:17+0000",), "timestamp '1969-07-20T20:17+0000' is outside 1990-2099"),
        (
            ("2026-01-05T09:15+0000", "2026-01-05T09:15+0000", "2026-01-04T09:15+0000"),
            "modified time 2026-01-04T09:15:00+00:00 is before the published time 2026-01-05T09:15:00+00:00",
        ),
        (("2026-01-05T09:15+0000",) * 4, "4 timestamp lines where the layout has one or three"),
    ],
)
def test_invalid_timestamps(stamps, detail):
    assert reason_detail(collected_article(timestamps=stamps)) == ("invalid-timestamp", detail)


def test_too_large_is_rejected_before_reading(tmp_path: Path):
    path = write_raw(tmp_path, NAME, GOOD)
    size = path.stat().st_size
    record, _ = read_input(source_for(tmp_path), NAME, size, max_bytes=size - 1)
    assert isinstance(record, Reject)
    # Neither read whole nor hashed whole (a 16 GB file took 51 s): its first MiB, so labelled, names it.
    head = hashlib.sha256(path.read_bytes()).hexdigest()
    assert (record.reason, record.detail) == ("too-large", f"file is {size} bytes, over the limit of {size - 1} bytes; not read (SHA-256 of its first {size} bytes: {head})")
    assert record.source_sha256 == ""
    assert read_input(source_for(tmp_path), NAME, size, max_bytes=size)[0].url.startswith("https://")


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (json.dumps({"url": "https://news.example.org/a.html", "title": "A"}, indent=2), "a JSON document"),
        (json.dumps([{"url": "https://news.example.org/a.html"}]), "a JSON document"),
        ('{"url": "https://news.example.org/a.html"}\n{"url": "https://news.example.org/b.html"}\n', "a JSON lines export"),
        ("<!DOCTYPE html>\n<html><head><title>A</title></head></html>\n", "an HTML page"),
        (
            "url,title,published_at,body\n"
            'https://news.example.org/a.html,"Riverton, in brief",2026-01-05T09:15:00Z,"The council met, then voted."\n',
            "a table export (CSV): its first line is a header row",
        ),
        ("id;url;title\n1;https://news.example.org/a.html;Riverton in brief\n", "a table export (CSV): its first line is a header row"),
    ],
)
def test_other_formats_are_not_collected_articles(data, detail):
    assert reason_detail(data) == ("not-an-article", f"not a collected article: the file is {detail}")


def test_line_one_with_a_comma_and_no_url_is_no_table():
    # A title (words with spaces) on line 1 where the URL is missing: not a header row.
    text = GOOD.split("\n", 1)[1].replace("Riverton Approves", "Riverton, Approves", 1)
    assert reason_detail(text) == ("not-a-url", "line 1 is not an http(s):// URL: 40 characters in 6 words")


def test_huge_file_of_one_repeated_line():
    assert reason_detail("spam spam spam\n" * 200_000)[0] == "not-a-url"
    one_line = collected_article(body_lines=(LEAD, "word " * 400_000))
    assert rejected(one_line.replace("\n", " ")).reason == "not-a-url"
