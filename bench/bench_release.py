"""What a release costs to send: three releases of a growing corpus, in the month layout and in
the layout before it (id-bucket shards named `train-0000k-of-0000N`), measured the same way.

    python bench/bench_release.py                      # 200,000 articles over 24 months (the issue's benchmark)
    python bench/bench_release.py -n 20000             # a quick look
    python bench/bench_release.py --old-tree DIR       # DIR: a checkout of the tool before the month layout

The corpus (written once into --root, /dev/shm by default, and linked into the folder the
builds read one version at a time):
- v1: N articles published over 24 months (2024-01 to 2025-12);
- v2: v1 + N/100 articles published in the newest three days;
- v3: v2 + N/1000 corrections (the same URLs collected again, with a later modified time and
  edited text), spread over all months.
Each version is built incrementally on the last (as a maintainer releases), by this tree and by
the old tree, each in a project of its own. For each release it prints the files added,
changed and deleted; the bytes in new or changed files (what an LFS upload sends, as a share of
the folder); and the bytes in new content-defined chunks (what Xet storage stores and sends
again): every file of the folder is cut with a gear-hash chunker of 64 KiB average chunks
(8 KiB to 128 KiB, a boundary where the hash's top 16 bits are zero, as Xet's chunker cuts),
and a chunk counts as new when no file of the previous release has the same chunk.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from multiprocessing import Pool
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench import generate  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
DAYS = 731  # 2024-01-01 .. 2025-12-31: 24 months
NEWEST_DAYS = 3

# -- the corpus ---------------------------------------------------------------------------------


def _article(seed: int, index: int, published: datetime) -> tuple[str, generate._Article]:
    rng = generate._slot_rng(seed, index)
    name = generate._file_name(rng, index)
    a = generate._make_article(rng, index)
    shift = published - a.published
    return name, dataclasses.replace(a, created=a.created + shift, published=published, modified=a.modified + shift)


def _when(seed: int, index: int, first_day: int, days: int) -> datetime:
    rng = random.Random(f"when:{seed}:{index}")
    return START + timedelta(days=first_day, minutes=rng.randrange(days * 24 * 60))


def _write(task: tuple[str, int, list[int], int, int, bool]) -> list[str]:
    folder, seed, indices, first_day, days, correct = task
    written = []
    for index in indices:
        name, a = _article(seed, index, _when(seed, index, first_day, days))
        if correct:  # collected again later: a new file, the same URL, edited and modified later
            a = generate._edit_for_update(a, random.Random(f"correct:{seed}:{index}"))
            name = f"corr-{name}"
        data = generate._render(a)
        with open(os.path.join(folder, name), "xb") as handle:
            handle.write(data)
        written.append(name)
    return written


def write_articles(folder: Path, seed: int, indices: list[int], first_day: int, days: int, correct: bool = False) -> list[str]:
    """Write the articles into `folder`; returns their file names."""
    folder.mkdir(parents=True, exist_ok=True)
    chunks = [indices[i : i + 2000] for i in range(0, len(indices), 2000)]
    with Pool(os.cpu_count() or 2) as pool:
        return [name for names in pool.map(_write, [(str(folder), seed, chunk, first_day, days, correct) for chunk in chunks]) for name in names]


# -- content-defined chunks ------------------------------------------------------------------

GEAR = np.random.default_rng(0x6EA2).integers(0, 2**64, size=256, dtype=np.uint64)
MASK = np.uint64(0xFFFF << 48)  # 16 bits: a boundary every 64 KiB on average
MIN_CHUNK, MAX_CHUNK = 8 * 1024, 128 * 1024
BLOCK = 4 << 20


def gear_hashes(data: np.ndarray) -> np.ndarray:
    """The gear hash after each byte, h = (h << 1) + GEAR[byte] over the last 64 bytes (all a
    64-bit hash remembers), computed by doubling: six passes instead of a loop per byte."""
    h = GEAR[data]
    span = 1
    while span < 64:
        shifted = np.zeros_like(h)
        shifted[span:] = h[:-span] << np.uint64(span)
        h = h + shifted
        span *= 2
    return h


def chunk_ends(data: bytes) -> list[int]:
    """Where the chunks of `data` end."""
    array = np.frombuffer(data, np.uint8)
    candidates = []
    for start in range(0, len(array), BLOCK):
        lead = min(start, 63)
        h = gear_hashes(array[start - lead : start + BLOCK])[lead:]
        candidates.append(np.nonzero((h & MASK) == 0)[0] + start + 1)  # a chunk ends after the byte
    found = np.concatenate(candidates) if candidates else np.zeros(0, np.int64)
    ends, at = [], 0
    while at < len(array):
        i = int(np.searchsorted(found, at + MIN_CHUNK, side="left"))
        end = int(found[i]) if i < len(found) else len(array)
        end = min(end, at + MAX_CHUNK, len(array))
        ends.append(end)
        at = end
    return ends


def folder_chunks(folder: Path) -> dict[str, dict[bytes, int]]:
    """Per file (relative path): its chunks' digests and sizes."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        chunks, start = {}, 0
        for end in chunk_ends(data):
            chunks[hashlib.blake2b(data[start:end], digest_size=16).digest()] = end - start
            start = end
        out[path.relative_to(folder).as_posix()] = chunks
    return out


# -- measuring a release ---------------------------------------------------------------------


def file_digests(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def compare(old: Path, new: Path) -> dict:
    before, after = file_digests(old), file_digests(new)
    total = sum(size for _, size in after.values())
    sent = {rel: size for rel, (sha, size) in after.items() if before.get(rel, (None,))[0] != sha}
    newest = max((rel.split("/")[1:3] for rel in after if rel.startswith("data/") and rel.count("/") == 3), default=None)
    old_chunks = {digest for chunks in folder_chunks(old).values() for digest in chunks}
    new_chunk_bytes = sum(size for chunks in folder_chunks(new).values() for digest, size in chunks.items() if digest not in old_chunks)
    return {
        "files": len(after),
        "added": sum(rel not in before for rel in after),
        "changed": sum(rel in before for rel in sent),
        "deleted": sum(rel not in after for rel in before),
        "unchanged": len(after) - len(sent),
        "bytes": total,
        "bytes_sent": sum(sent.values()),
        "new_chunk_bytes": new_chunk_bytes,
        # Shards of other months than the newest whose bytes changed (month layout only).
        "older_months_changed": sum(rel.startswith("data/") and rel.count("/") == 3 and rel.split("/")[1:3] != newest and rel in before for rel in sent),
    }


def build(tree: Path, project: Path, raw: Path, out: Path, workers: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dataset_tools", "build", "--raw", str(raw), "--out", str(out), "--workers", str(workers), "--json"],
                          cwd=project, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the build in {project} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def make_project(tree: Path, folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in ("pyproject.toml", "CHANGELOG.md", "card.md"):
        if (tree / name).exists():
            shutil.copy(tree / name, folder / name)
    shutil.copytree(tree / "schemas", folder / "schemas")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200_000, help="articles of v1")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--root", type=Path, default=Path("/dev/shm/dataset-tools-release"))
    parser.add_argument("--old-tree", type=Path, help="a checkout of the tool before the month layout (left out if not given)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)

    n = args.n
    store = args.root / f"articles-{n}-seed{args.seed}"  # every version's files, written once
    raw = args.root / f"raw-{n}-seed{args.seed}"  # what the builds read: the files of the versions so far (links into the store)
    shutil.rmtree(raw, ignore_errors=True)
    raw.mkdir(parents=True)
    steps = [
        ("v1", list(range(n)), 0, DAYS, False),
        ("v2", list(range(n, n + n // 100)), DAYS - NEWEST_DAYS, NEWEST_DAYS, False),
        ("v3", list(range(0, n, 1000))[: n // 1000], 0, DAYS, True),
    ]
    trees = [("months", REPO)] + ([("before", args.old_tree.resolve())] if args.old_tree else [])
    results: dict = {name: {} for name, _ in trees}
    for version, indices, first_day, days, correct in steps:
        names_file = store / f".{version}.names"
        if not names_file.exists():
            print(f"writing {version}: {len(indices)} files into {store} ...", file=sys.stderr, flush=True)
            names_file.parent.mkdir(parents=True, exist_ok=True)
            names_file.write_text("\n".join(write_articles(store, args.seed, indices, first_day, days, correct)))
        for name in names_file.read_text().split("\n"):
            os.link(store / name, raw / name)
        for name, tree in trees:
            project = args.root / f"project-{name}"
            if version == "v1":
                make_project(tree, project)
            out = project / "dist"
            previous = project / f"dist-{version}-before"
            if out.exists():
                shutil.rmtree(previous, ignore_errors=True)
                shutil.copytree(out, previous, copy_function=os.link)
            seconds = build(tree, project, raw, out, args.workers)
            entry = {"seconds": round(seconds, 1)}
            if previous.exists():
                entry.update(compare(previous, out))
                shutil.rmtree(previous)
            else:
                entry.update(files=len(file_digests(out)), bytes=sum(size for _, size in file_digests(out).values()))
            results[name][version] = entry
            print(f"{name} {version}: {json.dumps(entry)}", file=sys.stderr, flush=True)

    print(f"\n{n} articles over 24 months; v2 adds {n // 100} for the newest {NEWEST_DAYS} days; v3 corrects {n // 1000} spread over all months\n")
    header = (f"{'layout':8} {'release':10} {'files':>6} {'added':>6} {'changed':>8} {'deleted':>8} {'unchanged':>10} {'folder MB':>10} "
              f"{'sent MB':>8} {'sent %':>7} {'new chunks MB':>14} {'new chunks %':>13} {'older months changed':>21}")
    print(header)
    print("-" * len(header))
    for name, _ in trees:
        for version in ("v2", "v3"):
            r = results[name][version]
            print(f"{name:8} {('v1 -> v2' if version == 'v2' else 'v2 -> v3'):10} {r['files']:>6} {r['added']:>6} {r['changed']:>8} {r['deleted']:>8} "
                  f"{r['unchanged']:>10} {r['bytes'] / 1e6:>10.1f} {r['bytes_sent'] / 1e6:>8.1f} {100 * r['bytes_sent'] / r['bytes']:>6.1f}% "
                  f"{r['new_chunk_bytes'] / 1e6:>14.1f} {100 * r['new_chunk_bytes'] / r['bytes']:>12.1f}% "
                  f"{r['older_months_changed'] if name == 'months' else '-':>21}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
