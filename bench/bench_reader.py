"""Time `parse_article` per file on a generated corpus, apart for declared and detected languages.

Run it from the repository root on a folder written by `bench/generate.py`:

    python bench/generate.py /dev/shm/bench/c2k -n 2000 --seed 3
    PYTHONPATH=. python bench/bench_reader.py /dev/shm/bench/c2k [--passes 5] [--profile]

Every file is read into memory first, and the language model is loaded before timing, so the
figures are the parse alone. Each file is timed on every pass and its fastest pass is kept
(the least disturbed by the rest of the machine); the table gives the mean of those per group:
files whose locale line declares the language, files whose language is detected from the body
(or found unclear), and rejects. `--profile` prints the top of a cProfile run instead.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

from dataset_tools.readers.collector import parse_article
from dataset_tools.records import Article


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary instead")
    args = parser.parse_args(argv)

    files = [(str(p.relative_to(args.folder)), p.read_bytes()) for p in sorted(args.folder.rglob("*.txt"))]
    if not files:
        parser.error(f"no .txt files under {args.folder}")
    groups = {}
    for name, data in files:  # also warms up: the language model loads here
        result = parse_article(data, name)
        groups[name] = result.language_source if isinstance(result, Article) else "reject"

    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for name, data in files:
            parse_article(data, name)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        return 0

    best = {name: float("inf") for name, _ in files}
    clock = time.perf_counter_ns
    for _ in range(args.passes):
        for name, data in files:
            start = clock()
            parse_article(data, name)
            elapsed = clock() - start
            if elapsed < best[name]:
                best[name] = elapsed
    print(f"{'group':<10} {'files':>6} {'µs/file':>9}")
    for group in ("declared", "detected", "unknown", "reject"):
        times = [best[name] for name, g in groups.items() if g == group]
        if times:
            print(f"{group:<10} {len(times):>6} {sum(times) / len(times) / 1000:>9.1f}")
    total = sum(best.values()) / len(best) / 1000
    print(f"{'all':<10} {len(best):>6} {total:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
