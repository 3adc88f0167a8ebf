"""`validate`: a good build passes; each kind of drift is reported with its own type and message.

One small build (12 articles in 3 shards) is made once per module; each test breaks a copy of
it the way a real failure would and checks the report and the command's exit code. Where the
breakage is in the data, the copy is "resealed" (manifest and card recomputed, as a careless
rebuild would) so that the report must name that drift and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import REPO, first_release_changelog
from dataset_tools.build import build_dataset
from dataset_tools.build.reduce import write_parquet
from dataset_tools.card import write_card_files
from dataset_tools.config import load_settings
from dataset_tools.schema import load_table_schema
from dataset_tools.sources import parse_location
from dataset_tools.validate import ERROR_TYPES, validate_dataset
from rawfiles import collected_article, story_paragraphs, write_raw

SHARDS = [f"data/2026/01/train-000{i}.parquet" for i in range(3)]  # one month in parts of 4 rows


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A project whose dist/ holds 12 articles in 3 shards (shard_rows = 4)."""
    root = tmp_path_factory.mktemp("validate") / "project"
    root.mkdir()
    text = re.sub(r"(?m)^shard_rows = \d+$", "shard_rows = 4", (REPO / "pyproject.toml").read_text())
    assert "shard_rows = 4" in text
    (root / "pyproject.toml").write_text(text)
    shutil.copytree(REPO / "schemas", root / "schemas")
    (root / "CHANGELOG.md").write_text(first_release_changelog(), encoding="utf-8")
    shutil.copy(REPO / "card.md", root / "card.md")
    for n in range(12):
        write_raw(
            root / "raw",
            f"{n:03d}.txt",
            collected_article(url=f"https://news.example.org/2026/story-{n}.html", title=f"Riverton story number {n}", paragraphs=story_paragraphs(n)),
        )
    result = build_dataset(load_settings(root), workers=1)
    assert result.rows == 12 and len(result.shards) == 3
    assert all(pq.ParquetFile(root / "dist" / s).metadata.num_rows > 0 for s in SHARDS)
    return root


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the built project, to break."""
    copy = tmp_path / "project"
    shutil.copytree(built, copy)
    return copy


@pytest.fixture
def dist(project: Path) -> Path:
    return project / "dist"


def _schema(project: Path):
    return load_table_schema(project / "schemas" / "article.schema.json")


def _validate(project: Path):
    return validate_dataset(project / "dist", _schema(project))


def _run(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    """Run the console entry point in-process; returns (exit code, stdout, stderr)."""
    from dataset_tools.cli import main

    monkeypatch.setattr(sys, "argv", ["dataset-tools", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
        raise SystemExit(0)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _reseal(project: Path) -> None:
    """Recompute the card and the manifest's hashes, sizes and row counts from the files on disk."""
    dist = project / "dist"
    settings = load_settings(project)
    write_card_files(dist, settings, _schema(project), settings.version)
    manifest = json.loads((dist / "manifest.json").read_text())
    for entry in manifest["data_files"]:
        path = dist / entry["path"]
        entry.update(sha256=_sha256(path), bytes=path.stat().st_size, rows=pq.ParquetFile(path).metadata.num_rows)
    for entry in manifest["files"]:
        path = dist / entry["path"]
        entry.update(sha256=_sha256(path), bytes=path.stat().st_size)
    (dist / "manifest.json").write_text(json.dumps(manifest, indent=2))
    report = json.loads((dist / "report.json").read_text())
    counts = report["counts"]
    counts["rows"] = sum(entry["rows"] for entry in manifest["data_files"])
    counts["inputs"] = counts["rows"] + counts["duplicates"] + counts["superseded"] + counts["rejected"]
    (dist / "report.json").write_text(json.dumps(report, indent=2))
    entry = next(e for e in manifest["files"] if e["path"] == "report.json")
    entry.update(sha256=_sha256(dist / "report.json"), bytes=(dist / "report.json").stat().st_size)
    (dist / "manifest.json").write_text(json.dumps(manifest, indent=2))


def _rewrite(dist: Path, shard: str, change) -> None:
    """Replace a shard by change(table), written with the build's writer."""
    table = pq.read_table(dist / shard)
    write_parquet(change(table), dist / shard)


def _messages(report, type_: str) -> list[str]:
    return [e.message for e in report.errors if e.type == type_]


def test_good_build_is_valid(project, capsys, monkeypatch):
    report = _validate(project)
    assert report.valid, report.to_dict()
    assert report.stats == {"files": 3, "rows": 12, "errors": 0}

    code, out, _ = _run(capsys, monkeypatch, "validate", str(project / "dist"), "--project", str(project))
    assert code == 0
    assert "valid" in out and "12 rows" in out

    monkeypatch.chdir(project)  # the default target is the settings' out folder, dist/
    code, out, _ = _run(capsys, monkeypatch, "validate", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["valid"] is True and payload["errors"] == []
    assert payload["stats"] == {"files": 3, "rows": 12, "errors": 0}


def test_column_dropped(project, dist):
    for shard in SHARDS:
        _rewrite(dist, shard, lambda t: t.drop_columns(["section"]))
    _reseal(project)
    report = _validate(project)
    assert report.types() == {"missing-column"}
    assert sorted(e.file for e in report.errors) == SHARDS
    assert all(e.field == "section" for e in report.errors)
    assert _messages(report, "missing-column")[0] == f"{SHARDS[0]}: column 'section' is missing"


def test_column_added(project, dist):
    _rewrite(dist, SHARDS[1], lambda t: t.append_column("sentiment", pa.array([0.5] * t.num_rows)))
    _reseal(project)
    report = _validate(project)
    assert report.types() == {"extra-column", "shard-mismatch"}
    assert _messages(report, "extra-column") == [f"{SHARDS[1]}: column 'sentiment' (double) is not in the schema"]
    [shard] = _messages(report, "shard-mismatch")
    assert shard.startswith(f"{SHARDS[1]} differs from the other shards")


def test_type_changed_in_one_shard(project, dist):
    def widen(table):
        index = table.schema.get_field_index("word_count")
        return table.set_column(index, pa.field("word_count", pa.int64(), nullable=False), pc.cast(table["word_count"], pa.int64()))

    _rewrite(dist, SHARDS[2], widen)
    _reseal(project)
    report = _validate(project)
    assert report.types() == {"type-mismatch", "shard-mismatch"}
    [error] = [e for e in report.errors if e.type == "type-mismatch"]
    assert (error.file, error.field) == (SHARDS[2], "word_count")
    assert error.message == f"{SHARDS[2]}: column 'word_count' is int64, the schema says int32"
    assert "column 'word_count' is int64, the schema says int32" in _messages(report, "shard-mismatch")[0]


def test_required_field_null(project, dist):
    def null_title(table):
        index = table.schema.get_field_index("title")
        titles = pa.array([None] + table["title"].to_pylist()[1:], pa.string())
        return table.set_column(index, pa.field("title", pa.string(), nullable=True), titles)

    _rewrite(dist, SHARDS[0], null_title)
    _reseal(project)
    report = _validate(project)
    [null] = [e for e in report.errors if e.type == "required-null"]
    assert (null.file, null.row, null.field) == (SHARDS[0], 0, "title")
    assert null.message == f"{SHARDS[0]} row 0: title is null but required"
    assert f"{SHARDS[0]}: column 'title' is nullable, the schema requires it" in _messages(report, "schema-mismatch")


def test_rows_lost_from_a_shard_disagree_with_the_report(project, dist):
    """Rows missing from the data (the manifest and card resealed to match) still disagree with
    report.json, which accounts for every input."""
    _rewrite(dist, SHARDS[0], lambda t: t.slice(1))
    as_built = (dist / "report.json").read_bytes()
    _reseal(project)
    (dist / "report.json").write_bytes(as_built)  # the report as the build wrote it, still listed by its hash
    manifest = json.loads((dist / "manifest.json").read_text())
    [entry] = [item for item in manifest["files"] if item["path"] == "report.json"]
    entry.update(sha256=_sha256(dist / "report.json"), bytes=len(as_built))
    (dist / "manifest.json").write_text(json.dumps(manifest, indent=2))

    report = _validate(project)
    assert report.types() == {"report-mismatch"}
    assert _messages(report, "report-mismatch") == ["report.json says 12 rows, the Parquet files hold 11"]


def test_duplicate_id_across_shards(project, dist):
    first = pq.read_table(dist / SHARDS[0])
    duplicate = first.slice(0, 1)
    _rewrite(dist, SHARDS[1], lambda t: pa.concat_tables([t, duplicate]).sort_by([("published_at", "ascending"), ("id", "ascending")]))
    _reseal(project)
    report = _validate(project)
    # The extra row came from no input: the input listings name one row fewer than the report now counts.
    assert report.types() == {"duplicate-id", "inputs-mismatch"}
    assert _messages(report, "inputs-mismatch") == ["the input listings name 12 input(s) as row, report.json counts 13 rows"]
    [error] = [e for e in report.errors if e.type == "duplicate-id"]
    the_id = duplicate["id"][0].as_py()
    assert error.field == "id"
    assert error.file in (SHARDS[0], SHARDS[1]) and error.row is not None
    assert f"id {the_id} also appears in" in error.message


def test_corrupt_parquet_file(project, dist, capsys, monkeypatch):
    path = dist / SHARDS[1]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # an interrupted upload
    report = _validate(project)
    assert {"corrupt-file", "hash-mismatch"} <= report.types()
    [corrupt] = [e for e in report.errors if e.type == "corrupt-file"]
    assert corrupt.file == SHARDS[1]
    assert corrupt.message.startswith(f"{SHARDS[1]} cannot be read as Parquet:")
    assert report.stats["files"] == 3

    code, out, err = _run(capsys, monkeypatch, "validate", str(dist), "--project", str(project))
    assert code == 1
    assert "corrupt-file" in out and "Traceback" not in out + err


def test_garbage_inside_a_data_page(project, dist):
    path = dist / SHARDS[0]
    data = bytearray(path.read_bytes())
    data[200:1200] = bytes(1000)  # zeroed bytes inside the column chunks, the footer intact
    path.write_bytes(bytes(data))
    report = _validate(project)
    [corrupt] = [e for e in report.errors if e.type == "corrupt-file"]
    assert corrupt.file == SHARDS[0]
    assert "cannot be read" in corrupt.message


def test_bytes_no_longer_match_manifest(project, dist):
    def edit(table):
        index = table.schema.get_field_index("title")
        titles = table["title"].to_pylist()
        titles[0] = titles[0].upper()
        return table.set_column(index, table.schema.field("title"), pa.array(titles, pa.string()))

    _rewrite(dist, SHARDS[2], edit)
    report = _validate(project)
    [mismatch] = [e for e in report.errors if e.type == "hash-mismatch"]
    assert mismatch.file == SHARDS[2]
    recorded = next(e["sha256"] for e in json.loads((dist / "manifest.json").read_text())["data_files"] if e["path"] == SHARDS[2])
    assert mismatch.message == f"{SHARDS[2]} has sha256 {_sha256(dist / SHARDS[2])}, manifest.json says {recorded}"


def test_unlisted_parquet_file(project, dist):
    extra = pq.read_table(dist / SHARDS[0]).slice(0, 0)
    write_parquet(extra, dist / "data" / "leftover.parquet")
    report = _validate(project)
    assert "unlisted-file" in report.types()
    [error] = [e for e in report.errors if e.type == "unlisted-file"]
    assert error.message == "data/leftover.parquet is a data file that manifest.json does not list"


def test_listed_file_missing(project, dist):
    (dist / SHARDS[2]).unlink()
    report = _validate(project)
    assert f"{SHARDS[2]} is listed in manifest.json but missing" in _messages(report, "missing-file")


def _edit_card(dist: Path, old: str, new: str) -> None:
    card = dist / "README.md"
    text = card.read_text()
    assert old in text
    card.write_text(text.replace(old, new, 1))


def test_card_num_examples_disagree(project, dist):
    _edit_card(dist, "num_examples: 12", "num_examples: 13")
    report = _validate(project)
    assert report.types() == {"card-splits", "card-edited"}
    assert _messages(report, "card-splits") == ["README.md says train has num_examples=13, the Parquet files have 12"]
    assert _messages(report, "card-edited") == [
        "README.md changed after the build wrote it (edited by hand?): run `dataset-tools card` to render it again; lasting text belongs in card.md"
    ]


def test_a_card_edited_by_hand_is_named_with_the_command_that_renders_it_again(project, dist, capsys, monkeypatch):
    _edit_card(dist, "## Dataset summary\n", "## Dataset summary\n\nOur own words, typed into the built card.\n")
    croissant = json.loads((dist / "croissant.json").read_text())
    croissant["description"] = "edited"
    (dist / "croissant.json").write_text(json.dumps(croissant))
    report = _validate(project)
    assert [(e.type, e.file) for e in report.errors] == [("card-edited", "README.md"), ("card-edited", "croissant.json")]
    assert report.errors[1].message == (
        "croissant.json changed after the build wrote it (edited by hand?): run `dataset-tools card` to render it again; lasting text belongs in card.md"
    )
    code, out, _ = _run(capsys, monkeypatch, "card", "--project", str(project))
    assert code == 0
    assert _validate(project).valid


def test_card_features_disagree(project, dist):
    _edit_card(dist, "  - name: word_count\n    dtype: int32", "  - name: word_count\n    dtype: int64")
    report = _validate(project)
    assert report.types() == {"card-features", "card-edited"}
    assert _messages(report, "card-features") == [
        "README.md's feature 'word_count' is {'dtype': 'int64'}, the data has {'dtype': 'int32'}"
    ]


def test_card_yaml_broken(project, dist, capsys, monkeypatch):
    _edit_card(dist, "license: other", "license: [other")
    report = _validate(project)
    assert "card-yaml" in report.types()
    [error] = [e for e in report.errors if e.type == "card-yaml"]
    assert error.message.startswith("README.md's YAML header does not parse:")

    code, out, _ = _run(capsys, monkeypatch, "validate", str(dist), "--json", "--project", str(project))
    assert code == 1
    payload = json.loads(out)
    assert payload["valid"] is False
    assert {"type": "card-yaml", "file": "README.md", "row": None, "field": None, "message": error.message} in payload["errors"]


def test_card_missing_required_metadata(project, dist):
    _edit_card(dist, "pretty_name: Collected News Articles\n", "")
    report = _validate(project)
    assert "README.md has no 'pretty_name' in its metadata" in _messages(report, "card-metadata")


def test_card_config_points_at_no_file(project, dist):
    _edit_card(dist, "path: data/*/*/train-*.parquet", "path: data/training-*.parquet")
    report = _validate(project)
    messages = _messages(report, "card-config")
    assert "README.md config 'default' split 'train' path 'data/training-*.parquet' matches no file" in messages


def test_schema_changed_since_build(project):
    schema_file = project / "schemas" / "article.schema.json"
    descriptor = json.loads(schema_file.read_text())
    descriptor["description"] += " Edited."
    schema_file.write_text(json.dumps(descriptor, indent=2))
    report = _validate(project)
    assert report.types() == {"schema-hash"}
    assert "the dataset was built with schema sha256" in report.errors[0].message


def _reseal_file(dist: Path, name: str) -> None:
    """Record a hand-edited file's new hash in manifest.json, so only the edit itself is wrong."""
    manifest = json.loads((dist / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["path"] == name:
            entry.update(sha256=_sha256(dist / name), bytes=(dist / name).stat().st_size)
    (dist / "manifest.json").write_text(json.dumps(manifest, indent=2))


def test_invalid_croissant(project, dist):
    path = dist / "croissant.json"
    assert _validate(project).valid  # the croissant.json the build wrote is valid

    document = json.loads(path.read_text())
    document["recordSet"][0]["field"][0]["source"]["fileSet"]["@id"] = "no-such-files"
    path.write_text(json.dumps(document))
    _reseal_file(dist, "croissant.json")
    report = _validate(project)
    assert report.types() == {"croissant-invalid"}
    assert any('"no-such-files"' in m and "doesn't exist" in m for m in _messages(report, "croissant-invalid"))


def test_croissant_listed_but_missing(project, dist):
    (dist / "croissant.json").unlink()
    report = _validate(project)
    assert _messages(report, "missing-file") == ["croissant.json is listed in manifest.json but missing"]


def test_invalid_datapackage(project, dist):
    path = dist / "datapackage.json"
    assert _validate(project).valid
    package = json.loads(path.read_text())
    package["name"] = 5
    fields = package["resources"][0]["schema"]["fields"]
    assert fields[15]["name"] == "word_count"
    fields[15]["type"] = "number"
    path.write_text(json.dumps(package))
    _reseal_file(dist, "datapackage.json")
    messages = _messages(_validate(project), "datapackage-invalid")
    assert "datapackage.json: The data package has an error: 5 is not of type 'string' at property 'name'" in messages
    shard = package["resources"][0]["name"]
    assert f"datapackage.json resource {shard!r}: field 'word_count' is number, schemas/ says integer" in messages


@pytest.mark.parametrize(("name", "type_"), [
    ("croissant.json", "croissant-invalid"), ("datapackage.json", "datapackage-invalid"), ("report.json", "report-mismatch"), ("manifest.json", "manifest-invalid"),
])
def test_a_metadata_file_that_is_json_but_no_object_is_named(project, dist, name, type_):
    (dist / name).write_text("[1, 2]")
    if name != "manifest.json":
        _reseal_file(dist, name)
    report = _validate(project)
    assert _messages(report, type_) == [f"{name} cannot be read: not a JSON object"]


def test_constraint_violations_name_row_and_field(project, dist):
    def break_values(table):
        language = table["language"].to_pylist()
        language[1] = "xx"
        url = table["url"].to_pylist()
        url[2] = "ftp://news.example.org/a"
        body = table["body"].to_pylist()
        body[3] = " \n\n "
        table = table.set_column(table.schema.get_field_index("body"), table.schema.field("body"), pa.array(body))
        table = table.set_column(table.schema.get_field_index("language"), table.schema.field("language"), pa.array(language))
        return table.set_column(table.schema.get_field_index("url"), table.schema.field("url"), pa.array(url))

    _rewrite(dist, SHARDS[0], break_values)
    _reseal(project)
    report = _validate(project)
    found = {(e.file, e.row, e.field) for e in report.errors if e.type == "constraint"}
    assert {(SHARDS[0], 1, "language"), (SHARDS[0], 2, "url"), (SHARDS[0], 3, "body")} <= found
    assert f"{SHARDS[0]} row 3: body is blank (whitespace only) (blank)" in _messages(report, "constraint")
    assert f"{SHARDS[0]} row 1: language is not an ISO 639-1 code or 'und' (language-code)" in _messages(report, "constraint")


def test_unique_keys_are_exact_for_ids_and_separate_for_other_values():
    from dataset_tools.validate.data import _unique_keys

    column = pa.array(["00000000000000ff", "not-an-id", None, "not-an-id", "ffffffffffffffff", "00000000000000FF"])
    keys, hashed, rows = _unique_keys(column)
    by_row = {int(r): (int(k), bool(h)) for k, h, r in zip(keys, hashed, rows)}
    assert set(by_row) == {0, 1, 3, 4, 5}  # the null is not a value
    assert by_row[0] == (0xFF, False) and by_row[4] == (2**64 - 1, False)
    assert by_row[1] == by_row[3] and by_row[1][1] is True
    assert by_row[5][1] is True  # upper-case hex is not an id: hashed, never equal to row 0's key


def test_usage_errors_exit_2(project, capsys, monkeypatch):
    code, _, err = _run(capsys, monkeypatch, "validate", str(project / "no" / "such" / "folder"), "--project", str(project))
    assert code == 2
    assert "is neither a folder nor a Hub dataset id" in err


def test_targets(tmp_path):
    ref = parse_location("someone/news-articles@v1.0.0")
    assert (ref.repo_id, ref.revision) == ("someone/news-articles", "v1.0.0")
    assert parse_location("someone/news-articles").revision == "main"
    assert parse_location(str(tmp_path)).path == tmp_path.resolve()
    with pytest.raises(FileNotFoundError):
        parse_location("not a repo")


def test_every_error_type_is_documented():
    import dataset_tools.validate as package

    source = "".join(path.read_text() for path in Path(package.__file__).parent.glob("*.py"))
    used = set(re.findall(r'errors\.add\(\s*"([a-z\-]+)"', source)) | set(re.findall(r'self\.errors\.add\("([a-z\-]+)"', source))
    assert len(used) > 20 and used <= set(ERROR_TYPES)


# -- an untrusted folder: nothing outside it is read, nothing is fetched, nothing hangs ---------


def _validate_within(seconds: float, project: Path):
    """validate_dataset in a daemon thread; the test fails instead of hanging when it blocks
    (on a FIFO, a device, an endless file)."""
    result: list = []
    worker = threading.Thread(target=lambda: result.append(_validate(project)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert result, f"validate did not return within {seconds} s"
    return result[0]


def _secret(project: Path) -> tuple[Path, str]:
    """A file next to dist/ (outside it) and its SHA-256: neither may reach any output."""
    secret = project / "secret.txt"
    secret.write_text("HF_TOKEN=hf_not_to_be_read\n")
    return secret, _sha256(secret)


def _edit_json(path: Path, change) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=2))


def test_manifest_paths_outside_the_folder_are_not_opened(project, dist, tmp_path, capsys, monkeypatch):
    secret, digest = _secret(project)
    fifo = tmp_path / "outside.fifo"
    os.mkfifo(fifo)  # opening it would hang validate

    def add_paths(manifest):
        manifest["data_files"] += [{"path": str(secret), "sha256": "0" * 64, "rows": 1}, {"path": "../secret.txt", "rows": 1}]
        manifest["files"] += [{"path": str(fifo)}, {"path": "/proc/kmsg"}, {"path": "data/../../secret.txt"}, {"path": 5}]

    _edit_json(dist / "manifest.json", add_paths)
    report = _validate_within(30, project)
    assert report.types() == {"manifest-invalid"}  # a path that is not a string: the manifest is unusable
    _edit_json(dist / "manifest.json", lambda m: m["files"].pop())
    report = _validate_within(30, project)
    assert report.types() == {"unsafe-path"}
    messages = _messages(report, "unsafe-path")
    assert len(messages) == 5 and all(m.startswith("manifest.json ") and m.endswith("; it is not opened") for m in messages)
    assert "manifest.json data_files: the path '../secret.txt' leaves the folder; it is not opened" in messages
    assert "manifest.json files: the path '/proc/kmsg' is absolute; it is not opened" in messages
    assert "manifest.json files: the path 'data/../../secret.txt' leaves the folder; it is not opened" in messages
    code, out, err = _run(capsys, monkeypatch, "validate", str(dist), "--json", "--project", str(project))
    assert code == 1 and json.loads(out)["errors"] == [e.to_dict() for e in report.errors]
    for text in (out + err, json.dumps(report.to_dict())):
        assert digest not in text and "hf_not_to_be_read" not in text


def test_links_fifos_and_devices_in_the_folder_are_never_opened(project, dist, tmp_path, capsys, monkeypatch):
    secret, digest = _secret(project)
    (dist / "notes.txt").symlink_to(secret)  # a stray link to a file outside
    (dist / SHARDS[1]).unlink()
    (dist / SHARDS[1]).symlink_to("/dev/zero")  # a listed shard: hashing it would never end
    (dist / "data" / "copy.parquet").symlink_to(dist / SHARDS[0])  # even a link inside the folder is not followed
    os.mkfifo(dist / "data" / "2026" / "01" / "train-0003.parquet")  # named like a shard: opening it would hang
    os.mkfifo(dist / "report.json.tmp")

    report = _validate_within(30, project)
    irregular = [(e.file, e.message) for e in report.errors if e.type == "not-regular-file"]
    assert irregular == [
        ("data/2026/01/train-0001.parquet", "data/2026/01/train-0001.parquet is a symbolic link, not a regular file: it is not opened"),
        ("data/2026/01/train-0003.parquet", "data/2026/01/train-0003.parquet is a FIFO, not a regular file: it is not opened"),
        ("data/copy.parquet", "data/copy.parquet is a symbolic link, not a regular file: it is not opened"),
        ("notes.txt", "notes.txt is a symbolic link, not a regular file: it is not opened"),
        ("report.json.tmp", "report.json.tmp is a FIFO, not a regular file: it is not opened"),
    ]
    # The shard behind the link is not read, so its rows are missing from the counts: said, not guessed.
    assert report.stats["files"] == 2
    assert not any(e.file == SHARDS[1] and e.type in ("missing-file", "hash-mismatch", "corrupt-file") for e in report.errors)
    code, out, err = _run(capsys, monkeypatch, "validate", str(dist), "--json", "--project", str(project))
    assert code == 1
    assert digest not in out + err and "hf_not_to_be_read" not in out + err


def test_paths_in_the_card_croissant_and_data_package_must_stay_inside(project, dist):
    secret, digest = _secret(project)
    _edit_card(dist, "path: data/*/*/train-*.parquet", "path:\n    - data/*/*/train-*.parquet\n    - ../*.txt\n    - /etc/*")

    def croissant(document):
        document["distribution"][0]["includes"] = ["data/*/*/train-*.parquet", "/etc/*"]
        document["distribution"][1]["contentUrl"] = "../secret.txt"

    def datapackage(package):
        package["resources"][0]["path"] = str(secret)
        package["resources"][1]["path"] = "../secret.txt"

    _edit_json(dist / "croissant.json", croissant)
    _edit_json(dist / "datapackage.json", datapackage)
    for name in ("README.md", "croissant.json", "datapackage.json"):
        _reseal_file(dist, name)
    report = _validate(project)
    unsafe = _messages(report, "unsafe-path")
    assert unsafe[:4] == [
        "README.md config 'default' split 'train': the path '../*.txt' leaves the folder; it is not matched",
        "README.md config 'default' split 'train': the path '/etc/*' is absolute; it is not matched",
        "croissant.json includes: the path '/etc/*' is absolute; it is not opened",
        "croissant.json contentUrl: the path '../secret.txt' leaves the folder; it is not opened",
    ]
    assert unsafe[4].startswith("datapackage.json resource path: the path '/") and unsafe[4].endswith("is absolute; it is not opened")
    assert unsafe[5] == "datapackage.json resource path: the path '../secret.txt' leaves the folder; it is not opened"
    assert len(unsafe) == 6
    assert digest not in json.dumps(report.to_dict())


class _RecordingServer:
    """An HTTP server on 127.0.0.1 that answers every GET with a JSON document and records the path."""

    def __init__(self) -> None:
        import http.server

        requests = self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                body = b'{"@context": {}, "type": "object"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recording_server():
    server = _RecordingServer()
    yield server
    server.close()


def test_profiles_and_json_ld_contexts_are_not_fetched(project, dist, recording_server):
    from conftest_hub import BLOCKED_CONNECTIONS

    url = recording_server.url
    blocked = len(BLOCKED_CONNECTIONS)

    def datapackage(package):
        package["profile"] = f"{url}/package-profile.json"
        package["resources"][0]["profile"] = f"{url}/resource-profile.json"
        package["resources"][1]["profile"] = "fiscal-data-package-like.json"  # a local path, resolved against the cwd
        package["resources"][2]["profile"] = "http://192.0.2.1/profile.json"  # off the machine: the socket guard records it

    def croissant(document):
        document["@context"]["@import"] = f"{url}/import.jsonld"
        document["distribution"][1]["@context"] = f"{url}/context.jsonld"

    _edit_json(dist / "datapackage.json", datapackage)
    _edit_json(dist / "croissant.json", croissant)
    _reseal_file(dist, "datapackage.json")
    _reseal_file(dist, "croissant.json")
    report = _validate(project)
    shards = [json.loads((dist / "datapackage.json").read_text())["resources"][i]["name"] for i in range(3)]
    assert sorted(_messages(report, "external-reference")) == sorted([
        f"datapackage.json: the package profile '{url}/package-profile.json' is outside the folder: not fetched",
        f"datapackage.json: resource {shards[0]!r} profile '{url}/resource-profile.json' is outside the folder: not fetched",
        f"datapackage.json: resource {shards[1]!r} profile 'fiscal-data-package-like.json' is outside the folder: not fetched",
        f"datapackage.json: resource {shards[2]!r} profile 'http://192.0.2.1/profile.json' is outside the folder: not fetched",
        f"croissant.json: the JSON-LD @import '{url}/import.jsonld' is outside the folder: not fetched",
        f"croissant.json: the JSON-LD @context '{url}/context.jsonld' is outside the folder: not fetched",
    ])
    assert report.types() == {"external-reference"}
    assert recording_server.requests == []
    assert BLOCKED_CONNECTIONS[blocked:] == []


def test_frictionless_and_rdflib_would_fetch_them(recording_server):
    """What the test above guards against: left alone, both libraries fetch the URL."""
    import rdflib
    from frictionless import Package

    list(Package.metadata_validate({"name": "p", "profile": f"{recording_server.url}/profile.json",
                                    "resources": [{"name": "r", "path": "r.csv"}]}))
    rdflib.Graph().parse(data=json.dumps({"@context": f"{recording_server.url}/context.jsonld", "@id": "x"}),
                         format="json-ld")
    assert recording_server.requests == ["/profile.json", "/context.jsonld"]


def test_deep_json_is_an_error_not_a_crash(project, dist, capsys, monkeypatch):
    (dist / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)  # deeper than any parser follows
    nested: list = []
    for _ in range(200):  # within orjson's 1,024 levels, deeper than validate's 64
        nested = [nested]
    _edit_json(dist / "datapackage.json", lambda package: package.update(extra=nested))
    _edit_json(dist / "croissant.json", lambda document: document.update(extra=nested))
    report_json = dist / "report.json"
    report_json.write_text('{\n  "counts": ' + "[" * 5000 + "]" * 5000 + ',\n  "files": []\n}\n')
    card = dist / "README.md"
    card.write_text(card.read_text().replace("---\n", "---\nnested: " + "[" * 100_000 + "]" * 100_000 + "\n", 1))
    report = _validate(project)
    assert "README.md's YAML header does not parse: maximum recursion depth exceeded" in _messages(report, "card-yaml")[0]
    deep = sorted((e.file, e.message) for e in report.errors if e.type == "json-too-deep")
    assert deep == [(name, f"{name} nests arrays or objects more than 64 levels deep: not read")
                    for name in ("croissant.json", "datapackage.json", "manifest.json", "report.json")]
    code, out, err = _run(capsys, monkeypatch, "validate", str(dist), "--project", str(project))
    assert code == 1 and "json-too-deep" in out
    assert "RecursionError" not in out + err and "unexpected" not in err


_MEASURE = """
import json, resource, sys
from pathlib import Path
from dataset_tools.schema import load_table_schema
from dataset_tools.validate import validate_dataset

schema = load_table_schema(Path(sys.argv[1]))
peaks, reports = [], []
for folder in sys.argv[2:]:
    reports.append(validate_dataset(Path(folder), schema).to_dict())
    peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
print(json.dumps({"peaks": peaks, "reports": reports}))
"""


def test_compression_and_dictionary_bombs_are_reported_without_being_read(built, project, dist):
    from parquet_bombs import compression_bomb, dictionary_bomb

    sizes = [
        compression_bomb(dist / SHARDS[0], 1984 << 20),  # the footer says so
        compression_bomb(dist / SHARDS[1], 1984 << 20, footer_says=4096),  # the footer lies, the page header does not
        dictionary_bomb(dist / SHARDS[2], 60 << 20, rows=64),  # 60 MiB per row once decoded
        dictionary_bomb(dist / "data" / "2026" / "01" / "train-0003.parquet", 60 << 20, rows=64, in_list=True),
    ]
    assert max(sizes) < 100_000
    # Peak memory of a fresh process that validates the intact build, then the bombs.
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(project / "schemas" / "article.schema.json"),
                           str(built / "dist"), str(dist)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(Path(__file__).parent)])})
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    before, after = measured["peaks"]
    assert measured["reports"][0]["valid"]
    assert after - before < 150 << 20, f"validating the bombs took {(after - before) >> 20} MiB more"
    bombs = sorted((e["file"], e["message"]) for e in measured["reports"][1]["errors"] if e["type"] == "parquet-too-large")
    stated = pq.ParquetFile(dist / SHARDS[0]).metadata.row_group(0).total_byte_size  # the page and its header
    # The list's pages as stored (the dictionary page and its header among them), plus 64 uses of the value.
    listed = pq.ParquetFile(dist / "data" / "2026" / "01" / "train-0003.parquet").metadata.row_group(0).total_byte_size
    listed += 64 * (60 << 20)
    assert bombs == [
        (SHARDS[0], f"{SHARDS[0]}: row group 0 holds {stated} bytes once read, more than the 268435456 allowed: not read"),
        (SHARDS[1], f"{SHARDS[1]}: a page of row group 0 column word_count holds {1984 << 20} bytes once read, "
                    "more than the 67108864 allowed: not read"),
        (SHARDS[2], f"{SHARDS[2]}: rows 0-63 holds {64 * (60 << 20)} bytes once read, more than the 268435456 allowed: not read"),
        ("data/2026/01/train-0003.parquet", f"data/2026/01/train-0003.parquet: row group 0 holds {listed} bytes "
                                              "once read, more than the 268435456 allowed: not read"),
    ]
