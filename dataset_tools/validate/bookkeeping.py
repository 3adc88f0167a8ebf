"""The folder's bookkeeping: manifest.json (every listed file present, regular, with its
SHA-256), report.json (its counts add up and match the data) and the input listings (one line
per input the report counts), each read as untrusted (bounded size and depth, regular files).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_tools import parquet_limits
from dataset_tools.errors import (
    ParquetTooLarge,
)
from dataset_tools.fileio import sha256_stream
from dataset_tools.layout import CARD_FILES, INPUTS_DIR, INPUTS_GLOB, MANIFEST_FILE, REPORT_FILE
from dataset_tools.schema import TableSchema
from dataset_tools.untrusted import Inventory, open_regular, read_json
from dataset_tools.validate.report import Errors

LISTING_BATCH_ROWS = 8192  # outcomes read at a time from an input listing


def data_files_present(inventory: Inventory) -> set[str]:
    """Every Parquet file in the folder but the input listings, hidden folders (.cache of a Hub
    download) excepted."""
    return {rel for rel in inventory.files
            if rel.endswith(".parquet") and not rel.startswith(INPUTS_DIR + "/")
            and not any(part.startswith(".") for part in rel.split("/"))}


def read_metadata(folder: Path, inventory: Inventory, rel: str, errors: Errors, invalid: str, *,
                   listing: str | None = None) -> dict | None:
    """The JSON object `rel` (see untrusted.read_json), or None with the reason reported as an
    error of type `invalid` (or of the bound it broke). A missing or irregular file gives None
    silently: the manifest and the inventory report those."""
    if rel not in inventory.files:
        return None
    try:
        document = read_json(folder, rel, listing=listing)
        if isinstance(document, dict):
            return document
        errors.add(invalid, f"{rel} cannot be read: not a JSON object", rel)
    except (OSError, ValueError) as exc:  # (a link or FIFO here now: replaced since the inventory)
        errors.unread(rel, exc, invalid, f"{rel} cannot be read")
    return None


def check_report(folder: Path, inventory: Inventory, rows: int, corrupt: bool, errors: Errors) -> dict | None:
    """report.json accounts for every input: its counts add up to the inputs, and its row count
    is the number of rows in the Parquet files. (Only its head is read, not the list of
    rejects.) Returns its counts, or None when they cannot be read."""
    # A build always writes it; manifest.json lists it, so its absence is reported there.
    report = read_metadata(folder, inventory, REPORT_FILE, errors, "report-mismatch", listing="rejected")
    if report is None:
        return None
    try:
        given = report.get("counts") or {}
        counts = {key: int(given[key]) for key in ("inputs", "rows", "duplicates", "superseded", "rejected")}
        counts["near_duplicates"] = int(given.get("near_duplicates", 0))  # (absent before near-duplicates could be dropped)
        inputs, rows_said = counts["inputs"], counts["rows"]
        lost = sum(counts[key] for key in ("duplicates", "superseded", "rejected", "near_duplicates"))
    except (AttributeError, ValueError, KeyError, TypeError) as exc:
        errors.add("report-mismatch", f"report.json has no readable counts: {type(exc).__name__} {exc}", REPORT_FILE)
        return None
    if rows_said + lost != inputs:
        errors.add(
            "report-mismatch",
            f"report.json accounts for {rows_said + lost} of its {inputs} inputs (rows + duplicates + superseded + rejected + near-duplicates)",
            REPORT_FILE,
        )
    if not corrupt and rows_said != rows:
        errors.add("report-mismatch", f"report.json says {rows_said} rows, the Parquet files hold {rows}", REPORT_FILE)
    return counts


def check_inputs(folder: Path, inventory: Inventory, counts: dict, errors: Errors) -> None:
    """The input listings hold one line per input that became a row, a duplicate, a superseded
    version or a near-duplicate left out, as many of each as report.json counts (read as untrusted Parquet: its
    sizes checked before anything is decompressed, one column read)."""
    found: Counter = Counter()
    for rel in inventory.glob(INPUTS_GLOB):
        try:
            with open_regular(folder, rel) as handle:
                parquet_limits.check_footer_size(handle, rel)
                parquet = pq.ParquetFile(handle, pre_buffer=False)
                parquet_limits.check_sizes(handle, parquet.metadata, rel)
                for batch in parquet.iter_batches(batch_size=LISTING_BATCH_ROWS, columns=["outcome"]):
                    if parquet_limits.decoded_bytes(batch) > parquet_limits.MAX_BATCH_BYTES:
                        raise ParquetTooLarge(rel, "a batch of outcomes", parquet_limits.decoded_bytes(batch), parquet_limits.MAX_BATCH_BYTES)
                    found.update(_value_counts(batch.column("outcome")))
        except Exception as exc:  # any reader failure is the file's fault
            errors.unread(rel, exc, "inputs-mismatch", f"{rel} cannot be read as an input listing")
            return
    outcomes = {"row": "rows", "duplicate": "duplicates", "superseded": "superseded", "near-duplicate": "near_duplicates"}
    for outcome, key in outcomes.items():
        if found[outcome] != counts[key]:
            errors.add("inputs-mismatch", f"the input listings name {found[outcome]} input(s) as {outcome}, report.json counts {counts[key]} {key}", INPUTS_DIR)
    others = sum(n for outcome, n in found.items() if outcome not in outcomes)
    if others:
        errors.add("inputs-mismatch", f"the input listings hold {others} line(s) with an unknown outcome", INPUTS_DIR)


def _value_counts(values: pa.Array) -> Counter:
    counts = pc.value_counts(values)
    return Counter(dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist())))


def check_manifest(folder: Path, inventory: Inventory, schema: TableSchema, errors: Errors) -> dict | None:
    """Read manifest.json and check its hashes; None when it is missing or unreadable. Entries
    whose path is not a plain relative path inside the folder are reported and left out of the
    manifest returned, so nothing downstream opens them."""
    if MANIFEST_FILE not in inventory.files:
        if MANIFEST_FILE not in inventory.others:  # a link or FIFO is already reported as such
            errors.add("missing-file", "manifest.json is missing: the files cannot be checked against it", MANIFEST_FILE)
        return None
    # Only its head is read: the list of inputs last in it names raw files, never opened here.
    manifest = read_metadata(folder, inventory, MANIFEST_FILE, errors, "manifest-invalid", listing="inputs")
    if manifest is None:
        return None
    problem = _manifest_problem(manifest)
    if problem:
        errors.add("manifest-invalid", f"manifest.json cannot be read: {problem}", MANIFEST_FILE)
        return None
    built_with = manifest.get("schema")
    recorded = built_with.get("sha256") if isinstance(built_with, dict) else None
    if recorded != schema.sha256:
        errors.add(
            "schema-hash",
            f"the dataset was built with schema sha256 {recorded}, but {schema.path.name} has sha256 {schema.sha256}",
            MANIFEST_FILE,
        )
    for key in ("data_files", "files"):
        safe = []
        for entry in manifest[key]:
            rel = errors.inside(entry["path"], f"manifest.json {key}", MANIFEST_FILE)
            if rel is not None:
                safe.append(dict(entry, path=rel))
        manifest[key] = safe
        for entry in safe:
            _check_listed_file(folder, inventory, entry, errors)
    return manifest


def _manifest_problem(manifest: dict) -> str | None:
    for key in ("data_files", "files"):
        entries = manifest.get(key)
        if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("path"), str) for e in entries):
            return f"'{key}' is not a list of entries with a path"
    return None


def _check_listed_file(folder: Path, inventory: Inventory, entry: dict, errors: Errors) -> None:
    """A file manifest.json lists is a regular file of the folder with the SHA-256 it records."""
    rel = entry["path"]
    if rel not in inventory.files:
        if rel not in inventory.others:  # a link or FIFO is already reported as such
            errors.add("missing-file", f"{rel} is listed in manifest.json but missing", rel)
        return
    if "sha256" not in entry:
        return
    try:
        with open_regular(folder, rel) as handle:
            actual = sha256_stream(handle)
    except OSError as exc:
        errors.unread(rel, exc, "missing-file", f"{rel} is listed in manifest.json but cannot be read")
        return
    if actual != entry["sha256"] and rel in CARD_FILES:
        errors.add(
            "card-edited",
            f"{rel} changed after the build wrote it (edited by hand?): run `dataset-tools card` to render it again; lasting text belongs in card.md",
            rel,
        )
    elif actual != entry["sha256"]:
        errors.add("hash-mismatch", f"{rel} has sha256 {actual}, manifest.json says {entry['sha256']}", rel)


def manifest_repo(manifest: dict | None) -> str | None:
    named = (manifest or {}).get("dataset")
    repo = named.get("repo_id") if isinstance(named, dict) else None
    return repo if isinstance(repo, str) else None
