"""A built folder or a Hub revision -> `Report`: every kind of schema drift, as data.

`validate_dataset(folder, schema)` checks a dataset folder as a user would load it:

- each Parquet file's Arrow schema against the table schema (names, order, types,
  nullability, the `huggingface` features metadata) and every shard against the others;
- the table constraints of the schema (`schema.check_batch`, column-wise with pyarrow compute
  over record batches) and `id` unique across all shards;
- `manifest.json`: the schema hash it was built with, every listed file present with its
  SHA-256 and row count, no Parquet file that it does not list;
- `report.json`: its counts account for every input, and its row count is the data's;
- the card (`README.md`): YAML parsed by `huggingface_hub`, required metadata, features,
  split sizes and languages against the data, `configs` paths matching files;
- `croissant.json` (mlcroissant's own validation) and `datapackage.json` (frictionless)
  when present.

The folder is untrusted (see untrusted.py): every entry is listed by lstat first, and only
regular files inside it are opened, never through a link; a path named in its files must be
relative and stay inside; nothing is fetched (no Data Package profile, no JSON-LD context: the
only network access is the Hub download of a revision); JSON is read with bounded size and
depth; a Parquet file's row groups and pages are sized from its footer and page headers before
anything is decompressed (see parquet_limits.py). Each of these is an error entry.

A broken dataset never raises: a corrupt file is an error entry. Memory is bounded by a few
row groups plus 15 bytes per row for the uniqueness check (ids kept as uint64 in numpy).
`validate_target(target, settings)` accepts a folder or `namespace/name[@revision]` on the
Hub (downloaded with `huggingface_hub.snapshot_download`, which honours HF_ENDPOINT and
HF_TOKEN) and runs the same checks on the downloaded files.

Row numbers in errors are 0-based row indices within the named Parquet file.
"""


from __future__ import annotations

from pathlib import Path

from dataset_tools.errors import InputNotFound, NotRegularFile
from dataset_tools.layout import DATA_DIR
from dataset_tools.schema import TableSchema
from dataset_tools.untrusted import Inventory
from dataset_tools.validate.bookkeeping import check_inputs, check_manifest, check_report, data_files_present, manifest_repo
from dataset_tools.validate.card import check_card, check_croissant, check_datapackage, check_repo_names
from dataset_tools.validate.data import Scan
from dataset_tools.validate.report import ERROR_TYPES, Errors, Report, ValidationError

__all__ = ["ERROR_TYPES", "Report", "ValidationError", "validate_dataset", "validate_target"]


# -- targets ---------------------------------------------------------------------------------


def validate_target(target: str | Path, schema: TableSchema) -> Report:
    """Validate a local folder, or a Hub revision (`namespace/name[@revision]`) after
    downloading it to a temporary folder (see sources.py).

    Raises:
        InputNotFound: the folder, repository or revision does not exist (a usage error).
        HubDownloadFailed: the Hub could not be reached or the download failed.
    """
    from dataset_tools.sources import open_dataset, parse_location

    with open_dataset(target) as folder:
        return validate_dataset(folder, schema, source=str(target), repo_id=parse_location(str(target)).repo_id)


# -- the checks ------------------------------------------------------------------------------


def validate_dataset(folder: Path, schema: TableSchema, *, source: str | None = None, repo_id: str | None = None) -> Report:
    """Check a built dataset folder against the table schema, its manifest and its card.

    Args:
        folder: the dataset folder (as `build` writes it, or a downloaded Hub revision).
        schema: the table schema to validate against (the project's `schemas/`).
        source: how to name the dataset in the report (default: the folder).
        repo_id: the Hub repo the dataset is published as, which its card files must name
            (default: the repo manifest.json names, when it names one).

    Returns:
        A report; `report.valid` is False when any error was found. Never raises on a broken
        dataset.

    Raises:
        InputNotFound: `folder` does not exist.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputNotFound(f"dataset folder {folder} does not exist", hint="Run `dataset-tools build` first, or pass the folder.")
    errors = Errors()
    inventory = Inventory.of(folder)
    for rel, kind in sorted(inventory.others.items()):
        errors.add("not-regular-file", str(NotRegularFile(rel, kind)), rel)
    manifest = check_manifest(folder, inventory, schema, errors)
    parquet = data_files_present(inventory)
    listed = [entry["path"] for entry in manifest["data_files"]] if manifest else []
    for rel in sorted(parquet | {p for p in inventory.files if p.startswith(DATA_DIR + "/")}):
        if manifest is not None and rel not in listed:
            errors.add("unlisted-file", f"{rel} is a data file that manifest.json does not list", rel)

    scan = Scan(schema, errors)
    for rel in sorted(parquet | {p for p in listed if p in inventory.files}):
        scan.check_file(folder, rel)
    scan.check_shards()
    scan.check_unique()
    scan.check_link_targets()
    if manifest is not None:
        for entry in manifest["data_files"]:
            rows = scan.rows_by_file.get(entry["path"])
            if rows is not None and "rows" in entry and rows != entry["rows"]:
                errors.add("row-count-mismatch", f"{entry['path']} has {rows} rows, manifest.json says {entry['rows']}", entry["path"])
    counts = check_report(folder, inventory, sum(scan.rows_by_file.values()), bool(scan.corrupt), errors)
    if counts is not None:
        check_inputs(folder, inventory, counts, errors)
    check_card(folder, inventory, schema, scan, manifest, errors)
    check_croissant(folder, inventory, errors)
    check_datapackage(folder, inventory, schema, errors)
    check_repo_names(folder, inventory, repo_id or manifest_repo(manifest), errors)
    listed_errors = errors.finish()
    stats = {"files": len(scan.rows_by_file) + len(scan.corrupt), "rows": sum(scan.rows_by_file.values()), "errors": errors.total}
    return Report(source or str(folder), not listed_errors, stats, listed_errors)
