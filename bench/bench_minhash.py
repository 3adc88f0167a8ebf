"""MinHash libraries compared on the work the build gives them: 64-value signatures of news bodies.

    python bench/generate.py /dev/shm/bench/c20k -n 20000 --seed 3
    python bench/bench_minhash.py /dev/shm/bench/c20k [--docs 10000] [--repeat 3]

The bodies are parsed from a generated corpus once; each library then runs in a process of its
own (so that its peak memory is its own), `--repeat` times, and the fastest run is kept:

- rensa (Rust): `RMinHash.digest_matrix_from_flat_token_hashes` over our 5-gram hashes (one
  flat buffer and offsets), the matrix to numpy;
- datasketch (Python and numpy): `MinHash.bulk` over the same hashes (an identity hash
  function: the values are hashes already);
- gaoya (Rust): `bulk_hash_docs`, its own word 5-gram tokenizer included (it takes text, not
  hashes), so its figure also counts what our C tokenizer does for the others (timed apart as
  `5-gram hashes (ours)`).

Per library: microseconds per body (wall and CPU) and peak RSS of its process (ru_maxrss, the
bodies and the interpreter included: compare it with `baseline`, the same process that only
loads the bodies and hashes their 5-grams).
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

NUM_PERM, SEED = 64, 0x5EED

RUN = r'''
import json, pickle, resource, sys, time
import numpy as np
import pyarrow as pa
from dataset_tools.build.neardup_text import shingles

library, path, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
bodies = pickle.load(open(path, "rb"))
NUM_PERM, SEED = 64, 0x5EED

def ours():
    return shingles(pa.array(bodies))

def rensa_signatures():
    import rensa
    values, offsets = ours()
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(values.astype(np.uint64), offsets.astype(np.uint64), NUM_PERM, SEED)
    return np.array(matrix.to_rows(), np.uint32)

def datasketch_signatures():
    from datasketch import MinHash
    values, offsets = ours()
    sets = [values[offsets[i]:offsets[i + 1]].tolist() for i in range(len(bodies))]
    ms = MinHash.bulk(sets, num_perm=NUM_PERM, seed=SEED, hashfunc=lambda v: v)
    return np.array([m.hashvalues for m in ms])

def gaoya_signatures():
    import gaoya.gaoya as g
    index = g.minhash.MinHash32StringIntIndexVec(0.8, 16, 4, None, "word", True, (5, 5))
    return index.bulk_hash_docs(bodies)

run = {"baseline": ours, "ours": ours, "rensa": rensa_signatures, "datasketch": datasketch_signatures, "gaoya": gaoya_signatures}[library]
best = None
for _ in range(1 if library == "baseline" else repeat):
    wall, cpu = time.perf_counter(), time.process_time()
    out = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    best = (wall, cpu) if best is None or wall < best[0] else best
print(json.dumps({"wall": best[0], "cpu": best[1], "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
'''


def bodies_of(folder: Path, docs: int) -> list[str]:
    from dataset_tools.readers import parse_article
    from dataset_tools.records import Article

    out = []
    for path in sorted(folder.iterdir()):
        record = parse_article(path.read_bytes(), path.name)
        if isinstance(record, Article):
            out.append(record.body)
            if len(out) == docs:
                break
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--libraries", default="baseline,ours,rensa,datasketch,gaoya")
    args = parser.parse_args(argv)
    bodies = bodies_of(args.folder, args.docs)
    with tempfile.NamedTemporaryFile(suffix=".pickle") as handle:
        pickle.dump(bodies, handle)
        handle.flush()
        rows = {}
        for library in args.libraries.split(","):
            done = subprocess.run([sys.executable, "-c", RUN, library, handle.name, str(args.repeat)], capture_output=True, text=True)
            if done.returncode:
                rows[library] = {"error": done.stderr.strip().splitlines()[-1]}
                continue
            got = json.loads(done.stdout)
            rows[library] = {
                "us_per_body_wall": round(got["wall"] / len(bodies) * 1e6, 1),
                "us_per_body_cpu": round(got["cpu"] / len(bodies) * 1e6, 1),
                "peak_rss_mb": round(got["maxrss_kb"] / 1024),
            }
    print(f"{len(bodies)} bodies, {NUM_PERM} values a signature, fastest of {args.repeat} runs each")
    print(f"{'library':<12}{'us/body wall':>14}{'us/body CPU':>13}{'peak RSS MB':>13}")
    for library, row in rows.items():
        if "error" in row:
            print(f"{library:<12}  {row['error']}")
        else:
            print(f"{library:<12}{row['us_per_body_wall']:>14}{row['us_per_body_cpu']:>13}{row['peak_rss_mb']:>13}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
