"""A build killed or stopped at any moment, or out of disk space: the previous output stays and
loads, no process of the build lives on, the cache is not left locked, and the next build
succeeds with the bytes of a clean one."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bench import generate
from dataset_tools.build.cache import BuildCache

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the build's processes in /proc")


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _processes_of(marker: str) -> list[str]:
    """The processes whose command line holds `marker` (a build's project path: its workers and
    listing child have the command line of the process they were forked from)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()  # empty for a zombie, which holds nothing
        except OSError:
            continue
        if marker.encode() in cmdline and int(pid) != os.getpid():
            shown = cmdline.replace(b"\0", b" ").decode(errors="replace")[:200]
            found.append(f"{pid}: {shown}")
    return found


def _none_left(marker: str, seconds: float = 5.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while (left := _processes_of(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def _loads(folder: Path) -> int:
    """The rows of a built folder, read as a user would (Parquet shards, report.json)."""
    rows = pq.read_table(folder / "data").num_rows
    assert json.loads((folder / "report.json").read_text())["counts"]["rows"] == rows
    return rows


def _build(project: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "dataset_tools", "build", "--workers", "2", "--project", str(project), *extra]


def test_a_build_killed_at_20_random_moments_leaves_a_loadable_output_and_no_process(project, tmp_path):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("shard_rows = 10000", "shard_rows = 150"))  # a few shards to write
    raw = project / "raw"
    generate.generate_corpus(str(raw), 600, seed=7, workers=1, junk_rate=0.02, dup_rate=0.02, update_rate=0.02)
    extra = tmp_path / "extra"  # the second state: these files in raw/extra/ as well
    generate.generate_corpus(str(extra), 120, seed=8, workers=1)
    states = [raw / "extra", tmp_path / "parked"]  # where the extra files are in state 1 (in raw/) and state 0

    def switch(state: int) -> None:
        here = states[1 - state]
        if here.exists():
            here.rename(states[state])

    extra.rename(states[1])
    references = {}
    for state in (1, 0):
        switch(state)
        subprocess.run(_build(project, "--no-cache", "--out", str(tmp_path / f"clean-{state}")), cwd=project, check=True, capture_output=True, timeout=300)
        references[state] = _digest(tmp_path / f"clean-{state}")
    start = time.monotonic()
    subprocess.run(_build(project), cwd=project, check=True, capture_output=True, timeout=300)
    duration = time.monotonic() - start
    previous = references[0]
    marker = str(project)
    for round_ in range(20):
        state = 1 - round_ % 2
        switch(state)  # the killed build, and the next one, have files to read or to drop
        moment = rng.uniform(0, duration)
        build = subprocess.Popen(_build(project), cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(moment)
        build.kill()  # the build's own process only: its workers are left to notice
        build.wait()
        where = f"seed {seed}, round {round_}, killed after {moment:.2f} s"
        assert not _none_left(marker), f"processes left after the kill ({where}): {_processes_of(marker)}"
        dist = project / "dist"
        if not dist.exists():  # killed between the swap's two renames: the next build puts it back
            dist = next(project.glob(".dist.old-*"))
        assert _digest(dist) in (previous, references[state]), where  # the last output, whole (or the new one, whole)
        _loads(dist)

        start = time.monotonic()
        done = subprocess.run(_build(project), cwd=project, capture_output=True, text=True, timeout=300)
        duration = time.monotonic() - start
        assert done.returncode == 0, f"{where}: {done.stderr}"
        assert _digest(project / "dist") == references[state], where
        assert not list(project.glob(".dist.*")), where
        assert not _none_left(marker), where
        previous = references[state]


_LIBRARY_BUILD = """
import sys
from pathlib import Path
from dataset_tools.build import build_dataset
from dataset_tools.config import load_settings
build_dataset(load_settings(Path(sys.argv[1])), workers=2)
"""


@pytest.mark.parametrize("how", ["command", "library"])
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_stopped_build_leaves_no_process_and_the_next_build_takes_the_cache_over(project, how, signum):
    generate.generate_corpus(str(project / "raw"), 800, seed=3, workers=1)
    command = _build(project) if how == "command" else [sys.executable, "-c", _LIBRARY_BUILD, str(project)]
    build = subprocess.Popen(command, cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    marker = str(project)
    deadline = time.monotonic() + 120
    while len(_processes_of(marker)) < 3 and build.poll() is None and time.monotonic() < deadline:  # the build and its two workers
        time.sleep(0.02)
    assert build.poll() is None, "the build ended before its workers were seen"
    assert list(project.glob(".dist.tmp-*"))
    os.kill(build.pid, signum)
    build.wait(60)
    assert build.returncode == -signum, build.stderr.read()  # SIGTERM too ends the process as SIGTERM does, once cleaned up
    if signum == signal.SIGTERM:
        stderr = build.stderr.read()
        assert stderr == b"", stderr.decode()  # stopped, not failed: nothing to say
        assert not list(project.glob(".dist.*"))  # its staging folder is gone with it
    assert not _none_left(marker), _processes_of(marker)
    done = subprocess.run(_build(project, "--json"), cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == _loads(project / "dist") > 0


_LOCK_AND_DIE = """
import os, sys, time
from pathlib import Path
from dataset_tools.build.cache import BuildCache
cache = BuildCache(Path(sys.argv[1]))
child = os.fork()
if child == 0:  # a process forked while the lock is held (as the pool's workers are), outliving it
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # (the test waits for its stdout to close)
    os.dup2(null, 2)
    time.sleep(60)
    os._exit(0)
print(child, flush=True)
os._exit(0)  # dies holding the lock, as a killed build does: no unlock, no close
"""


def test_a_process_forked_while_the_cache_is_locked_does_not_keep_it_locked(tmp_path):
    done = subprocess.run([sys.executable, "-c", _LOCK_AND_DIE, str(tmp_path / "cache")], capture_output=True, text=True, timeout=60)
    child = int(done.stdout)
    try:
        assert Path(f"/proc/{child}").exists()  # it lives on
        BuildCache(tmp_path / "cache").close()  # and the cache is free
    finally:
        os.kill(child, signal.SIGKILL)


_FULL_DISK = textwrap.dedent(
    """
    import json, os, subprocess, sys
    from pathlib import Path
    project, small, where, size = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(small)], check=True)
    out, cache = (small / "dist", project / "cache") if where == "output" else (project / "dist", small / "cache")
    build = [sys.executable, "-m", "dataset_tools", "build", "--workers", "2", "--project", str(project), "--out", str(out), "--cache", str(cache)]
    first = subprocess.run(build, cwd=project, capture_output=True, text=True)  # a few files: it fits
    before = sorted(str(p) for p in out.rglob("*"))
    for name in os.listdir(project / "more"):
        os.rename(project / "more" / name, project / "raw" / name)
    second = subprocess.run(build, cwd=project, capture_output=True, text=True)  # many more: the disk fills
    left = sorted(str(p.relative_to(small)) for p in small.rglob("*"))
    print(json.dumps({"first": first.returncode, "code": second.returncode, "stderr": second.stderr, "stdout": second.stdout,
                      "unchanged": sorted(str(p) for p in out.rglob("*")) == before, "left": left}))
    """
)


@pytest.mark.parametrize(("where", "size"), [("cache", "2m"), ("output", "512k")])
def test_a_full_disk_is_one_line_naming_the_place_and_the_space_and_leaves_no_temporary_file(project, tmp_path, where, size):
    """A real full disk: a small tmpfs (room for the build of 20 files, not of 1,200 more), mounted in a mount namespace of the test's own (root in
    this project's containers; elsewhere, where unshare may not mount, the test is skipped)."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot make a mount namespace here (unshare -m) to mount a small file system in")
    generate.generate_corpus(str(project / "raw"), 20, seed=4, workers=1)
    generate.generate_corpus(str(project / "more"), 1200, seed=5, workers=1)  # about 5 MiB
    for name in os.listdir(project / "more"):  # names of their own beside the first files
        os.rename(project / "more" / name, project / "more" / f"more-{name}")
    small = tmp_path / "small"
    small.mkdir()
    done = subprocess.run(["unshare", "-m", sys.executable, "-c", _FULL_DISK, str(project), str(small), where, size], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["first"] == 0 and result["code"] == 1 and result["stdout"] == ""
    error, hint = result["stderr"].splitlines()
    place = small / "cache" if where == "cache" else small
    assert error.startswith(f"Error: no space left on device in {place}: ") and " free, a build of these " in error and error.endswith(" there")
    assert hint.startswith("Hint: Free some space there, or pass --cache DIR / --out DIR")
    assert result["unchanged"]  # the last output, as it was
    # Nothing of the failed build's (generation 2) is left: no staging folder, no work folder, no
    # rows spilled, no temporary file; the first build's output and cache are.
    failed = [p for p in result["left"] if p.endswith(".tmp") or ".dist." in p or "/work-" in p or "/2-" in p or "-2.arrow" in p]
    assert not failed and result["left"], result["left"]


_STRAGGLER = {}  # set before the pool forks: a folder for the tasks' marks


def _first_write_fails_the_others_write_late(job, losers, shard_rows, cache, staging, *rest):
    """A reduce task for the test below. The first task (in the order the build awaits them)
    fails as a full disk does, once another has started; the others wait until the failed
    build's staging folder is gone (at most 30 s) and then write into it, as a task still
    writing when the first failed would."""
    from dataset_tools.build import reduce_partition

    marks = Path(_STRAGGLER["marks"])
    if job.part == int((marks / "first").read_text()):
        waited = time.monotonic()
        while not list(marks.glob("started-*")) and time.monotonic() - waited < 30:
            time.sleep(0.001)
        raise OSError(28, "No space left on device")
    (marks / f"started-{job.part}").touch()
    waited = time.monotonic()
    while Path(staging).exists() and time.monotonic() - waited < 30:
        pass
    (Path(staging) / "data" / "late").mkdir(parents=True, exist_ok=True)
    return reduce_partition(job, losers, shard_rows, cache, staging, *rest)


def test_a_failed_write_leaves_no_staging_folder_behind_however_the_other_tasks_run(project, tmp_path, monkeypatch):
    """The tasks still running when one fails are stopped before the staging folder is removed:
    none of them writes into it afterwards (a full disk once left a shard behind this way)."""
    import dataset_tools.build as build
    from dataset_tools.config import load_settings
    from dataset_tools.errors import BuildFailed

    generate.generate_corpus(str(project / "raw"), 400, seed=6, workers=1)  # several months: several write tasks
    _STRAGGLER["marks"] = str(tmp_path)
    plan_writes = build.plan.plan_writes

    def plan_and_mark_the_first(*args, **kwargs):
        writes = plan_writes(*args, **kwargs)
        assert len(writes.writes) > 2
        (tmp_path / "first").write_text(str(writes.writes[0].job.part))
        return writes

    rmtree = shutil.rmtree

    def rmtree_then_wait(path, *args, **kwargs):  # time for a task still running to write (none may be)
        rmtree(path, *args, **kwargs)
        if Path(path).name.startswith(".dist.tmp-"):
            time.sleep(0.3)

    monkeypatch.setattr(build.plan, "plan_writes", plan_and_mark_the_first)
    monkeypatch.setattr(build, "reduce_partition", _first_write_fails_the_others_write_late)
    monkeypatch.setattr(shutil, "rmtree", rmtree_then_wait)
    with pytest.raises(BuildFailed):
        build.build_dataset(load_settings(project), out=project / "dist", workers=2, cache_dir=project / "cache")
    assert list(tmp_path.glob("started-*"))  # another task was running when the first failed
    assert sorted(p.name for p in project.iterdir()) == ["CHANGELOG.md", "cache", "card.md", "pyproject.toml", "raw", "schemas"]
