"""The build report says which rows had a declared language, which a detected one, and which none."""

from __future__ import annotations

import hashlib
import json

from dataset_tools.build import build_dataset
from dataset_tools.report import read_outcomes
from rawfiles import collected_article, write_raw


def test_report_counts_declared_detected_and_unknown_languages(settings, project):
    raw = project / "raw"
    write_raw(raw, "001_aaaa000000000001.txt", collected_article(url="https://news.example.org/a.html"))
    write_raw(raw, "002_aaaa000000000002.txt", collected_article(url="https://news.example.org/b.html", locale=None))
    write_raw(
        raw,
        "003_aaaa000000000003.txt",
        collected_article(url="https://news.example.org/c.html", locale=None, body_lines=("RIVERTON - 42.", "1, 2, 3.")),
    )
    write_raw(raw, "004_aaaa000000000004.txt", collected_article(url="https://news.example.org/d.html", timestamps=("2021-02-30T25:61+0000",)))
    build_dataset(settings, workers=1)
    report = json.loads((project / "dist" / "report.json").read_text())
    assert report["parser_version"] == "collector/1.3"
    assert report["language_sources"] == {"declared": 1, "detected": 1, "unknown": 1}
    by_path = read_outcomes(project / "dist")
    assert [(by_path[p]["language"], by_path[p]["language_source"]) for p in sorted(by_path)[:3]] == [
        ("en", "declared"), ("en", "detected"), ("und", "unknown"),
    ]
    assert by_path["004_aaaa000000000004.txt"] == {
        "path": "004_aaaa000000000004.txt",
        "outcome": "rejected",
        "reason": "invalid-timestamp",
        "detail": "impossible timestamp '2021-02-30T25:61+0000'",
        "size": (raw / "004_aaaa000000000004.txt").stat().st_size,
        "sha256": hashlib.sha256((raw / "004_aaaa000000000004.txt").read_bytes()).hexdigest(),
    }
