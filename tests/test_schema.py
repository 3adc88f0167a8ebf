"""The table schema is the single source of truth: the Arrow schema, the `datasets` features and
the card's features are all derived from it, and agree with what `datasets` itself derives."""

from __future__ import annotations

import json

import pyarrow as pa
from datasets import DatasetInfo, Features

from conftest import REPO
from dataset_tools.schema import load_table_schema

SCHEMA = load_table_schema(REPO / "schemas" / "article.schema.json")


def test_every_field_has_a_description_and_the_columns_are_the_row():
    from dataset_tools.build.spill import REDUCE_COLUMNS
    from dataset_tools.records import ROW_FIELDS

    # An article's fields, then what the build adds (near_duplicate_of, found across articles).
    assert SCHEMA.names == [*ROW_FIELDS, *REDUCE_COLUMNS]
    assert all(field.description for field in SCHEMA.fields)


def test_features_agree_with_what_datasets_derives_from_the_arrow_types():
    plain = pa.schema([pa.field(f.name, f.arrow_type) for f in SCHEMA.fields])
    derived = Features.from_arrow_schema(plain)
    assert SCHEMA.features == derived
    assert SCHEMA.hf_features == derived.to_dict()
    assert SCHEMA.features_yaml == DatasetInfo(features=derived)._to_yaml_dict()["features"]
    assert json.loads(SCHEMA.arrow_schema.metadata[b"huggingface"]) == {"info": {"features": derived.to_dict()}}


def test_arrow_types_and_nullability_follow_the_schema():
    arrow = SCHEMA.arrow_schema
    assert arrow.field("id").type == pa.string() and not arrow.field("id").nullable
    assert arrow.field("description").nullable
    assert arrow.field("published_at").type == pa.timestamp("us", tz="UTC") and not arrow.field("published_at").nullable
    assert arrow.field("modified_at").nullable
    assert arrow.field("tags").type == pa.list_(pa.string())
    assert arrow.field("word_count").type == pa.int32()
    required = {f.name for f in SCHEMA.fields if f.required}
    assert {f.name for f in arrow if not f.nullable} == required


def test_the_schema_file_is_valid_table_schema_for_frictionless():
    from frictionless import validate

    report = validate(str(REPO / "schemas" / "article.schema.json"), type="schema")
    assert report.valid, report.flatten(["message"])


def test_a_broken_schema_is_refused_with_its_reason(tmp_path):
    import pytest

    from dataset_tools.errors import SchemaError

    descriptor = json.loads((REPO / "schemas" / "article.schema.json").read_text())
    descriptor["fields"][0]["type"] = "no-such-type"
    path = tmp_path / "broken.schema.json"
    path.write_text(json.dumps(descriptor))
    with pytest.raises(SchemaError, match="is not a valid Table Schema"):
        load_table_schema(path)
    with pytest.raises(SchemaError, match="unsupported type 'no-such-type'"):
        load_table_schema(path, frictionless=False)
