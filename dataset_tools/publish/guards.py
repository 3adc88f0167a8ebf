"""Before anything is written: the branch must hold the same dataset (or nothing), and no later
version than the one published. Each guard refuses with its own error, which the caller can
override on purpose (`allow`: the repo is replaced, the branch moves back).

The dataset a branch holds is named by its manifest.json (`dataset.name`, written by the build;
a build made before that field is named by its croissant.json). A branch holding files but no
manifest.json, or one another tool wrote, holds something else than a dataset-tools dataset.
The version a branch is at is the latest `v<version>` tag on its history, or its manifest's
`dataset_version` when that is later.
"""

from __future__ import annotations

import re

from dataset_tools.errors import OtherDataset, VersionDowngrade
from dataset_tools.layout import CROISSANT_FILE, MANIFEST_FILE
from dataset_tools.publish.hub import Hub, Refs
from dataset_tools.publish.plan import KEEP_REMOTE, RemoteFile

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.\-]+))?(?:\+[0-9A-Za-z.\-]+)?$")


def version_key(version: str) -> tuple | None:
    """A key that orders semantic versions (1.0.0-rc.1 < 1.0.0 < 1.0.1), or None for another text."""
    match = _SEMVER.match(version)
    if not match:
        return None
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch), 0, parts)


def held_dataset(hub: Hub, head: str, files: dict[str, RemoteFile]) -> tuple[str | None, dict | None]:
    """What the branch at `head` holds: (a description when it is not a dataset-tools dataset
    or its name is known, its manifest head). (None, None) for an empty branch."""
    if not set(files) - KEEP_REMOTE:
        return None, None
    if MANIFEST_FILE not in files:
        count = len(set(files) - KEEP_REMOTE)
        return f"{count} file(s) and no {MANIFEST_FILE} (not a dataset built by dataset-tools)", None
    manifest = hub.json_head(head, MANIFEST_FILE, listing="inputs")
    if not isinstance(manifest, dict) or manifest.get("tool") != "dataset-tools":
        return f"a {MANIFEST_FILE} that dataset-tools did not write", None
    named = manifest.get("dataset")
    name = named.get("name") if isinstance(named, dict) else None
    if name is None and CROISSANT_FILE in files:  # built before manifest.json named the dataset
        croissant = hub.json_head(head, CROISSANT_FILE)
        name = croissant.get("name") if isinstance(croissant, dict) else None
    return (f"the dataset {name!r}" if isinstance(name, str) else None), manifest


def check_same_dataset(hub: Hub, branch: str, head: str | None, files: dict[str, RemoteFile], ours: str, *,
                       allow: bool) -> dict | None:
    """Refuse (OtherDataset) when the branch at `head` holds another dataset than `ours`, unless
    `allow`; returns the branch's manifest head, when it has one."""
    if head is None:
        return None
    theirs, manifest = held_dataset(hub, head, files)
    if theirs is None or theirs == f"the dataset {ours!r}":
        return manifest
    if not allow:
        raise OtherDataset(hub.repo_id, branch, ours, theirs)
    hub.say(f"replacing {theirs} on {branch} of {hub.repo_id} (--allow-other-dataset)")
    return manifest


def latest_version(hub: Hub, refs: Refs, head: str, manifest: dict | None, above: tuple) -> str | None:
    """The latest version the branch at `head` is at, when it is later than `above`: a `v*` tag
    on its history, or its manifest's `dataset_version`; None when there is none."""
    candidates = []
    tags = {name: key for name in refs.tags if name.startswith("v") and (key := version_key(name[1:])) is not None}
    later = {name: key for name, key in tags.items() if key > above}
    if later:
        history = hub.history(head)
        candidates += [(key, name) for name, key in later.items() if refs.tags[name] in history]
    held = str((manifest or {}).get("dataset_version") or "")
    if (key := version_key(held)) is not None and key > above:
        candidates.append((key, f"v{held}"))
    return max(candidates)[1] if candidates else None


def check_no_downgrade(hub: Hub, refs: Refs | None, branch: str, head: str | None, manifest: dict | None,
                       version: str, *, allow: bool) -> None:
    """Refuse (VersionDowngrade) to move the branch at `head` to an earlier version than the one
    it is at, unless `allow`. A version that is not semantic is not compared."""
    ours = version_key(version)
    if refs is None or head is None or ours is None:
        return
    latest = latest_version(hub, refs, head, manifest, ours)
    if latest is None:
        return
    if not allow:
        raise VersionDowngrade(hub.repo_id, branch, version, latest)
    hub.say(f"moving {branch} of {hub.repo_id} back from {latest} to v{version} (--allow-downgrade)")
