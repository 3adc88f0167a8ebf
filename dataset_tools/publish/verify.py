"""After the tag: what the Hub serves at it, against the folder's manifest.json."""

from __future__ import annotations

import tempfile

from dataset_tools.errors import VerifyFailed
from dataset_tools.publish.hub import Hub
from dataset_tools.publish.plan import KEEP_REMOTE, LocalFile


def verify_tag(hub: Hub, tag: str, manifest: dict, local: dict[str, LocalFile]) -> int:
    """Check the files at the tag against the manifest (data_files, files) and the folder.

    Returns:
        The number of files checked.

    Raises:
        VerifyFailed: a file is missing, extra, or of another size or hash.
    """
    remote = {p: f for p, f in hub.files(tag).items() if p not in KEEP_REMOTE}
    problems = []
    missing, extra = sorted(set(local) - set(remote)), sorted(set(remote) - set(local))
    if missing:
        problems.append("missing " + ", ".join(missing))
    if extra:
        problems.append("not in the folder " + ", ".join(extra))
    expected = {e["path"]: (e.get("bytes"), e.get("sha256")) for e in manifest.get("data_files", []) + manifest.get("files", [])}
    for path, (size, sha256) in sorted(expected.items()):
        there, here = remote.get(path), local.get(path)
        if there is None:
            continue
        if size is not None and there.size != size:
            problems.append(f"{path} is {there.size} bytes, the manifest says {size}")
        elif there.lfs_sha256 is not None and there.lfs_sha256 != sha256:
            problems.append(f"{path} has SHA-256 {there.lfs_sha256[:12]}, the manifest says {str(sha256)[:12]}")
        elif there.lfs_sha256 is None and (here is None or here.sha256 != sha256 or there.blob_id != here.blob_id):
            problems.append(f"{path} differs from the manifest's SHA-256 {str(sha256)[:12]}")
    for path in sorted(set(local) - set(expected)):  # manifest.json itself
        if path in remote and not remote[path].same_as(local[path]):
            problems.append(f"{path} differs from the folder's")
    if problems:
        raise VerifyFailed(f"the Hub's {tag} does not match the manifest: " + "; ".join(problems))
    return len(remote)


def verify_rows(repo_id: str, tag: str, manifest: dict, *, token: str | None = None) -> int:
    """Load the tag with `datasets.load_dataset` (fresh cache) and compare the row count.

    Raises:
        VerifyFailed: loading fails or the count differs from the manifest's.
    """
    import datasets

    expected = sum(int(e.get("rows", 0)) for e in manifest.get("data_files", []))
    with tempfile.TemporaryDirectory(prefix="dataset-tools-verify-") as cache:
        try:
            loaded = datasets.load_dataset(repo_id, revision=tag, cache_dir=cache, token=token)
        except Exception as exc:
            raise VerifyFailed(f"load_dataset({repo_id!r}, revision={tag!r}) failed: {type(exc).__name__}") from None
        rows = sum(split.num_rows for split in loaded.values())
        del loaded  # release the Arrow files before the cache folder goes
    if rows != expected:
        raise VerifyFailed(f"load_dataset({repo_id!r}, revision={tag!r}) returned {rows} rows, the manifest says {expected}")
    return rows
