"""Near-duplicates: how well planted copies are linked, and what linking costs a build.

    python bench/bench_neardup.py --quality -n 20000                 # precision and recall only
    python bench/bench_neardup.py -n 200000 --workers 2 --rounds 2   # the issue's benchmark

On a corpus from `generate_neardup.py` (generate.py's articles, copies with another dateline,
a sentence reworded, a paragraph more or less, and hard negatives sharing a lead and a
paragraph), it measures:

- quality: of the rows a build links (`near_duplicate_of` set), the share linked to their
  planted original (precision); of the planted copies, the share linked to it (recall); and
  whether any hard negative is linked to its original;
- cost: `dataset-tools build` cold with `near_duplicates = "mark"` against `"off"` on the same
  corpus, alternating in each round (this machine's speed drifts; only a ratio within a round
  compares); peak memory (PSS of the process tree) of a cold `mark` build, sampled in a run of
  its own; and a rebuild after 1% more articles (copies of kept rows among them): the rebuild's
  near-duplicate cost (its time against the same rebuild with `"off"`, and its
  `near-duplicates` stage) against the cold build's.

Every build is a separate `dataset-tools` process, as `bench_build.py` runs them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench import generate_neardup  # noqa: E402
from bench.bench_build import cached_corpus, compile_package, make_project, measure  # noqa: E402


def corpus(root: Path, n: int, seed: int, workers: int) -> tuple[Path, dict]:
    """The planted corpus of n base articles and its truth (made once, then reused)."""
    return cached_corpus(
        root, f"neardup-{n}-seed{seed}", f"{n} articles with planted copies",
        lambda folder: generate_neardup.plant(folder, n, seed, 0.04, 0.04, workers),
    )


def project(folder: Path, mode: str) -> Path:
    """A project whose settings say `near_duplicates = mode`."""
    make_project(folder)
    text = (folder / "pyproject.toml").read_text()
    text = re.sub(r"(?m)^near_duplicates = .*\n", "", text)
    (folder / "pyproject.toml").write_text(re.sub(r"(?m)^shard_rows = \d+$", lambda m: m.group(0) + f'\nnear_duplicates = "{mode}"', text))
    return folder


def quality(out: Path, truth: dict) -> dict:
    """Precision and recall of the links in the build `out` against the truth."""
    import pyarrow.parquet as pq

    from dataset_tools.layout import DATA_GLOB, input_listings

    report = json.loads((out / "report.json").read_text())
    listings = pq.read_table(input_listings(out), columns=["path", "outcome", "id"]).to_pylist()
    id_of = {item["path"]: item["id"] for item in listings if item["outcome"] == "row"}
    table = pq.read_table(sorted(out.glob(DATA_GLOB)), columns=["id", "near_duplicate_of"])
    links = {i: t for i, t in zip(table.column("id").to_pylist(), table.column("near_duplicate_of").to_pylist()) if t}
    expected = {id_of[copy]: id_of[original] for copy, original in truth["copies"].items()}
    correct = sum(1 for row, target in links.items() if expected.get(row) == target)
    negatives = sum(1 for neg, original in truth["negatives"].items() if links.get(id_of[neg]) == id_of[original])
    copies = sorted(truth["similarity"][c] for c in truth["copies"])
    negatives_similarity = sorted(truth["similarity"][c] for c in truth["negatives"])
    return {
        "copy_similarity": {"min": copies[0], "median": copies[len(copies) // 2], "below_0.85": sum(v < 0.85 for v in copies)} if copies else {},
        "negative_similarity": {"max": negatives_similarity[-1], "median": negatives_similarity[len(negatives_similarity) // 2]} if negatives_similarity else {},
        "planted_copies": len(expected),
        "hard_negatives": len(truth["negatives"]),
        "links": len(links),
        "correct": correct,
        "precision": round(correct / len(links), 4) if links else 1.0,
        "recall": round(correct / len(expected), 4) if expected else 1.0,
        "negatives_linked": negatives,
        "report": {k: report["near_duplicates"][k] for k in ("groups", "rows")},
    }


def build(project_dir: Path, raw: Path, out: Path, cache: Path, workers: int, *, sample: bool = False) -> tuple[float, tuple[int, int], dict]:
    """Run one build; (wall seconds, peak (RSS, PSS), its --json summary with `cpu_seconds`,
    the CPU time of its process tree: on a machine shared with other work, wall time moves
    with their load, CPU time much less)."""
    cmd = [sys.executable, "-m", "dataset_tools", "build", "--raw", str(raw), "--out", str(out), "--cache", str(cache), "--workers", str(workers), "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds, peak, stdout = measure(cmd, {**os.environ, "HF_HUB_OFFLINE": "1"}, project_dir, sample=sample)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = json.loads(stdout)
    summary["cpu_seconds"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2)
    return seconds, peak, summary


def cost(root: Path, raw: Path, n: int, seed: int, workers: int, rounds: int) -> dict:
    """Cold builds with and without near-duplicates, alternating; memory; the 1% rebuild."""
    work = Path(tempfile.mkdtemp(prefix="bench-neardup-", dir=root))
    added: list[str] = []
    try:
        projects = {mode: project(work / mode, mode) for mode in ("off", "mark")}
        rows: list[dict] = []
        for r in range(rounds):
            cold = {}
            for mode in ("off", "mark") if r % 2 == 0 else ("mark", "off"):
                shutil.rmtree(work / f"out-{mode}", ignore_errors=True)
                shutil.rmtree(work / f"cache-{mode}", ignore_errors=True)
                seconds, _, summary = build(projects[mode], raw, work / f"out-{mode}", work / f"cache-{mode}", workers)
                cold[mode] = (seconds, summary["seconds"], summary["cpu_seconds"])
            rows.append({"round": r + 1, "off": round(cold["off"][0], 2), "mark": round(cold["mark"][0], 2),
                         "ratio": round(cold["mark"][0] / cold["off"][0], 3),
                         "cpu": {m: cold[m][2] for m in ("off", "mark")}, "cpu_ratio": round(cold["mark"][2] / cold["off"][2], 3),
                         "stages": {m: cold[m][1] for m in cold}})
        # Memory of a cold mark build, in a run of its own (the sampler slows what it samples).
        _, peak, _ = build(projects["mark"], raw, work / "out-sampled", work / "cache-sampled", workers, sample=True)
        shutil.rmtree(work / "out-sampled", ignore_errors=True)
        shutil.rmtree(work / "cache-sampled", ignore_errors=True)
        # 1% more articles (2% of them with copies of their own), then each mode's last cold
        # build rebuilt; the added files are removed afterwards, so the corpus can be reused.
        plants = generate_neardup.plant(str(raw), n // 100, seed + 1, 0.02, 0.0, first=n)
        added = plants["added"]
        again = {}
        for mode in ("off", "mark"):
            seconds, _, summary = build(projects[mode], raw, work / f"out-{mode}", work / f"cache-{mode}", workers)
            again[mode] = (seconds, summary["seconds"], summary["parsed"], summary["cpu_seconds"])
    finally:
        for name in added:
            (raw / name).unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    ratios = sorted(r["ratio"] for r in rows)
    cpu_ratios = sorted(r["cpu_ratio"] for r in rows)
    # The cold build's near-duplicate cost: the median over the rounds of mark's extra time
    # (one round's difference of two noisy builds can be anything near zero).
    cold_extra = sorted(r["mark"] - r["off"] for r in rows)[len(rows) // 2]
    cold_extra_cpu = sorted(r["cpu"]["mark"] - r["cpu"]["off"] for r in rows)[len(rows) // 2]
    rebuild_extra = again["mark"][0] - again["off"][0]
    return {
        "rounds": rows,
        "median_ratio": ratios[len(ratios) // 2],
        "median_cpu_ratio": cpu_ratios[len(cpu_ratios) // 2],
        "peak_rss_mb": round(peak[0] / 1e6),
        "peak_pss_mb": round(peak[1] / 1e6),
        "rebuild": {
            "added_files": len(added),
            "added_copies": len(plants["copies"]),
            "parsed": again["mark"][2],
            "seconds": {"off": round(again["off"][0], 2), "mark": round(again["mark"][0], 2)},
            "cpu": {"off": again["off"][3], "mark": again["mark"][3]},
            "cpu_share_of_cold": round((again["mark"][3] - again["off"][3]) / cold_extra_cpu, 3) if cold_extra_cpu > 0 else None,
            "stages": {m: again[m][1] for m in again},
            "near_duplicate_seconds": round(rebuild_extra, 2),
            "cold_near_duplicate_seconds": round(cold_extra, 2),
            "share_of_cold": round(rebuild_extra / cold_extra, 3) if cold_extra > 0 else None,
            "stage_share_of_cold": round(again["mark"][1]["near-duplicates"] / cold["mark"][1]["near-duplicates"], 3),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200_000, help="base articles in the corpus (copies and negatives come on top)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--root", type=Path, default=Path("/dev/shm/dataset-tools-bench"))
    parser.add_argument("--quality", action="store_true", help="only build once and measure precision and recall")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    compile_package()
    raw, truth = corpus(args.root, args.n, args.seed, args.workers)
    work = Path(tempfile.mkdtemp(prefix="bench-neardup-q-", dir=args.root))
    try:
        seconds, _, summary = build(project(work / "project", "mark"), raw, work / "out", work / "cache", args.workers)
        result: dict = {"articles": summary["inputs"], "quality": quality(work / "out", truth), "seconds": round(seconds, 2)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if not args.quality:
        result["cost"] = cost(args.root, raw, args.n, args.seed, args.workers, args.rounds)
        print(json.dumps(result["cost"], indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
