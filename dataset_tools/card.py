"""manifest + schema + data -> README.md data card (Hub metadata).

Everything on the card is computed from the Parquet files in the build folder, the schema,
the settings and CHANGELOG.md at render time, so it cannot go stale.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from dataset_tools.config import Settings
from dataset_tools.schema import TableSchema

DATA_GLOB = "data/train-*.parquet"


def data_files(folder: Path) -> list[Path]:
    """The build's Parquet shards, in name order."""
    return sorted(Path(folder).glob(DATA_GLOB))


def split_sizes(folder: Path) -> dict:
    """Rows, uncompressed bytes and file bytes of the train split, from Parquet metadata only."""
    rows = num_bytes = download = 0
    for path in data_files(folder):
        meta = pq.ParquetFile(path).metadata
        rows += meta.num_rows
        num_bytes += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        download += path.stat().st_size
    return {"num_examples": rows, "num_bytes": num_bytes, "download_size": download}


def size_category(rows: int) -> str:
    """The Hub's size_categories bucket for a row count."""
    bounds = [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
        (1_000_000_000, "100M<n<1B"),
    ]
    for bound, label in bounds:
        if rows < bound:
            return label
    return "n>1T" if rows >= 10**12 else "1B<n<10B"


def language_counts(folder: Path) -> Counter:
    counts: Counter = Counter()
    for path in data_files(folder):
        for batch in pq.ParquetFile(path).iter_batches(columns=["language"]):
            counts.update(batch.column(0).to_pylist())
    return counts


def card_metadata(folder: Path, settings: Settings, schema: TableSchema, version: str) -> dict:
    """The card's YAML header as a plain dict."""
    sizes = split_sizes(folder)
    languages = sorted(code for code in language_counts(folder) if code != "und")
    features = _features_yaml(schema)
    meta = {
        "pretty_name": settings.pretty_name,
        "license": settings.license,
        "language": languages,
        "size_categories": [size_category(sizes["num_examples"])],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": DATA_GLOB}]}],
        "dataset_info": {
            "features": features,
            "splits": [{"name": "train", "num_bytes": sizes["num_bytes"], "num_examples": sizes["num_examples"]}],
            "download_size": sizes["download_size"],
            "dataset_size": sizes["num_bytes"],
        },
        "version": version,
    }
    if settings.license_name:
        meta["license_name"] = settings.license_name
    if settings.task_categories:
        meta["task_categories"] = list(settings.task_categories)
    if settings.task_ids:
        meta["task_ids"] = list(settings.task_ids)
    if settings.tags:
        meta["tags"] = list(settings.tags)
    if settings.source_datasets:
        meta["source_datasets"] = list(settings.source_datasets)
    return meta


def _features_yaml(schema: TableSchema) -> list[dict]:
    """`dataset_info.features` in the Hub's YAML form, from the schema-derived Features."""
    from datasets import DatasetInfo

    info = DatasetInfo(features=schema.features)
    return info._to_yaml_dict()["features"]


def render_card(folder: Path, settings: Settings, schema: TableSchema, version: str) -> str:
    """The README.md text: YAML metadata written by huggingface_hub, and a short body."""
    from huggingface_hub import DatasetCard, DatasetCardData

    meta = card_metadata(folder, settings, schema, version)
    data = DatasetCardData(**meta)
    sizes = meta["dataset_info"]["splits"][0]
    body = (
        f"# {settings.pretty_name}\n\n"
        f"{settings.description}\n\n"
        f"Version {version}: {sizes['num_examples']} articles.\n\n"
        "## How to load it\n\n"
        "```python\n"
        "from datasets import load_dataset\n\n"
        f'ds = load_dataset("{settings.repo_id}", revision="v{version}", split="train")\n'
        "```\n"
    )
    card = DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}")
    return str(card)


def write_card_files(folder: Path, settings: Settings, schema: TableSchema, version: str) -> None:
    """Write README.md into a build folder."""
    text = render_card(folder, settings, schema, version)
    (Path(folder) / "README.md").write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
