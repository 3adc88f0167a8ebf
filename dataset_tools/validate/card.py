"""The card files against the data: README.md's YAML (metadata, features, split sizes,
languages, configs), the repo it names, croissant.json (mlcroissant's validation, no context
fetched) and datapackage.json (frictionless', no profile fetched).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path


from dataset_tools.errors import (
    ExternalReference,
    FileTooLarge,
)
from dataset_tools.iso639 import UNDETERMINED
from dataset_tools.layout import CARD_FILE, CROISSANT_FILE, DATAPACKAGE_FILE
from dataset_tools.schema import TableSchema
from dataset_tools.untrusted import Inventory, load_json, open_regular, path_matches, read_bounded
from dataset_tools.validate.report import Errors
from dataset_tools.validate.bookkeeping import read_metadata
from dataset_tools.validate.report import one_line
from dataset_tools.validate.data import Scan


# -- card, croissant, data package -----------------------------------------------------------


def _card_dataset_info(data: dict) -> dict | None:
    info = data.get("dataset_info")
    if isinstance(info, list):
        info = next((i for i in info if isinstance(i, dict) and i.get("config_name", "default") == "default"), info[0] if info else None)
    return info if isinstance(info, dict) else None


def check_card(folder: Path, inventory: Inventory, schema: TableSchema, scan: Scan, manifest: dict | None,
                errors: Errors) -> None:
    if CARD_FILE not in inventory.files:
        if CARD_FILE not in inventory.others:  # a link or FIFO is already reported as such
            errors.add("missing-file", "README.md (the data card) is missing", CARD_FILE)
        return
    from huggingface_hub import DatasetCard

    try:
        with open_regular(folder, CARD_FILE) as handle:
            text = read_bounded(handle, CARD_FILE).decode("utf-8", errors="replace")
    except (OSError, FileTooLarge) as exc:
        errors.unread(CARD_FILE, exc, "card-yaml", "README.md cannot be read")
        return
    if not re.match(r"^\s*---\s*\n.*?\n---\s*(\n|$)", text, re.DOTALL):
        errors.add("card-yaml", "README.md has no YAML metadata header between '---' lines", CARD_FILE)
        return
    try:
        data = DatasetCard(text).data.to_dict()
    except Exception as exc:  # yaml.YAMLError, ValueError, RecursionError: the header is the dataset's fault
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        errors.add("card-yaml", f"README.md's YAML header does not parse: {first}", CARD_FILE)
        return

    for key in ("license", "language", "pretty_name"):
        if not data.get(key):
            errors.add("card-metadata", f"README.md has no {key!r} in its metadata", CARD_FILE, field=key)
    card_languages = data.get("language")
    card_languages = sorted(map(str, card_languages if isinstance(card_languages, list) else [card_languages]))
    data_languages = sorted(scan.languages - {UNDETERMINED})
    if data.get("language") and not scan.corrupt and card_languages != data_languages:
        errors.add("card-metadata", f"README.md lists languages {card_languages}, the data has {data_languages}", CARD_FILE, field="language")
    if manifest is not None and data.get("version") and manifest.get("dataset_version") and str(data["version"]) != str(manifest["dataset_version"]):
        errors.add("card-metadata", f"README.md says version {data['version']}, manifest.json says {manifest['dataset_version']}", CARD_FILE, field="version")

    info = _card_dataset_info(data)
    if info is None:
        errors.add("card-features", "README.md has no dataset_info", CARD_FILE)
    else:
        _check_card_features(info.get("features"), schema, errors)
        _check_card_splits(info, scan, errors)
    _check_card_configs(inventory, data.get("configs"), manifest, errors)


def _check_card_features(features, schema: TableSchema, errors: Errors) -> None:
    from dataset_tools.card.readme import _features_yaml

    expected = _features_yaml(schema)
    if features == expected:
        return
    if not isinstance(features, list):
        errors.add("card-features", "README.md's dataset_info.features is missing or not a list", CARD_FILE)
        return
    want = {f["name"]: f for f in expected}
    have = {f.get("name"): f for f in features if isinstance(f, dict)}
    for name, spec in want.items():
        if name not in have:
            errors.add("card-features", f"README.md's features lack {name!r}", CARD_FILE, field=name)
        elif have[name] != spec:
            shown = {k: v for k, v in have[name].items() if k != "name"}
            wanted = {k: v for k, v in spec.items() if k != "name"}
            errors.add("card-features", f"README.md's feature {name!r} is {shown}, the data has {wanted}", CARD_FILE, field=name)
    for name in have:
        if name not in want:
            errors.add("card-features", f"README.md's features have {name!r}, which the data does not", CARD_FILE, field=name)
    if [f.get("name") for f in features if isinstance(f, dict)] != list(want) and set(have) == set(want):
        errors.add("card-features", "README.md's features are not in the data's column order", CARD_FILE)


def _check_card_splits(info: dict, scan: Scan, errors: Errors) -> None:
    from dataset_tools.layout import DATA_GLOB

    if scan.corrupt:
        return  # sizes of an unreadable file are unknown; the corrupt file is already reported
    # The sizes `card.stats.split_sizes` gives, from the footers the scan read.
    shards = [sizes for rel, sizes in scan.sizes.items() if path_matches(rel, DATA_GLOB)]
    sizes = {"num_examples": sum(s[0] for s in shards), "num_bytes": sum(s[2] for s in shards),
             "download_size": sum(s[1] for s in shards)}
    splits = info.get("splits") or []
    by_name = {s.get("name"): s for s in splits if isinstance(s, dict)} if isinstance(splits, list) else {}
    train = by_name.get("train")
    if train is None:
        errors.add("card-splits", "README.md's dataset_info has no 'train' split", CARD_FILE)
    else:
        for key in ("num_examples", "num_bytes"):
            if train.get(key) != sizes[key]:
                errors.add("card-splits", f"README.md says train has {key}={train.get(key)}, the Parquet files have {sizes[key]}", CARD_FILE, field=key)
    for name in by_name:
        if name != "train":
            errors.add("card-splits", f"README.md lists a split {name!r} that has no data files", CARD_FILE)
    for key, actual in (("download_size", sizes["download_size"]), ("dataset_size", sizes["num_bytes"])):
        if key in info and info[key] != actual:
            errors.add("card-splits", f"README.md says {key}={info[key]}, the Parquet files have {actual}", CARD_FILE, field=key)


def _check_card_configs(inventory: Inventory, configs, manifest: dict | None, errors: Errors) -> None:
    if not configs:
        errors.add("card-config", "README.md has no 'configs': the Hub cannot tell which files to load", CARD_FILE)
        return
    covered: set[str] = set()
    for config in configs if isinstance(configs, list) else []:
        name = config.get("config_name", "default") if isinstance(config, dict) else "?"
        entries = config.get("data_files") if isinstance(config, dict) else None
        if isinstance(entries, (str, dict)):
            entries = [entries]
        if not entries or not isinstance(entries, list):
            errors.add("card-config", f"README.md config {name!r} has no data_files", CARD_FILE)
            continue
        for entry in entries:
            patterns = entry.get("path") if isinstance(entry, dict) else entry
            split = entry.get("split", "train") if isinstance(entry, dict) else "train"
            for pattern in patterns if isinstance(patterns, list) else [patterns]:
                rel = errors.inside(pattern, f"README.md config {name!r} split {split!r}", CARD_FILE, "it is not matched")
                if rel is None:
                    continue
                matches = inventory.glob(rel)
                if not matches:
                    errors.add("card-config", f"README.md config {name!r} split {split!r} path {pattern!r} matches no file", CARD_FILE)
                covered.update(matches)
    for entry in (manifest or {}).get("data_files", []):
        if entry["path"] in inventory.files and entry["path"] not in covered:
            errors.add("card-config", f"{entry['path']} is not matched by any config in README.md", CARD_FILE)


def check_repo_names(folder: Path, inventory: Inventory, repo_id: str | None, errors: Errors) -> None:
    """The card files name `repo_id` and no other repo (see card/repo_names.py). A file that
    cannot be read is reported by its own check, not again here."""
    from dataset_tools.card.repo_names import card_repo_names, croissant_repo_names, other_repos

    if repo_id is None:
        return
    for rel in (CARD_FILE, CROISSANT_FILE):
        if rel not in inventory.files:
            continue
        try:
            with open_regular(folder, rel) as handle:
                data = read_bounded(handle, rel)
            named = (card_repo_names(data.decode("utf-8", errors="replace")) if rel == CARD_FILE
                     else croissant_repo_names(document) if isinstance(document := load_json(data, rel), dict) else [])
        except (OSError, ValueError):
            continue
        for where, other in other_repos(named, repo_id):
            errors.add("repo-mismatch", f"{rel}'s {where} names {other}, but the dataset is {repo_id}", rel, field=where)


def check_croissant(folder: Path, inventory: Inventory, errors: Errors) -> None:
    document = read_metadata(folder, inventory, CROISSANT_FILE, errors, "croissant-invalid")
    if document is None:
        return
    references = _jsonld_references(document)
    for where, reference in references:
        errors.add("external-reference", str(ExternalReference(CROISSANT_FILE, where, reference)), CROISSANT_FILE)
    _check_croissant_files(document, inventory, errors)
    if references:
        return  # mlcroissant's JSON-LD parser (rdflib) would fetch them
    import mlcroissant as mlc

    try:
        mlc.Dataset(jsonld=document)  # the document, not the path: mlcroissant would open it by path again
    except mlc.ValidationError as exc:
        for line in _issue_lines(str(exc)):
            errors.add("croissant-invalid", f"croissant.json: {line}", CROISSANT_FILE)
    except Exception as exc:  # mlcroissant fails on malformed metadata
        errors.add("croissant-invalid", f"croissant.json: {type(exc).__name__}: {one_line(exc)}", CROISSANT_FILE)


def _jsonld_references(document: dict) -> list[tuple[str, object]]:
    """Every JSON-LD context the document loads from elsewhere: an `@context` (at any level,
    term definitions included) that is or lists a string, and every `@import`. rdflib fetches
    those by URL or opens them as local paths."""
    found = []
    stack: list = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        context = item.get("@context")
        for value in context if isinstance(context, list) else [context]:
            if isinstance(value, str):
                found.append(("the JSON-LD @context", value))
        if "@import" in item:
            found.append(("the JSON-LD @import", item["@import"]))
        stack.extend(item.values())
    return found


def _check_croissant_files(document: dict, inventory: Inventory, errors: Errors) -> None:
    """The distribution's FileObject `contentUrl`s and FileSet `includes` are paths inside the folder."""
    distribution = document.get("distribution")
    for item in distribution if isinstance(distribution, list) else []:
        if not isinstance(item, dict):
            continue
        for key in ("contentUrl", "includes"):
            values = item.get(key)
            for value in values if isinstance(values, list) else [] if values is None else [values]:
                rel = errors.inside(value, f"croissant.json {key}", CROISSANT_FILE)
                if rel is None:
                    continue
                matches = inventory.glob(rel)
                if not matches:
                    errors.add("croissant-invalid", f"croissant.json: {key} {value!r} names no file in the folder", CROISSANT_FILE)


def _issue_lines(text: str) -> list[str]:
    """mlcroissant's error text as one line per issue (it lists them after a header)."""
    lines = [line.strip().lstrip("-").strip() for line in text.splitlines()]
    issues = [line for line in lines if line and not line.lower().startswith(("found the following", "errors", "warnings"))]
    return issues or [text.strip()]


# The profiles frictionless knows without fetching anything; any other is a URL or path it would
# fetch or open (even "fiscal-data-package" stands for a URL).
_PACKAGE_PROFILES = frozenset({"data-package", "tabular-data-package"})
_RESOURCE_PROFILES = frozenset({"data-resource", "tabular-data-resource"})


def check_datapackage(folder: Path, inventory: Inventory, schema: TableSchema, errors: Errors) -> None:
    """The descriptor by frictionless' own metadata validation, its resource schema against
    schemas/, and its resource paths. The rows are not re-read through frictionless: its
    cell-by-cell reader rejects Parquet list columns and is slow; the column-wise scan above
    already checks every row against the same Table Schema."""
    descriptor = read_metadata(folder, inventory, DATAPACKAGE_FILE, errors, "datapackage-invalid")
    if descriptor is None:
        return
    offline = copy.deepcopy(descriptor)
    for where, reference in _remove_profiles(offline):
        errors.add("external-reference", str(ExternalReference(DATAPACKAGE_FILE, where, reference)), DATAPACKAGE_FILE)
    for message in _frictionless_messages(offline):
        errors.add("datapackage-invalid", f"datapackage.json: {message}", DATAPACKAGE_FILE)
    from dataset_tools.card.datapackage import resource_schema

    # Compared with the schema as the Data Package must declare it (list fields as `any`).
    want = [(f["name"], f["type"]) for f in resource_schema(schema).get("fields", [])]
    resources = descriptor.get("resources")
    for resource in resources if isinstance(resources, list) else []:
        if not isinstance(resource, dict):
            continue
        table_schema = resource.get("schema")
        if isinstance(table_schema, dict) and isinstance(table_schema.get("fields", []), list):
            have = [(f.get("name"), f.get("type")) for f in table_schema.get("fields", []) if isinstance(f, dict)]
            for problem in _field_list_differences(have, want):
                errors.add("datapackage-invalid", f"datapackage.json resource {resource.get('name', '?')!r}: {problem}", DATAPACKAGE_FILE)
        paths = resource.get("path")
        for rel in paths if isinstance(paths, list) else [paths] if paths is not None else []:
            if errors.inside(rel, "datapackage.json resource path", DATAPACKAGE_FILE) is None:
                continue
            if rel not in inventory.files:
                errors.add("datapackage-invalid", f"datapackage.json resource path {rel!r} does not exist", DATAPACKAGE_FILE)


def _remove_profiles(descriptor: dict) -> list[tuple[str, object]]:
    """Take out of `descriptor` every profile frictionless would fetch by URL or open as a
    local path (resolved against the working directory, not the folder); return them."""
    found = []
    if "profile" in descriptor and descriptor["profile"] not in _PACKAGE_PROFILES:
        found.append(("the package profile", descriptor.pop("profile")))
    resources = descriptor.get("resources")
    for resource in resources if isinstance(resources, list) else []:
        if isinstance(resource, dict) and "profile" in resource and resource["profile"] not in _RESOURCE_PROFILES:
            found.append((f"resource {resource.get('name', '?')!r} profile", resource.pop("profile")))
    return found


def _frictionless_messages(descriptor: dict) -> list[str]:
    """frictionless' metadata errors for the descriptor, with an HTTP session that sends
    nothing, so no URL a check missed can be fetched either."""
    import requests
    from frictionless import FrictionlessException, Package, system

    class Offline(requests.Session):
        def request(self, method, url, *args, **kwargs):
            raise ConnectionRefusedError("validate fetches nothing")

    # use_context restores the session only when its block ends normally: nothing may escape it.
    with system.use_context(trusted=False, http_session=Offline()):
        try:
            return [error.message for error in Package.metadata_validate(descriptor)]
        except FrictionlessException as exc:
            return [exc.error.message]
        except Exception as exc:  # frictionless trips over some malformed descriptors
            return [f"frictionless cannot check it: {type(exc).__name__}"]


def _field_list_differences(have: list[tuple], want: list[tuple]) -> list[str]:
    have_types, want_types = dict(have), dict(want)
    out = [f"field {name!r} of schemas/ is missing" for name in want_types if name not in have_types]
    out += [f"field {name!r} is not in schemas/" for name in have_types if name not in want_types]
    out += [
        f"field {name!r} is {have_types[name]}, schemas/ says {kind}"
        for name, kind in want_types.items()
        if name in have_types and have_types[name] != kind
    ]
    if not out and [n for n, _ in have] != [n for n, _ in want]:
        out.append("fields are not in the order of schemas/")
    return out
