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
    for month, part in ((202511, 0), (202512, 3), (199001, 0)):
        path = tmp_path / layout.shard_name(month, part)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    (tmp_path / "data" / "notes.parquet").write_bytes(b"")  # not a shard
    (tmp_path / "inputs" / "2025").mkdir(parents=True)
    (tmp_path / "inputs" / "2025" / "11.parquet").write_bytes(b"")
    assert [p.relative_to(tmp_path).as_posix() for p in layout.data_files(tmp_path)] == [
        "data/1990/01/train-0000.parquet",
        "data/2025/11/train-0000.parquet",
        "data/2025/12/train-0003.parquet",
    ]
    assert [p.relative_to(tmp_path).as_posix() for p in layout.input_listings(tmp_path)] == ["inputs/2025/11.parquet"]
