"""A built, validated folder -> one Hub commit on a branch + the tag `v<version>`, verified.

`publish_dataset(folder, repo_id, schema, ...)`:

1. validates the folder (`validate_dataset`) and reads the version the build stamped into
   `manifest.json`; an invalid folder is refused before anything is sent, and so is a folder
   holding anything that `manifest.json` does not list (a stray `.env`, a symbolic link, a
   FIFO): exactly `manifest.json` and the files it lists are sent, each a regular file opened
   without following links (see untrusted.py);
2. reads the repo's refs: if the tag `v<version>` exists, its files are compared with the
   folder's: equal means "already published" (nothing is written), different is refused;
3. plans the commit by comparing every local file (SHA-256 and git blob id) with the files at
   the branch head: added, changed, deleted (files of the previous version that the folder no
   longer has; the Hub's `.gitattributes` is kept), unchanged (never sent again);
4. unless `dry_run`: `create_repo(exist_ok=True)`, one `create_commit` holding the whole plan
   with `parent_commit` set to the head it was planned against, then `create_tag` on exactly
   that commit. Transient failures (connection errors, 408/429/5xx) are retried with
   exponential backoff; before each retry the branch head is read again, so a commit that
   landed although its answer was lost is recognised instead of made twice. A request that
   huggingface_hub already retries itself (the upload steps of a commit, the file listing) is
   not retried again, so no request is tried more than `max(attempts, 6)` times in all;
5. verifies the tag: file list, sizes and hashes against `manifest.json`, and with
   `verify_load` the row count `datasets.load_dataset(repo, revision=tag)` returns.

Everything goes through the real `huggingface_hub` client, so HF_ENDPOINT, HF_TOKEN and the
saved login (`hf auth login`) are honoured. The token is never part of a message or a result.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from dataset_tools.errors import DatasetToolsError, UnlistedFiles
from dataset_tools.layout import MANIFEST_FILE
from dataset_tools.schema import TableSchema
from dataset_tools.untrusted import Inventory, open_regular, read_json, relative_path

# Files the Hub itself keeps in a dataset repo; a publish never deletes them.
KEEP_REMOTE = frozenset({".gitattributes"})
# Never part of a dataset folder: download caches and VCS folders.
_SKIP_PARTS = frozenset({".git", ".cache", ".huggingface"})
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_ATTEMPTS = 5
DEFAULT_RETRY_BASE = 2.0  # seconds; doubled after each failure, capped at MAX_RETRY_DELAY
MAX_RETRY_DELAY = 60.0
RETRY_BASE_ENV = "DATASET_TOOLS_RETRY_BASE"

Notify = Callable[[str], None]


class PublishError(DatasetToolsError):
    """The dataset could not be published."""


class NotValid(PublishError, ValueError):
    """The folder does not validate; nothing was sent to the Hub."""

    hint = "Run `dataset-tools validate` for the full report, fix the cause and rebuild with `dataset-tools build`."


class VersionMismatch(PublishError, ValueError):
    """The folder was built for another version than the one CHANGELOG.md names."""

    hint = "Run `dataset-tools build` so the folder carries the version of CHANGELOG.md, then publish."


class TagConflict(PublishError):
    """The version's tag is already on the Hub with other content; a published version never changes."""

    hint = "Release a new version (`dataset-tools release`, then `dataset-tools build`) and publish that."


class HubAuthError(PublishError, PermissionError):
    """The Hub refused the token, or there is none."""

    hint = "Pass --token, set HF_TOKEN, or log in with `hf auth login`; publishing needs a token with write access."


class PublishFailed(PublishError, ConnectionError):
    """The publish stopped part way; the message says what state the repo is in."""

    hint = "Run the same command again to resume: files already on the Hub are not uploaded again."


class VerifyFailed(PublishError):
    """What the Hub serves at the tag differs from the folder's manifest."""


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
    """What one commit changes: paths added, changed, deleted, and those left as they are."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.deleted)

    def upload_paths(self) -> tuple[str, ...]:
        return self.added + self.changed

    def to_dict(self) -> dict:
        return {"added": list(self.added), "changed": list(self.changed), "deleted": list(self.deleted),
                "unchanged": list(self.unchanged)}


@dataclass
class PublishResult:
    """What `publish_dataset` did.

    `status` is "published" (a commit and a tag), "tagged" (the branch already held exactly
    these files; only the tag was added), "already-published" (the tag exists with these
    files; nothing was written) or "dry-run" (nothing was written).
    """

    repo_id: str
    version: str
    tag: str
    branch: str
    status: str
    plan: PublishPlan
    url: str
    repo_exists: bool = True
    commit: str | None = None
    upload_bytes: int = 0
    verified_files: int = 0
    loaded_rows: int | None = None
    retries: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def load_line(self) -> str:
        return f'load_dataset("{self.repo_id}", revision="{self.tag}")'

    def to_dict(self) -> dict:
        return {"repo_id": self.repo_id, "version": self.version, "tag": self.tag, "branch": self.branch,
                "status": self.status, "url": self.url, "repo_exists": self.repo_exists, "commit": self.commit,
                "plan": self.plan.to_dict(), "upload_bytes": self.upload_bytes,
                "verified_files": self.verified_files, "loaded_rows": self.loaded_rows, "retries": self.retries,
                "load": self.load_line}


# -- local side --------------------------------------------------------------------------------


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
    return PublishPlan(tuple(added), tuple(changed), tuple(deleted), tuple(unchanged))


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


# -- the publish -----------------------------------------------------------------------------


def publish_dataset(
    folder: Path,
    repo_id: str,
    schema: TableSchema,
    *,
    notes: str = "",
    expected_version: str | None = None,
    branch: str = "main",
    private: bool = False,
    dry_run: bool = False,
    verify_load: bool = False,
    token: str | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    retry_base: float | None = None,
    notify: Notify | None = None,
) -> PublishResult:
    """Publish a built dataset folder as the tag `v<version>` of a Hub dataset repo.

    Args:
        folder: the built folder (`dist/`); its `manifest.json` names the version.
        repo_id: `namespace/name` of the dataset repo; created when missing.
        schema: the table schema the folder must validate against.
        notes: the CHANGELOG entry of the version: the commit's description.
        expected_version: refuse a folder built for another version (CHANGELOG.md's).
        branch: the branch to commit to (created from `main` when missing).
        private: create the repo private (an existing repo keeps its visibility).
        dry_run: plan and report, write nothing.
        verify_load: also load the tag with `datasets.load_dataset` and compare row counts.
        token: a Hub token; None uses HF_TOKEN or the saved login.
        attempts: tries per write call on transient failures.
        retry_base: first backoff delay in seconds (default: $DATASET_TOOLS_RETRY_BASE or 2).
        notify: called with a one-line message on each retry or notable step.

    Returns:
        What was done, the plan, the commit and what was verified.

    Raises:
        NotValid, VersionMismatch: the folder cannot be published; nothing was sent.
        TagConflict: the tag exists with other content.
        HubAuthError: no token, or the Hub refused it.
        PublishFailed: a write failed after the retries; the message says the repo's state.
        VerifyFailed: the Hub serves something else than the manifest at the tag.
    """
    from huggingface_hub import HfApi, get_token

    from dataset_tools.validate import validate_dataset

    folder = Path(folder)
    say = notify or (lambda message: None)
    base = _retry_base(retry_base)

    report = validate_dataset(folder, schema)
    if not report.valid:
        shown = "; ".join(f"{e.type}" + (f" in {e.file}" if e.file else "") + f": {e.message}" for e in report.errors[:3])
        more = f" (and {len(report.errors) - 3} more)" if len(report.errors) > 3 else ""
        raise NotValid(f"{folder} does not validate ({len(report.errors)} error(s)): {shown}{more}; nothing was sent to the Hub")
    manifest = read_manifest(folder)
    version = str(manifest.get("dataset_version") or "")
    if not version:
        raise NotValid(f"{folder}/{MANIFEST_FILE} has no dataset_version")
    if expected_version is not None and version != expected_version:
        raise VersionMismatch(f"{folder} was built as v{version} but CHANGELOG.md's top release is v{expected_version}")
    tag = f"v{version}"
    local = local_files(folder, publish_paths(folder, manifest))

    if not dry_run and not (token or get_token()):
        raise HubAuthError("no Hub token: publishing needs one")
    api = HfApi(token=token or None)
    hub = _Hub(api, repo_id, say, attempts, base)
    url = f"{api.endpoint.rstrip('/')}/datasets/{repo_id}"
    result = PublishResult(repo_id, version, tag, branch, "dry-run" if dry_run else "published", PublishPlan(), url)

    refs = hub.refs()
    result.repo_exists = refs is not None
    if refs is not None and tag in refs.tags:
        at_tag = plan_commit(local, hub.files(refs.tags[tag]))
        if not at_tag.empty:
            raise TagConflict(
                f"{tag} is already on the Hub ({repo_id}) with other content: {_describe(at_tag)} compared with {folder}")
        result.status, result.commit, result.plan = "already-published", refs.tags[tag], at_tag
        return result

    head = None
    if refs is not None:
        head = refs.branches.get(branch) or refs.branches.get("main")
    result.plan = plan = plan_commit(local, hub.files(head) if head else {})
    result.upload_bytes = sum(local[p].size for p in plan.upload_paths())
    if dry_run:
        return result

    hub.write("create the repository", lambda: api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True),
              state="Nothing was written yet.")
    if refs is None:
        refs = hub.refs()
        if refs is None:
            raise PublishFailed(f"{repo_id} was created but cannot be read back; nothing was committed")
        head = refs.branches.get("main")
        result.plan = plan = plan_commit(local, hub.files(head) if head else {})
        result.upload_bytes = sum(local[p].size for p in plan.upload_paths())
    if branch not in refs.branches:
        hub.write(f"create the branch {branch}",
                  lambda: api.create_branch(repo_id, branch=branch, revision=head, repo_type="dataset", exist_ok=True),
                  state=f"The repository {repo_id} exists; nothing else was written.")

    if plan.empty:
        result.status, result.commit = "tagged", head
        say(f"{branch} already holds exactly these files ({head[:8]}): no commit needed, tagging it")
    else:
        result.commit = hub.commit(folder, local, plan, head, branch, f"Publish {tag}", notes.strip() or None)

    hub.write(f"create the tag {tag}",
              lambda: api.create_tag(repo_id, tag=tag, revision=result.commit, tag_message=f"Publish {tag}",
                                     repo_type="dataset"),
              state=f"{tag} is committed to {branch} as {result.commit[:8]} but is NOT tagged. "
                    "Run the same command again: it tags that commit without uploading anything.",
              done=lambda: (hub.refs() or _NoRefs).tags.get(tag) == result.commit)
    result.retries = hub.retries

    try:
        result.verified_files = verify_tag(hub, tag, folder, manifest, local)
        if verify_load:
            result.loaded_rows = verify_rows(repo_id, tag, manifest, token=token or None)
    except VerifyFailed as exc:
        removed = _remove_tag(api, repo_id, tag)
        state = (f"the tag {tag} was removed again; {branch} still holds commit {result.commit[:8]}" if removed
                 else f"the tag {tag} could not be removed: delete it before publishing again")
        raise VerifyFailed(f"{exc}; {state}", hint="Compare the files on the Hub with the folder; "
                           "publishing again re-uploads what differs.") from None
    return result


def _describe(plan: PublishPlan) -> str:
    parts = [f"{len(paths)} {label}" for label, paths in (("added", plan.added), ("changed", plan.changed),
                                                          ("deleted", plan.deleted)) if paths]
    return ", ".join(parts) or "no difference"


def _retry_base(value: float | None) -> float:
    if value is not None:
        return max(0.0, float(value))
    raw = os.environ.get(RETRY_BASE_ENV, "")
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_RETRY_BASE
    except ValueError:
        return DEFAULT_RETRY_BASE


@dataclass
class _Refs:
    branches: dict[str, str]
    tags: dict[str, str]


_NoRefs = _Refs({}, {})


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def transient_reason(exc: BaseException) -> str | None:
    """Why `exc` is worth retrying ("HTTP 503", "connection dropped: ReadError"), or None."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, HfHubHTTPError):
            status = _status(exc)
            return f"HTTP {status}" if status in TRANSIENT_STATUS else None
        if isinstance(exc, httpx2.TransportError | ConnectionError | TimeoutError):
            return f"connection failed: {type(exc).__name__}"
        exc = exc.__cause__ or exc.__context__
    return None


def _auth_error(exc: BaseException, repo_id: str, endpoint: str) -> HubAuthError | None:
    status = _status(exc)
    if status in (401, 403):
        return HubAuthError(f"the Hub at {endpoint} refused the token (HTTP {status}) for {repo_id}")
    return None


class _Hub:
    """The repo on the Hub, with retries and failures that say what state the repo is in."""

    def __init__(self, api, repo_id: str, say: Notify, attempts: int, base: float) -> None:
        self.api, self.repo_id, self.say = api, repo_id, say
        self.attempts, self.base = max(1, attempts), base
        self.retries = 0

    def _sleep(self, what: str, reason: str, attempt: int) -> None:
        delay = min(MAX_RETRY_DELAY, self.base * 2 ** (attempt - 1))
        self.retries += 1
        self.say(f"{what} failed ({reason}); retrying in {delay:g} s (attempt {attempt + 1} of {self.attempts})")
        time.sleep(delay)

    def _read(self, what: str, call, *, retried_by_client: bool = False):
        """A read, retried on transient failures unless the client already retried it; other
        errors become one-line errors."""
        attempts = 1 if retried_by_client else self.attempts
        for attempt in range(1, attempts + 1):
            try:
                return call()
            except Exception as exc:
                denied = _auth_error(exc, self.repo_id, self.api.endpoint)
                if denied:
                    raise denied from None
                reason = transient_reason(exc)
                if reason is None or attempt == attempts:
                    raise PublishFailed(f"could not {what} on the Hub ({reason or _short(exc)}). Nothing was written by "
                                        "this step.", hint="Check the network and HF_ENDPOINT, then run the same "
                                        "command again.") from None
                self._sleep(what, reason, attempt)

    def refs(self) -> _Refs | None:
        """Branches and tags, or None when the repo does not exist (or is not visible)."""
        from huggingface_hub.errors import RepositoryNotFoundError

        def call():
            try:
                found = self.api.list_repo_refs(self.repo_id, repo_type="dataset")
            except RepositoryNotFoundError:
                # A refused token is a plain 401, not this: here the repo is missing (or private
                # and we have no token), which create_repo settles.
                return None
            return _Refs({b.name: b.target_commit for b in found.branches}, {t.name: t.target_commit for t in found.tags})
        return self._read("read the branches and tags of " + self.repo_id, call)

    def files(self, revision: str) -> dict[str, RemoteFile]:
        from huggingface_hub.hf_api import RepoFile

        def call():
            items = self.api.list_repo_tree(self.repo_id, repo_type="dataset", revision=revision, recursive=True)
            return {item.path: RemoteFile(item.path, item.size, item.blob_id, item.lfs.sha256 if item.lfs else None)
                    for item in items if isinstance(item, RepoFile)}
        # list_repo_tree pages through http_backoff, which retries each page itself.
        return self._read(f"list the files at {revision[:12]}", call, retried_by_client=True)

    def write(self, what: str, call, *, state: str, done: Callable[[], bool] | None = None):
        """A write, retried on transient failures. `done()` tells whether a lost attempt landed."""
        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except Exception as exc:
                denied = _auth_error(exc, self.repo_id, self.api.endpoint)
                if denied:
                    raise denied from None
                reason = transient_reason(exc)
                if (reason is not None or _status(exc) == 409) and done is not None and _quiet(done):
                    return None
                if reason is None or attempt == self.attempts:
                    tried = f" after {attempt} attempt(s)" if reason else ""
                    raise PublishFailed(f"could not {what} on {self.repo_id}{tried} ({reason or _short(exc)}). {state}") from None
                self._sleep(what, reason, attempt)

    def commit(self, folder: Path, local: dict[str, LocalFile], plan: PublishPlan, parent: str | None, branch: str,
               title: str, description: str | None) -> str:
        """One commit holding the plan, on top of `parent`; returns its id."""
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete

        def operations(files: ExitStack):  # fresh objects each try: the client mutates them
            # Open files, not paths: the client would open a path again, following a link put there since.
            ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=files.enter_context(open_regular(folder, p)))
                   for p in plan.upload_paths()]
            return ops + [CommitOperationDelete(path_in_repo=p) for p in plan.deleted]

        state = (f"Nothing was committed: {branch} is still at {parent[:8] if parent else 'its first commit'} and no "
                 "tag was created. Files uploaded so far are kept by the Hub and not sent again on the next run.")
        landed: list[str] = []

        def did_land() -> bool:
            refs = self.refs()
            now = refs.branches.get(branch) if refs else None
            if now is None or now == parent:
                return False
            if plan_commit(local, self.files(now)).empty:
                landed.append(now)
                return True
            raise PublishFailed(f"{branch} of {self.repo_id} moved to {now[:8]} while publishing: someone else "
                                "committed. Nothing of this publish was committed and no tag was created.",
                                hint="Check the repo's history, then run the same command again.")

        for attempt in range(1, self.attempts + 1):
            try:
                with ExitStack() as files:
                    info = self.api.create_commit(self.repo_id, operations(files), commit_message=title,
                                                  commit_description=description, repo_type="dataset", revision=branch,
                                                  parent_commit=parent)
            except Exception as exc:
                denied = _auth_error(exc, self.repo_id, self.api.endpoint)
                if denied:
                    raise denied from None
                reason = transient_reason(exc)
                if reason is not None and "/commit/" not in (_failed_request_path(exc) or "/commit/"):
                    # The steps before the commit request (upload modes, LFS batch, upload, verify)
                    # go through the client's http_backoff, which has tried each 6 times already:
                    # trying them again here would multiply the tries (the issue saw 90).
                    raise PublishFailed(f"could not upload the files to {self.repo_id} ({reason}, after huggingface_hub's "
                                        f"own retries). {state}") from None
                if (reason is not None or _status(exc) == 412) and did_land():
                    self.say(f"the commit landed although its answer was lost ({landed[0][:8]})")
                    return landed[0]
                if reason is None or attempt == self.attempts:
                    tried = f" after {attempt} attempt(s)" if reason else ""
                    raise PublishFailed(f"could not commit to {self.repo_id}{tried} ({reason or _short(exc)}). {state}") from None
                self._sleep("the commit", reason, attempt)
                continue
            # When the branch already holds every file, the client skips the commit and answers
            # with the branch head, whatever else that head holds: check it before tagging it.
            if plan_commit(local, self.files(info.oid)).empty:
                return info.oid
            raise PublishFailed(f"{branch} of {self.repo_id} moved while publishing and does not hold exactly this "
                                "folder; no tag was created.",
                                hint="Check the repo's history, then run the same command again.")
        raise AssertionError("unreachable")


def _failed_request_path(exc: BaseException) -> str | None:
    """The URL path of the HTTP request whose failure `exc` (or one of its causes) reports."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for holder in (getattr(exc, "response", None), exc):
            try:
                request = holder.request  # httpx raises RuntimeError when a response or error has none
            except (AttributeError, RuntimeError):
                continue
            if request is not None:
                return request.url.path
        exc = exc.__cause__ or exc.__context__
    return None


def _quiet(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except PublishFailed:
        return False


def _short(exc: BaseException) -> str:
    status = _status(exc)
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"HTTP {status}: {text}" if status else f"{type(exc).__name__}: {text}"


def _remove_tag(api, repo_id: str, tag: str) -> bool:
    try:
        api.delete_tag(repo_id, tag=tag, repo_type="dataset")
        return True
    except Exception:
        return False


# -- verification ----------------------------------------------------------------------------


def verify_tag(hub: _Hub, tag: str, folder: Path, manifest: dict, local: dict[str, LocalFile]) -> int:
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
