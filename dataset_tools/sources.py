"""Where a built dataset lives: a local folder, or a revision of a Hub dataset repository.

`open_dataset("dist")` yields the folder itself; `open_dataset("org/name@v1.2.0")` downloads that
revision through `huggingface_hub` (honouring HF_ENDPOINT and the user's token) into a temporary
folder and yields it. Everything downstream (validate, diff, release) works on a folder.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dataset_tools.errors import HubDownloadFailed, InputNotFound

_REPO_REF = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.\-]*/[A-Za-z0-9][\w.\-]*)(?:@(?P<revision>[^\s@]+))?$")


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A parsed location: `path` for a local folder, or `repo_id` and `revision` for the Hub."""

    text: str
    path: Path | None = None
    repo_id: str | None = None
    revision: str | None = None

    @property
    def is_hub(self) -> bool:
        return self.repo_id is not None


def parse_location(text: str) -> DatasetRef:
    """An existing path wins; otherwise `namespace/name[@revision]` names a Hub dataset.

    Raises:
        InputNotFound: neither an existing folder nor a repo id.
    """
    path = Path(text)
    if path.exists():
        if not path.is_dir():
            raise InputNotFound(f"{text} is not a folder", hint="Give a build folder such as dist/, or REPO_ID@REVISION.")
        return DatasetRef(text, path=path.resolve())
    match = _REPO_REF.match(text)
    if match and not text.startswith((".", "/")):
        return DatasetRef(text, repo_id=match.group("repo"), revision=match.group("revision") or "main")
    raise InputNotFound(
        f"{text} is neither a folder nor a Hub dataset id",
        hint="Give a build folder such as dist/, or a Hub dataset as namespace/name[@revision].",
    )


@contextmanager
def open_dataset(location: str | Path, *, token: str | None = None) -> Iterator[Path]:
    """Yield a local folder holding the dataset at `location`."""
    ref = parse_location(str(location))
    if not ref.is_hub:
        yield ref.path
        return
    with tempfile.TemporaryDirectory(prefix="dataset-tools-") as tmp:
        yield download_revision(ref.repo_id, ref.revision, Path(tmp), token=token)


def download_revision(repo_id: str, revision: str, target: Path, *, token: str | None = None) -> Path:
    """Download every file of a dataset revision into `target` and return it.

    Raises:
        InputNotFound: the repository or revision does not exist (or is not visible).
        HubDownloadFailed: the Hub is unreachable or the download failed.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        snapshot_download(
            repo_id,
            repo_type="dataset",
            revision=revision,
            local_dir=target,
            token=token,
        )
    except RevisionNotFoundError:
        raise InputNotFound(f"revision {revision!r} of dataset {repo_id} not found on the Hub") from None
    except RepositoryNotFoundError:
        raise InputNotFound(
            f"dataset {repo_id} not found on the Hub (or not visible with this token)",
            hint="Check the repo id, and log in (hf auth login) or set HF_TOKEN for a private dataset.",
        ) from None
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        raise HubDownloadFailed(f"downloading {repo_id}@{revision} failed (HTTP {status})") from None
    except OSError as exc:
        raise HubDownloadFailed(
            f"cannot reach the Hub to download {repo_id}@{revision}: {type(exc).__name__}",
            hint="Check the network and HF_ENDPOINT.",
        ) from None
    # The local_dir download keeps a metadata cache folder; it is not part of the dataset.
    import shutil

    shutil.rmtree(target / ".cache", ignore_errors=True)
    return target
