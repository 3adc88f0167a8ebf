"""Build a folder of real collected pages and score the dataset against hand-checked fields.

    python bench/eval_reader.py DIR [--gold FILE] [--bad DIR] [--out DIR] [--min PCT]

DIR holds the raw files of a measuring set such as the realpages development set
(`realpages/raw/`); its gold file (`gold.jsonl`, one JSON object per raw file: `file`, `url`,
the twelve fields below and `expect`: row, duplicate or update) and its folder of inputs that
must be rejected (`bad/`) are taken from beside DIR unless named. Every file of DIR and of the
bad folder (but its README.md) goes into one raw folder, which `dataset-tools build --no-cache`
builds with this repository's settings and schema. The script then prints the report's counts,
each field's accuracy, every miss, every problem (a bad input that became a row or is not named
in the report, a report that does not account for every input, a gold row missing) and the
fallback codes the reader recorded, and ends with `fields exact: X/Y (P%)`.

Exit status 0 when there is no problem and at least PCT % of fields are exact (default 0).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dataset_tools.report import read_outcomes  # noqa: E402

FIELDS = ("url", "title", "description", "published_at", "modified_at", "section", "tags", "keywords",
          "image_url", "language", "publisher", "body")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Example: python bench/eval_reader.py ../shared/realpages/raw",
    )
    parser.add_argument("dir", type=Path, help="folder of raw files (the measuring set's raw/)")
    parser.add_argument("--gold", type=Path, help="expected fields, one JSON object a line (default: DIR/../gold.jsonl)")
    parser.add_argument("--bad", type=Path, help="inputs that must be rejected (default: DIR/../bad, when it exists)")
    parser.add_argument("--out", type=Path, help="keep the build here (default: a temporary folder, removed)")
    parser.add_argument("--min", type=float, default=0.0, metavar="PCT", help="exit 1 below this share of exact fields")
    args = parser.parse_args(argv)

    gold_path = args.gold or args.dir.parent / "gold.jsonl"
    bad_dir = args.bad or args.dir.parent / "bad"
    if not args.dir.is_dir():
        parser.error(f"{args.dir} is not a folder")
    if not gold_path.is_file():
        parser.error(f"no gold file at {gold_path} (name one with --gold)")
    raw_files = sorted(p for p in args.dir.iterdir() if p.is_file())
    bad_files = sorted(p for p in bad_dir.iterdir() if p.is_file() and p.name != "README.md") if bad_dir.is_dir() else []
    gold = [json.loads(line) for line in gold_path.read_text(encoding="utf-8").splitlines() if line.strip()]

    work = Path(tempfile.mkdtemp(prefix="eval-reader-")) if args.out is None else args.out
    try:
        dist = build(work, raw_files + bad_files)
        if dist is None:
            return 1
        problems, fields_ok, fields_total = score(dist, gold, [p.name for p in bad_files])
        print_fallbacks(dist)
    finally:
        if args.out is None:
            shutil.rmtree(work, ignore_errors=True)
    share = 100.0 * fields_ok / max(fields_total, 1)
    print(f"fields exact: {fields_ok}/{fields_total} ({share:.1f}%), problems {problems}")
    return 0 if problems == 0 and share >= args.min else 1


def build(work: Path, inputs: list[Path]) -> Path | None:
    """A project folder with this repository's settings, schema and changelog and `inputs` as
    its raw folder, built from scratch; the built folder, or None when the build failed."""
    if work.exists():
        shutil.rmtree(work)
    (work / "raw").mkdir(parents=True)
    for name in ("pyproject.toml", "CHANGELOG.md"):
        shutil.copy2(REPO / name, work / name)
    shutil.copytree(REPO / "schemas", work / "schemas")
    for path in inputs:
        shutil.copy2(path, work / "raw" / path.name)
    command = [sys.executable, "-m", "dataset_tools", "build", "--no-cache", "--project", str(work),
               "--raw", str(work / "raw"), "--out", str(work / "dist"), "--workers", "1"]
    done = subprocess.run(command, cwd=work, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"build failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return None
    return work / "dist"


def score(dist: Path, gold: list[dict], bad_names: list[str]) -> tuple[int, int, int]:
    """Print the report's counts, per-field accuracy, misses and problems; return (problems,
    exact fields, fields)."""
    rows: dict[str, list[dict]] = {}
    for shard in sorted((dist / "data").rglob("*.parquet")):
        for row in pq.read_table(shard).to_pylist():
            rows.setdefault(row["url"], []).append(row)
    expected = {}
    for entry in gold:  # one row per URL: an update replaces the earlier file, a duplicate adds none
        if entry["expect"] in ("row", "update"):
            expected[entry["url"]] = entry

    per_field = {name: [0, 0] for name in FIELDS}
    misses: list[str] = []
    problems: list[str] = []
    for url, entry in expected.items():
        got = rows.get(url, [])
        if len(got) != 1:
            problems.append(f"{entry['file']}: {len(got)} rows for its URL, want 1")
            for name in FIELDS:
                per_field[name][1] += 1
            continue
        for name in FIELDS:
            per_field[name][1] += 1
            value, want = _plain(got[0].get(name), name), _plain(entry.get(name), name)
            if value == want:
                per_field[name][0] += 1
            else:
                misses.append(f"{entry['file']} {name}: {_difference(value, want)}")
    extra = sorted(set(rows) - set(expected))
    if extra:
        problems.append(f"{len(extra)} row(s) whose URL the gold does not expect: {', '.join(extra[:3])}")

    report = json.loads((dist / "report.json").read_text(encoding="utf-8"))
    counts = report.get("counts", {})
    print("report counts:", counts)
    if counts.get("inputs") != len(gold) + len(bad_names):
        problems.append(f"report counts {counts.get('inputs')} inputs, want {len(gold) + len(bad_names)}")
    outcomes = read_outcomes(dist)
    for name in bad_names:
        entry = outcomes.get(name)
        if entry is None or entry.get("outcome") != "rejected" or not entry.get("reason"):
            problems.append(f"bad input {name} is not a reject with a reason: {entry}")
        else:
            print(f"  rejected {name}: {entry['reason']} ({entry.get('detail', '')})")

    for name, (ok, total) in per_field.items():
        print(f"  {name:<13} {ok}/{total}")
    for miss in misses:
        print("  miss:", miss)
    for problem in problems:
        print("  problem:", problem)
    return len(problems), sum(ok for ok, _ in per_field.values()), sum(total for _, total in per_field.values())


def print_fallbacks(dist: Path) -> None:
    """The fields the reader had to guess, page by page, as the build's input listings record them."""
    counts: Counter[str] = Counter()
    for path, entry in read_outcomes(dist).items():
        if entry.get("fallbacks"):
            counts.update(entry["fallbacks"])
            print(f"  fallbacks {path}: {', '.join(entry['fallbacks'])}")
    print("fallbacks:", dict(sorted(counts.items())) or "none")


def _plain(value, name: str):
    """Timestamps as UTC strings, lists as lists, a missing list as []."""
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if name in ("published_at", "modified_at") and isinstance(value, str):
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return stamp.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if name in ("tags", "keywords"):
        return list(value or [])
    return value


def _difference(got, want) -> str:
    """got/want; for two long texts, the stretch around their first difference."""
    if isinstance(got, str) and isinstance(want, str) and max(len(got), len(want)) > 120:
        at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        start = max(0, at - 40)
        return f"differs at character {at}: got {got[start:at + 60]!r} want {want[start:at + 60]!r}"
    return f"got {got!r} want {want!r}"


if __name__ == "__main__":
    sys.exit(main())
