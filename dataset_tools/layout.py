"""The built folder's contract: where each file of a build lives and what it is called.

Every module that writes or reads a built folder (the build, the card, validate, publish,
diff, release) takes the names from here, so the layout is spelled once:

    <out>/
      data/train-00000-of-0000N.parquet   the shards (SPLIT `train`), rows sorted by id
      README.md                           the data card (CARD_FILE)
      croissant.json                      Croissant metadata (CROISSANT_FILE)
      datapackage.json                    Frictionless Data Package (DATAPACKAGE_FILE)
      images/articles-per-month.png       the card's plot (PLOT_FILE)
      report.json                         one outcome per input (REPORT_FILE)
      manifest.json                       versions and every file's SHA-256 (MANIFEST_FILE)
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = "data"
SPLIT = "train"
# The shards, as the card's `configs`, croissant.json and the readers of a folder find them.
DATA_GLOB = f"{DATA_DIR}/{SPLIT}-*.parquet"

CARD_FILE = "README.md"
CROISSANT_FILE = "croissant.json"
DATAPACKAGE_FILE = "datapackage.json"
PLOT_FILE = "images/articles-per-month.png"
REPORT_FILE = "report.json"
MANIFEST_FILE = "manifest.json"
# Every file the card step writes, relative to the build folder.
CARD_FILES = (CARD_FILE, CROISSANT_FILE, DATAPACKAGE_FILE, PLOT_FILE)


def shard_name(index: int, count: int) -> str:
    """The relative path of shard `index` (0-based) of `count`."""
    return f"{DATA_DIR}/{SPLIT}-{index:05d}-of-{count:05d}.parquet"


def data_files(folder: Path | str) -> list[Path]:
    """The shards of a built folder, in name order."""
    return sorted(Path(folder).glob(DATA_GLOB))
