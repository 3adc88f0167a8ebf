"""Publishing a folder to another repo than the one its card names (`publish --repo X`).

The repo a dataset is published to is the one its card's load line and citation and its
croissant.json name, so a folder built for repo A and published to B is published as a staged
copy: README.md and croissant.json rendered for B (by the card code, from the project's
settings with only `repo_id` changed), manifest.json listing their new hashes and naming B,
every other file hard-linked (copied where a link cannot be made). The folder itself is never
changed, and the copy validates like any build, so `validate B@v<version>` passes.

The files are rendered for A as well and compared with the folder's: when they differ (the
settings, CHANGELOG.md or the tool changed since the build), rendering for B would change more
than the repo, and the publish is refused (CardOutOfDate).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from dataset_tools.errors import CardOutOfDate, RepoMismatch
from dataset_tools.layout import MANIFEST_FILE
from dataset_tools.schema import TableSchema
from dataset_tools.untrusted import open_regular, read_bounded

_LISTING = b'  "inputs": ['


def rendered_for(folder: Path, manifest: dict, settings, schema: TableSchema, repo_id: str) -> dict[str, bytes]:
    """The card files that name the repo, rendered for `repo_id`, once the folder's own are
    shown to be what the project renders for the repo they name.

    Raises:
        RepoMismatch: no settings to render them with.
        CardOutOfDate: the folder's files are not what the project renders now.
    """
    from dataset_tools.card import render_repo_files

    built = manifest["dataset"]["repo_id"]
    if settings is None:
        raise RepoMismatch(folder, built, repo_id)
    hashes = {entry["path"]: entry["sha256"] for entry in manifest.get("data_files", [])}
    rendered = render_repo_files(folder, settings, schema, str(manifest["dataset_version"]), [built, repo_id],
                                 shard_hashes=hashes)
    differing = []
    for rel, data in rendered[built].items():
        with open_regular(folder, rel) as handle:
            if read_bounded(handle, rel) != data:
                differing.append(rel)
    if differing:
        raise CardOutOfDate(folder, differing, built, repo_id)
    return rendered[repo_id]


@contextmanager
def staged_copy(folder: Path, paths: list[str], manifest: dict, replaced: dict[str, bytes], repo_id: str) -> Iterator[Path]:
    """A copy of the folder's `paths` (manifest.json and what it lists) with `replaced` files
    and a manifest.json that lists their hashes and names `repo_id`; removed on exit."""
    stage = _stage_folder(folder)
    try:
        for rel in paths:
            if rel == MANIFEST_FILE:
                continue
            target = stage / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if rel in replaced:
                target.write_bytes(replaced[rel])
            else:
                _link_or_copy(folder, rel, target)
        _write_manifest(folder, stage, manifest, replaced, repo_id)
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _stage_folder(folder: Path) -> Path:
    # Next to the folder, so the data files can be hard links (same file system); else a temp folder.
    try:
        return Path(tempfile.mkdtemp(prefix=f".{folder.name}-publish-", dir=folder.resolve().parent))
    except OSError:
        return Path(tempfile.mkdtemp(prefix="dataset-tools-publish-"))


def _link_or_copy(folder: Path, rel: str, target: Path) -> None:
    try:
        os.link(folder / rel, target, follow_symlinks=False)
    except OSError:
        with open_regular(folder, rel) as source, open(target, "wb") as copy:
            shutil.copyfileobj(source, copy, 1 << 20)


def _write_manifest(folder: Path, stage: Path, manifest: dict, replaced: dict[str, bytes], repo_id: str) -> None:
    """manifest.json's head with the replaced files' hashes and `repo_id`, then its list of
    inputs exactly as the folder's has it."""
    import hashlib

    head = {**manifest, "dataset": {**manifest["dataset"], "repo_id": repo_id}}
    head["files"] = [
        {**entry, "sha256": hashlib.sha256(replaced[entry["path"]]).hexdigest(), "bytes": len(replaced[entry["path"]])}
        if entry.get("path") in replaced else entry
        for entry in manifest.get("files", [])
    ]
    text = orjson.dumps(head, option=orjson.OPT_INDENT_2)
    with open_regular(folder, MANIFEST_FILE) as source, open(stage / MANIFEST_FILE, "wb") as out:
        while line := source.readline():
            if line.startswith(_LISTING):  # the head ends here: the list of inputs follows as it is
                out.write(text[:-1].rstrip() + b",\n" + line)
                shutil.copyfileobj(source, out, 1 << 20)
                return
        out.write(text + b"\n")  # no list of inputs: the head is the whole document
