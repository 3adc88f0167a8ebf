"""Benchmark of `dataset-tools build` beside its baselines, measured in one run on one corpus.

    python bench/bench_build.py -n 200000 --workers 2            # the issue's benchmark
    python bench/bench_build.py -n 20000 --skip-dask             # a quick look
    python bench/bench_build.py --scales 100000,1000000          # peak memory as the corpus grows

It generates (or reuses) a synthetic corpus in the collector layout with bench/generate.py, then
runs each measurement as its own process tree and samples the tree's total RSS from /proc:

- build (cold): `dataset-tools build` with an empty cache;
- build (incremental): the same, after `generate.touch_one` edited one file;
- datasets baseline: `datasets.Dataset.from_generator(<our reader>, num_proc=W)` + `to_parquet`;
- I/O floor: read every file and write the same text to zstd Parquet, without parsing;
- build --engine dask: a LocalCluster of W workers; its output must equal the bytes of a clean
  local build (`--no-cache`), and its time is compared with that build's. Both are timed without
  the memory sampler: reading /proc/<pid>/smaps_rollup holds each process's memory-map lock, and
  with the cluster's extra processes it cost dask 3-5 s where it cost the local build about 1 s.

Articles/s counts input files; MB/s counts raw bytes read. Timings are wall-clock seconds of the
whole command, including interpreter start-up and imports (of the package's byte-compiled
modules, as an installed copy has them: see compile_package). The corpus lives in /dev/shm by
default: on this project's machines the disk is slow at creating and deleting many small files,
and a warm page cache is what a repeated build sees anyway.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench import generate  # noqa: E402


def tree_memory(pid: int, parts: list | None = None) -> tuple[int, int]:
    """(RSS, PSS) in bytes, summed over a process and all its descendants. RSS counts pages
    shared between the processes (forked workers share most of their parent's) once per
    process; PSS splits each shared page between its sharers, so its sum is the tree's real
    footprint. `parts`, if given, receives each process's PSS (the command's own first)."""
    rss = pss = 0
    stack = [pid]
    seen = set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
                        if parts is not None:
                            parts.append(int(line.split()[1]) * 1024)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack.extend(int(child) for child in handle.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
            continue
    return rss, pss


SAMPLE_SECONDS = 0.1


PEAK_PARTS: list[int] = []  # each process's PSS at the last measured command's peak


def measure(cmd: list[str], env: dict | None = None, cwd: Path | None = None, *, sample: bool = True) -> tuple[float, tuple[int, int], str]:
    """Run a command; return (seconds, (peak RSS, peak PSS) of its process tree, stdout).
    PEAK_PARTS gets each process's PSS at the moment of the peak PSS. Without `sample`, memory
    is not measured (peaks 0): the time of a command undisturbed by the sampler."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    peak = [0, 0]
    stop = threading.Event()

    def sample_memory() -> None:
        while not stop.is_set():
            parts: list[int] = []
            rss, pss = tree_memory(proc.pid, parts)
            if pss > peak[1]:
                PEAK_PARTS[:] = parts
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            # Reading smaps_rollup costs the kernel real time for large processes: every 20 ms
            # it took a third of a core from the command measured on a 2-core machine.
            stop.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    if sample:
        sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    if sample:
        sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    return seconds, (peak[0], peak[1]), out


BASELINE = r'''
import sys, os
from pathlib import Path
from datasets import Dataset
from dataset_tools.readers import parse_article
from dataset_tools.records import Article
from dataset_tools.schema import load_table_schema

raw, out, workers = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
schema = load_table_schema(Path(sys.argv[4]))
paths = sorted(str(p.relative_to(raw)) for p in raw.rglob("*") if p.is_file())

def rows(paths):
    # datasets splits the `paths` list between the num_proc processes.
    for rel in paths:
        record = parse_article((raw / rel).read_bytes(), rel)
        if isinstance(record, Article):
            yield record.row()

ds = Dataset.from_generator(rows, gen_kwargs={"paths": paths}, features=schema.features, num_proc=workers)
ds.to_parquet(out)
print(len(ds))
'''

IO_FLOOR = r'''
import sys
from multiprocessing import Pool
from pathlib import Path
import pyarrow as pa, pyarrow.parquet as pq

raw, out, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
paths = sorted(str(p.relative_to(raw)) for p in raw.rglob("*") if p.is_file())
chunks = [paths[i::workers] for i in range(workers)]

def work(args):
    index, chunk = args
    schema = pa.schema([("path", pa.string()), ("text", pa.string())])
    with pq.ParquetWriter(out / f"part-{index}.parquet", schema, compression="zstd") as writer:
        for start in range(0, len(chunk), 2048):
            part = chunk[start:start + 2048]
            texts = [(raw / rel).read_bytes().decode("utf-8", "replace") for rel in part]
            writer.write_table(pa.table([part, texts], schema=schema))
    return len(chunk)

with Pool(workers) as pool:
    print(sum(pool.map(work, list(enumerate(chunks)))))
'''


def folder_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def ensure_corpus(root: Path, n: int, seed: int, workers: int) -> tuple[Path, dict]:
    corpus = root / f"corpus-{n}-seed{seed}"
    summary_file = root / f"corpus-{n}-seed{seed}.json"
    if corpus.is_dir() and summary_file.exists():
        return corpus, json.loads(summary_file.read_text())
    shutil.rmtree(corpus, ignore_errors=True)
    print(f"generating {n} articles into {corpus} ...", file=sys.stderr, flush=True)
    summary = generate.generate_corpus(str(corpus), n, seed=seed, workers=workers)
    summary_file.write_text(json.dumps(summary))
    return corpus, summary


def make_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "CHANGELOG.md"):
        shutil.copy(REPO / name, folder / name)
    shutil.copytree(REPO / "schemas", folder / "schemas", dirs_exist_ok=True)
    return folder


def row(label: str, seconds: float, peak: tuple[int, int], files: int, raw_bytes: int) -> dict:
    return {
        "task": label,
        "seconds": round(seconds, 2),
        "articles_per_s": round(files / seconds),
        "mb_per_s": round(raw_bytes / seconds / 1e6, 1),
        "peak_rss_mb": round(peak[0] / 1e6) if peak[0] else "-",
        "peak_pss_mb": round(peak[1] / 1e6) if peak[1] else "-",
    }


def print_table(rows: list[dict]) -> None:
    header = f"{'task':<44}{'seconds':>9}{'articles/s':>12}{'MB/s':>8}{'peak RSS MB':>13}{'peak PSS MB':>13}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['task']:<44}{r['seconds']:>9}{r['articles_per_s']:>12}{r['mb_per_s']:>8}"
            f"{r['peak_rss_mb']:>13}{r['peak_pss_mb']:>13}"
        )
    print("(RSS and PSS summed over each command's process tree; PSS counts shared pages once)")


def run(n: int, workers: int, seed: int, root: Path, skip: set[str]) -> dict:
    corpus, summary = ensure_corpus(root, n, seed, workers)
    raw_bytes = summary["bytes"]
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=root))
    project = make_project(work / "project")
    env = {**os.environ, "HF_DATASETS_CACHE": str(work / "hf-cache"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    build = [sys.executable, "-m", "dataset_tools", "build", "--raw", str(corpus), "--workers", str(workers), "--json"]
    results: list[dict] = []
    try:
        seconds, peak, out = measure([*build, "--out", str(work / "cold"), "--cache", str(work / "cache")], env, project)
        cold = json.loads(out)
        results.append(row("dataset-tools build (cold cache)", seconds, peak, n, raw_bytes))

        changed = generate.touch_one(str(corpus), seed + int(time.time()))
        seconds, peak, out = measure([*build, "--out", str(work / "cold"), "--cache", str(work / "cache")], env, project)
        incremental = json.loads(out)
        results.append(row("dataset-tools build (incremental)", seconds, peak, n, raw_bytes))

        if "baseline" not in skip:
            seconds, peak, _ = measure(
                [sys.executable, "-c", BASELINE, str(corpus), str(work / "baseline.parquet"), str(workers), str(project / "schemas" / "article.schema.json")],
                env,
            )
            results.append(row(f"datasets from_generator(num_proc={workers})", seconds, peak, n, raw_bytes))
        seconds, peak, _ = measure([sys.executable, "-c", IO_FLOOR, str(corpus), str(work / "floor"), str(workers)], env)
        results.append(row("I/O floor (read + write Parquet)", seconds, peak, n, raw_bytes))

        identical = None
        if "dask" not in skip:
            seconds, peak, _ = measure([*build, "--out", str(work / "clean"), "--no-cache"], env, project, sample=False)
            results.append(row("build --no-cache (local, unsampled)", seconds, peak, n, raw_bytes))
            seconds, peak, _ = measure([*build, "--out", str(work / "dask"), "--no-cache", "--engine", "dask"], env, project, sample=False)
            results.append(row(f"build --engine dask ({workers} workers, unsampled)", seconds, peak, n, raw_bytes))
            identical = folder_digest(work / "dask") == folder_digest(work / "clean")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    by = {r["task"]: r for r in results}
    cold_r = by["dataset-tools build (cold cache)"]
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "articles": n,
        "workers": workers,
        "raw_mb": round(raw_bytes / 1e6),
        "results": results,
        "build_counts": {k: cold[k] for k in ("inputs", "rows", "duplicates", "superseded", "rejected")},
        "stages": {"cold": cold.get("seconds", {}), "incremental": incremental.get("seconds", {})},
        "incremental": {"changed_file": changed, "parsed": incremental["parsed"], "shards_written": incremental["shards_written"]},
        "ratios": {},
    }
    floor = by["I/O floor (read + write Parquet)"]
    report["ratios"]["build_vs_io_floor_time"] = round(cold_r["seconds"] / floor["seconds"], 2)
    report["ratios"]["incremental_vs_cold_time"] = round(by["dataset-tools build (incremental)"]["seconds"] / cold_r["seconds"], 3)
    baseline = next((r for r in results if r["task"].startswith("datasets")), None)
    if baseline:
        report["ratios"]["build_vs_datasets_speed"] = round(cold_r["articles_per_s"] / baseline["articles_per_s"], 2)
    dask_r = next((r for r in results if "dask" in r["task"]), None)
    if dask_r:
        clean_r = by["build --no-cache (local, unsampled)"]
        report["ratios"]["dask_vs_local_time"] = round(dask_r["seconds"] / clean_r["seconds"], 2)
        report["dask_output_identical"] = identical
    return report


def scales(sizes: list[int], workers: int, seed: int, root: Path) -> list[dict]:
    """Peak memory of a cold build at each corpus size."""
    out = []
    for n in sizes:
        corpus, summary = ensure_corpus(root, n, seed, workers)
        work = Path(tempfile.mkdtemp(prefix="bench-", dir=root))
        project = make_project(work / "project")
        try:
            cmd = [sys.executable, "-m", "dataset_tools", "build", "--raw", str(corpus), "--workers", str(workers),
                   "--json", "--out", str(work / "out"), "--no-cache"]
            seconds, peak, stdout = measure(cmd, None, project)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        out.append(row(f"cold build, {n} articles", seconds, peak, n, summary["bytes"]))
        out[-1]["stages"] = json.loads(stdout).get("seconds", {})
        out[-1]["peak_pss_mb_by_process"] = [round(p / 1e6) for p in PEAK_PARTS]
    return out


def compile_package() -> None:
    """Byte-compile the package's modules, as `pip install` does for an installed package.

    An editable install leaves that to the first import, and where PYTHONDONTWRITEBYTECODE is set
    (as on this project's machines) no import ever writes the bytecode: every command would
    compile the package's sources again, about 0.15 s of a core, which no installed copy pays."""
    import compileall

    import dataset_tools

    compileall.compile_dir(str(Path(dataset_tools.__file__).parent), quiet=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200_000, help="articles in the corpus")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--root", type=Path, default=Path("/dev/shm/dataset-tools-bench"), help="where corpora and outputs go")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--scales", help="comma-separated corpus sizes: measure peak memory of a cold build at each")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    compile_package()
    if args.scales:
        rows = scales([int(x) for x in args.scales.split(",")], args.workers, args.seed, args.root)
        print_table(rows)
        for r in rows:
            print(f"{r['task']}: seconds by stage {r['stages']}")
            print(f"{r['task']}: PSS MB by process at the peak (the command first) {r['peak_pss_mb_by_process']}")
        if len(rows) >= 2:
            growth = rows[-1]["peak_pss_mb"] / rows[0]["peak_pss_mb"] - 1
            print(f"\npeak memory (PSS) growth from {rows[0]['task']} to {rows[-1]['task']}: {growth:+.0%}")
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
        return 0
    skip = {name for name, flag in (("dask", args.skip_dask), ("baseline", args.skip_baseline)) if flag}
    report = run(args.n, args.workers, args.seed, args.root, skip)
    print(f"{report['articles']} articles ({report['raw_mb']} MB raw) on {report['machine']}, {report['workers']} workers\n")
    print_table(report["results"])
    print()
    for key, value in report["ratios"].items():
        print(f"{key}: {value}")
    print(f"incremental rebuild: {report['incremental']}")
    if "dask_output_identical" in report:
        print(f"dask output byte-identical to a clean local build: {report['dask_output_identical']}")
    print(f"build counts: {report['build_counts']}")
    for kind, stages in report["stages"].items():
        print(f"{kind} build, seconds by stage: {stages}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
