"""The card step: README.md, croissant.json, datapackage.json and the plot of a build folder.

Everything is computed at render time from the Parquet files in the folder (read column-wise
in batches), report.json's summary, the schema, the settings, CHANGELOG.md and the project's
card text (`texts`: its statements on collection, biases, limitations...), so the card
cannot go stale, and `dataset-tools card` re-renders it for an existing build. The output
depends on nothing else (no clock, no absolute path), so the same folder gives the same bytes.

One module per file written: `readme` (the card, from `templates/dataset_card.md`),
`croissant`, `datapackage`, `plot`; `stats` counts what they report. A new card section is a
block of the template plus the values `readme.render_card` gives it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from dataset_tools.card.changelog import changelog_entry
from dataset_tools.card.croissant import croissant_metadata
from dataset_tools.card.datapackage import datapackage_descriptor
from dataset_tools.card.plot import articles_per_month_png
from dataset_tools.card.readme import CardInputs, citation_text, render_card
from dataset_tools.card.stats import collect_stats, first_row
from dataset_tools.card.texts import load_card_text
from dataset_tools.config import Settings
from dataset_tools.errors import InputNotFound
from dataset_tools.fileio import json_bytes, sha256_file, write_json
from dataset_tools.layout import CARD_FILE, CARD_FILES, CROISSANT_FILE, DATAPACKAGE_FILE, MANIFEST_FILE, PLOT_FILE, REPORT_FILE
from dataset_tools.report import ReportSummary, read_report_summary
from dataset_tools.schema import TableSchema

__all__ = ["CARD_FILES", "REPO_FILES", "refresh_card", "render_repo_files", "write_card_files"]

# The card files that name the Hub repo the dataset is published to.
REPO_FILES = (CARD_FILE, CROISSANT_FILE)


def write_card_files(
    folder: Path,
    settings: Settings,
    schema: TableSchema,
    version: str,
    *,
    cache: Path | None = None,
    shard_hashes: dict[str, str] | None = None,
    report: ReportSummary | None = None,
    digests: dict[str, dict] | None = None,
) -> list[str]:
    """Write README.md, croissant.json, datapackage.json and the plot into a build folder.

    Called by the build after the Parquet shards and report.json are written, before
    manifest.json (which lists the files written here).

    With `cache` (the build's card cache folder), per-shard statistics, the first row and the
    plot are reused for shards whose bytes (`shard_hashes`, {relative path: sha256}) did not
    change. `report` is report.json's summary (read from the folder when not given).
    `digests`, if given, gets each written file's {"sha256", "bytes"} (manifest.json lists them).

    Returns:
        The paths written, relative to the folder ('/'-separated), in `CARD_FILES` order.
    """
    folder = Path(folder)
    inputs = gather_inputs(folder, settings, version, cache=cache, shard_hashes=shard_hashes, report=report)
    outputs = {
        **_repo_files(folder, settings, schema, version, inputs, cache=cache, shard_hashes=shard_hashes),
        DATAPACKAGE_FILE: json_bytes(datapackage_descriptor(folder, settings, schema, version, inputs.stats)),
        PLOT_FILE: articles_per_month_png(inputs.stats.months, cache=cache),
    }
    outputs = {rel: outputs[rel] for rel in CARD_FILES}
    for rel, data in outputs.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if digests is not None:
            digests[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return list(CARD_FILES)


def _repo_files(folder: Path, settings: Settings, schema: TableSchema, version: str, inputs: CardInputs, *,
                cache: Path | None = None, shard_hashes: dict[str, str] | None = None) -> dict[str, bytes]:
    """README.md and croissant.json: the card files that name the Hub repo (`settings.repo_id`)."""
    citation = citation_text(settings, version, inputs.release_date)
    return {
        CARD_FILE: render_card(settings, schema, version, inputs, citation, cache=cache).encode("utf-8"),
        CROISSANT_FILE: json_bytes(
            croissant_metadata(
                folder, settings, schema, version, inputs.stats,
                release_date=inputs.release_date, citation=citation, text=inputs.text, hashes=shard_hashes,
            )
        ),
    }


def render_repo_files(
    folder: Path, settings: Settings, schema: TableSchema, version: str, repo_ids: list[str], *,
    shard_hashes: dict[str, str] | None = None,
) -> dict[str, dict[str, bytes]]:
    """The card files that name the Hub repo (README.md: its load line and citation;
    croissant.json: its url, creator and citeAs; see `REPO_FILES`), as `write_card_files` would
    write them for a build published to each of `repo_ids`; nothing is written.

    Returns:
        {repo id: {relative path: bytes}}.
    """
    folder = Path(folder)
    inputs = gather_inputs(folder, settings, version, shard_hashes=shard_hashes)
    return {repo_id: _repo_files(folder, replace(settings, repo_id=repo_id), schema, version, inputs, shard_hashes=shard_hashes)
            for repo_id in repo_ids}


def refresh_card(folder: Path, settings: Settings, schema: TableSchema) -> tuple[str, list[str]]:
    """Re-render the card files of an existing build and update their entries in manifest.json,
    and its `dataset` (the name and repo the card now names).

    The version is the one the build stamped into manifest.json, so the card keeps describing
    the data in the folder even after CHANGELOG.md has moved on.

    Returns:
        The version and the paths written.

    Raises:
        InputNotFound: the folder is not a build (no manifest.json, report.json or shards).
    """
    folder = Path(folder)
    manifest_path = folder / MANIFEST_FILE
    for required in (manifest_path, folder / REPORT_FILE):
        if not required.is_file():
            raise InputNotFound(
                f"{folder} is not a built dataset folder: {required.name} is missing",
                path=folder,
                hint="Run `dataset-tools build` first, or pass the build folder.",
            )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    version = manifest.get("dataset_version") or settings.version
    written = write_card_files(folder, settings, schema, version)
    entries = {entry["path"]: entry for entry in manifest.get("files", []) if (folder / entry["path"]).is_file()}
    for rel in written:
        entries[rel] = {"path": rel, "sha256": sha256_file(folder / rel), "bytes": (folder / rel).stat().st_size}
    manifest["files"] = [entries[rel] for rel in sorted(entries)]
    write_json(manifest_path, _naming(manifest, {"name": settings.name, "repo_id": settings.repo_id}))
    return version, written


def _naming(manifest: dict, dataset: dict) -> dict:
    """`manifest` whose `dataset` is `dataset` (the card names its repo), placed after
    `dataset_version` as the build places it."""
    out: dict = {}
    for key, value in manifest.items():
        if key == "dataset":
            continue
        out[key] = value
        if key == "dataset_version":
            out["dataset"] = dataset
    out.setdefault("dataset", dataset)
    return out


def gather_inputs(
    folder: Path,
    settings: Settings,
    version: str,
    *,
    cache: Path | None = None,
    shard_hashes: dict[str, str] | None = None,
    report: ReportSummary | None = None,
) -> CardInputs:
    """Read the statistics, report.json's summary, the example row, the changelog entry and the
    project's card text."""
    if report is None:  # the build passes its summary; otherwise report.json's head is read
        report_path = Path(folder) / REPORT_FILE
        report = read_report_summary(report_path) if report_path.is_file() else ReportSummary("", "")
    entry = changelog_entry(settings.changelog, version)
    return CardInputs(
        stats=collect_stats(folder, cache=cache, hashes=shard_hashes),
        report=report,
        example=first_row(folder, cache=cache, hashes=shard_hashes),
        release_date=entry.date if entry else None,
        changes=entry.text if entry else None,
        text=load_card_text(settings.card_text),
    )
