"""The built folder's contract: where each file of a build lives and what it is called.

Every module that writes or reads a built folder (the build, the card, validate, publish,
diff, release) takes the names from here, so the layout is spelled once:

    <out>/
      data/2025/11/train-0000.parquet     the rows published in November 2025 (UTC), ordered by
      data/2025/11/train-0001.parquet     (published_at, id), `shard_rows` rows a part
      data/2025/12/train-0000.parquet     ...
      inputs/2025/11.parquet              one line per raw file whose article fell in that month:
      inputs/rejected.parquet             its outcome (row, duplicate, superseded), size, SHA-256;
                                          the rejects, with their reasons
      README.md                           the data card (CARD_FILE)
      croissant.json                      Croissant metadata (CROISSANT_FILE)
      datapackage.json                    Frictionless Data Package (DATAPACKAGE_FILE)
      images/articles-per-month.png       the card's plot (PLOT_FILE)
      report.json                         the counts: what became of the inputs (REPORT_FILE)
      manifest.json                       versions and every file's SHA-256 (MANIFEST_FILE)

A shard's name depends on its month and its part number alone, never on how many shards there
are: a release that adds articles to the newest month leaves every other file's name and bytes
as they were, and so do the input listings, which are partitioned like the data.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = "data"
SPLIT = "train"
# The shards, as the card's `configs`, croissant.json and the readers of a folder find them.
DATA_GLOB = f"{DATA_DIR}/*/*/{SPLIT}-*.parquet"
# The shards of releases built before the months layout (dataset-tools 0.1, data 1.x): read by
# `diff` and `release`, which compare a build with such a release; never written.
FLAT_DATA_GLOB = f"{DATA_DIR}/{SPLIT}-*.parquet"
INPUTS_DIR = "inputs"
INPUTS_GLOB = f"{INPUTS_DIR}/**/*.parquet"

CARD_FILE = "README.md"
CROISSANT_FILE = "croissant.json"
DATAPACKAGE_FILE = "datapackage.json"
PLOT_FILE = "images/articles-per-month.png"
REPORT_FILE = "report.json"
MANIFEST_FILE = "manifest.json"
# The column that names, for a row that is a near-duplicate of another, the other row's id
# (filled by the build's reduce from the links of `build.neardup_stage`).
NEAR_DUPLICATE_COLUMN = "near_duplicate_of"

# Every file the card step writes, relative to the build folder.
CARD_FILES = (CARD_FILE, CROISSANT_FILE, DATAPACKAGE_FILE, PLOT_FILE)


def month_path(month: int) -> str:
    """A month key (year * 100 + month, as `partition` makes them) as a path: '2025/11'."""
    return f"{month // 100:04d}/{month % 100:02d}"


def shard_name(month: int, part: int) -> str:
    """The relative path of part `part` (0-based) of month `month` (year * 100 + month)."""
    return f"{DATA_DIR}/{month_path(month)}/{SPLIT}-{part:04d}.parquet"


def inputs_name(month: int | None) -> str:
    """The listing of the inputs whose article fell in `month`; None: the rejects' listing."""
    return f"{INPUTS_DIR}/rejected.parquet" if month is None else f"{INPUTS_DIR}/{month_path(month)}.parquet"


def month_patterns(first: int, last: int) -> list[str]:
    """The `data_files` patterns that load the months `first` to `last` (keys, inclusive)."""
    out = []
    year, month = divmod(first, 100)
    while year * 100 + month <= last:
        out.append(f"{DATA_DIR}/{year:04d}/{month:02d}/*.parquet")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def data_files(folder: Path | str) -> list[Path]:
    """The shards of a built folder, in name order (month, then part)."""
    return sorted(Path(folder).glob(DATA_GLOB))


def release_data_files(folder: Path | str) -> list[Path]:
    """The shards of a built folder or of a release: those of this layout, else those of the
    flat layout that earlier releases have."""
    return data_files(folder) or sorted(Path(folder).glob(FLAT_DATA_GLOB))


def input_listings(folder: Path | str) -> list[Path]:
    """The input listings of a built folder, in name order."""
    return sorted(Path(folder).glob(INPUTS_GLOB))
