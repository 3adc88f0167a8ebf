"""The synthetic corpus follows raw-layout.md, is reproducible, and its summary is true."""

import hashlib
import json
import os
import random
import re
from collections import Counter, defaultdict
from datetime import datetime

import pytest

from bench import generate

NAME_RE = re.compile(r"^\d{3}_[0-9a-f]{16}\.txt$")
STAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?(Z|[+-]\d\d:?\d\d)$")
MIXED = dict(junk_rate=0.15, dup_rate=0.08, update_rate=0.08)


def read_tree(folder):
    """{relative path: bytes} for every file under folder."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = f.read()
    return out


def visible_text(lines):
    start = max(i for i, line in enumerate(lines) if line == lines[1])
    return lines[start:]


def parse_stamp(text):
    # The test's own normalization: "Z" and "+0300" become "+00:00" and "+03:00".
    text = re.sub(r"Z$", "+00:00", text)
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text)
    return datetime.fromisoformat(text)


def article_lines(data):
    text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    return text.replace("\r\n", "\n").split("\n")


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    summary = generate.generate_corpus(str(out), 600, seed=3, workers=2, chunk=100)
    return out, summary


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    out = tmp_path_factory.mktemp("mixed")
    summary = generate.generate_corpus(str(out), 1200, seed=5, workers=1, **MIXED)
    return out, summary


def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path):
    a = generate.generate_corpus(str(tmp_path / "a"), 300, seed=9, workers=1, **MIXED)
    b = generate.generate_corpus(str(tmp_path / "b"), 300, seed=9, workers=2, chunk=50, **MIXED)
    assert a == b
    assert read_tree(tmp_path / "a") == read_tree(tmp_path / "b")


def test_another_seed_other_bytes(tmp_path):
    generate.generate_corpus(str(tmp_path / "a"), 50, seed=1)
    generate.generate_corpus(str(tmp_path / "b"), 50, seed=2)
    assert set(read_tree(tmp_path / "a").values()).isdisjoint(read_tree(tmp_path / "b").values())


def test_generate_article_depends_only_on_the_rng_state():
    first = generate.generate_article(random.Random(42), 7)
    assert first == generate.generate_article(random.Random(42), 7)
    assert first != generate.generate_article(random.Random(43), 7)
    assert NAME_RE.match(first[0])


def test_articles_follow_the_layout(clean):
    out, _ = clean
    for name, data in read_tree(out).items():
        assert NAME_RE.match(name)
        lines = article_lines(data)
        if lines[-1] == "":
            lines.pop()  # the final newline
        assert re.match(r"^https?://[a-z0-9.-]+\.[a-z]+/\S+$", lines[0]), name
        title = lines[1]
        assert lines[2].lower() == title.lower() or lines[2].startswith(title), name
        visible = max(i for i, line in enumerate(lines) if line == title)
        assert visible >= 6, name  # the last repetition of the headline opens the visible page
        assert len(lines) - visible >= 4, name  # headline, lead, two paragraphs at least
        stamps = [line for line in lines[4:9] if STAMP_RE.match(line)]
        assert len(stamps) in (1, 3), name
        times = [parse_stamp(s) for s in stamps]
        assert times == sorted(times), name  # created <= published <= modified
        assert lines.index(stamps[0]) in (4, 5), name  # after the description, if any


def test_the_corpus_varies_like_real_files(clean):
    files = read_tree(clean[0]).values()
    seen = Counter()
    for data in files:
        text = data.decode("utf-8-sig")
        lines = article_lines(data)
        stamps = [line for line in lines[4:9] if STAMP_RE.match(line)]
        seen["bom"] += data.startswith(b"\xef\xbb\xbf")
        seen["crlf"] += "\r\n" in text
        seen["final_newline"] += text.endswith("\n")
        seen["single_stamp"] += len(stamps) == 1
        seen["later_modified"] += len(stamps) == 3 and parse_stamp(stamps[2]) > parse_stamp(stamps[1])
        seen["seconds"] += len(stamps[0]) > 22
        seen["www"] += "://www." in lines[0]
        seen["cut_description"] += any("…, " in line for line in lines[4:6])
        seen["related_date"] += bool(re.search(r"(GMT|\d\d\.\d\d\.\d{4})$", text.rstrip()))
        for offset in ("+0000", "+0300", "+05:30", "Z"):
            seen[offset] += stamps[0].endswith(offset)
        for locale in ("en_EN", "ru_RU", "es_ES", "ar_AE", "hi_IN"):
            seen[locale] += locale in lines
    assert all(seen[k] > 0 for k in (
        "bom", "crlf", "single_stamp", "later_modified", "seconds", "www", "cut_description",
        "related_date", "+0000", "+0300", "+05:30", "Z", "en_EN", "ru_RU", "es_ES", "ar_AE",
        "hi_IN")), seen
    assert 0 < seen["final_newline"] < len(files)


def classify(data):
    """The test's own reading of a file, independent of how the generator made it."""
    if not data:
        return "empty"
    if not data.strip():
        return "whitespace"
    if data.startswith(b"\x89PNG"):
        return "png_named_txt"
    if data.startswith(b"{"):
        json.loads(data)
        return "json_export"
    if len(data) > 500_000:
        return "huge_repeated_line"
    try:
        lines = article_lines(data)
    except UnicodeDecodeError:
        # A few bad bytes in UTF-8 text is damage; a whole file of them is another encoding.
        damaged = data.decode("utf-8", errors="replace").count("\ufffd") <= 10
        return "broken_utf8" if damaged else "cp1251_article"
    if lines[0].startswith("javascript:"):
        return "javascript_url"
    if lines[0].startswith("file:"):
        return "file_url"
    if "2021-02-30T25:61+0000" in lines:
        return "impossible_timestamp"
    if lines.count(lines[1]) < 2 or len(lines) < 12:
        return "truncated_metadata"
    return "article"


def test_summary_counts_match_the_files_on_disk(mixed):
    out, summary = mixed
    files = read_tree(out)
    assert len(files) == summary["files"] == 1200
    assert sum(map(len, files.values())) == summary["bytes"]
    kinds = Counter()
    by_url = defaultdict(set)
    seen_bytes = set()
    for data in files.values():
        kind = classify(data)
        if kind == "article":
            digest = hashlib.sha256(data).digest()
            if digest in seen_bytes:
                kind = "duplicate"
            seen_bytes.add(digest)
            by_url[article_lines(data)[0]].add(digest)
        kinds[kind] += 1
    # Each update shares its URL with exactly one earlier, different version.
    kinds["update"] = sum(len(versions) - 1 for versions in by_url.values())
    kinds["article"] -= kinds["update"]
    assert {k: v for k, v in summary["kinds"].items() if v} == +kinds
    assert all(summary["kinds"][k] > 0 for k in ("duplicate", "update", *generate.JUNK_KINDS))
    expected = summary["expected"]
    assert expected["rows"] == len(by_url) + summary["junk"]["cp1251_article"]
    assert sum(expected.values()) == summary["files"]
    assert sum(summary["rows_by_language"].values()) == expected["rows"]


def test_updates_come_later_with_edited_text(mixed):
    out, _ = mixed
    by_url = defaultdict(list)
    for data in read_tree(out).values():
        if classify(data) == "article":
            by_url[article_lines(data)[0]].append(article_lines(data))
    pairs = [v for v in by_url.values() if len({tuple(x) for x in v}) == 2]
    assert pairs
    for a, b in pairs:
        mod_a = max(parse_stamp(s) for s in a[4:9] if STAMP_RE.match(s))
        mod_b = max(parse_stamp(s) for s in b[4:9] if STAMP_RE.match(s))
        assert mod_a != mod_b
        old, new = (a, b) if mod_a < mod_b else (b, a)
        assert visible_text(old) != visible_text(new)  # the text changed too


def test_average_size_is_near_the_real_collection(clean):
    _, summary = clean
    assert 3800 <= summary["avg_bytes"] <= 5400


def test_touch_one_edits_one_article_and_keeps_it_valid(tmp_path):
    generate.generate_corpus(str(tmp_path), 200, seed=4, **MIXED)
    before = read_tree(tmp_path)
    path = generate.touch_one(str(tmp_path), seed=1)
    after = read_tree(tmp_path)
    changed = [name for name in before if before[name] != after[name]]
    assert changed == [os.path.relpath(path, tmp_path)]
    assert classify(after[changed[0]]) == "article"
    assert len(after[changed[0]]) > len(before[changed[0]])
    assert article_lines(after[changed[0]])[0] == article_lines(before[changed[0]])[0]


def test_shard_dirs_spreads_files_over_sub_folders(tmp_path):
    summary = generate.generate_corpus(str(tmp_path), 100, seed=1, shard_dirs=True)
    files = read_tree(tmp_path)
    assert len(files) == summary["files"]
    assert all(os.path.dirname(p) == os.path.basename(p)[4:6] for p in files)


def test_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(FileExistsError):
        generate.generate_corpus(str(tmp_path), 10)


def test_cli_prints_the_summary(tmp_path, capsys):
    assert generate.main([str(tmp_path / "out"), "-n", "20", "--seed", "2", "--junk-rate",
                          "0.2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["files"] == 20 == len(os.listdir(tmp_path / "out"))


def test_cli_rejects_impossible_rates(tmp_path, capsys):
    assert generate.main([str(tmp_path), "--dup-rate", "0.7", "--update-rate", "0.7"]) == 2
    assert "rates" in capsys.readouterr().err
