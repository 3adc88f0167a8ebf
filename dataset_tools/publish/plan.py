"""What a publish sends: the folder's files (manifest.json and what it lists), each with its
SHA-256 and git blob id, and the plan that makes a revision of the repo hold exactly them.

A local file and a file on the Hub are the same when their sizes match and, for a file the Hub
stores with LFS, their SHA-256, else their git blob ids; only the files that differ are sent.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from dataset_tools.errors import NotValid, UnlistedFiles
from dataset_tools.layout import MANIFEST_FILE
from dataset_tools.untrusted import Inventory, open_regular, read_json, relative_path

# Files the Hub itself keeps in a dataset repo; a publish never deletes them.
KEEP_REMOTE = frozenset({".gitattributes"})
# Never part of a dataset folder: download caches and VCS folders.
_SKIP_PARTS = frozenset({".git", ".cache", ".huggingface"})


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A file of the folder: its path in the repo, size, SHA-256 and git blob id."""

    path: str
    size: int
    sha256: str
    blob_id: str


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A file on the Hub: size, git blob id, and the SHA-256 when it is stored with LFS."""

    path: str
    size: int
    blob_id: str
    lfs_sha256: str | None = None

    def same_as(self, local: LocalFile) -> bool:
        if self.size != local.size:
            return False
        if self.lfs_sha256 is not None:
            return self.lfs_sha256 == local.sha256
        return self.blob_id == local.blob_id


@dataclass(frozen=True)
class PublishPlan:
    """What one commit changes: paths added, changed, deleted, and those left as they are;
    `sizes` holds the size of every local file."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    sizes: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.deleted)

    def upload_paths(self) -> tuple[str, ...]:
        return self.added + self.changed

    def counts(self) -> dict[str, int]:
        """Files and bytes sent (added or changed), left unchanged (not sent), and files deleted."""
        sent, unchanged = self.upload_paths(), self.unchanged
        return {"files_sent": len(sent), "bytes_sent": sum(self.sizes.get(p, 0) for p in sent),
                "files_unchanged": len(unchanged), "bytes_unchanged": sum(self.sizes.get(p, 0) for p in unchanged),
                "files_deleted": len(self.deleted)}

    def to_dict(self) -> dict:
        return {"added": list(self.added), "changed": list(self.changed), "deleted": list(self.deleted),
                "unchanged": list(self.unchanged)}


def git_blob_id(path: Path, size: int) -> tuple[str, str]:
    """(SHA-256, git blob id) of a file, read once."""
    with open(path, "rb") as handle:
        return _digests(handle, size)


def _digests(handle, size: int) -> tuple[str, str]:
    sha256, sha1 = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % size)
    while chunk := handle.read(1 << 20):
        sha256.update(chunk)
        sha1.update(chunk)
    return sha256.hexdigest(), sha1.hexdigest()


def local_files(folder: Path, paths: list[str] | None = None) -> dict[str, LocalFile]:
    """The files `paths` of the dataset folder (default: every regular file in it), by their
    path in the repo (POSIX, relative). Links are never followed.

    Raises:
        NotRegularFile: a path given is a link or not a regular file.
    """
    folder = Path(folder)
    if paths is None:
        paths = [rel for rel in Inventory.of(folder).files if not _SKIP_PARTS & set(rel.split("/"))]
    out: dict[str, LocalFile] = {}
    for rel in sorted(paths):
        with open_regular(folder, rel) as handle:
            size = os.fstat(handle.fileno()).st_size
            sha256, blob_id = _digests(handle, size)
        out[rel] = LocalFile(rel, size, sha256, blob_id)
    return out


def publish_paths(folder: Path, manifest: dict) -> list[str]:
    """What a publish sends: manifest.json and every file it lists (its data files, and its
    other files: the card, Croissant, Data Package, plot, report), when that is all the folder
    holds, each a regular file.

    Raises:
        UnlistedFiles: the folder also holds other files (a stray `.env`), or links, FIFOs,
            sockets or devices anywhere (even listed ones: a link is never followed).
        UnsafePath: manifest.json lists a path that is absolute or leaves the folder.
    """
    listed = {MANIFEST_FILE}
    for key in ("data_files", "files"):
        listed.update(relative_path(entry.get("path")) for entry in manifest.get(key) or [])
    inventory = Inventory.of(folder)
    refused = [(rel, "") for rel in sorted(set(inventory.files) - listed)]
    refused += sorted(inventory.others.items())
    if refused:
        raise UnlistedFiles(folder, refused)
    return sorted(listed)


def plan_commit(local: dict[str, LocalFile], remote: dict[str, RemoteFile]) -> PublishPlan:
    """The operations that make `remote` hold exactly `local` (plus the Hub's own files)."""
    added, changed, unchanged = [], [], []
    for path, item in sorted(local.items()):
        there = remote.get(path)
        if there is None:
            added.append(path)
        elif there.same_as(item):
            unchanged.append(path)
        else:
            changed.append(path)
    deleted = sorted(p for p in remote if p not in local and p not in KEEP_REMOTE)
    sizes = {path: item.size for path, item in local.items()}
    return PublishPlan(tuple(added), tuple(changed), tuple(deleted), tuple(unchanged), sizes)


def describe(plan: PublishPlan) -> str:
    """'2 added, 1 changed', or 'no difference'."""
    parts = [f"{len(paths)} {label}" for label, paths in (("added", plan.added), ("changed", plan.changed),
                                                          ("deleted", plan.deleted)) if paths]
    return ", ".join(parts) or "no difference"


def read_manifest(folder: Path) -> dict:
    """manifest.json's head (everything but its list of raw inputs), read as validate reads it.

    Raises:
        NotValid: it cannot be read, or is not a JSON object.
    """
    try:
        manifest = read_json(Path(folder), MANIFEST_FILE, listing="inputs")
    except (OSError, ValueError) as exc:
        raise NotValid(f"{folder}/{MANIFEST_FILE} cannot be read: {type(exc).__name__}") from None
    if not isinstance(manifest, dict):
        raise NotValid(f"{folder}/{MANIFEST_FILE} is not a JSON object")
    return manifest
