"""The data card step: README.md, croissant.json, datapackage.json and the PNG of a build folder.

Everything is computed at render time from the Parquet files in the folder (read column-wise
in batches), report.json, the schema, the settings and CHANGELOG.md, so the card cannot go
stale, and `dataset-tools card` re-renders it for an existing build. The output depends on
nothing else (no clock, no absolute path), so the same folder gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from dataset_tools import __version__
from dataset_tools.fileio import human_size, json_bytes, sha256_file, write_json
from dataset_tools.config import Settings
from dataset_tools.errors import InputNotFound
from dataset_tools.metadata import texts
from dataset_tools.metadata.changelog import changelog_entry
from dataset_tools.metadata.croissant import CROISSANT_FILE, croissant_metadata
from dataset_tools.metadata.datapackage import DATAPACKAGE_FILE, datapackage_descriptor
from dataset_tools.metadata.escape import md_code, md_text
from dataset_tools.metadata.plot import PLOT_FILE, Painter, articles_per_month_png_later
from dataset_tools.metadata.stats import (
    DATA_GLOB,
    COVERAGE,
    DatasetStats,
    collect_stats,
    first_row,
    size_category,
)
from dataset_tools.schema import TableSchema

README_FILE = "README.md"
REPORT_FILE = "report.json"
MANIFEST_FILE = "manifest.json"
TEMPLATE = Path(__file__).parent / "templates" / "dataset_card.md"
# Every file the card step writes, relative to the build folder.
CARD_FILES = (README_FILE, CROISSANT_FILE, DATAPACKAGE_FILE, PLOT_FILE)
TOP_ROWS = 20
EXAMPLE_TEXT_CHARS = 300
EXAMPLE_VALUE_CHARS = 160


@dataclass(frozen=True)
class CardInputs:
    """What the card is computed from, besides the settings and the schema."""

    stats: DatasetStats
    report: dict
    example: dict | None
    release_date: str | None
    changes: str | None


def write_card_files(
    folder: Path,
    settings: Settings,
    schema: TableSchema,
    version: str,
    *,
    cache: Path | None = None,
    shard_hashes: dict[str, str] | None = None,
    report: dict | None = None,
    painter: Painter | None = None,
    digests: dict[str, dict] | None = None,
    loaded_stats: dict[str, dict] | None = None,
) -> list[str]:
    """Write README.md, croissant.json, datapackage.json and the plot into a build folder.

    Called by the build after the Parquet shards and report.json are written, before
    manifest.json (which lists the files written here).

    With `cache` (the build's cache folder), per-shard statistics and the plot are reused for
    shards whose bytes (`shard_hashes`, {relative path: sha256}) did not change. A `painter`
    draws the plot if it is not in the cache. `digests`, if given, gets each written file's
    {"sha256", "bytes"} (manifest.json lists them). `loaded_stats` are shards' statistics
    already read from the cache (see `collect_stats`).

    Returns:
        The paths written, relative to the folder ('/'-separated), in `CARD_FILES` order.
    """
    folder = Path(folder)
    inputs = gather_inputs(folder, settings, version, cache=cache, shard_hashes=shard_hashes, report=report, loaded_stats=loaded_stats)
    # A painter draws the picture while the other files are rendered.
    picture = articles_per_month_png_later(inputs.stats.months, cache=cache, painter=painter)
    citation = citation_text(settings, version, inputs.release_date)
    outputs = {
        README_FILE: render_card(settings, schema, version, inputs, citation, cache=cache).encode("utf-8"),
        CROISSANT_FILE: _json_bytes(
            croissant_metadata(
                folder, settings, schema, version, inputs.stats, release_date=inputs.release_date, citation=citation, hashes=shard_hashes
            )
        ),
        DATAPACKAGE_FILE: _json_bytes(datapackage_descriptor(folder, settings, schema, version, inputs.stats)),
        PLOT_FILE: picture(),
    }
    for rel, data in outputs.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if digests is not None:
            digests[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return list(CARD_FILES)


def refresh_card(folder: Path, settings: Settings, schema: TableSchema) -> tuple[str, list[str]]:
    """Re-render the card files of an existing build and update their entries in manifest.json.

    The version is the one the build stamped into manifest.json, so the card keeps describing
    the data in the folder even after CHANGELOG.md has moved on.

    Returns:
        The version and the paths written.

    Raises:
        InputNotFound: the folder is not a build (no manifest.json, report.json or shards).
    """
    folder = Path(folder)
    manifest_path = folder / MANIFEST_FILE
    for required in (manifest_path, folder / REPORT_FILE):
        if not required.is_file():
            raise InputNotFound(
                f"{folder} is not a built dataset folder: {required.name} is missing",
                hint="Run `dataset-tools build` first, or pass the build folder.",
            )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    version = manifest.get("dataset_version") or settings.version
    written = write_card_files(folder, settings, schema, version)
    entries = {entry["path"]: entry for entry in manifest.get("files", []) if (folder / entry["path"]).is_file()}
    for rel in written:
        entries[rel] = {"path": rel, "sha256": sha256_file(folder / rel), "bytes": (folder / rel).stat().st_size}
    manifest["files"] = [entries[rel] for rel in sorted(entries)]
    write_json(manifest_path, manifest)
    return version, written


def gather_inputs(
    folder: Path,
    settings: Settings,
    version: str,
    *,
    cache: Path | None = None,
    shard_hashes: dict[str, str] | None = None,
    report: dict | None = None,
    loaded_stats: dict[str, dict] | None = None,
) -> CardInputs:
    """Read the statistics, report.json, the example row and the changelog entry."""
    if report is None:  # the build passes its summary; otherwise report.json is read
        report_path = Path(folder) / REPORT_FILE
        report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else {}
    entry = changelog_entry(settings.changelog, version)
    return CardInputs(
        stats=collect_stats(folder, cache=cache, hashes=shard_hashes, loaded=loaded_stats),
        report=report,
        example=first_row(folder, cache=cache, hashes=shard_hashes),
        release_date=entry.date if entry else None,
        changes=entry.text if entry else None,
    )


def card_metadata(settings: Settings, schema: TableSchema, version: str, stats: DatasetStats) -> dict:
    """The card's YAML header as a plain dict (what `DatasetCardData` is made from)."""
    meta: dict = {
        "pretty_name": settings.pretty_name,
        "license": settings.license,
    }
    if settings.license_name:
        meta["license_name"] = settings.license_name
    meta["language"] = sorted(code for code in stats.languages if code != "und")
    if settings.task_categories:
        meta["task_categories"] = list(settings.task_categories)
    if settings.task_ids:
        meta["task_ids"] = list(settings.task_ids)
    meta["size_categories"] = [size_category(stats.rows)]
    if settings.tags:
        meta["tags"] = list(settings.tags)
    if settings.source_datasets:
        meta["source_datasets"] = list(settings.source_datasets)
    meta["configs"] = [{"config_name": "default", "data_files": [{"split": "train", "path": DATA_GLOB}]}]
    meta["dataset_info"] = {
        "features": _features_yaml(schema),
        "splits": [{"name": "train", "num_bytes": stats.num_bytes, "num_examples": stats.rows}],
        "download_size": stats.download_size,
        "dataset_size": stats.num_bytes,
    }
    meta["version"] = version
    return meta


def _features_yaml(schema: TableSchema) -> list[dict]:
    """`dataset_info.features` in the Hub's YAML form, from the schema."""
    return schema.features_yaml


def render_card(
    settings: Settings, schema: TableSchema, version: str, inputs: CardInputs, citation: str, *, cache: Path | None = None
) -> str:
    """The README.md text: YAML written by huggingface_hub's DatasetCardData, body from the
    template (compiled once and kept in `cache`, the build's card cache, when given)."""
    from huggingface_hub import DatasetCardData

    stats = inputs.stats
    data = DatasetCardData(**card_metadata(settings, schema, version, stats))
    counts = inputs.report.get("counts", {})
    card = card_from_template(
        data,
        cache,
        tool_version=__version__,
        pretty_name=settings.pretty_name,
        description=settings.description,
        version=version,
        repo_id=settings.repo_id,
        rows=stats.rows,
        outlets=len(stats.domains),
        language_count=len([code for code in stats.languages if code != "und"]),
        first_published=stats.first_published,
        last_published=stats.last_published,
        languages=_count_rows(stats.languages, stats.rows, limit=None),
        language_note=_language_note(inputs.report),
        schema_path=f"schemas/{schema.path.name}",
        fields=[_field_row(spec, item) for spec, item in zip(schema.fields, schema.descriptor["fields"])],
        example=_example_rows(inputs.example, schema),
        shard_count=len(stats.shards),
        shards=[{"path": md_code(s.path), "rows": f"{s.rows} row" + ("" if s.rows == 1 else "s"), "size": _size(s.file_bytes)} for s in stats.shards],
        download_size=_size(stats.download_size),
        dataset_size=_size(stats.num_bytes),
        plot_path=PLOT_FILE,
        tables=[
            _table("Articles per outlet (domain)", "domain", stats.domains, stats.rows),
            _table("Articles per language", "language", stats.languages, stats.rows),
            _table("Articles per section", "section", stats.sections, stats.rows, unnamed=stats.rows - sum(stats.sections.values())),
            _table("Articles per month (published_at, UTC)", "month", stats.months, stats.rows, by_key=True),
        ],
        coverage=[
            {"name": f"{md_code(name)} ({label})", "count": stats.coverage.get(name, 0), "share": _share(stats.coverage.get(name, 0), stats.rows)}
            for name, label in COVERAGE.items()
        ],
        lengths=_length_rows(stats),
        data_collection=texts.DATA_COLLECTION,
        data_preprocessing=texts.DATA_PREPROCESSING,
        inputs=counts.get("inputs", 0),
        rejected=counts.get("rejected", 0),
        duplicates=counts.get("duplicates", 0),
        superseded=counts.get("superseded", 0),
        rejects=[{"name": md_code(reason), "count": count} for reason, count in sorted(inputs.report.get("rejects_by_reason", {}).items())],
        biases=texts.BIASES,
        limitations=texts.LIMITATIONS,
        personal_information=texts.PERSONAL_INFORMATION,
        license=settings.license,
        license_name=settings.license_name,
        license_details=settings.license_details,
        citation=citation,
        changes=_demote_headings(inputs.changes) if inputs.changes else f"CHANGELOG.md has no entry for version {version}.",
    )
    return card if card.endswith("\n") else card + "\n"


def card_from_template(data, cache: Path | None = None, **values) -> str:
    """The text of `DatasetCard.from_template(data, template_path=TEMPLATE, **values)`: the
    template rendered with `card_data` = the YAML of `data`, and `data`'s fields and `values`
    as variables. The compiled template is kept in `cache` (compiling it is most of the card's
    time in a rebuild, about 0.1 s). The card is not parsed back into a `DatasetCard`, whose
    module imports most of huggingface_hub (0.4 s): its YAML block is `data`'s own YAML, which
    the round trip would write again unchanged (a test checks the texts are equal)."""
    import jinja2

    bytecode = None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        bytecode = jinja2.FileSystemBytecodeCache(str(cache))
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE.parent)), bytecode_cache=bytecode)
    variables = data.to_dict().copy()
    variables.update(values)
    return environment.get_template(TEMPLATE.name).render(card_data=data.to_yaml(), **variables)


def citation_text(settings: Settings, version: str, release_date: str | None) -> str:
    """The settings' citation, or a BibTeX entry made from the settings and the release."""
    if settings.citation:
        return settings.citation.strip()
    key = settings.name.replace("-", "_")
    lines = [
        f"@misc{{{key}_{version.replace('.', '_')},",
        f"  title = {{{settings.pretty_name}}},",
        f"  author = {{{settings.creator or settings.repo_id.split('/')[0]}}},",
    ]
    if release_date:
        lines.append(f"  year = {{{release_date[:4]}}},")
    lines += [
        f"  version = {{{version}}},",
        f"  howpublished = {{\\url{{https://huggingface.co/datasets/{settings.repo_id}}}}},",
        "}",
    ]
    return "\n".join(lines)


def _json_bytes(payload: dict) -> bytes:
    return json_bytes(payload)


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f}%" if total else "-"


def _count_rows(counter, total: int, *, limit: int | None = TOP_ROWS, by_key: bool = False) -> list[dict]:
    items = sorted(counter.items()) if by_key else sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))
    if limit is not None:
        items = items[:limit]
    return [{"name": md_text(key, 80), "count": count, "share": _share(count, total)} for key, count in items]


def _table(title: str, key: str, counter, total: int, *, by_key: bool = False, unnamed: int = 0) -> dict:
    limit = None if by_key else TOP_ROWS
    rows = _count_rows(counter, total, limit=limit, by_key=by_key)
    if unnamed:
        rows.append({"name": "(none)", "count": unnamed, "share": _share(unnamed, total)})
    more = ""
    if limit is not None and len(counter) > limit:
        rest = len(counter) - limit
        more = f"And {rest} more {key} values with {sum(sorted(counter.values(), reverse=True)[limit:])} articles."
    return {"title": title, "key": key, "rows": rows, "more": more}


def _language_note(report: dict) -> str:
    sources = report.get("language_sources", {})
    if not sources:
        return ""
    return (
        f"Language source: {sources.get('declared', 0)} declared by the page's locale, "
        f"{sources.get('detected', 0)} detected from the text, {sources.get('unknown', 0)} unknown (`und`)."
    )


def _field_row(spec, item: dict) -> dict:
    kind = spec.type
    if kind == "array":
        kind = f"array of {item.get('arrayItem', {}).get('type', 'string')}"
    return {
        "name": md_code(spec.name),
        "type": md_text(kind),
        "required": "yes" if spec.required else "no",
        "description": md_text(spec.description),
    }


def _example_rows(row: dict | None, schema: TableSchema) -> list[dict]:
    if row is None:
        return []
    out = []
    for name in schema.names:
        value = row.get(name)
        limit = EXAMPLE_TEXT_CHARS if name in ("body", "description") else EXAMPLE_VALUE_CHARS
        if value is None:
            shown = "*null*"
        elif isinstance(value, list):
            shown = "\\[" + ", ".join(md_text(json.dumps(v, ensure_ascii=False), EXAMPLE_VALUE_CHARS) for v in value) + "\\]"
        elif hasattr(value, "strftime"):
            shown = md_text(value.strftime("%Y-%m-%dT%H:%M:%SZ"))
        else:
            shown = md_text(value, limit)
        out.append({"name": md_code(name), "value": shown})
    return out


def _length_rows(stats: DatasetStats) -> list[dict]:
    chars = stats.body_length_quantiles()
    words = stats.word_count_quantiles()
    names = {0.0: "min", 1.0: "max"}
    return [
        {"name": names.get(q, f"p{round(q * 100)}"), "chars": chars[q], "words": words.get(q, "-")}
        for q in chars
    ]


def _size(size: int) -> str:
    return human_size(size, exact=True)


def _demote_headings(text: str) -> str:
    """Changelog headings become sub-headings of the card's "Changes" section."""
    return "\n".join("##" + line if line.startswith("#") else line for line in text.splitlines())
