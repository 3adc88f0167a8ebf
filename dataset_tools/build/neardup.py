"""Near-duplicates, the map side: each body's word 5-grams, its MinHash signature, its LSH band keys.

In: a map task's rows (after the schema's checks). Out: two side files in the cache, next to
the task's row chunk and never mixed into it (see `write_signatures`):

- `neardup/<generation>-<task>-rows.arrow`: per row, what decides which version of an id is
  the row (id, source file and SHA-256, dates), its domain, and its body's 5-gram hashes (`shingles`, uint32,
  in text order): the exact Jaccard similarity of two rows is computed from these;
- `neardup/<generation>-<task>-bands.arrow`: per row and band, (band key, id as uint64), one
  record batch per band bucket (`BAND_BUCKETS`), each sorted by key: the reduce over band
  buckets (`neardup_group`) finds the rows that share a band key.

A body's shingles are its word 5-grams, hashed to 32 bits (see `neardup_text`). The MinHash
signature (NUM_PERM values, rensa's R-MinHash) of the shingle set is cut into bands of
`band_rows(threshold)` values; two rows whose signatures agree on a whole band are candidates,
confirmed by their exact Jaccard similarity. Everything here depends on the text only: the
same body gives the same values in any process, on any engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from dataset_tools.build.ids import id_numbers
from dataset_tools.build.neardup_text import shingles as body_shingles
from dataset_tools.layout import NEAR_DUPLICATE_COLUMN

COLUMN = NEAR_DUPLICATE_COLUMN  # the column the reduce fills (not in the row spill)
MODES = ("mark", "drop", "off")
NUM_PERM = 64
SEED = 0x5EED
SIGNATURE_ROWS = 31  # bodies per call to rensa (see `signatures`)
BAND_BUCKETS = 32  # band keys are split by their top 5 bits into this many reduce tasks
MIN_CANDIDATE_RECALL = 0.995  # of a pair exactly at the threshold, by `band_rows`
VERSION = 1  # of the words, shingles and signatures: a change invalidates the cached ones
INDEX_FORMAT = 3  # of the index's tables (`neardup_index`; 3: nodes without the file name): a change starts it afresh

ROWS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source_file", pa.string()),
        ("source_sha256", pa.string()),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("modified_at", pa.timestamp("us", tz="UTC")),
        ("domain", pa.string()),
        ("shingles", pa.list_(pa.uint32())),
    ]
)
BANDS_SCHEMA = pa.schema([("key", pa.uint64()), ("id", pa.uint64())])

_U64 = np.uint64
_MIX1, _MIX2 = _U64(0xFF51AFD7ED558CCD), _U64(0xC4CEB9FE1A85EC53)
_STEP = _U64(0x100000001B3)


def band_rows(threshold: float) -> int:
    """Signature values per band for `threshold`: the most (fewest candidates) that still make
    a pair of exactly that similarity a candidate with probability MIN_CANDIDATE_RECALL."""
    best = 1
    for rows in range(1, NUM_PERM + 1):
        bands = NUM_PERM // rows
        if 1 - (1 - threshold**rows) ** bands >= MIN_CANDIDATE_RECALL:
            best = rows
    return best


def config_key(mode: str, threshold: float) -> dict:
    """What the cached signatures and the band index are valid for (part of the cache key)."""
    if mode == "off":
        return {"mode": "off"}
    import rensa

    return {
        "mode": mode,
        "threshold": threshold,
        "version": VERSION,
        "index": INDEX_FORMAT,
        "num_perm": NUM_PERM,
        "band_rows": band_rows(threshold),
        "rensa": getattr(rensa.RMinHash, "ALGORITHM_VERSION", None),
    }


def _mix(h: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finalizer, over an array: every input bit reaches every output bit."""
    h = h ^ (h >> _U64(33))
    h = h * _MIX1
    h = h ^ (h >> _U64(33))
    h = h * _MIX2
    return h ^ (h >> _U64(33))


# -- signatures and bands --------------------------------------------------------------------


def signatures(shingles: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The R-MinHash signature (rensa) of each body's shingle set: (bodies, NUM_PERM) uint32.

    rensa hashes SIGNATURE_ROWS bodies a call: from 256 (32 at least, by its settings) it
    spreads a call over a thread per core, which in a build's worker processes, one per core
    already, left the workers waiting on each other's threads (a cold build of 200,000 articles
    took 1.8 times as long, for 1.2 times the CPU); in calls of 31 bodies it is also fastest."""
    import rensa

    bodies = len(offsets) - 1
    if bodies <= 0:
        return np.zeros((0, NUM_PERM), np.uint32)
    # A call's hashes widened, and its rows (Python lists) made an array, a call at a time: for
    # a whole task at once they took about 45 MB (8,192 bodies).
    out = np.empty((bodies, NUM_PERM), np.uint32)
    for start in range(0, bodies, SIGNATURE_ROWS):
        stop = min(bodies, start + SIGNATURE_ROWS)
        part = offsets[start : stop + 1]
        hashes = shingles[part[0] : part[-1]].astype(_U64)
        matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(hashes, (part - part[0]).astype(_U64), NUM_PERM, SEED)
        out[start:stop] = matrix.to_rows()
    return out


def band_keys(signature: np.ndarray, rows_per_band: int) -> np.ndarray:
    """(bodies, bands) uint64 keys: each band's values and its index, hashed together (so two
    bands never share a key)."""
    bands = NUM_PERM // rows_per_band
    values = signature[:, : bands * rows_per_band].astype(_U64).reshape(len(signature), bands, rows_per_band)
    with np.errstate(over="ignore"):
        key = np.broadcast_to(np.arange(1, bands + 1, dtype=_U64), (len(signature), bands)).copy()
        for j in range(rows_per_band):
            key = _mix(key * _STEP + values[:, :, j])
    return key


def band_bucket(keys: np.ndarray) -> np.ndarray:
    """The band bucket (reduce task) of each band key: its top bits."""
    return (keys >> _U64(64 - int(math.log2(BAND_BUCKETS)))).astype(np.int64)


def signed_bands(shingles: np.ndarray, offsets: np.ndarray, ids: np.ndarray, rows_per_band: int) -> pa.Table:
    """The band entries (BANDS_SCHEMA, plus `bucket`) of bodies with at least one shingle,
    sorted by bucket, then key: a body without words is nobody's near-duplicate."""
    has = np.diff(offsets) > 0
    keys = band_keys(signatures(shingles, offsets), rows_per_band)[has]
    owners = np.repeat(ids[has], keys.shape[1])
    keys = keys.reshape(-1)
    order = np.argsort(keys, kind="stable")  # by key is by bucket too: a bucket is the key's top bits
    return pa.table({"key": keys[order], "id": owners[order], "bucket": band_bucket(keys[order])})


# -- the map task's side files ---------------------------------------------------------------


@dataclass(slots=True)
class SignatureFiles:
    """A map task's side files (relative to the cache) and the record batch of each band
    bucket in its bands file."""

    rows: str
    bands: str
    batches: dict[int, int]
    count: int  # rows


def write_signatures(table: pa.Table, cache_root: str, name: str, threshold: float) -> SignatureFiles | None:
    """Write the side files of a map task whose rows are `table` (see the module's docstring)
    as `neardup/<name>-rows.arrow` and `-bands.arrow`; None when it has no rows."""
    from dataset_tools.build.spill import write_chunk
    from dataset_tools.fileio import write_ipc

    if not table.num_rows:
        return None
    shingles, offsets = body_shingles(table.column("body"))
    (Path(cache_root) / "neardup").mkdir(exist_ok=True)
    lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(shingles, pa.uint32()))
    rows = table.select([n for n in ROWS_SCHEMA.names if n != "shingles"]).append_column("shingles", lists)
    rows_name, bands_name = f"neardup/{name}-rows.arrow", f"neardup/{name}-bands.arrow"
    write_ipc(Path(cache_root) / rows_name, rows.cast(ROWS_SCHEMA))
    bands = signed_bands(shingles, offsets, id_numbers(table.column("id")), band_rows(threshold))
    # One record batch per band bucket (an empty table: a valid file without batches).
    batches = write_chunk(bands.select(["key", "id"]), bands.column("bucket").to_pylist(), Path(cache_root) / bands_name)
    return SignatureFiles(rows_name, bands_name, batches, table.num_rows)
