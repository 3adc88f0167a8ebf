"""datapackage.json: a Frictionless Data Package of a built folder's Parquet shards.

One tabular resource per shard (frictionless joins a multipart `path` byte by byte, which
would break Parquet files), each with the table schema from `schemas/` inline and the shard's
row count. The shards' sizes and SHA-256 are in manifest.json and croissant.json, not here:
frictionless checks `bytes` and `hash` on the byte stream it reads, and it reads Parquet
through pyarrow, not as a stream, so it would report every such resource as broken.

The resource schema is the table schema with one documented change. frictionless reads
Parquet through pandas, which turns a list column into NumPy arrays, and frictionless's
`array` type accepts only Python lists or JSON text, so every row of a valid list column would
fail as a type error. List fields (`type: array`) are therefore declared `type: any` here,
with `arrayItem` kept and the change said in the field's description; their contents are
checked by dataset-tools itself (schema.check_batch at build time). Everything else (types,
required, pattern, minLength, minimum, unique, primaryKey) is kept and checked by
`frictionless validate datapackage.json`. `test_card.py` checks that the unmapped schema
still fails, so the mapping goes when frictionless learns to read Parquet lists.
"""

from __future__ import annotations

import copy
from pathlib import Path

from dataset_tools.config import Settings
from dataset_tools.card.stats import DatasetStats
from dataset_tools.layout import DATA_DIR
from dataset_tools.schema import TableSchema

PARQUET_MEDIATYPE = "application/vnd.apache.parquet"
ARRAY_NOTE = (
    " (A list of {item}s. Declared 'any' in this Data Package because frictionless reads "
    "Parquet lists as NumPy arrays, which its 'array' type rejects; dataset-tools checks the items.)"
)


def resource_schema(schema: TableSchema) -> dict:
    """The table schema as the Data Package declares it (list fields as `any`, see the module doc)."""
    descriptor = copy.deepcopy(schema.descriptor)
    descriptor.pop("$schema", None)
    for field in descriptor["fields"]:
        if field.get("type") == "array":
            item = field.get("arrayItem", {}).get("type", "string")
            field["type"] = "any"
            field["description"] = field.get("description", "") + ARRAY_NOTE.format(item=item)
    return descriptor


def datapackage_descriptor(
    folder: Path, settings: Settings, schema: TableSchema, version: str, stats: DatasetStats
) -> dict:
    """The datapackage.json document for a built folder."""
    table_schema = resource_schema(schema)
    resources = []
    for shard in stats.shards:
        resources.append(
            {
                "name": _resource_name(shard.path),
                "type": "table",
                "path": shard.path,
                "format": "parquet",
                "mediatype": PARQUET_MEDIATYPE,
                "description": f"Parquet shard of the train split: {shard.rows} rows.",
                "schema": table_schema,
            }
        )
    license_entry = {"name": settings.license_name or settings.license}
    if settings.license_details:
        license_entry["title"] = settings.license_details
    package = {
        "name": settings.name,
        "title": settings.pretty_name,
        "description": settings.description,
        "version": version,
        "licenses": [license_entry],
        "keywords": list(settings.tags),
    }
    if settings.homepage:
        package["homepage"] = settings.homepage
    if settings.creator:
        package["contributors"] = [{"title": settings.creator, "role": "author"}]
    package["resources"] = resources
    return package


def _resource_name(path: str) -> str:
    """A shard's resource name, unique in the package: its path without the data folder and the
    suffix, '/' as '-' ('data/2025/11/train-0000.parquet' -> '2025-11-train-0000')."""
    return path.removeprefix(DATA_DIR + "/").removesuffix(".parquet").replace("/", "-").lower()
