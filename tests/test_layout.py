"""layout: the built folder's file names are spelled in one module."""

from __future__ import annotations

import re
from pathlib import Path

from dataset_tools import layout

PACKAGE = Path(layout.__file__).parent


def test_no_other_module_spells_the_folders_file_names():
    names = [layout.REPORT_FILE, layout.MANIFEST_FILE, layout.CROISSANT_FILE, layout.DATAPACKAGE_FILE, layout.PLOT_FILE]
    pattern = re.compile("|".join(re.escape(f'"{name}"') for name in names) + r'|"data/|"data"(?!\s*:)')  # not the JSON-LD key "data":
    found = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "layout.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []


def test_shard_names_match_the_glob_the_card_and_readers_use(tmp_path):
    for index, count in ((0, 1), (3, 12)):
        path = tmp_path / layout.shard_name(index, count)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    (tmp_path / "data" / "notes.parquet").write_bytes(b"")  # not a shard
    assert [p.relative_to(tmp_path).as_posix() for p in layout.data_files(tmp_path)] == [
        "data/train-00000-of-00001.parquet",
        "data/train-00003-of-00012.parquet",
    ]
