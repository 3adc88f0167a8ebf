"""The build's output for a fixed generated corpus, byte for byte: a change that is meant to
leave the output alone (a restructuring, a speed-up) must leave every file's SHA-256 as the
golden file has it. A change that is meant to change the output refreshes the golden file with
`pytest --update-golden` and says why in its commit.

The Parquet bytes name the pyarrow that wrote them and the plot is drawn by matplotlib, so the
golden file records both versions; with other versions the comparison cannot hold and the test
says so (skipped) until the golden file is refreshed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from importlib.metadata import version
from pathlib import Path

import pytest

from bench import generate
from dataset_tools.build import build_dataset

GOLDEN = Path(__file__).parent / "golden" / "build" / "digests.json"


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_fixed_corpus_builds_to_the_golden_bytes(settings, project, tmp_path, update_golden):
    generate.generate_corpus(str(project / "raw"), 600, seed=11, junk_rate=0.05, dup_rate=0.05, update_rate=0.05, workers=1)
    settings = dataclasses.replace(settings, shard_rows=150)
    build_dataset(settings, workers=2, use_cache=False)
    got = {"versions": {"pyarrow": version("pyarrow"), "matplotlib": version("matplotlib")}, "files": _digests(settings.out)}
    if update_golden:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=2) + "\n")
    golden = json.loads(GOLDEN.read_text())
    if golden["versions"] != got["versions"]:
        pytest.skip(f"the golden bytes were made with {golden['versions']}, this is {got['versions']}: run pytest --update-golden")
    assert got["files"] == golden["files"]
    assert len([name for name in got["files"] if name.startswith("data/")]) > 1  # several shards
