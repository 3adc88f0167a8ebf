"""Two built datasets -> what changed: added, removed and updated articles, and schema changes.

Rows are matched by `id`. An article is *updated* when a content field differs; the provenance
fields (`source_file`, `source_sha256`, `parser_version`) say where a row came from, not what
it says, so a change in them alone is counted separately as `reparsed`, not as an update.

Memory stays small: a first pass keeps one 64-bit id and one 64-bit content digest per row
(numpy arrays, 16 bytes a row per side); a second pass reads back only the changed rows to name
the fields that differ.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_tools.errors import InputNotFound
from dataset_tools.layout import DATA_DIR, release_data_files

PROVENANCE = ("source_file", "source_sha256", "parser_version")


@dataclass
class DatasetDiff:
    """The difference between an old and a new dataset."""

    old: str
    new: str
    old_rows: int
    new_rows: int
    added: list[dict] = field(default_factory=list)  # {id, url}
    removed: list[dict] = field(default_factory=list)  # {id, url}
    updated: list[dict] = field(default_factory=list)  # {id, url, fields}
    reparsed: int = 0
    schema_changes: list[dict] = field(default_factory=list)  # {column, change, old, new}

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.updated or self.schema_changes)

    def field_counts(self) -> dict[str, int]:
        """How many updated articles changed each field."""
        counts: dict[str, int] = {}
        for item in self.updated:
            for name in item["fields"]:
                counts[name] = counts.get(name, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_dict(self) -> dict:
        return {
            "old": self.old,
            "new": self.new,
            "counts": {
                "old_rows": self.old_rows,
                "new_rows": self.new_rows,
                "added": len(self.added),
                "removed": len(self.removed),
                "updated": len(self.updated),
                "unchanged": self.new_rows - len(self.added) - len(self.updated),
                "reparsed": self.reparsed,
            },
            "schema_changes": self.schema_changes,
            "updated_fields": self.field_counts(),
            "added": self.added,
            "removed": self.removed,
            "updated": self.updated,
        }


def diff_datasets(old: Path, new: Path, *, old_label: str | None = None, new_label: str | None = None) -> DatasetDiff:
    """Compare the Parquet data of two dataset folders."""
    old_files, new_files = _files(old), _files(new)
    old_schema, new_schema = _schema(old_files), _schema(new_files)
    result = DatasetDiff(old_label or str(old), new_label or str(new), 0, 0)
    result.schema_changes = schema_changes(old_schema, new_schema)
    content = [n for n in new_schema.names if n in set(old_schema.names) and n not in PROVENANCE]

    old_ids, old_content, old_prov = _digests(old_files, content)
    new_ids, new_content, new_prov = _digests(new_files, content)
    result.old_rows, result.new_rows = len(old_ids), len(new_ids)

    common, old_at, new_at = np.intersect1d(old_ids, new_ids, assume_unique=True, return_indices=True)
    added_ids = np.setdiff1d(new_ids, old_ids, assume_unique=True)
    removed_ids = np.setdiff1d(old_ids, new_ids, assume_unique=True)
    content_changed = old_content[old_at] != new_content[new_at]
    updated_ids = common[content_changed]
    result.reparsed = int(np.count_nonzero(~content_changed & (old_prov[old_at] != new_prov[new_at])))

    wanted = set(_hex(added_ids)) | set(_hex(updated_ids))
    new_rows = _rows_for(new_files, wanted, new_schema.names)
    old_rows = _rows_for(old_files, set(_hex(removed_ids)) | set(_hex(updated_ids)), old_schema.names)
    result.added = [{"id": i, "url": new_rows[i]["url"]} for i in sorted(_hex(added_ids))]
    result.removed = [{"id": i, "url": old_rows[i]["url"]} for i in sorted(_hex(removed_ids))]
    for id_ in sorted(_hex(updated_ids)):
        before, after = old_rows[id_], new_rows[id_]
        changed = [name for name in content if before.get(name) != after.get(name)]
        result.updated.append({"id": id_, "url": after["url"], "fields": changed})
    return result


def schema_changes(old: pa.Schema, new: pa.Schema) -> list[dict]:
    """Columns added, removed, retyped, made (non-)nullable, or moved."""
    changes: list[dict] = []
    old_fields = {f.name: f for f in old}
    new_fields = {f.name: f for f in new}
    for name in new.names:
        if name not in old_fields:
            changes.append({"column": name, "change": "added", "old": None, "new": str(new_fields[name].type)})
    for name in old.names:
        if name not in new_fields:
            changes.append({"column": name, "change": "removed", "old": str(old_fields[name].type), "new": None})
            continue
        before, after = old_fields[name], new_fields.get(name)
        if after is not None and not before.type.equals(after.type):
            changes.append({"column": name, "change": "type", "old": str(before.type), "new": str(after.type)})
        elif after is not None and before.nullable != after.nullable:
            changes.append({"column": name, "change": "nullability", "old": before.nullable, "new": after.nullable})
    common_old = [n for n in old.names if n in new_fields]
    common_new = [n for n in new.names if n in old_fields]
    if common_old != common_new:
        changes.append({"column": "*", "change": "order", "old": common_old, "new": common_new})
    return changes


def _files(folder: Path) -> list[Path]:
    files = release_data_files(folder)
    if not files:
        raise InputNotFound(f"no Parquet data files in {folder}/{DATA_DIR}", path=folder, hint="Give a folder written by `dataset-tools build`.")
    return files


def _schema(files: list[Path]) -> pa.Schema:
    return pq.read_schema(files[0]).remove_metadata()


def _digests(files: list[Path], content: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, content digests, provenance digests) as sorted uint64 arrays, one entry per row."""
    ids: list[int] = []
    content_digests: list[int] = []
    provenance_digests: list[int] = []
    for path in files:
        parquet = pq.ParquetFile(path)
        present = set(parquet.schema_arrow.names)
        columns = ["id", *[c for c in content if c in present], *[c for c in PROVENANCE if c in present]]
        for batch in parquet.iter_batches(columns=columns, batch_size=4096):
            data = batch.to_pydict()
            for i, id_ in enumerate(data["id"]):
                ids.append(int(id_, 16))
                content_digests.append(_digest([data[c][i] for c in content if c in data]))
                provenance_digests.append(_digest([data[c][i] for c in PROVENANCE if c in data]))
    order = np.argsort(np.array(ids, dtype=np.uint64), kind="stable")
    return (
        np.array(ids, dtype=np.uint64)[order],
        np.array(content_digests, dtype=np.uint64)[order],
        np.array(provenance_digests, dtype=np.uint64)[order],
    )


def _digest(values: list) -> int:
    text = json.dumps(values, default=str, ensure_ascii=False, separators=(",", ":"))
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def _hex(ids: np.ndarray) -> list[str]:
    return [f"{int(value):016x}" for value in ids]


def _rows_for(files: list[Path], ids: set[str], names: list[str]) -> dict[str, dict]:
    if not ids:
        return {}
    wanted = pa.array(sorted(ids))
    rows: dict[str, dict] = {}
    for path in files:
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=4096):
            selected = batch.filter(pc.is_in(batch.column("id"), wanted))
            for row in selected.to_pylist():
                rows[row["id"]] = row
    return rows
