"""The Parquet files themselves: each one's schema against the table schema and against the
other shards, the schema's row checks over every batch, the unique fields across all shards.

A file is sized from its footer and page headers before anything is decompressed (see
`parquet_limits`), then read a batch at a time: memory is bounded by a batch plus 15 bytes per
row for the uniqueness check. Row numbers in errors are 0-based within the named file.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_tools import parquet_limits
from dataset_tools.errors import (
    ParquetTooLarge,
)
from dataset_tools.layout import NEAR_DUPLICATE_COLUMN
from dataset_tools.schema import TableSchema, check_batch
from dataset_tools.untrusted import load_json, open_regular
from dataset_tools.validate.report import MAX_ERRORS_PER_KEY, Errors

BATCH_ROWS = 8192

_CONSTRAINT_TYPES = {"required": "required-null"}


def _schema_differences(actual: pa.Schema, expected: pa.Schema) -> list[tuple[str, str | None, str]]:
    """(type, field, message) for each way `actual` differs from `expected`."""
    out: list[tuple[str, str | None, str]] = []
    want = {f.name: f for f in expected}
    have = {f.name: f for f in actual}
    for name in want:
        if name not in have:
            out.append(("missing-column", name, f"column {name!r} is missing"))
    for name in have:
        if name not in want:
            out.append(("extra-column", name, f"column {name!r} ({have[name].type}) is not in the schema"))
    for name, spec in want.items():
        if name not in have:
            continue
        got = have[name]
        if got.type != spec.type:
            out.append(("type-mismatch", name, f"column {name!r} is {got.type}, the schema says {spec.type}"))
        if got.nullable != spec.nullable:
            state = "nullable" if got.nullable else "not nullable"
            rule = "requires it" if not spec.nullable else "allows nulls"
            out.append(("schema-mismatch", name, f"column {name!r} is {state}, the schema {rule}"))
    common_have = [n for n in actual.names if n in want]
    common_want = [n for n in expected.names if n in have]
    if common_have != common_want:
        out.append(("schema-mismatch", None, f"columns are in the order {common_have}, the schema's order is {common_want}"))
    return out


class Scan:
    """One pass over the Parquet files: schemas, constraints, ids, languages, row counts."""

    def __init__(self, schema: TableSchema, errors: Errors) -> None:
        self.schema = schema
        self.errors = errors
        self.expected = schema.arrow_schema
        self.rows_by_file: dict[str, int] = {}
        self.corrupt: set[str] = set()
        self.schemas: dict[str, pa.Schema] = {}
        self.languages: set[str] = set()
        self.unique_fields = [f.name for f in schema.fields if f.unique]
        self.keys: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray, int]]] = {n: [] for n in self.unique_fields}
        self.links: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []  # NEAR_DUPLICATE_COLUMN's values, keyed as `keys`
        self.files: list[str] = []
        self.sizes: dict[str, tuple[int, int, int]] = {}  # rows, bytes on disk, bytes uncompressed (footer)

    def check_file(self, folder: Path, rel: str) -> None:
        try:
            handle = open_regular(folder, rel)
        except OSError as exc:  # (a link or FIFO: replaced since the inventory)
            self._not_read(rel, exc, "cannot be opened")
            return
        with handle:
            self._check_open_file(handle, rel)

    def _not_read(self, rel: str, exc: BaseException, what: str) -> None:
        """`rel` not read (to the end): a refusal by its type, anything else a corrupt file."""
        self.corrupt.add(rel)
        self.errors.unread(rel, exc, "corrupt-file", f"{rel} {what}")

    def _check_open_file(self, handle, rel: str) -> None:
        try:
            parquet_limits.check_footer_size(handle, rel)
            # No pre-buffering: one column chunk in memory at a time, not a whole row group's.
            parquet = pq.ParquetFile(handle, pre_buffer=False)
            actual = parquet.schema_arrow
        except Exception as exc:  # any reader failure is the file's fault, not ours
            self._not_read(rel, exc, "cannot be read as Parquet")
            return
        self.schemas[rel] = actual
        differences = _schema_differences(actual, self.expected)
        for type_, name, message in differences:
            self.errors.add(type_, f"{rel}: {message}", rel, field=name)
        if not differences:
            self._check_features_metadata(rel, actual)
        metadata = parquet.metadata
        try:
            parquet_limits.check_sizes(handle, metadata, rel)
        except (ValueError, OSError) as exc:
            self._not_read(rel, exc, "cannot be read as Parquet")
            return
        data_bytes = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        self.sizes[rel] = (metadata.num_rows, os.fstat(handle.fileno()).st_size, data_bytes)
        file_index = len(self.files)
        self.files.append(rel)
        # Only columns of the schema's type are read: another type is reported above, and its
        # values could cost anything to read (a fixed-size binary of a gigabyte per row).
        columns = [n for n in self.schema.names if n in actual.names and actual.field(n).type == self.expected.field(n).type]
        # Strings stored with a dictionary are read as dictionary and indices, and decoded only
        # once the batch is known to fit (parquet_limits.decoded_bytes).
        dictionaries = parquet_limits.dictionary_columns(metadata, columns)
        reader = pq.ParquetFile(handle, pre_buffer=False, metadata=metadata, read_dictionary=dictionaries)
        offset = 0
        try:
            for batch in reader.iter_batches(batch_size=BATCH_ROWS, columns=columns):
                size = parquet_limits.decoded_bytes(batch)
                if size > parquet_limits.MAX_BATCH_BYTES:
                    raise ParquetTooLarge(rel, f"rows {offset}-{offset + batch.num_rows - 1}", size, parquet_limits.MAX_BATCH_BYTES)
                if dictionaries:
                    batch = batch.cast(pa.schema([actual.field(n) for n in batch.schema.names]))
                self._check_batch(rel, file_index, batch, offset)
                offset += batch.num_rows
        except Exception as exc:
            self._not_read(rel, exc, f"cannot be read after row {offset}")
            return
        self.rows_by_file[rel] = offset

    def _check_features_metadata(self, rel: str, actual: pa.Schema) -> None:
        raw = (actual.metadata or {}).get(b"huggingface")
        expected = self.schema.features.to_dict()
        try:
            features = load_json(raw, rel)["info"]["features"] if raw else None
        except (ValueError, KeyError, TypeError):
            features = None
        if features != expected:
            what = "has no" if raw is None else "has different"
            self.errors.add("schema-mismatch", f"{rel}: the Parquet 'huggingface' metadata {what} features than the schema", rel)

    def _check_batch(self, rel: str, file_index: int, batch: pa.RecordBatch, offset: int) -> None:
        for violation in check_batch(batch, self.schema, limit_per_check=MAX_ERRORS_PER_KEY):
            type_ = _CONSTRAINT_TYPES.get(violation.code, "constraint")
            message = violation.message if type_ != "constraint" else f"{violation.message} ({violation.code})"
            self.errors.add(type_, f"{rel} row {offset + violation.row}: {message}", rel, offset + violation.row, violation.field)
        if "language" in batch.schema.names:
            self.languages.update(v for v in pc.unique(batch.column("language")).to_pylist() if v is not None)
        for name in self.unique_fields:
            if name in batch.schema.names:
                keys, hashed, rows = _unique_keys(batch.column(name))
                self.keys[name].append((keys, hashed, rows + offset, file_index))
        if NEAR_DUPLICATE_COLUMN in batch.schema.names:
            keys, hashed, rows = _unique_keys(batch.column(NEAR_DUPLICATE_COLUMN))
            self.links.append((keys, hashed, rows + offset, file_index))

    def check_shards(self) -> None:
        """Every shard has the schema most shards have; the odd ones are named."""
        if len(self.schemas) < 2:
            return
        plain = {rel: s.remove_metadata() for rel, s in self.schemas.items()}
        tally = Counter(s.to_string() for s in plain.values())
        majority_text = tally.most_common(1)[0][0]
        majority = next(s for s in plain.values() if s.to_string() == majority_text)
        reference = next(rel for rel, s in plain.items() if s.to_string() == majority_text)
        for rel, actual in plain.items():
            if actual.to_string() == majority_text:
                continue
            parts = [message for _, _, message in _schema_differences(actual, majority)]
            self.errors.add("shard-mismatch", f"{rel} differs from the other shards (e.g. {reference}): {'; '.join(parts)}", rel)

    def check_unique(self) -> None:
        for name, parts in self.keys.items():
            if not parts:
                continue
            keys = np.concatenate([p[0] for p in parts])
            hashed = np.concatenate([p[1] for p in parts])
            rows = np.concatenate([p[2] for p in parts])
            files = np.concatenate([np.full(len(p[0]), p[3], np.uint32) for p in parts])
            order = np.lexsort((rows, files, keys, hashed))
            keys, hashed, rows, files = keys[order], hashed[order], rows[order], files[order]
            same = (keys[1:] == keys[:-1]) & (hashed[1:] == hashed[:-1])
            type_ = "duplicate-id" if name == "id" else "duplicate-value"
            starts = np.concatenate([[True], ~same])
            first_of = np.maximum.accumulate(np.where(starts, np.arange(len(keys)), 0))
            for j in np.nonzero(~starts)[0]:
                first = first_of[j]
                value = f"{name} {int(keys[j]):016x}" if not hashed[j] else f"a {name} value"
                rel, row = self.files[int(files[j])], int(rows[j])
                where = f"{self.files[int(files[first])]} row {int(rows[first])}"
                self.errors.add(type_, f"{rel} row {row}: {value} also appears in {where}", rel, row, name)

    def check_link_targets(self) -> None:
        """Every `near_duplicate_of` names the id of a row of the dataset (of the files read;
        with a schema whose ids are not unique, there are no id keys to look in: not checked).
        Memory: 8 bytes per row and 20 per link."""
        if not self.links or not self.keys.get("id"):
            return
        ids = [keys[~hashed] for keys, hashed, _, _ in self.keys["id"]]
        known = np.sort(np.concatenate(ids)) if ids else np.zeros(0, np.uint64)
        for keys, hashed, rows, file_index in self.links:
            if len(known):
                at = np.minimum(np.searchsorted(known, keys), len(known) - 1)
                missing = hashed | (known[at] != keys)
            else:
                missing = np.ones(len(keys), bool)
            rel = self.files[file_index]
            for key, not_id, row in zip(keys[missing].tolist(), hashed[missing].tolist(), rows[missing].tolist()):
                shown = "(not an id)" if not_id else f"{int(key):016x}"
                self.errors.add("near-duplicate-target", f"{rel} row {row}: near_duplicate_of {shown} is the id of no row", rel, row, NEAR_DUPLICATE_COLUMN)


_HEX = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i


def _unique_keys(column: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """64-bit keys for a column's non-null values, without a Python loop for 16-hex ids.

    A 16-hex id is its own value as uint64 (exact). Any other value (rare: it already breaks
    the id pattern) is keyed by an 8-byte BLAKE2b digest and flagged `hashed`, so the two key
    spaces never mix. Returns (keys, hashed, row indices within the column).
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pc.cast(column, pa.string())
    lengths = pc.fill_null(pc.binary_length(column), -1).to_numpy(zero_copy_only=False)
    rows_all = np.arange(len(column), dtype=np.int64)
    fixed = lengths == 16
    keyed = np.zeros(len(column), bool)
    keys = np.zeros(0, np.uint64)
    key_rows = np.zeros(0, np.int64)
    if fixed.any():
        sub = column.filter(pa.array(fixed))
        width = np.int64 if pa.types.is_large_string(sub.type) else np.int32
        offsets = np.frombuffer(sub.buffers()[1], width)[sub.offset : sub.offset + len(sub) + 1]
        data = np.frombuffer(sub.buffers()[2], np.uint8)[offsets[0] : offsets[-1]].reshape(-1, 16)
        nibbles = _HEX[data]
        good = (nibbles != 255).all(axis=1)
        keys = np.zeros(len(nibbles), np.uint64)
        for i in range(16):
            keys = (keys << np.uint64(4)) | nibbles[:, i].astype(np.uint64)
        keys, key_rows = keys[good], rows_all[fixed][good]
        keyed[key_rows] = True
    other = rows_all[(lengths >= 0) & ~keyed]
    other_keys = np.array(
        [int.from_bytes(hashlib.blake2b(column[int(r)].as_py().encode(), digest_size=8).digest(), "big") for r in other],
        np.uint64,
    )
    all_keys = np.concatenate([keys, other_keys])
    hashed = np.concatenate([np.zeros(len(keys), bool), np.ones(len(other_keys), bool)])
    return all_keys, hashed, np.concatenate([key_rows, other])
