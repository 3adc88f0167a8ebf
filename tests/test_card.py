"""The data card, croissant.json and datapackage.json of a small fixture build.

Golden files under tests/golden/card/ are compared byte for byte after the values that depend
on the Parquet writer's version (shard SHA-256 and sizes) are replaced by placeholders; those
values are checked against the files themselves in other tests. Refresh the golden files only
with `pytest tests/test_card.py --update-golden`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from dataset_tools import __version__, layout
from dataset_tools.build import build_dataset
from dataset_tools.card import CARD_FILES, write_card_files
from dataset_tools.config import load_settings
from dataset_tools.card import stats as stats_module
from dataset_tools.card.escape import md_text
from dataset_tools.card.plot import articles_per_month_png
from dataset_tools.layout import PLOT_FILE
from dataset_tools.schema import load_table_schema
from conftest import REPO, first_release_changelog
from rawfiles import collected_article, write_raw

GOLDEN = Path(__file__).parent / "golden" / "card"
BIN = Path(sys.executable).parent
HOSTILE_TITLE = "<script>alert(1)</script> # Heading | pipe | [link](javascript:x) **bold**"
HOSTILE_KEYWORDS = "license: mit, ---, <b>bold</b>, [x](javascript:y), | cell |"


def _new_project(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "schemas", root / "schemas")
    (root / "CHANGELOG.md").write_text(first_release_changelog(), encoding="utf-8")
    shutil.copy(REPO / "card.md", root / "card.md")
    (root / "raw").mkdir()
    return root


def _fixture_corpus(raw: Path) -> None:
    """Four articles in three languages from three outlets over four months, and two rejects."""
    write_raw(raw, "001_0000000000000001.txt", collected_article())
    write_raw(
        raw,
        "002_0000000000000002.txt",
        collected_article(
            url="https://vesti.example.rs/grad/2026/02/10/novi-most-2000002.html",
            title="Градско веће одобрило изградњу новог моста",
            site_name="Пример Вести",
            description=None,
            timestamps=("2026-02-10T07:00+0100", "2026-02-10T07:05+0100", "2026-02-10T09:30+0100"),
            section="град",
            tags=(),
            image_url=None,
            keywords=None,
            locale="sr_RS",
            lead="РИВЕРГРАД (Пример Вести) - Градско веће је у понедељак одобрило изградњу новог пешачког моста преко реке.",
            paragraphs=("Радови треба да почну на пролеће и да трају две године.", "Мост ће повезати стари центар са новим насељем на другој обали."),
        ),
    )
    write_raw(
        raw,
        "003_0000000000000003.txt",
        collected_article(
            url="https://noticias.example.es/mundo/2025/12/01/puerto-3000003.html",
            title="El puerto de Villamar amplía su horario de carga",
            site_name="Noticias de Ejemplo",
            description="El puerto abrirá también de noche a partir de enero.",
            timestamps=("2025-12-01T10:00+0000", "2025-12-01T10:00+0000", "2025-12-02T08:00+0000"),
            section="mundo",
            tags=("puertos", "comercio"),
            keywords="puerto de villamar, horario nocturno",
            locale="es_ES",
            lead="VILLAMAR (Noticias de Ejemplo) - El puerto de Villamar anunció el lunes que ampliará su horario de carga a la noche.",
            paragraphs=("La autoridad portuaria dijo que la medida reducirá las colas de camiones.", "Los sindicatos pidieron más personal para los turnos nuevos."),
        ),
    )
    write_raw(
        raw,
        "004_0000000000000004.txt",
        collected_article(
            url="https://news.example.org/20260315/riverton-library-reopens-1000004.html",
            title="Riverton Library Reopens After Repairs",
            timestamps=("2026-03-15T12:00+0000",),
            section=None,
            keywords="riverton library",
            lead="RIVERTON (Example Wire) - The central library of Riverton reopened on Sunday after a year of repairs to its roof.",
        ),
    )
    write_raw(raw, "005_0000000000000005.txt", "")
    write_raw(raw, "006_0000000000000006.txt", "javascript:alert(1)\nNot an article at all\n")


def _build(root: Path, corpus=_fixture_corpus):
    project = _new_project(root)
    corpus(project / "raw")
    settings = load_settings(project)
    build_dataset(settings, workers=1)
    return project, settings


@pytest.fixture(scope="module")
def fixture_build(tmp_path_factory):
    project, settings = _build(tmp_path_factory.mktemp("card") / "project")
    return project / "dist", settings


def _shards(folder: Path) -> list[Path]:
    return layout.data_files(folder)


def _normalized(folder: Path, name: str) -> str:
    """A card file with the Parquet-writer-dependent values replaced by placeholders."""
    text = (folder / name).read_text(encoding="utf-8")
    shards = _shards(folder)
    data_bytes = sum(
        pq.ParquetFile(p).metadata.row_group(i).total_byte_size
        for p in shards
        for i in range(pq.ParquetFile(p).metadata.num_row_groups)
    )
    file_bytes = sum(p.stat().st_size for p in shards)
    replacements = {hashlib.sha256(p.read_bytes()).hexdigest(): "<shard-sha256>" for p in shards}
    for value, label in ((data_bytes, "data-bytes"), (file_bytes, "file-bytes")):
        replacements[f"{value / 1024:.1f} KiB ({value} B)"] = f"<{label}>"
        replacements[f": {value}\n"] = f": <{label}>\n"
        replacements[f"\"{value} B\""] = f"\"<{label}>\""
    replacements[f"dataset-tools {__version__} "] = "dataset-tools <tool-version> "
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize("name", ["README.md", "croissant.json", "datapackage.json"])
def test_card_files_match_golden(fixture_build, name, update_golden):
    folder, _ = fixture_build
    actual = _normalized(folder, name)
    golden = GOLDEN / name
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
        return
    assert golden.is_file(), f"{golden} is missing: run pytest with --update-golden to create it"
    expected = golden.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), f"golden/{name}", f"built/{name}"))
        pytest.fail(f"{name} differs from its golden file (run with --update-golden if the change is intended):\n{diff}")


def test_card_yaml_parses_and_dataset_info_matches_the_parquet_files(fixture_build):
    from datasets import Features
    from huggingface_hub import DatasetCard, DatasetCardData

    folder, settings = fixture_build
    card = DatasetCard.load(folder / "README.md")
    assert isinstance(card.data, DatasetCardData)
    assert str(card) == (folder / "README.md").read_text(encoding="utf-8")  # huggingface_hub writes it back unchanged
    meta = card.data.to_dict()
    shards = _shards(folder)
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in shards)
    assert rows == 4
    info = meta["dataset_info"]
    assert info["splits"] == [
        {
            "name": "train",
            "num_examples": rows,
            "num_bytes": sum(
                pq.ParquetFile(p).metadata.row_group(i).total_byte_size
                for p in shards
                for i in range(pq.ParquetFile(p).metadata.num_row_groups)
            ),
        }
    ]
    assert info["download_size"] == sum(p.stat().st_size for p in shards)
    assert info["dataset_size"] == info["splits"][0]["num_bytes"]
    schema = load_table_schema(settings.schema)
    assert Features._from_yaml_list(info["features"]) == schema.features
    assert Features._from_yaml_list(info["features"]) == Features.from_arrow_schema(pq.read_schema(shards[0]))
    languages = set()
    for path in shards:
        languages |= set(pq.read_table(path, columns=["language"]).column(0).to_pylist())
    assert meta["language"] == sorted(languages) == ["en", "es", "sr"]
    assert meta["configs"] == [{"config_name": "default", "data_files": [{"split": "train", "path": "data/*/*/train-*.parquet"}]}]
    assert meta["size_categories"] == ["n<1K"]
    assert meta["version"] == settings.version
    assert meta["license"] == settings.license and meta["pretty_name"] == settings.pretty_name
    assert meta["task_categories"] == list(settings.task_categories)
    assert meta["task_ids"] == list(settings.task_ids)
    assert f'load_dataset("{settings.repo_id}", revision="v{settings.version}"' in card.text


def test_card_reports_rejects_languages_and_changes(fixture_build):
    folder, settings = fixture_build
    text = (folder / "README.md").read_text(encoding="utf-8")
    report = json.loads((folder / "report.json").read_text())
    assert report["rejects_by_reason"] == {"empty-file": 1, "not-a-url": 1}
    assert "| `empty-file` | 1 |" in text and "| `not-a-url` | 1 |" in text
    assert "| sr | 1 | 25.0% |" in text
    assert "![Articles per month](images/articles-per-month.png)" in text
    top_entry = settings.changelog.read_text(encoding="utf-8").split("\n## ")[1].split("\n", 1)[1].strip()
    assert text.rstrip().endswith(top_entry)
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Dataset summary",
        "## How to load it",
        "## Languages",
        "## Dataset structure",
        "## Statistics",
        "## Dataset creation",
        "## Considerations for using the data",
        "## Licensing and terms",
        "## Citation",
        "## Changes in this version",
    ]


def test_no_absolute_local_paths_in_card_files(fixture_build):
    folder, settings = fixture_build
    for name in CARD_FILES:
        data = (folder / name).read_bytes()
        for local in (str(folder), str(settings.root), str(settings.root.parent), str(REPO), os.path.expanduser("~")):
            assert local.encode() not in data, f"{name} holds the local path {local}"
    croissant = json.loads((folder / "croissant.json").read_text())
    urls = [d.get("contentUrl") for d in croissant["distribution"] if "contentUrl" in d]
    assert urls == [p.relative_to(folder).as_posix() for p in _shards(folder)] == [f"data/{m}/train-0000.parquet" for m in ("2025/12", "2026/01", "2026/02", "2026/03")]
    package = json.loads((folder / "datapackage.json").read_text())
    assert [r["path"] for r in package["resources"]] == urls


def test_mlcroissant_validates_and_loads_a_record(fixture_build):
    import mlcroissant as mlc

    folder, _ = fixture_build
    done = subprocess.run(
        [str(BIN / "mlcroissant"), "validate", "--jsonld", "croissant.json"], cwd=folder, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "error" not in done.stderr.lower()
    croissant = json.loads((folder / "croissant.json").read_text())
    shard = _shards(folder)[0]
    objects = [d for d in croissant["distribution"] if d["@type"] == "cr:FileObject"]
    assert objects[0]["sha256"] == hashlib.sha256(shard.read_bytes()).hexdigest()
    records = list(mlc.Dataset(jsonld=str(folder / "croissant.json")).records(record_set="train"))
    assert len(records) == 4  # the file set finds every month's shard
    record = min(records, key=lambda r: r["train/published_at"])
    first = pq.read_table(shard).slice(0, 1).to_pylist()[0]
    assert record["train/id"].decode() == first["id"]
    assert record["train/title"].decode() == first["title"]
    assert [t.decode() for t in record["train/tags"]] == first["tags"]
    assert record["train/word_count"] == first["word_count"]
    fields = croissant["recordSet"][0]["field"]
    assert [f["name"] for f in fields] == load_table_schema(REPO / "schemas" / "article.schema.json").names
    assert {f["name"]: f["dataType"] for f in fields}["published_at"] == "sc:DateTime"
    assert all(f.get("isArray") for f in fields if f["name"] in ("tags", "keywords", "related_urls"))
    assert croissant["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    for key in ("rai:dataCollection", "rai:dataLimitations", "rai:dataBiases", "rai:personalSensitiveInformation"):
        assert croissant[key]


def _frictionless(folder: Path, descriptor: str = "datapackage.json") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "frictionless"), "validate", "--json", descriptor], cwd=folder, capture_output=True, text=True
    )


def test_frictionless_validates_the_data_package(fixture_build):
    folder, _ = fixture_build
    done = _frictionless(folder)
    assert done.returncode == 0, done.stdout[-3000:]
    report = json.loads(done.stdout)
    assert report["valid"] is True
    assert [task["stats"]["rows"] for task in report["tasks"]] == [1, 1, 1, 1]  # a resource per month's shard


def test_frictionless_still_checks_the_data(fixture_build, tmp_path):
    """The Data Package is no fake pass: a shard that breaks the schema is reported invalid."""
    folder, _ = fixture_build
    copy = tmp_path / "broken"
    shutil.copytree(folder, copy)
    shard = _shards(copy)[0]
    table = pa.concat_tables([pq.read_table(p) for p in _shards(copy)])  # four rows in one shard
    ids = table.column("id").to_pylist()
    ids[1] = ids[0]  # a duplicate id breaks primaryKey / unique
    urls = table.column("url").to_pylist()
    urls[2] = "ftp://example.org/x"  # breaks the url pattern
    table = table.set_column(0, "id", pc.cast(pc.utf8_trim_whitespace(ids), table.schema.field("id").type))
    table = table.set_column(1, "url", pc.utf8_trim_whitespace(urls))
    pq.write_table(table, shard)
    done = _frictionless(copy)
    assert done.returncode == 1
    errors = [e["type"] for task in json.loads(done.stdout)["tasks"] for e in task["errors"]]
    assert "primary-key" in errors and "constraint-error" in errors


def test_frictionless_rejects_parquet_lists_as_array_type(fixture_build, tmp_path):
    """Why list fields are declared `any` in datapackage.json: with the schema's `array` type,
    frictionless fails every valid row. When this test fails, frictionless reads Parquet lists
    and the mapping in dataset_tools/card/datapackage.py can go."""
    folder, settings = fixture_build
    copy = tmp_path / "unmapped"
    shutil.copytree(folder, copy)
    package = json.loads((copy / "datapackage.json").read_text())
    schema = json.loads(settings.schema.read_text())
    schema.pop("$schema")
    package["resources"][0]["schema"] = schema
    (copy / "datapackage.json").write_text(json.dumps(package))
    done = _frictionless(copy)
    assert done.returncode == 1
    errors = {(e["type"], e["fieldName"]) for task in json.loads(done.stdout)["tasks"] for e in task["errors"]}
    assert errors == {("type-error", "tags"), ("type-error", "keywords"), ("type-error", "related_urls")}


def test_two_builds_give_byte_identical_card_files(fixture_build, tmp_path):
    folder, _ = fixture_build
    again, _ = _build(tmp_path / "again")
    for name in CARD_FILES:
        assert (folder / name).read_bytes() == (again / "dist" / name).read_bytes(), name


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_is_a_png_of_the_months_and_changes_with_the_data(fixture_build):
    folder, _ = fixture_build
    png = (folder / PLOT_FILE).read_bytes()
    assert _png_size(png) == (1000, 400)
    assert b"Software" not in png and b"matplotlib" not in png  # no tool name or version in the bytes
    months = Counter({"2025-12": 1, "2026-01": 1, "2026-02": 1, "2026-03": 1})
    assert articles_per_month_png(months) == png
    assert articles_per_month_png(months) == articles_per_month_png(Counter(dict(months)))
    assert articles_per_month_png(months + Counter({"2026-03": 5})) != png
    assert articles_per_month_png(Counter()) != png


def test_stats_in_small_batches_equal_a_whole_table_count(fixture_build, monkeypatch):
    folder, _ = fixture_build
    whole = pa.concat_tables([pq.read_table(p) for p in _shards(folder)])
    monkeypatch.setattr(stats_module, "BATCH_ROWS", 1)
    stats = stats_module.collect_stats(folder)
    assert stats.rows == whole.num_rows
    assert stats.domains == Counter(whole.column("domain").to_pylist())
    assert stats.months == Counter(t.strftime("%Y-%m") for t in whole.column("published_at").to_pylist())
    lengths = sorted(len(b) for b in whole.column("body").to_pylist())
    quantiles = stats.body_length_quantiles()
    assert (quantiles[0.0], quantiles[0.5], quantiles[1.0]) == (lengths[0], lengths[(len(lengths) - 1) // 2], lengths[-1])
    rows = whole.to_pylist()
    assert stats.coverage == {
        name: sum(1 for row in rows if row[name] not in (None, []))
        for name in ("description", "tags", "image_url", "keywords", "section", "modified_at")
    }
    assert stats.coverage["description"] == 3 and stats.coverage["modified_at"] == 3


def _hostile_corpus(raw: Path) -> None:
    write_raw(
        raw,
        "001_00000000000000aa.txt",
        collected_article(
            # its id (117029b4...) sorts first, so this is the card's example record
            url="https://news.example.org/20250101/odd-title-5.html",
            title=HOSTILE_TITLE,
            timestamps=("2025-01-01T00:00+0000",),
            section="# forged <i>section</i>",
            keywords=HOSTILE_KEYWORDS,
            tags=("---", "license: mit"),
        ),
    )
    write_raw(
        raw,
        "002_00000000000000bb.txt",
        collected_article(url="https://news.example.org/20250102/dashes-2.html", title="---", timestamps=("2025-01-02T00:00+0000",)),
    )


def test_article_text_is_escaped_in_the_card(tmp_path):
    from huggingface_hub import DatasetCard

    project, settings = _build(tmp_path / "hostile", _hostile_corpus)
    folder = project / "dist"
    text = (folder / "README.md").read_text(encoding="utf-8")
    first = pq.read_table(_shards(folder)[0]).slice(0, 1).to_pylist()[0]
    assert first["title"] == HOSTILE_TITLE  # the data keeps the text as it was
    assert "<script>" not in text and "<b>" not in text and "<i>" not in text
    assert md_text(HOSTILE_TITLE) in text
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt; \\# Heading \\| pipe \\| \\[link\\]\\(javascript:x\\)" in text
    assert "](javascript:" not in text
    assert not any(line.startswith("license: mit") for line in text.splitlines()[1:])
    # The header is the only `---` block and parses to the same metadata a plain build gives.
    assert [i for i, line in enumerate(text.splitlines()) if line == "---"][2:] == []
    header = yaml.safe_load(text.split("\n---\n", 1)[0].removeprefix("---\n"))
    assert header == DatasetCard.load(folder / "README.md").data.to_dict()
    plain, _ = _build(tmp_path / "plain", lambda raw: (
        write_raw(raw, "001.txt", collected_article(url="https://news.example.org/a-1.html", timestamps=("2025-01-01T00:00+0000",))),
        write_raw(raw, "002.txt", collected_article(url="https://news.example.org/b-2.html", timestamps=("2025-01-02T00:00+0000",))),
    ))
    plain_header = DatasetCard.load(plain / "dist" / "README.md").data.to_dict()
    plain_header["dataset_info"].pop("splits"), header["dataset_info"].pop("splits")
    for key in ("download_size", "dataset_size"):
        plain_header["dataset_info"].pop(key), header["dataset_info"].pop(key)
    assert header == plain_header
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert all("forged" not in h and "Heading" not in h for h in headings)


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("---\nlicense: mit", "\\--- license: mit"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert\\(1\\)&lt;/script&gt;"),
        ("# Heading", "\\# Heading"),
        ("| pipe |", "\\| pipe \\|"),
        ("[link](javascript:x)", "\\[link\\]\\(javascript:x\\)"),
        ("1. first\n2. second", "1\\. first 2. second"),
        ("a & b", "a &amp; b"),
        ("line\r\nbreak\u2028here\x00", "line break here"),
    ],
)
def test_md_text_makes_text_inert(raw, shown):
    assert md_text(raw) == shown
    assert "\n" not in md_text(raw)


def test_card_command_rerenders_and_keeps_the_manifest_true(fixture_build, tmp_path):
    folder, settings = fixture_build
    copy = tmp_path / "dist"
    shutil.copytree(folder, copy)
    before = {name: (copy / name).read_bytes() for name in CARD_FILES}
    for name in CARD_FILES:
        (copy / name).unlink()
    (copy / "README.md").write_text("stale card\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "dataset_tools", "card", str(copy), "--project", str(settings.root)],
        capture_output=True, text=True, env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "Rendered the card of v1.0.0" in done.stdout
    for name in CARD_FILES:
        assert (copy / name).read_bytes() == before[name], name
    manifest = json.loads((copy / "manifest.json").read_text())
    listed = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = sorted(
        p.relative_to(copy).as_posix() for p in copy.rglob("*")
        if p.is_file() and p.name != "manifest.json" and not p.relative_to(copy).as_posix().startswith("data/")
    )
    assert sorted(listed) == on_disk
    for rel, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256((copy / rel).read_bytes()).hexdigest()
        assert entry["bytes"] == (copy / rel).stat().st_size
    assert manifest == json.loads((folder / "manifest.json").read_text())


def test_card_command_on_a_folder_that_is_not_a_build(settings, project):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "dataset_tools", "card", "raw", "--project", str(project)],
        capture_output=True, text=True, env=env, cwd=project,
    )
    assert done.returncode == 2
    assert "raw is not a built dataset folder: manifest.json is missing" in done.stderr


def test_write_card_files_on_a_folder_without_rows(settings, tmp_path):
    # A build refuses to make a dataset without rows (NothingToBuild); the card of such a
    # folder still renders.
    folder = tmp_path / "dist"
    folder.mkdir()
    assert write_card_files(folder, settings, load_table_schema(settings.schema), settings.version) == list(CARD_FILES)
    assert "The dataset has no rows." in (folder / "README.md").read_text()
    assert _png_size((folder / PLOT_FILE).read_bytes()) == (1000, 400)


def test_the_card_template_renders_as_huggingface_hub_renders_it_compiled_once_or_cached(tmp_path):
    from huggingface_hub import DatasetCard, DatasetCardData

    from dataset_tools.card.readme import TEMPLATE, card_from_template

    data = DatasetCardData(pretty_name="River works", language=["en", "es"], license="cc-by-4.0", tags=["news"])
    values = dict(pretty_name="River works", rows=3, version="1.2.0", tables=[], coverage=[], fields=[], shards=[], languages=[])
    expected = str(DatasetCard.from_template(data, template_path=str(TEMPLATE), **values))
    assert card_from_template(data, None, **values) == expected
    cache = tmp_path / "card-cache"
    assert card_from_template(data, cache, **values) == expected  # compiles, keeps the bytecode
    assert any(cache.iterdir())
    assert card_from_template(data, cache, **values) == expected  # from the kept bytecode


# -- the card's own words come from the project (card.md), never from the package ------------


def _card_of(fixture_build, tmp_path, card_text: str | None) -> tuple[str, dict]:
    """README.md and croissant.json of the fixture build re-rendered for a project whose card
    text file is `card_text` (None: the project has none)."""
    folder, settings = fixture_build
    root = _new_project(tmp_path / "project")
    (root / "card.md").unlink()
    if card_text is not None:
        (root / "card.md").write_text(card_text, encoding="utf-8")
    copy = tmp_path / "dist"
    shutil.copytree(folder, copy)
    project_settings = load_settings(root)
    write_card_files(copy, project_settings, load_table_schema(project_settings.schema), settings.version)
    return (copy / "README.md").read_text(encoding="utf-8"), json.loads((copy / "croissant.json").read_text(encoding="utf-8"))


OWN_WORDS = """# Our card

<!-- guidance that stays out of the card -->

## Collection

We saved the front pages of two city papers every morning in 2026.

## biases

Both papers are owned by the same publisher.

## Limitations

Only front pages.

Weekends are missing.

## Personal information

Names of council members appear.

## Preprocessing

As the tool does it.
"""


def test_the_card_says_what_the_projects_card_text_says(fixture_build, tmp_path):
    card, croissant = _card_of(fixture_build, tmp_path, OWN_WORDS)
    section = card.split("### Bias, risks and limitations\n\n", 1)[1].split("### Personal and sensitive information", 1)[0]
    assert section == "Both papers are owned by the same publisher.\n\nOnly front pages.\n\nWeekends are missing.\n\n"
    assert "We saved the front pages of two city papers every morning in 2026.\n" in card
    assert "guidance" not in card and "state-affiliated" not in card
    assert croissant["rai:dataCollection"] == "We saved the front pages of two city papers every morning in 2026."
    assert croissant["rai:dataBiases"] == ["Both papers are owned by the same publisher."]
    assert croissant["rai:dataLimitations"] == ["Only front pages.\n\nWeekends are missing."]
    assert croissant["rai:personalSensitiveInformation"] == ["Names of council members appear."]
    assert croissant["rai:dataPreprocessingProtocol"] == ["As the tool does it."]


def test_without_card_text_the_card_asks_for_it_as_the_hub_does(fixture_build, tmp_path):
    card, croissant = _card_of(fixture_build, tmp_path, None)
    assert "### Bias, risks and limitations\n\n[More Information Needed]\n\n[More Information Needed]\n" in card
    assert "state-affiliated" not in card  # no package text lands in a user's card
    assert croissant["rai:dataBiases"] == ["[More Information Needed]"]
    partial, _ = _card_of(fixture_build, tmp_path / "partial", "## Biases\n\nOne outlet only.\n")
    assert "### Bias, risks and limitations\n\nOne outlet only.\n\n[More Information Needed]\n" in partial


def test_the_repositorys_card_text_is_its_card_golden_text():
    # This repository's own project keeps the texts its card always had, now in card.md.
    from dataset_tools.card.texts import load_card_text

    text = load_card_text(REPO / "card.md")
    golden = (GOLDEN / "README.md").read_text(encoding="utf-8")
    for value in (text.data_collection, text.data_preprocessing, text.biases, text.limitations, text.personal_information):
        assert f"\n{value}\n" in golden


@pytest.mark.parametrize(
    "text, message",
    [
        ("## Bias\n\nx\n", "card.md: unknown section '## Bias'"),
        ("## Biases\n\nx\n\n## biases\n\ny\n", "card.md: section '## biases' appears twice"),
    ],
)
def test_a_card_text_with_an_unknown_or_repeated_section_is_refused(tmp_path, text, message):
    from dataset_tools.card.texts import load_card_text
    from dataset_tools.errors import ConfigError

    (tmp_path / "card.md").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_card_text(tmp_path / "card.md")
    assert str(caught.value) == f"{tmp_path}/{message}"
    assert caught.value.exit_code == 2


def test_sub_headings_comments_and_windows_lines_stay_inside_their_section(tmp_path):
    from dataset_tools.card.texts import MISSING, load_card_text

    (tmp_path / "card.md").write_bytes(b"## Limitations\r\n\r\n### Coverage\r\n\r\nSome.<!-- a note\r\nover lines -->\r\n\r\n## Biases ##\r\n")
    text = load_card_text(tmp_path / "card.md")
    assert text.limitations == "### Coverage\n\nSome."
    assert text.biases == MISSING and text.data_collection == MISSING


def test_a_named_card_text_file_that_is_missing_stops_the_build_before_it_starts(project):
    from dataset_tools.errors import ConfigError

    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'card_text = "docs/card.md"\n')
    settings = load_settings(project)
    with pytest.raises(ConfigError, match="card text file .*docs/card.md not found"):
        build_dataset(settings, workers=1)
    assert not (project / "dist").exists()
