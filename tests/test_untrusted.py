"""untrusted.py: what validate and publish may touch in a folder they did not write."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from dataset_tools.errors import FileTooLarge, JsonTooDeep, NotRegularFile, UnsafePath
from dataset_tools.untrusted import Inventory, json_depth, load_json, open_regular, read_json, relative_path


@pytest.mark.parametrize("path, reason", [
    ("/etc/shadow", "is absolute"),
    ("../secret.txt", "leaves the folder"),
    ("data/../../secret.txt", "leaves the folder"),
    ("https://example.org/x.parquet", "is a URL, not a path in the folder"),
    ("file:///etc/passwd", "is a URL, not a path in the folder"),
    ("data//x.parquet", "is not a plain relative path"),
    ("./x.parquet", "is not a plain relative path"),
    ("", "is not a path"),
    ("a\0b", "is not a path"),
    (None, "is not a path"),
])
def test_relative_path_refuses_what_could_leave_the_folder(path, reason):
    with pytest.raises(UnsafePath) as refused:
        relative_path(path)
    assert refused.value.reason == reason and str(refused.value).endswith(reason)


def test_relative_path_accepts_plain_paths():
    assert relative_path("data/train-00000-of-00001.parquet") == "data/train-00000-of-00001.parquet"
    assert relative_path("images/articles-per-month.png") == "images/articles-per-month.png"


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    (folder / "data" / "deep").mkdir(parents=True)
    (folder / "data" / "train-00000-of-00002.parquet").write_bytes(b"a")
    (folder / "data" / "train-00001-of-00002.parquet").write_bytes(b"bb")
    (folder / "data" / "deep" / "x.parquet").write_bytes(b"c")
    (folder / "README.md").write_text("card")
    return folder


def test_inventory_lists_by_lstat_and_globs_like_path_glob(tmp_path):
    folder = _folder(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.parquet").write_bytes(b"s")
    (folder / "linked").symlink_to(outside)  # a link to a folder is not walked into
    (folder / "data" / "link.parquet").symlink_to(folder / "README.md")
    os.mkfifo(folder / "data" / "pipe.parquet")
    inventory = Inventory.of(folder)
    assert inventory.files == {"README.md": 4, "data/train-00000-of-00002.parquet": 1,
                               "data/train-00001-of-00002.parquet": 2, "data/deep/x.parquet": 1}
    assert inventory.others == {"linked": "symbolic link", "data/link.parquet": "symbolic link",
                                "data/pipe.parquet": "FIFO"}
    for pattern in ("data/train-*.parquet", "data/*", "**/*.parquet", "*.md", "data/train-0000[1].parquet"):
        on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.glob(pattern) if p.is_file() and not p.is_symlink())
        assert inventory.glob(pattern) == [p for p in on_disk if "linked" not in p], pattern
    # A final ** matches the files below, as the Hub's data_files patterns do (Path.glob gives folders).
    assert inventory.glob("data/**") == ["data/deep/x.parquet", "data/train-00000-of-00002.parquet",
                                         "data/train-00001-of-00002.parquet"]


def test_open_regular_never_follows_a_link_or_blocks_on_a_fifo(tmp_path):
    folder = _folder(tmp_path)
    with open_regular(folder, "data/train-00001-of-00002.parquet") as handle:
        assert handle.read() == b"bb"
    (folder / "notes.txt").symlink_to(folder / "README.md")
    (folder / "sub").symlink_to(folder / "data")  # a link on the way to a file
    os.mkfifo(folder / "pipe")
    for rel, kind in (("notes.txt", "symbolic link"), ("sub/deep/x.parquet", "symbolic link"), ("pipe", "FIFO")):
        done: list = []

        def attempt(rel=rel):
            try:
                open_regular(folder, rel)
            except NotRegularFile as refused:
                done.append(refused)

        worker = threading.Thread(target=attempt, daemon=True)
        worker.start()
        worker.join(10)
        assert done and done[0].kind == kind, rel
    with pytest.raises(UnsafePath):
        open_regular(folder, "../dist/README.md")
    with pytest.raises(FileNotFoundError):
        open_regular(folder, "missing.json")


def test_json_is_read_with_bounded_depth_and_size(tmp_path):
    assert json_depth({"a": [1, {"b": []}]}) == 4 and json_depth(5) == 0
    nested = b"[" * 64 + b"]" * 64
    assert json_depth(load_json(nested, "x.json")) == 64
    for depth in (65, 1000, 100_000):  # ours, orjson's own limit (1024), far beyond
        with pytest.raises(JsonTooDeep):
            load_json(b"[" * depth + b"]" * depth, "x.json")
    folder = tmp_path / "dist"
    folder.mkdir()
    (folder / "big.json").write_bytes(b"[" + b"1," * 100 + b"1]")
    with pytest.raises(FileTooLarge):
        read_json(folder, "big.json", max_bytes=100)
    listing = b'{\n  "counts": {"rows": 1},\n  "files": [\n    {"path": "a"},\n' + b"    garbage never read\n" * 10
    (folder / "report.json").write_bytes(listing)
    assert read_json(folder, "report.json", listing="files") == {"counts": {"rows": 1}}
    (folder / "plain.json").write_bytes(b'{"counts": {"rows": 2}, "files": []}')
    assert read_json(folder, "plain.json", listing="files") == {"counts": {"rows": 2}, "files": []}
