"""Benchmark `validate` on a large generated dataset, beside a plain `pyarrow.parquet.read_table`.

Run it from the repository root:

    PYTHONPATH=. python bench/bench_validate.py              # 500,000 rows in 5 shards
    PYTHONPATH=. python bench/bench_validate.py --rows 1000000 --shards 8 --keep bench/out

It writes synthetic rows (bodies of 2-4 KB, every column filled the way the build fills it)
straight to Parquet with the build's writer and the schema's Arrow schema, then a card
(`card.write_card_files`) and a manifest (`build.outputs.write_manifest`), so the folder is a valid
build. Then it runs, each in a fresh child process so that the figures are separate:

- `validate_dataset` on the folder (the report must be valid);
- `pyarrow.parquet.read_table` of the same Parquet files, just reading them.

and prints a table of seconds, rows per second and peak RSS. Peak RSS is the child's VmHWM
(/proc/self/status), not ru_maxrss: on Linux a child's ru_maxrss starts from the parent's
high-water mark at fork, and the parent holds the generated shards.
The folder goes to a temporary directory unless --keep names one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataset_tools.build.outputs import write_manifest  # noqa: E402
from dataset_tools.build.reduce import write_parquet  # noqa: E402
from dataset_tools.layout import shard_name  # noqa: E402
from dataset_tools.card import write_card_files  # noqa: E402
from dataset_tools.config import load_settings  # noqa: E402
from dataset_tools.schema import load_table_schema  # noqa: E402

WORDS = (
    "council city plan river bridge harbour transport budget school market weather storm election "
    "minister report agency officials residents museum festival court decision hospital season team "
    "coach match result energy prices farmers harvest train station airport road project workers union "
    "talks agreement summit leaders border region village police investigation science study research "
    "university students teachers library theatre music film history archive trade exports industry"
).split()
LANGUAGES = ["en", "fr", "de", "es", "it", "pt", "ru", "ar", "zh", "tr"]
SECTIONS = ["world", "cities", "business", "sport", "culture", "science", None]


def _paragraph_pool(rng: np.random.Generator, count: int = 20_000) -> list[str]:
    pool = []
    for _ in range(count):
        words = rng.choice(WORDS, size=int(rng.integers(60, 110)))
        text = " ".join(words)
        pool.append(text[0].upper() + text[1:] + ".")
    return pool


def _shard_table(rng: np.random.Generator, rows: int, start: int, pool: list[str], schema) -> pa.Table:
    ids = [f"{v:016x}" for v in rng.integers(0, 2**63, size=rows, dtype=np.int64).astype(np.uint64) | np.uint64(1 << 63)]
    picks = rng.integers(0, len(pool), size=(rows, 6))
    counts = rng.integers(3, 7, size=rows)  # 3-6 paragraphs of ~600 characters: 2-4 KB
    bodies = ["\n\n".join(pool[j] for j in picks[i, : counts[i]]) for i in range(rows)]
    base = datetime(2025, 1, 1, tzinfo=timezone.utc)
    published = [base + timedelta(seconds=int(s)) for s in rng.integers(0, 365 * 86400, size=rows)]
    modified = [p + timedelta(minutes=int(m)) if m % 3 else None for p, m in zip(published, rng.integers(0, 600, size=rows))]
    language = [LANGUAGES[i] for i in rng.integers(0, len(LANGUAGES), size=rows)]
    section = [SECTIONS[i] for i in rng.integers(0, len(SECTIONS), size=rows)]
    columns = {
        "id": ids,
        "url": [f"https://news.example.org/2025/{i}.html" for i in ids],
        "domain": ["news.example.org"] * rows,
        "title": [f"Story {start + n}: {pool[picks[n, 0]][:70]}" for n in range(rows)],
        "description": [pool[picks[n, 1]][:160] if n % 4 else None for n in range(rows)],
        "body": bodies,
        "published_at": published,
        "modified_at": modified,
        "section": section,
        "tags": [["news", section[n] or "general"] for n in range(rows)],
        "keywords": [["example", "synthetic"] for _ in range(rows)],
        "image_url": [f"https://cdn.example.org/img/{i}.jpg" if n % 2 else None for n, i in enumerate(ids)],
        "language": language,
        "publisher": ["Example Wire"] * rows,
        "related_urls": [[f"https://news.example.org/2025/{ids[n - 1]}.html"] if n else [] for n in range(rows)],
        "word_count": [len(b.split()) for b in bodies],
        "source_file": [f"{start + n:07d}_{i}.txt" for n, i in enumerate(ids)],
        "source_sha256": [hashlib.sha256(i.encode()).hexdigest() for i in ids],
        "parser_version": ["collector/1.0"] * rows,
    }
    arrow = schema.arrow_schema
    table = pa.table([pa.array(columns[f.name], type=f.type) for f in arrow], schema=arrow)
    return table.sort_by([("published_at", "ascending"), ("id", "ascending")])


def generate(folder: Path, rows: int, shards: int, seed: int = 7) -> None:
    """A valid dataset folder of `rows` synthetic rows in `shards` shards, with card and manifest."""
    settings = load_settings(ROOT)
    schema = load_table_schema(settings.schema)
    rng = np.random.default_rng(seed)
    pool = _paragraph_pool(rng)
    written = []
    per_shard = -(-rows // shards)
    for index in range(shards):
        count = min(per_shard, rows - index * per_shard)
        table = _shard_table(rng, count, index * per_shard, pool, schema)
        name = shard_name(index, shards)
        write_parquet(table, folder / name)
        del table
        path = folder / name
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        written.append({"path": name, "rows": count, "sha256": digest, "bytes": path.stat().st_size})
    write_card_files(folder, settings, schema, settings.version)
    write_manifest(folder / "manifest.json", folder, written, schema, settings.version)


_PEAK = """
import json, resource, sys, time
def peak_rss_kb():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""

_VALIDATE = _PEAK + """
from pathlib import Path
from dataset_tools.schema import load_table_schema
from dataset_tools.validate import validate_dataset
schema = load_table_schema(Path(sys.argv[2]))
start = time.perf_counter()
report = validate_dataset(Path(sys.argv[1]), schema)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rows": report.stats["rows"], "valid": report.valid,
                  "errors": [e.message for e in report.errors[:5]],
                  "maxrss_kb": peak_rss_kb()}))
"""

_READ = _PEAK + """
import pyarrow.parquet as pq
start = time.perf_counter()
table = pq.read_table(sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rows": table.num_rows, "valid": None, "errors": [],
                  "maxrss_kb": peak_rss_kb()}))
"""


def _child(code: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--shards", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the dataset here and keep it (default: a temporary folder)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        folder = (args.keep or Path(tmp)) / "dist"
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        generate(folder, args.rows, args.shards)
        size = sum(p.stat().st_size for p in (folder / "data").glob("*.parquet"))
        print(f"generated {args.rows:,} rows in {args.shards} shards ({size / 2**20:.0f} MB of Parquet) in {time.perf_counter() - started:.1f} s")

        schema_path = str(load_settings(ROOT).schema)
        validate = _child(_VALIDATE, str(folder), schema_path)
        read = _child(_READ, str(folder / "data"))

    if not validate["valid"]:
        print("validate reported errors on the generated dataset:", *validate["errors"], sep="\n  ")
        return 1
    print(f"{'task':<28}{'seconds':>10}{'rows/s':>14}{'peak RSS':>12}")
    for name, result in (("validate_dataset", validate), ("pyarrow read_table (read)", read)):
        rate = result["rows"] / result["seconds"]
        print(f"{name:<28}{result['seconds']:>10.2f}{rate:>14,.0f}{result['maxrss_kb'] / 1024:>9.0f} MB")
    print(f"validate / read time: {validate['seconds'] / read['seconds']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
