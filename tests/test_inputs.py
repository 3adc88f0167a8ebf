"""The raw-folder listing: every regular file once, with its stat, in path order, however the
stat calls are split between processes."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import generate
from dataset_tools import inputs, listing
from dataset_tools.inputs import source_for
from hostile import deep_folders, hostile_entries, permissions_checked


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "raw"
    # "a-c/" and "a.txt" sort before "a/" and "a0" sorts after it ("-" < "." < "/" < "0"): a
    # walk that sorted folder names without their "/" would list them out of order.
    for folder in ("", "b", "b/deep", "a.d", "ü", "a", "a-c"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for n in range(7):
            (root / folder / f"f{n}.txt").write_bytes(b"x" * n)
    (root / "a.txt").write_bytes(b"a")
    (root / "a0").write_bytes(b"a0")
    (root / "b" / "empty").mkdir()
    (root / ".hidden").write_bytes(b"hidden")
    os.symlink(root / "f1.txt", root / "b" / "link.txt")
    os.symlink(tmp_path / "nowhere", root / "dangling.txt")
    hostile_entries(root, tmp_path / "outside")
    return root


def _expected(root):
    """The listing as it must be, found another way: every entry but the folders (os.walk,
    which lists links to folders among them), a regular file with its size, a link with its
    target's where that is a regular file inside the root, anything else with its code."""
    real = os.path.realpath(root)
    rows = []
    for folder, folders, names in os.walk(root):
        for name in names + [f for f in folders if os.path.islink(os.path.join(folder, f))]:
            path = os.path.join(folder, name)
            rows.append((os.path.relpath(path, root), *_entry(path, real)))
    return sorted(rows, key=lambda r: r[0].encode())


def _entry(path, real_root):
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        target = os.path.realpath(path)
        if target == real_root:
            return listing.LINK_TO_FOLDER, st.st_mtime_ns
        if not target.startswith(real_root + "/"):
            return listing.LINK_OUTSIDE, st.st_mtime_ns
        try:
            followed = os.stat(target)
        except OSError as error:
            return (listing.LINK_LOOP if error.errno == errno.ELOOP else listing.BROKEN_LINK), st.st_mtime_ns
        if stat.S_ISDIR(followed.st_mode):
            return listing.LINK_TO_FOLDER, st.st_mtime_ns
        st = followed
    if stat.S_ISREG(st.st_mode):
        return st.st_size, st.st_mtime_ns
    kinds = {stat.S_IFIFO: listing.FIFO, stat.S_IFSOCK: listing.SOCKET, stat.S_IFCHR: listing.DEVICE, stat.S_IFBLK: listing.DEVICE}
    return kinds.get(stat.S_IFMT(st.st_mode), listing.OTHER), st.st_mtime_ns


def _rows(table):
    return list(zip(*(table.column(c).to_pylist() for c in ("path", "size", "mtime_ns"))))


@pytest.fixture(params=["c", "python"])
def stat_loop(request, monkeypatch):
    """The listing's stat loop: the C one (dataset_tools/_stat.c), or the Python one it falls
    back to where the C one was not built; both must give the same listing."""
    if request.param == "python":
        monkeypatch.setattr(listing, "stat_names", None)
    elif listing.stat_names is None:
        if sys.platform.startswith("linux") and shutil.which("cc"):
            pytest.fail("dataset_tools._stat was not built, though this machine has a C compiler")
        pytest.skip("dataset_tools._stat is not built here (no C compiler at install)")
    return request.param


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_the_listing_is_every_file_with_its_stat_in_path_order(tree, monkeypatch, workers, stat_loop):
    monkeypatch.setattr(listing, "PARALLEL_STAT", 0)  # split the stat calls even for a small folder
    assert _rows(inputs._list_local(tree, workers=workers)) == _expected(tree)


def test_files_gone_between_the_walk_and_their_stat_are_left_out(tree, stat_loop):
    base = os.fsencode(tree)
    groups, _, _ = listing.walk(base)
    (tree / "b" / "f3.txt").unlink()
    shutil.rmtree(tree / "b" / "deep")
    (tree / "a.txt").unlink()
    (tree / "a.txt").mkdir()  # a folder where a file was
    parts = listing._parts(base, groups, workers=1)
    assert _rows(inputs._listing_table(parts)) == _expected(tree)


def test_a_name_the_system_refuses_has_its_error_for_a_size_in_either_stat_loop(tmp_path, stat_loop):
    from array import array

    group = listing.Names(b"", b"ok" + b"x" * 300, array("i", [0, 2, 302]))  # a 300-byte name
    (tmp_path / "ok").write_bytes(b"ok")
    sizes, mtimes = array("q", [0, 0]), array("q", [0, 7])
    listing._stat_range(os.fsencode(tmp_path), [group], 0, 2, sizes, mtimes)
    assert list(sizes) == [2, listing.STAT_FAILED - errno.ENAMETOOLONG] and mtimes[1] == 0


def test_the_c_stat_loop_checks_its_arguments(tmp_path):
    from array import array

    if listing.stat_names is None:
        pytest.skip("dataset_tools._stat is not built here")
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        sizes, mtimes = array("q", [0]), array("q", [0])
        for data, offsets, first, count, at in (
            (b"abc", array("i", [0, 5]), 0, 1, 0),  # a name past the end of the data
            (b"abc", array("i", [0, 3]), 1, 1, 0),  # an offset past the end of the offsets
            (b"abc", array("i", [0, 3]), 0, 1, 1),  # a result past the end of sizes
            (b"abc", array("i", [2, 1]), 0, 1, 0),  # a name that ends before it starts
        ):
            with pytest.raises(IndexError):
                listing.stat_names(fd, data, offsets, 0, first, count, sizes, mtimes, at)
        with pytest.raises(ValueError):
            listing.stat_names(fd, b"a\0b", array("i", [0, 3]), 0, 0, 1, sizes, mtimes, 0)
        with pytest.raises(TypeError):
            listing.stat_names(fd, b"abc", array("i", [0, 3]), 0, 0, 1, b"read-only", mtimes, 0)
    finally:
        os.close(fd)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=st.lists(st.lists(st.text(alphabet="a-.0é", min_size=1, max_size=3), min_size=1, max_size=3).map(tuple), min_size=1, max_size=12))
def test_the_walk_lists_any_tree_in_the_order_of_its_paths_bytes(tmp_path_factory, paths):
    root = tmp_path_factory.mktemp("raw")
    for parts in sorted(paths, key=len):
        if any(part in (".", "..") for part in parts):
            continue
        folder = root.joinpath(*parts[:-1])
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / parts[-1]).write_bytes(b"x")
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            continue  # a file where a folder is wanted, or the other way round
    assert _rows(inputs._list_local(root, workers=1)) == _expected(root)


@pytest.mark.parametrize("slice_rows", [1, 4, 9])
def test_the_listing_child_sends_the_same_table(tree, monkeypatch, slice_rows):
    # Small slices: names packed in many groups, sent one by one and joined into slices.
    monkeypatch.setattr(listing, "SLICE", slice_rows)
    assert _rows(source_for(tree).list()) == _expected(tree)
    assert _rows(inputs._list_local(tree, workers=1)) == _expected(tree)


def test_work_given_to_do_meanwhile_runs_once_while_the_child_lists(tree):
    calls = []

    def meanwhile(listed):
        calls.append(os.getpid())
        deadline = time.monotonic() + 30
        while not listed() and time.monotonic() < deadline:  # the child's listing arrives
            time.sleep(0.01)
        calls.append(listed())

    assert _rows(source_for(tree).list(meanwhile=meanwhile)) == _expected(tree)
    assert calls == [os.getpid(), True]  # in this process, not the child


def test_an_error_of_the_work_done_meanwhile_is_raised_not_taken_for_a_failed_listing(tree):
    def fail(listed):
        raise OSError("the caller's own error")

    with pytest.raises(OSError, match="the caller's own error"):
        source_for(tree).list(meanwhile=fail)



def test_a_file_removed_while_listing_is_not_an_input(tree, monkeypatch):
    monkeypatch.setattr(listing, "stat_names", None)  # the Python loop, whose os.lstat is replaced below
    real_lstat = os.lstat

    def lstat(path, *args, **kwargs):
        if os.fsdecode(path) == "f3.txt":
            raise FileNotFoundError(path)
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", lstat)
    paths = [row[0] for row in _rows(inputs._list_local(tree, workers=1))]
    expected = [row[0] for row in _expected(tree)]
    assert paths == [p for p in expected if p.split("/")[-1] != "f3.txt"] and len(paths) == len(expected) - 7  # one per folder


def test_names_that_are_not_utf8_are_listed_escaped_with_a_code_in_path_order(tmp_path, stat_loop):
    (tmp_path / "ok.txt").write_bytes(b"x")
    (tmp_path / "bad\\xff.txt").write_bytes(b"a name that looks like an escaped one")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "in.txt").write_bytes(b"xy")
    for name in (b"bad\xff.txt", b"b\\\xfe", b"caf\xe9", b"c/\xff"):
        with open(os.path.join(os.fsencode(tmp_path), name), "wb") as handle:
            handle.write(b"x")
    for listed in (source_for(tmp_path).list(), inputs._list_local(tmp_path, workers=1)):
        rows = [row[:2] for row in _rows(listed)]
        assert rows == [
            ("b\\\\\\xfe", listing.BAD_NAME),  # a backslash doubled, the byte that is no UTF-8 escaped
            ("bad\\xff.txt", 37),  # a name of its own, which happens to look escaped
            ("bad\\xff.txt (not UTF-8)", listing.BAD_NAME),  # shown as that name: marked
            ("c/\\xff", listing.BAD_NAME),  # in path order, as text ("\\" < "i")
            ("c/in.txt", 2),
            ("caf\\xe9", listing.BAD_NAME),
            ("ok.txt", 1),
        ]


def test_every_entry_that_is_no_readable_file_is_listed_with_its_code(tree, stat_loop):
    links = {path.removeprefix("links/"): size for path, size, _ in _rows(inputs._list_local(tree, workers=1)) if path.startswith("links/")}
    device = {"zero": listing.DEVICE} if (tree / "links" / "zero").exists() else {}
    assert links == {
        "dangling.txt": listing.BROKEN_LINK,
        "fifo": listing.FIFO,
        "in-folder": listing.LINK_TO_FOLDER,
        "in.txt": 1,  # a link between two files of the folder: its target's size
        "loop-a": listing.LINK_LOOP,
        "loop-b": listing.LINK_LOOP,
        "out-by-dots.txt": listing.LINK_OUTSIDE,
        "out-folder": listing.LINK_OUTSIDE,
        "out.txt": listing.LINK_OUTSIDE,
        "root": listing.LINK_TO_FOLDER,
        "sock": listing.SOCKET,
        **device,
    }


_LIST_IN_A_CHILD = """
import json, sys
from pathlib import Path
from dataset_tools import inputs, listing
if sys.argv[2] == "python":
    listing.stat_names = None
listed = inputs.source_for(sys.argv[1]).list() if sys.argv[3] == "child" else inputs._list_local(Path(sys.argv[1]), workers=1)
print(json.dumps([[p, s] for p, s in zip(listed.column("path").to_pylist(), listed.column("size").to_pylist())]))
"""


@pytest.mark.parametrize("how", ["child", "here"])
def test_folders_and_files_that_may_not_be_read_are_entries_and_the_rest_is_listed(tmp_path, stat_loop, how):
    root = tmp_path / "raw"
    for folder in ("locked", "names-only", "no-names", "open"):
        (root / folder).mkdir(parents=True)
        (root / folder / "a.txt").write_bytes(b"a")
    (root / "open" / "closed.txt").write_bytes(b"xyz")
    (root / "open" / "closed.txt").chmod(0o000)  # stat'ed (its folder may be searched), not read
    (root / "locked").chmod(0o000)
    (root / "names-only").chmod(0o444)  # its names can be read, its files not stat'ed
    (root / "no-names").chmod(0o111)  # its files can be stat'ed by name, its names not read
    try:
        done = subprocess.run(
            [*permissions_checked(), sys.executable, "-c", _LIST_IN_A_CHILD, str(root), stat_loop, how],
            capture_output=True, text=True, timeout=120,
        )
    finally:
        for folder in ("locked", "names-only", "no-names"):
            (root / folder).chmod(0o755)
    assert done.returncode == 0, done.stderr
    denied = listing.STAT_FAILED - errno.EACCES
    assert json.loads(done.stdout) == [
        ["locked/", denied],
        ["names-only/a.txt", denied],
        ["no-names/", denied],
        ["open/a.txt", 1],
        ["open/closed.txt", 3],
    ]


def test_a_path_too_long_for_the_system_is_an_entry_and_the_rest_is_listed(tmp_path, stat_loop):
    root = tmp_path / "raw"
    root.mkdir()
    (root / "a.txt").write_bytes(b"a")
    short, long, too_deep = deep_folders(root)
    rows = [row[:2] for row in _rows(inputs._list_local(root, workers=1))]
    too_long = listing.STAT_FAILED - errno.ENAMETOOLONG
    assert rows == [("a.txt", 1), (too_deep, too_long), (long, too_long), (short, len(b"not an article"))]
    assert [row[:2] for row in _rows(source_for(root).list())] == rows


def test_the_build_command_process_settings_leave_the_bytes_unchanged(tmp_path, project):
    """The console command keeps pyarrow from importing pandas (a tenth of an incremental
    build), takes Arrow's memory from jemalloc and ends without the interpreter's teardown; its
    output must equal a build in a process where pandas is loaded and the default pool is in use."""
    generate.generate_corpus(str(project / "raw"), 300, seed=3, workers=1)
    script = textwrap.dedent(
        """
        import sys
        from dataset_tools import runtime

        def exit_now(code, real=runtime.exit_now):
            print("PANDAS", "pandas" in sys.modules)
            import pyarrow as pa
            print("POOL", pa.default_memory_pool().backend_name)
            real(code)

        runtime.exit_now = exit_now
        from dataset_tools.__main__ import main
        sys.argv = ["dataset-tools", "build", "--out", sys.argv[1], "--no-cache", "--workers", "2", "--json"]
        main()
        print("the build command returned instead of ending the process")
        """
    )
    with_cli = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "cli")], cwd=project, capture_output=True, text=True, check=True
    )
    assert "PANDAS False" in with_cli.stdout and "returned instead" not in with_cli.stdout
    assert json.loads(with_cli.stdout[: with_cli.stdout.index("PANDAS")])["rows"] > 0  # printed before the fast exit
    if sys.platform.startswith("linux") and "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        assert "POOL jemalloc" in with_cli.stdout
    library = textwrap.dedent(
        """
        import sys
        import pandas  # noqa: F401
        from pathlib import Path
        from dataset_tools.build import build_dataset
        from dataset_tools.config import load_settings
        build_dataset(load_settings(Path.cwd()), out=Path(sys.argv[1]), use_cache=False, workers=2)
        """
    )
    subprocess.run([sys.executable, "-c", library, str(tmp_path / "lib")], cwd=project, capture_output=True, text=True, check=True)
    cli_files = sorted(p.relative_to(tmp_path / "cli") for p in (tmp_path / "cli").rglob("*") if p.is_file())
    lib_files = sorted(p.relative_to(tmp_path / "lib") for p in (tmp_path / "lib").rglob("*") if p.is_file())
    assert cli_files == lib_files
    for rel in cli_files:
        assert (tmp_path / "cli" / rel).read_bytes() == (tmp_path / "lib" / rel).read_bytes(), rel


def test_a_listing_cut_short_is_told_from_a_finished_one(tree):
    import io

    sent = io.BytesIO()
    listing.send(os.fsencode(tree), sent)
    whole = sent.getvalue()
    parts = list(inputs._receive(io.BytesIO(whole)))
    assert _rows(inputs._listing_table(parts)) == _expected(tree)
    for cut in (len(whole) - 1, len(whole) - listing.HEADER.size, listing.HEADER.size + 3, 5):
        with pytest.raises(EOFError):  # the build then lists the folder itself
            list(inputs._receive(io.BytesIO(whole[:cut])))


def _listed_with(root, folders_file, monkeypatch):
    """The listing of `root` as the listing child makes it with a build cache's folders file,
    and the folders it read afresh (not taken from the file)."""
    read = []
    entries = listing._entries
    monkeypatch.setattr(listing, "_entries", lambda base, folder: read.append(os.fsdecode(folder)) or entries(base, folder))
    sent = io.BytesIO()
    listing.send(os.fsencode(root), sent, str(folders_file))
    return _rows(inputs._listing_table(inputs._receive(io.BytesIO(sent.getvalue())))), sorted(read)


def _settle(root, clock=[0]):
    """Give every folder changed in the last minute an mtime of its own, days ago: as if each
    change had been made long before the next listing (which then trusts the folders it reads
    unchanged, instead of reading again those changed within RECENT_NS of its reading)."""
    now = time.time()
    for folder, _, _ in os.walk(root):
        if os.stat(folder).st_mtime > now - 60:
            clock[0] += 1
            os.utime(folder, (now - 86400 + clock[0], now - 86400 + clock[0]))


def test_a_listing_reads_again_only_the_folders_that_changed(tree, tmp_path, monkeypatch):
    folders_file = tmp_path / "cache" / "folders.bin"
    _settle(tree)
    every = sorted("" if folder == str(tree) else os.path.relpath(folder, tree) for folder, _, _ in os.walk(tree))
    assert _listed_with(tree, folders_file, monkeypatch) == (_expected(tree), every)  # no file yet: all read
    assert _listed_with(tree, folders_file, monkeypatch) == (_expected(tree), [])  # nothing changed

    (tree / "b" / "f2.txt").write_bytes(b"edited in place")  # its folder's mtime stays
    (tree / "a.d" / "new.txt").write_bytes(b"new")
    os.symlink(tree / "b", tree / "a-c" / "to-a-folder")
    os.symlink(tree / "a" / "later.txt", tree / "a-c" / "early-link.txt")  # dangling for now
    (tree / "b" / "deep" / "f0.txt").unlink()
    rows, read = _listed_with(tree, folders_file, monkeypatch)
    assert rows == _expected(tree) and read == ["a-c", "a.d", "b/deep"]
    assert ("b/f2.txt", len(b"edited in place")) in [row[:2] for row in rows]
    # Changed within RECENT_NS of their reading: read again until they have aged.
    assert _listed_with(tree, folders_file, monkeypatch) == (_expected(tree), ["a-c", "a.d", "b/deep"])
    _settle(tree)
    _listed_with(tree, folders_file, monkeypatch)
    assert _listed_with(tree, folders_file, monkeypatch) == (_expected(tree), [])

    (tree / "a" / "later.txt").write_bytes(b"the link's target")  # a link whose target appears in another folder
    (tree / "b" / "deep").rename(tree / "b" / "moved")
    rows, read = _listed_with(tree, folders_file, monkeypatch)
    assert rows == _expected(tree) and read == ["a", "b", "b/moved"]
    assert ("a-c/early-link.txt", len(b"the link's target")) in [row[:2] for row in rows]


def test_a_damaged_or_foreign_folders_file_is_ignored_and_replaced(tree, tmp_path, monkeypatch):
    folders_file = tmp_path / "folders.bin"
    _settle(tree)
    _listed_with(tree, folders_file, monkeypatch)
    good = folders_file.read_bytes()
    other = tmp_path / "other"
    other.mkdir()
    _listed_with(other, folders_file, monkeypatch)
    foreign = folders_file.read_bytes()
    every = len(_listed_with(tree, tmp_path / "none.bin", monkeypatch)[1])
    for damaged in (good[: len(good) // 2], good[:-1], good[:40] + b"\xff" * 8 + good[48:], foreign, b"", b"\0" * 100):
        folders_file.write_bytes(damaged)
        rows, read = _listed_with(tree, folders_file, monkeypatch)
        assert rows == _expected(tree) and len(read) == every
        assert _listed_with(tree, folders_file, monkeypatch) == (_expected(tree), [])  # replaced by a good one


def test_a_folders_file_that_cannot_be_written_leaves_the_listing_whole(tree, tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_bytes(b"")
    rows, _ = _listed_with(tree, blocked / "folders.bin", monkeypatch)  # its folder is a file
    assert rows == _expected(tree)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from(["add", "remove", "edit", "mkdir", "rmdir", "link"]), st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=12))
def test_listings_with_a_folders_file_equal_fresh_walks_whatever_changes(tmp_path_factory, monkeypatch, steps):
    root = tmp_path_factory.mktemp("raw")
    folders_file = root.parent / (root.name + "-folders.bin")
    names = ["a", "b", "a/c", "b/d", "é", "a/c/e"]
    for name in names[:3]:
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "x.txt").write_bytes(b"x")
    def folders():
        return {"" if f == str(root) else os.path.relpath(f, root): (os.stat(f).st_ino, os.stat(f).st_mtime_ns) for f, _, _ in os.walk(root)}

    _settle(root)
    _listed_with(root, folders_file, monkeypatch)
    before = folders()
    for action, i, j in steps:
        folder, other = root / names[i], root / names[j]
        try:
            if action == "add":
                (folder / f"f{j}.txt").write_bytes(b"y" * j)
            elif action == "remove":
                next(p for p in sorted(folder.iterdir()) if not p.is_dir() or p.is_symlink()).unlink()
            elif action == "edit":
                next(p for p in sorted(folder.rglob("*.txt")) if p.is_file()).write_bytes(b"edited" * (j + 1))
            elif action == "mkdir":
                folder.mkdir(parents=True)
            elif action == "rmdir":
                shutil.rmtree(folder)
            else:
                os.symlink(other if j % 2 else other / "x.txt", folder / f"link{j}")
        except (OSError, StopIteration):
            pass  # a step that does not apply to the tree as it is
        _settle(root)
        now = folders()
        rows, read = _listed_with(root, folders_file, monkeypatch)
        assert rows == _expected(root)
        assert read == sorted(f for f, stamp in now.items() if before.get(f) != stamp)  # and only those changed
        before = now
