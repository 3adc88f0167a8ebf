"""Benchmark of `dataset-tools build` beside its baselines, measured in one run on one corpus.

    python bench/bench_build.py -n 200000 --workers 2            # the issue's benchmark (3 rounds)
    python bench/bench_build.py -n 20000 --skip-dask --rounds 1  # a quick look
    python bench/bench_build.py --scales 100000,1000000          # peak memory as the corpus grows

It generates (or reuses) a synthetic corpus in the collector layout with bench/generate.py, then
runs each measurement as its own process tree:

- build (cold): `dataset-tools build` with an empty cache;
- build (incremental): the same, after `generate.touch_one` edited one file;
- datasets baseline: `datasets.Dataset.from_generator(<our reader>, num_proc=W)` + `to_parquet`;
- I/O floor: read every file and write the same text to zstd Parquet, without parsing;
- build --engine dask: a LocalCluster of W workers; its output must equal the bytes of a clean
  local build (`--no-cache`), and its time is compared with that build's.

Times and memory come from separate runs. Every timed run is left alone; peak memory is taken
from runs of the same commands (in the first round) whose process tree is sampled from /proc
every 100 ms. The sampler reads /proc/<pid>/smaps_rollup, which holds each process's memory-map
lock: it slowed the I/O floor by about 12% and the build by about 2% (the floor's workers map and
unmap memory all the time), and with a dask cluster's extra processes it cost dask 3-5 s.

Every measurement runs `--rounds` times (3 by default), in rounds; the table shows each task's
median round, and each target's ratio is the median of the ratios within a round (this
machine's speed drifts by 10-20% over minutes: a ratio of two runs minutes apart moves with it).
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


def cached_corpus(root: Path, name: str, what: str, make) -> tuple[Path, dict]:
    """The corpus `root/name` and its summary `root/name.json`: made once by `make(folder)`
    (which returns the summary), then reused."""
    corpus = root / name
    summary_file = root / f"{name}.json"
    if corpus.is_dir() and summary_file.exists():
        return corpus, json.loads(summary_file.read_text())
    shutil.rmtree(corpus, ignore_errors=True)
    print(f"generating {what} into {corpus} ...", file=sys.stderr, flush=True)
    summary = make(str(corpus))
    summary_file.write_text(json.dumps(summary))
    return corpus, summary


def ensure_corpus(root: Path, n: int, seed: int, workers: int) -> tuple[Path, dict]:
    return cached_corpus(root, f"corpus-{n}-seed{seed}", f"{n} articles", lambda folder: generate.generate_corpus(folder, n, seed=seed, workers=workers))


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


COLD = "dataset-tools build (cold cache)"
INCREMENTAL = "dataset-tools build (incremental)"
FLOOR = "I/O floor (read + write Parquet)"
CLEAN = "build --no-cache (local)"


def run(n: int, workers: int, seed: int, root: Path, skip: set[str], rounds: int = 1) -> dict:
    """Every measurement `rounds` times, in rounds (each round runs them all, in the same order).
    A task's row is its median round, with the peak memory of its sampled run, and each ratio is
    the median of the ratios within a round: this machine's speed drifts by 10-20% over
    minutes, which moves measurements taken minutes apart, not two taken seconds apart."""
    corpus, summary = ensure_corpus(root, n, seed, workers)
    raw_bytes = summary["bytes"]
    measured = [_round(corpus, n, workers, seed, root, skip, memory=i == 0) for i in range(rounds)]
    first = measured[0]
    results = []
    shown = [COLD, INCREMENTAL]  # first in the table, the rest as run
    for task in sorted(first["seconds"], key=lambda t: shown.index(t) if t in shown else len(shown)):
        seconds = sorted(m["seconds"][task] for m in measured)
        peak = first["peaks"].get(task, (0, 0))
        results.append({**row(task, seconds[len(seconds) // 2], peak, n, raw_bytes), "all_seconds": [round(m["seconds"][task], 2) for m in measured]})
    ratios: dict[str, list[float]] = {}
    for m in measured:
        for key, value in _ratios(m["seconds"]).items():
            ratios.setdefault(key, []).append(value)
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "articles": n,
        "workers": workers,
        "raw_mb": round(raw_bytes / 1e6),
        "rounds": rounds,
        "results": results,
        "build_counts": first["build_counts"],
        "stages": [m["stages"] for m in measured],
        "incremental": [m["incremental"] for m in measured],
        "ratios": {key: {"median": sorted(values)[len(values) // 2], "rounds": values} for key, values in ratios.items()},
    }
    if any("dask_output_identical" in m for m in measured):
        report["dask_output_identical"] = all(m.get("dask_output_identical") for m in measured)
    return report


def _round(corpus: Path, n: int, workers: int, seed: int, root: Path, skip: set[str], memory: bool = False) -> dict:
    """One round of measurements, in a scratch folder of its own (removed at its end). With
    `memory`, the baseline, the I/O floor and the cold and incremental builds are run once more
    each with the memory sampler, for their peaks."""
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=root))
    project = make_project(work / "project")
    env = {**os.environ, "HF_DATASETS_CACHE": str(work / "hf-cache"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    build = [sys.executable, "-m", "dataset_tools", "build", "--raw", str(corpus), "--workers", str(workers), "--json"]
    baseline = f"datasets from_generator(num_proc={workers})"
    seconds: dict[str, float] = {}
    peaks: dict[str, tuple[int, int]] = {}

    def timed(task: str, cmd: list[str], cwd: Path | None = None) -> str:
        seconds[task], _, out = measure(cmd, env, cwd, sample=False)
        return out

    def sampled(task: str, cmd: list[str], cwd: Path | None = None) -> str:
        _, peaks[task], out = measure(cmd, env, cwd, sample=True)
        return out

    commands = {
        baseline: [sys.executable, "-c", BASELINE, str(corpus), str(work / "baseline.parquet"), str(workers), str(project / "schemas" / "article.schema.json")],
        FLOOR: [sys.executable, "-c", IO_FLOOR, str(corpus), str(work / "floor"), str(workers)],
    }
    result: dict = {"seconds": seconds, "peaks": peaks}
    try:
        # The cold build runs right after its two baselines, the machine's speed changing little
        # from one to the next; then the rebuild, then the clean build and dask, side by side.
        if "baseline" not in skip:
            timed(baseline, commands[baseline])
        timed(FLOOR, commands[FLOOR])
        cold = json.loads(timed(COLD, [*build, "--out", str(work / "cold"), "--cache", str(work / "cache")], project))
        changed = generate.touch_one(str(corpus), seed + int(time.time()))
        incremental = json.loads(timed(INCREMENTAL, [*build, "--out", str(work / "cold"), "--cache", str(work / "cache")], project))
        if memory:
            for task in (baseline, FLOOR):
                if task in seconds:
                    shutil.rmtree(work / "floor", ignore_errors=True)
                    sampled(task, commands[task])
            sampled(COLD, [*build, "--out", str(work / "cold-sampled"), "--cache", str(work / "cache-sampled")], project)
            generate.touch_one(str(corpus), seed + int(time.time()) + 1)
            sampled(INCREMENTAL, [*build, "--out", str(work / "cold-sampled"), "--cache", str(work / "cache-sampled")], project)
        if "dask" not in skip:
            timed(CLEAN, [*build, "--out", str(work / "clean"), "--no-cache"], project)
            timed(f"build --engine dask ({workers} workers)", [*build, "--out", str(work / "dask"), "--no-cache", "--engine", "dask"], project)
            result["dask_output_identical"] = folder_digest(work / "dask") == folder_digest(work / "clean")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["build_counts"] = {k: cold[k] for k in ("inputs", "rows", "duplicates", "superseded", "rejected")}
    result["stages"] = {"cold": cold.get("seconds", {}), "incremental": incremental.get("seconds", {})}
    result["incremental"] = {"changed_file": changed, "parsed": incremental["parsed"], "shards_written": incremental["shards_written"]}
    return result


def _ratios(seconds: dict[str, float]) -> dict[str, float]:
    """The targets' ratios, from one round's seconds."""
    ratios = {
        "build_vs_io_floor_time": round(seconds[COLD] / seconds[FLOOR], 2),
        "incremental_vs_cold_time": round(seconds[INCREMENTAL] / seconds[COLD], 3),
    }
    baseline = next((task for task in seconds if task.startswith("datasets")), None)
    if baseline:
        ratios["build_vs_datasets_speed"] = round(seconds[baseline] / seconds[COLD], 2)
    dask = next((task for task in seconds if "dask" in task), None)
    if dask:
        ratios["dask_vs_local_time"] = round(seconds[dask] / seconds[CLEAN], 2)
    return ratios


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
    parser.add_argument("--rounds", type=int, default=3, help="run every measurement this many times, in rounds; report medians")
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
    report = run(args.n, args.workers, args.seed, args.root, skip, args.rounds)
    print(f"{report['articles']} articles ({report['raw_mb']} MB raw) on {report['machine']}, {report['workers']} workers, {report['rounds']} rounds\n")
    print_table(report["results"])
    print()
    print("seconds in each round:")
    for r in report["results"]:
        print(f"  {r['task']}: {r['all_seconds']}")
    print("\nratios (median of the rounds' ratios; each round's):")
    for key, value in report["ratios"].items():
        print(f"  {key}: {value['median']}  {value['rounds']}")
    print(f"incremental rebuilds: {report['incremental']}")
    if "dask_output_identical" in report:
        print(f"dask output byte-identical to a clean local build in every round: {report['dask_output_identical']}")
    print(f"build counts: {report['build_counts']}")
    for i, stages in enumerate(report["stages"], 1):
        for kind, values in stages.items():
            print(f"round {i}, {kind} build, seconds by stage: {values}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
