"""The build cache: what the last build parsed, so a rebuild redoes only what changed.

It holds, for one raw folder and one reader/schema version:
- `files-<gen>.arrow`: one row per raw file (path, size, mtime, SHA-256, outcome of parsing);
- `chunks/<gen>-<n>.arrow`: the parsed rows of every article, before deduplication, as the
  parser tasks wrote them: one record batch per id bucket (256 buckets make up the shards);
- `buckets/<gen>-<bucket>.arrow`: a bucket rewritten by a later build (stale rows dropped);
  `state.json` says which record batches of which files make up each bucket;
- `losers-<gen>.arrow`: the duplicates and superseded versions found in each bucket;
- `neardup/`: the near-duplicate index (signatures, band runs, rows, edges, links: see
  `neardup_index`), when near-duplicates are not `off`;
- `state.json`: which of those files are current, and the shards the last build wrote.

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
FORMAT = 4  # 3: a rewritten bucket's ref is (file, -1), every batch of the file; 4: every batch is sorted by id


@dataclass
class CacheState:
    """The cache's index. `key` says which inputs and versions the cached rows are valid for."""

    key: dict
    generation: int = 0
    files: str | None = None
    losers: str | None = None
    buckets: dict[int, list] = field(default_factory=dict)  # bucket -> [[file, batch index or -1 for all], ...]
    shards: dict = field(default_factory=dict)  # {"out", "count", "items": [{name, rows, sha256, bytes, inode, mtime_ns, buckets}]}
    neardup: dict = field(default_factory=dict)  # the near-duplicate index (neardup_index.NearDupState)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "key": self.key,
            "generation": self.generation,
            "files": self.files,
            "losers": self.losers,
            "buckets": {str(k): [list(ref) for ref in v] for k, v in sorted(self.buckets.items())},
            "shards": self.shards,
            "neardup": self.neardup,
        }

    def near_files(self) -> set[str]:
        from dataset_tools.build.neardup_index import NearDupState

        return NearDupState.from_json(self.neardup).files()


class BuildCache:
    """An open, locked cache folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        (self.folder / "buckets").mkdir(parents=True, exist_ok=True)
        self._lock = open(self.folder / "lock", "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise CacheBusy(self.folder) from None
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
            buckets={int(k): [tuple(ref) for ref in v] for k, v in data["buckets"].items()},
            shards=data.get("shards", {}),
            neardup=data.get("neardup") or {},
        )
        needed = [state.files, state.losers, *{name for refs in state.buckets.values() for name, _ in refs}, *state.near_files()]
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
        keep = {state.files, state.losers, *(name for refs in state.buckets.values() for name, _ in refs), *state.near_files()}
        for pattern in ("*.arrow", "buckets/*.arrow", "chunks/*.arrow", "chunks/*.tmp", "buckets/*.tmp", "neardup/*.arrow", "neardup/*.tmp"):
            for path in self.folder.glob(pattern):
                if path.relative_to(self.folder).as_posix() not in keep:
                    path.unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        for stale in self.folder.glob("work-*"):
            pid = stale.name.removeprefix("work-")
            if pid.isdigit() and not process_alive(int(pid)):
                shutil.rmtree(stale, ignore_errors=True)
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()


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
