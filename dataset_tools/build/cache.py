"""The build cache: what the last build parsed, so a rebuild redoes only what changed.

It holds, for one raw folder and one reader/schema version:
- `files-<gen>.arrow`: one row per raw file (path, size, mtime, SHA-256, outcome of parsing);
- `chunks/<gen>-<n>.arrow`: the parsed rows of every article, before deduplication, as the
  parser tasks wrote them: one record batch per partition (month);
- `parts/<gen>-<partition>.arrow`: a partition rewritten by a later build (stale rows dropped);
  `state.json` says which record batches of which files make up each partition;
- `losers-<gen>.arrow`: the duplicates, superseded versions and near-duplicates left out;
- `neardup/`: the near-duplicate index (signatures, band runs, rows, edges, links: see
  `neardup_index`), when near-duplicates are not `off`;
- `state.json`: which of those files are current, and the files the last build wrote (shards
  and input listings, by partition).

`state.json` is replaced atomically and last, and files of older generations are deleted only
after it, so a build killed at any point leaves a cache that is either the old one or the new
one. The folder is safe to delete at any time: the next build is then a full build.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow as pa

from dataset_tools.errors import CacheBusy
from dataset_tools.fileio import write_ipc

STATE_FILE = "state.json"
FORMAT = 7  # 5: partitions are months, runs sorted by (published_at, id); 6: entries that are no regular file, reads bounded, a NUL anywhere rejects, rows after hygiene and the file table's hygiene columns; 7: the near-duplicate index


@dataclass
class CacheState:
    """The cache's index. `key` says which inputs and versions the cached rows are valid for."""

    key: dict
    generation: int = 0
    files: str | None = None
    losers: str | None = None
    parts: dict[int, list] = field(default_factory=dict)  # partition -> [[file, batch index or -1 for all], ...]
    shards: dict = field(default_factory=dict)  # {"out", "shard_rows", "items": [{name, part, rows, sha256, bytes, inode, mtime_ns}], "listings": [...]}
    neardup: dict = field(default_factory=dict)  # the near-duplicate index (neardup_index.NearDupState)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "key": self.key,
            "generation": self.generation,
            "files": self.files,
            "losers": self.losers,
            "parts": {str(k): [list(ref) for ref in v] for k, v in sorted(self.parts.items())},
            "shards": self.shards,
            "neardup": self.neardup,
        }

    def near_files(self) -> set[str]:
        from dataset_tools.build.neardup_index import NearDupState

        return NearDupState.from_json(self.neardup).files()


class BuildCache:
    """An open, locked cache folder.

    The lock is an flock on `lock`: the kernel releases it when the build's process ends, however
    it ends, so the next build takes it over with no manual step. An flock belongs to the open
    file, which a forked child shares: every process forked while the lock is held (the pool's
    workers above all) lets go of its copy first thing (`_close_inherited_locks`), so that no child
    that outlives the build can keep the cache locked.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        (self.folder / "parts").mkdir(parents=True, exist_ok=True)
        self._lock = open(self.folder / "lock", "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise CacheBusy(self.folder) from None
        _HELD_LOCKS.add(self._lock.fileno())
        self.work = self.folder / f"work-{os.getpid()}"
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir()

    def load(self, key: dict) -> CacheState | None:
        """The cached state if it was made for `key`, else None (the cache is then rebuilt)."""
        try:
            data = json.loads((self.folder / STATE_FILE).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        if data.get("format") != FORMAT or data.get("key") != key:
            return None
        state = CacheState(
            key=data["key"],
            generation=data["generation"],
            files=data["files"],
            losers=data["losers"],
            parts={int(k): [tuple(ref) for ref in v] for k, v in data["parts"].items()},
            shards=data.get("shards", {}),
            neardup=data.get("neardup") or {},
        )
        needed = [state.files, state.losers, *{name for refs in state.parts.values() for name, _ in refs}, *state.near_files()]
        if not all(name and (self.folder / name).exists() for name in needed):
            return None
        return state

    def path(self, name: str) -> Path:
        return self.folder / name

    def read_table(self, name: str | None) -> pa.Table | None:
        """A cached Arrow table (memory-mapped), or None when `name` is None."""
        if not name:
            return None
        with pa.memory_map(str(self.folder / name)) as source:
            return pa.ipc.open_file(source).read_all()

    def write_table(self, name: str, table: pa.Table) -> str:
        write_ipc(self.folder / name, table)
        return name

    def commit(self, state: CacheState) -> None:
        """Make `state` current, then delete files no state refers to."""
        target = self.folder / STATE_FILE
        tmp = target.with_suffix(".tmp")
        # orjson: the json module's indenting encoder, in Python, took 60 ms over a big corpus's refs.
        tmp.write_bytes(orjson.dumps(state.to_json(), option=orjson.OPT_INDENT_2))
        os.replace(tmp, target)
        self._delete_all_but(state)

    def discard(self) -> None:
        """After a build that failed (its workers stopped): delete what it wrote that the
        current state does not refer to (its rows, file tables, temporary files), which a full
        disk needs back. The last good build's files stay."""
        try:
            data = json.loads((self.folder / STATE_FILE).read_text(encoding="utf-8"))
            state = CacheState(key={}, files=data.get("files"), losers=data.get("losers"), parts={int(k): v for k, v in data.get("parts", {}).items()},
                               neardup=data.get("neardup") or {})
        except (OSError, ValueError, AttributeError):
            state = CacheState(key={})
        self._delete_all_but(state)
        for tmp in self.folder.glob("card/*/*.tmp"):  # the card statistics' (named with their writer's pid)
            pid = tmp.name.rsplit(".", 2)[-2]
            if not (pid.isdigit() and int(pid) != os.getpid() and process_alive(int(pid))):
                tmp.unlink(missing_ok=True)

    def _delete_all_but(self, state: CacheState) -> None:
        shutil.rmtree(self.folder / "buckets", ignore_errors=True)  # a cache of FORMAT 4 or earlier
        keep = {state.files, state.losers, *(name for refs in state.parts.values() for name, _ in refs), *state.near_files()}
        for pattern in ("*.arrow", "parts/*.arrow", "chunks/*.arrow", "*.tmp", "chunks/*.tmp", "parts/*.tmp", "neardup/*.arrow", "neardup/*.tmp"):
            for path in self.folder.glob(pattern):
                if path.relative_to(self.folder).as_posix() not in keep:
                    path.unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        for stale in self.folder.glob("work-*"):
            pid = stale.name.removeprefix("work-")
            if pid.isdigit() and not process_alive(int(pid)):
                shutil.rmtree(stale, ignore_errors=True)
        _HELD_LOCKS.discard(self._lock.fileno())
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()


_HELD_LOCKS: set[int] = set()  # the file descriptors of the cache locks this process holds


def _close_inherited_locks() -> None:
    """In a forked child: let go of the copies of this process's cache locks (an flock(LOCK_UN)
    here would release the parent's lock; dropping the copy leaves it with the parent). Each
    descriptor is made a copy of /dev/null rather than closed, so that the number stays taken
    by a harmless file for the child's copy of the lock's file object."""
    if not _HELD_LOCKS:
        return
    null = os.open(os.devnull, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        for fd in _HELD_LOCKS:
            os.dup2(null, fd, inheritable=False)
    finally:
        os.close(null)
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited_locks)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (this process counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
