"""staging: the new output is swapped in whole; a killed build's leftovers are cleaned up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dataset_tools.build.staging import staging_folder, swap_in


def test_the_new_folder_replaces_the_old_one_whole(tmp_path):
    out = tmp_path / "dist"
    out.mkdir()
    (out / "old.txt").write_text("old")
    staging = staging_folder(out)
    (staging / "new.txt").write_text("new")
    swap_in(staging, out)
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RENAME_EXCHANGE is Linux's")
def test_on_linux_the_output_is_never_absent_the_folders_are_exchanged_in_one_step(tmp_path, monkeypatch):
    out = tmp_path / "dist"
    out.mkdir()
    (out / "old.txt").write_text("old")
    staging = staging_folder(out)
    (staging / "new.txt").write_text("new")

    def no_rename(*args):  # the two-rename way would leave `out` absent for a moment
        raise AssertionError("os.rename called")

    monkeypatch.setattr(os, "rename", no_rename)
    swap_in(staging, out)
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist"]


def test_a_build_killed_between_the_two_renames_gets_its_output_back(tmp_path):
    out = tmp_path / "dist"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    (tmp_path / f".dist.old-{dead}").mkdir()  # the old output, moved aside by a build that died
    (tmp_path / f".dist.old-{dead}" / "kept.txt").write_text("kept")
    (tmp_path / f".dist.tmp-{dead}").mkdir()  # its half-written staging folder
    staging_folder(out)
    assert (out / "kept.txt").read_text() == "kept"
    assert not (tmp_path / f".dist.tmp-{dead}").exists()
    assert (tmp_path / f".dist.tmp-{os.getpid()}").is_dir()
