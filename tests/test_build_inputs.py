"""The build over hostile raw folders: every entry that is no readable article file is one reject
with its reason and the build goes on; nothing outside the raw folder is read or described;
no read goes past the size limit."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dataset_tools import listing
from dataset_tools.build import build_dataset
from dataset_tools.build.parse import HEAD_BYTES, read_input
from dataset_tools.config import load_settings
from dataset_tools.errors import NotARegularFile
from dataset_tools.inputs import source_for
from hostile import SECRET, deep_folders, hostile_entries, permissions_checked
from dataset_tools.report import read_outcomes
from rawfiles import collected_article, write_raw


def _story(n: int, **parts) -> str:
    return collected_article(url=f"https://news.example.org/2026/story-{n}.html", title=f"Story {n} about the harbour", **parts)


def _report(folder: Path) -> tuple[dict, dict[str, dict]]:
    report = json.loads((folder / "report.json").read_text())
    return report, read_outcomes(folder)


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def _set_limit(project: Path, max_file_bytes: int) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("max_file_bytes = 5000000", f"max_file_bytes = {max_file_bytes}"))


def test_links_fifos_sockets_and_devices_are_rejects_and_nothing_outside_is_read(project, tmp_path):
    raw = project / "raw"
    write_raw(raw, "a.txt", _story(1))
    write_raw(raw, "b/c.txt", _story(2))
    hostile_entries(raw, project.parent / "outside")
    # An article outside the raw folder, reached by a link: it must not become a row.
    write_raw(project.parent / "outside", "article.txt", _story(99, lead="OUTSIDE (Wire) - An article from elsewhere on the disk."))
    os.symlink(project.parent / "outside" / "article.txt", raw / "links" / "article-elsewhere.txt")
    command = [sys.executable, "-m", "dataset_tools", "build", "--json", "--workers", "2", "--project", str(project)]
    done = subprocess.run(command, cwd=project, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()

    report, by_path = _report(project / "dist")
    reasons = {path.removeprefix("links/"): entry.get("reason", entry["outcome"]) for path, entry in by_path.items()}
    device = {"zero": "special-file"} if (raw / "links" / "zero").exists() else {}
    assert reasons == {
        "a.txt": "row",
        "b/c.txt": "row",
        "article-elsewhere.txt": "link-outside-raw",
        "dangling.txt": "broken-link",
        "fifo": "special-file",
        "in-folder": "link-to-folder",
        "in.txt": "duplicate",  # a link to a.txt: read, the same bytes as a.txt
        "loop-a": "broken-link",
        "loop-b": "broken-link",
        "out-by-dots.txt": "link-outside-raw",
        "out-folder": "link-outside-raw",
        "out.txt": "link-outside-raw",
        "root": "link-to-folder",
        "sock": "special-file",
        **device,
    }
    assert by_path["links/out.txt"]["detail"] == "a symbolic link to a path outside the raw folder: not followed"
    assert by_path["links/fifo"]["detail"] == "a FIFO (named pipe), not a regular file: not opened"
    assert report["counts"] == {"inputs": len(reasons), "rows": 2, "duplicates": 1, "superseded": 0, "rejected": len(reasons) - 3, "near_duplicates": 0}
    assert sorted(pq.read_table(project / "dist" / "data").column("source_file").to_pylist()) == ["a.txt", "b/c.txt"]
    assert (by_path["links/fifo"]["size"], by_path["links/fifo"]["sha256"]) == (None, "")  # no size for what is no file
    # Nothing of what is outside was read: not its content, not its article, not where it is.
    everything = _all_bytes(project / "dist") + done.stdout + done.stderr
    for outside in (SECRET, b"OUTSIDE (Wire)", b"story-99", str(project.parent / "outside").encode()):
        assert outside not in everything

    # A rebuild finds the same entries unchanged (nothing is read again) and writes the same bytes.
    before = _all_bytes(project / "dist")
    again = subprocess.run(command, cwd=project, capture_output=True, timeout=300)
    assert again.returncode == 0 and json.loads(again.stdout)["parsed"] == 0
    assert _all_bytes(project / "dist") == before
    clean = subprocess.run([*command, "--no-cache", "--out", str(tmp_path / "clean")], cwd=project, capture_output=True, timeout=300)
    assert clean.returncode == 0 and _all_bytes(tmp_path / "clean") == before


_BUILD = """
import json, sys
from pathlib import Path
from dataset_tools import listing
from dataset_tools.build import build_dataset
from dataset_tools.config import load_settings
result = build_dataset(load_settings(Path(sys.argv[1])), workers=int(sys.argv[2]))
print(json.dumps(result.summary()["rejects_by_reason"]))
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_folders_and_files_that_may_not_be_read_are_rejects_and_the_build_goes_on(project, workers):
    raw = project / "raw"
    _set_limit(project, 10_000)
    write_raw(raw, "ok/a.txt", _story(1))
    write_raw(raw, "locked/b.txt", _story(2))
    write_raw(raw, "names-only/c.txt", _story(3))
    write_raw(raw, "ok/closed.txt", _story(4))
    write_raw(raw, "ok/closed-and-large.txt", b"x" * 20_000)
    for path, mode in (("ok/closed.txt", 0o000), ("ok/closed-and-large.txt", 0o000), ("locked", 0o000), ("names-only", 0o444)):
        (raw / path).chmod(mode)
    try:
        done = subprocess.run(
            [*permissions_checked(), sys.executable, "-c", _BUILD, str(project), str(workers)], cwd=project, capture_output=True, text=True, timeout=300
        )
    finally:
        for path in ("locked", "names-only"):
            (raw / path).chmod(0o755)
    assert done.returncode == 0, done.stderr
    _, by_path = _report(project / "dist")
    assert {path: (entry.get("reason"), entry.get("detail")) for path, entry in by_path.items() if path != "ok/a.txt"} == {
        "locked/": ("unreadable", "folder cannot be read, nor its files listed: Permission denied"),
        "names-only/c.txt": ("unreadable", "cannot stat file: Permission denied"),
        "ok/closed.txt": ("unreadable", "cannot read file: Permission denied"),
        "ok/closed-and-large.txt": (
            "too-large",
            "file is 20000 bytes, over the limit of 10000 bytes; not read (its first bytes cannot be read either: Permission denied)",
        ),
    }
    assert by_path["ok/a.txt"]["outcome"] == "row"

    # Readable again: the next build reads what it could not (a chmod changes no mtime).
    (raw / "ok" / "closed.txt").chmod(0o644)
    result = build_dataset(load_settings(project), workers=1)
    assert _report(project / "dist")[1]["ok/closed.txt"]["outcome"] == "row" and result.rows == 4


def test_paths_too_long_and_names_that_are_not_utf8_are_rejects(settings, project):
    raw = project / "raw"
    write_raw(raw, "a.txt", _story(1))
    short, long, too_deep = deep_folders(raw)
    with open(os.path.join(os.fsencode(raw), b"caf\xe9.txt"), "wb") as handle:
        handle.write(_story(2).encode())
    result = build_dataset(settings, workers=1)
    _, by_path = _report(project / "dist")
    assert by_path[too_deep]["reason"] == by_path[long]["reason"] == "path-too-long"
    assert by_path[too_deep]["detail"] == "the path is longer than the system allows (PATH_MAX): the folder is not read"
    assert by_path[short]["reason"] == "not-a-url"  # read: its path is within the limit
    assert by_path["caf\\xe9.txt"]["reason"] == "name-not-utf8"
    assert result.rows == 1 and result.rejected == 4


def test_a_huge_file_is_neither_read_nor_hashed_whole(settings, project):
    raw = project / "raw"
    write_raw(raw, "a.txt", _story(1))
    with open(raw / "huge.txt", "wb") as handle:
        handle.truncate(16 << 30)  # 16 GiB, sparse: hashed whole, it took 51 s
    build_dataset(settings, workers=1)
    _, by_path = _report(project / "dist")
    head = hashlib.sha256(bytes(HEAD_BYTES)).hexdigest()
    assert by_path["huge.txt"] == {
        "path": "huge.txt",
        "outcome": "rejected",
        "reason": "too-large",
        "detail": f"file is {16 << 30} bytes, over the limit of 5000000 bytes; not read (SHA-256 of its first {HEAD_BYTES} bytes: {head})",
        "size": 16 << 30,
        "sha256": "",
    }


def test_no_read_goes_past_the_limit_however_much_the_file_has_grown(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "growing.txt").write_bytes(b"https://news.example.org/a.html\n")
    listed = source_for(raw).list()
    size = listed.column("size")[0].as_py()
    with open(raw / "growing.txt", "ab") as handle:  # it grows after the listing, to 4 GiB (sparse)
        handle.truncate(4 << 30)
    source = source_for(raw)
    assert len(source.read("growing.txt", 1000)) == 1001  # one byte past the limit tells it is over
    record, data = read_input(source, "growing.txt", size, 1000)
    assert data is None and record.reason == "too-large"
    assert record.detail.startswith(f"file grew past the limit of 1000 bytes after it was listed ({size} bytes then); not read (SHA-256 of its first {HEAD_BYTES} bytes: ")


def test_a_read_follows_a_link_only_to_a_file_inside_and_never_waits_on_a_fifo(tmp_path):
    raw = tmp_path / "raw"
    hostile_entries(raw, tmp_path / "outside")
    (raw / "a.txt").write_bytes(b"inside")
    (raw / "b").mkdir()
    source = source_for(raw)
    assert source.read("links/in.txt", 100) == b"inside"
    for path, code in (
        ("links/out.txt", listing.LINK_OUTSIDE),
        ("links/out-by-dots.txt", listing.LINK_OUTSIDE),
        ("links/root", listing.LINK_TO_FOLDER),
        ("links/in-folder", listing.LINK_TO_FOLDER),
        ("links/dangling.txt", listing.BROKEN_LINK),
        ("links/loop-a", listing.LINK_LOOP),
        ("links/fifo", listing.FIFO),  # a FIFO made after the listing, say: opened without waiting for a writer
        ("links/sock", None),
    ):
        outcome: list = []
        reader = threading.Thread(target=lambda p=path: outcome.append(_try_read(source, p)), daemon=True)
        reader.start()
        reader.join(10)
        assert outcome, f"reading {path} did not return"
        if code is not None:
            assert outcome[0] == code, path
        else:
            assert outcome[0] is not None, path  # a socket cannot be opened at all: an OSError


def _try_read(source, path):
    try:
        source.read(path, 100)
    except NotARegularFile as exc:
        return exc.code
    except OSError as exc:
        return exc.errno
    return None


def test_a_nul_after_the_first_mebibyte_makes_a_binary_file(settings, project):
    raw = project / "raw"
    text = _story(1, paragraphs=("A long paragraph. " * 70_000,))
    write_raw(raw, "nul.txt", text.encode()[: (1 << 20) + 100] + b"\x00" + text.encode()[(1 << 20) + 100 :])
    write_raw(raw, "clean.txt", text)
    build_dataset(settings, workers=1)
    _, by_path = _report(project / "dist")
    assert by_path["nul.txt"]["reason"] == "binary-file"
    assert by_path["nul.txt"]["detail"] == f"not text: binary data (NUL byte at offset {(1 << 20) + 100})"
    assert by_path["clean.txt"]["outcome"] == "row"


def test_the_first_line_of_a_file_that_is_no_article_is_not_quoted_in_the_report(settings, project):
    write_raw(project / "raw", "a.txt", _story(1))
    write_raw(project / "raw", ".env", b"HF_TOKEN=" + SECRET + b"\n")
    write_raw(project / "raw", "passwd", b"root:x:0:0:root:/root:/bin/bash\n")
    build_dataset(settings, workers=1)
    everything = _all_bytes(project / "dist")
    assert SECRET not in everything and b"/root:/bin/bash" not in everything
