"""The card itself, README.md: Hub metadata (YAML written by huggingface_hub) and a body
rendered from `templates/dataset_card.md` with the statistics, the report and the settings.

A card section is a block of the template; the values it shows are computed in `render_card`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from dataset_tools import __version__
from dataset_tools.card.texts import CardText
from dataset_tools.card.escape import md_code, md_text
from dataset_tools.card.near_duplicates import near_duplicate_values
from dataset_tools.card.stats import COVERAGE, DatasetStats, size_category
from dataset_tools.config import Settings
from dataset_tools.fileio import human_size
from dataset_tools.layout import DATA_DIR, DATA_GLOB, PLOT_FILE, SPLIT
from dataset_tools.readers import FALLBACKS
from dataset_tools.report import ReportSummary
from dataset_tools.schema import TableSchema

TEMPLATE = Path(__file__).parent.parent / "templates" / "dataset_card.md"
TOP_ROWS = 20
EXAMPLE_TEXT_CHARS = 300
EXAMPLE_VALUE_CHARS = 160


@dataclass(frozen=True)
class CardInputs:
    """What the card is computed from, besides the settings and the schema."""

    stats: DatasetStats
    report: ReportSummary
    example: dict | None
    release_date: str | None
    changes: str | None
    text: CardText


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
    meta["configs"] = [{"config_name": "default", "data_files": [{"split": SPLIT, "path": DATA_GLOB}]}]
    meta["dataset_info"] = {
        "features": _features_yaml(schema),
        "splits": [{"name": SPLIT, "num_bytes": stats.num_bytes, "num_examples": stats.rows}],
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
    report = inputs.report
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
        month_files=_last_months(stats, 2),
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
        data_collection=inputs.text.data_collection,
        data_preprocessing=inputs.text.data_preprocessing,
        inputs=report.inputs,
        rejected=report.rejected,
        duplicates=report.duplicates,
        superseded=report.superseded,
        rejects=[{"name": md_code(reason), "count": count} for reason, count in sorted(report.rejects_by_reason.items())],
        fallback_rows=report.fallback_rows,
        guesses=[
            {"name": md_code(code), "meaning": md_text(FALLBACKS.get(code, "")), "count": count, "share": _share(count, stats.rows)}
            for code, count in sorted(report.fallbacks.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        near_duplicates=near_duplicate_values(report),
        biases=inputs.text.biases,
        limitations=inputs.text.limitations,
        personal_information=inputs.text.personal_information,
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


def _language_note(report: ReportSummary) -> str:
    sources = report.language_sources
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


def _last_months(stats: DatasetStats, count: int) -> list[str]:
    """The `data_files` patterns of the dataset's last `count` months (an example date range)."""
    months = sorted(stats.months)[-count:]
    return [f"{DATA_DIR}/{month[:4]}/{month[5:7]}/*.parquet" for month in months]


def _size(size: int) -> str:
    return human_size(size, exact=True)


def _demote_headings(text: str) -> str:
    """Changelog headings become sub-headings of the card's "Changes" section."""
    return "\n".join("##" + line if line.startswith("#") else line for line in text.splitlines())
