"""croissant.json: Croissant 1.1 metadata of a built folder.

The Parquet shards are one FileSet (`includes` relative to the folder holding croissant.json,
which is how mlcroissant resolves a FileSet without `containedIn`), and each shard is also a
FileObject with its SHA-256 so the file set can be checked. One RecordSet, `train`, has a
field per schema column, typed from the schema:

    string -> sc:Text, integer -> sc:Integer, number -> sc:Float, boolean -> sc:Boolean,
    date -> sc:Date, datetime -> sc:DateTime, array of X -> X with isArray (arrayShape -1)
"""

from __future__ import annotations

from pathlib import Path

from dataset_tools.config import Settings
from dataset_tools.card.texts import CardText
from dataset_tools.card.stats import DatasetStats
from dataset_tools.fileio import sha256_file
from dataset_tools.layout import DATA_GLOB
from dataset_tools.schema import TableSchema

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
RECORD_SET = "train"
FILE_SET = "parquet-files"
PARQUET_MIME = "application/x-parquet"

# The JSON-LD context of Croissant 1.1 (as mlcroissant writes it for conformsTo 1.1).
CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

DATA_TYPES = {
    "string": "sc:Text",
    "integer": "sc:Integer",
    "number": "sc:Float",
    "boolean": "sc:Boolean",
    "date": "sc:Date",
    "datetime": "sc:DateTime",
}


def croissant_metadata(
    folder: Path,
    settings: Settings,
    schema: TableSchema,
    version: str,
    stats: DatasetStats,
    *,
    release_date: str | None,
    citation: str,
    text: CardText,
    hashes: dict[str, str] | None = None,
) -> dict:
    """The croissant.json document for a built folder; `text` gives its RAI statements. `hashes`
    ({relative path: SHA-256}), when the caller knows them, saves reading every shard again to hash it."""
    distribution: list[dict] = [
        {
            "@type": "cr:FileSet",
            "@id": FILE_SET,
            "name": FILE_SET,
            "description": "The Parquet shards of the train split.",
            "encodingFormat": PARQUET_MIME,
            "includes": DATA_GLOB,
        }
    ]
    for shard in stats.shards:
        distribution.append(
            {
                "@type": "cr:FileObject",
                "@id": shard.path,
                "name": shard.path,
                "description": f"Parquet shard of the train split: {shard.rows} rows.",
                "contentUrl": shard.path,
                "contentSize": f"{shard.file_bytes} B",
                "encodingFormat": PARQUET_MIME,
                "sha256": (hashes or {}).get(shard.path) or sha256_file(Path(folder) / shard.path),
            }
        )
    document: dict = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": settings.name,
        "alternateName": settings.pretty_name,
        "description": settings.description,
        "version": version,
        "url": f"https://huggingface.co/datasets/{settings.repo_id}",
        "license": _license(settings),
        "creator": {"@type": "sc:Organization", "name": settings.creator or settings.repo_id.split("/")[0]},
        "citeAs": citation,
        "keywords": list(settings.tags),
        "inLanguage": sorted(code for code in stats.languages if code != "und"),
        "isAccessibleForFree": True,
    }
    if release_date:
        document["datePublished"] = release_date
    if settings.homepage:
        document["sameAs"] = settings.homepage
    document.update(
        {
            "rai:dataCollection": text.data_collection,
            "rai:dataCollectionType": ["Web Scraping"],
            "rai:dataPreprocessingProtocol": [text.data_preprocessing],
            "rai:dataLimitations": [text.limitations],
            "rai:dataBiases": [text.biases],
            "rai:personalSensitiveInformation": [text.personal_information],
            "distribution": distribution,
            "recordSet": [
                {
                    "@type": "cr:RecordSet",
                    "@id": RECORD_SET,
                    "name": RECORD_SET,
                    "description": schema.descriptor.get("description", "One row of the dataset."),
                    "key": [{"@id": f"{RECORD_SET}/{name}"} for name in schema.descriptor.get("primaryKey", [])],
                    "field": [_field(spec, item) for spec, item in zip(schema.fields, schema.descriptor["fields"])],
                }
            ],
        }
    )
    if not document["recordSet"][0]["key"]:
        del document["recordSet"][0]["key"]
    return document


def _field(spec, item: dict) -> dict:
    out = {"@type": "cr:Field", "@id": f"{RECORD_SET}/{spec.name}", "name": spec.name, "description": spec.description}
    if spec.type == "array":
        out["dataType"] = DATA_TYPES[item.get("arrayItem", {}).get("type", "string")]
        out["isArray"] = True
        out["arrayShape"] = "-1"
    else:
        out["dataType"] = DATA_TYPES[spec.type]
    out["source"] = {"fileSet": {"@id": FILE_SET}, "extract": {"column": spec.name}}
    return out


def _license(settings: Settings):
    if settings.license != "other":
        return settings.license
    work = {"@type": "sc:CreativeWork", "name": settings.license_name or "other"}
    if settings.license_details:
        work["description"] = settings.license_details
    return work
