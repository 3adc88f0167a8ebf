"""A built, validated folder -> one Hub commit on a branch + the tag `v<version>`, verified.

`publish_dataset(folder, repo_id, schema, ...)`:

1. validates the folder (`validate_dataset`) and reads the version the build stamped into
   `manifest.json`; an invalid folder is refused before anything is sent, and so is a folder
   holding anything that `manifest.json` does not list (a stray `.env`, a symbolic link, a
   FIFO): exactly `manifest.json` and the files it lists are sent, each a regular file opened
   without following links (see untrusted.py);
2. when the folder was built for another repo than `repo_id` (manifest.json's `dataset`),
   publishes a staged copy whose card and croissant.json name `repo_id` (see retarget.py);
3. reads the repo's refs and refuses (see guards.py), unless allowed, to replace another
   dataset on the branch or to move the branch back to an earlier version; if the tag
   `v<version>` exists, its files are compared with the folder's: equal means "already
   published" (nothing is written), different is refused;
4. plans the commit by comparing every local file (SHA-256 and git blob id) with the files at
   the branch head: added, changed, deleted (files of the previous version that the folder no
   longer has; the Hub's `.gitattributes` is kept), unchanged (never sent again);
5. unless `dry_run`: `create_repo(exist_ok=True)`, one `create_commit` holding the whole plan
   with `parent_commit` set to the head it was planned against, then `create_tag` on exactly
   that commit, with retries (see hub.py);
6. verifies the tag: file list, sizes and hashes against `manifest.json`, and with
   `verify_load` the row count `datasets.load_dataset(repo, revision=tag)` returns.

One module per job: `plan` (the files and the commit plan), `retarget` (the card rendered for
another repo), `guards` (another dataset, an earlier version), `hub` (the Hub calls with
retries), `upload` (the files handed to the client, reporting progress), `verify` (the tag
against the manifest).

Everything goes through the real `huggingface_hub` client, so HF_ENDPOINT, HF_TOKEN and the
saved login (`hf auth login`) are honoured. The token is never part of a message or a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dataset_tools.errors import HubAuthError, NotValid, PublishFailed, TagConflict, VerifyFailed, VersionMismatch
from dataset_tools.layout import MANIFEST_FILE
from dataset_tools.publish.guards import check_no_downgrade, check_same_dataset
from dataset_tools.publish.hub import DEFAULT_ATTEMPTS, NO_REFS, Hub, Notify
from dataset_tools.publish.hub import retry_base as resolve_retry_base
from dataset_tools.publish.plan import (
    LocalFile,
    PublishPlan,
    RemoteFile,
    describe,
    local_files,
    plan_commit,
    publish_paths,
    read_manifest,
)
from dataset_tools.publish.retarget import rendered_for, staged_copy
from dataset_tools.publish.upload import Progress
from dataset_tools.publish.verify import verify_rows, verify_tag
from dataset_tools.schema import TableSchema

__all__ = ["LocalFile", "PublishPlan", "PublishResult", "RemoteFile", "local_files", "plan_commit",
           "publish_dataset", "publish_paths", "read_manifest", "verify_rows", "verify_tag"]


@dataclass
class PublishResult:
    """What `publish_dataset` did.

    `status` is "published" (a commit and a tag), "tagged" (the branch already held exactly
    these files; only the tag was added), "already-published" (the tag exists with these
    files; nothing was written) or "dry-run" (nothing was written). `rendered` names the card
    files rendered for `repo_id` because the folder's name another repo.
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
    verified_files: int = 0
    loaded_rows: int | None = None
    retries: int = 0
    rendered: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def load_line(self) -> str:
        return f'load_dataset("{self.repo_id}", revision="{self.tag}")'

    def to_dict(self) -> dict:
        return {"repo_id": self.repo_id, "version": self.version, "tag": self.tag, "branch": self.branch,
                "status": self.status, "url": self.url, "repo_exists": self.repo_exists, "commit": self.commit,
                "plan": self.plan.to_dict(), **self.plan.counts(), "rendered": list(self.rendered),
                "verified_files": self.verified_files, "loaded_rows": self.loaded_rows, "retries": self.retries,
                "load": self.load_line}


@dataclass(frozen=True)
class _Job:
    """How to publish: everything `publish_dataset` was asked besides the folder and the repo."""

    schema: TableSchema
    notes: str
    expected_version: str | None
    branch: str
    private: bool
    dry_run: bool
    verify_load: bool
    token: str | None
    allow_downgrade: bool
    allow_other_dataset: bool
    attempts: int
    retry_base: float
    say: Notify
    progress: Progress | None


def publish_dataset(
    folder: Path,
    repo_id: str,
    schema: TableSchema,
    *,
    settings=None,
    notes: str = "",
    expected_version: str | None = None,
    branch: str = "main",
    private: bool = False,
    dry_run: bool = False,
    verify_load: bool = False,
    token: str | None = None,
    allow_downgrade: bool = False,
    allow_other_dataset: bool = False,
    attempts: int = DEFAULT_ATTEMPTS,
    retry_base: float | None = None,
    notify: Notify | None = None,
    progress: Progress | None = None,
) -> PublishResult:
    """Publish a built dataset folder as the tag `v<version>` of a Hub dataset repo.

    Args:
        folder: the built folder (`dist/`); its `manifest.json` names the version.
        repo_id: `namespace/name` of the dataset repo; created when missing.
        schema: the table schema the folder must validate against.
        settings: the project's settings: with them, a folder built for another repo is
            published with its card and croissant.json rendered for `repo_id` (see retarget.py).
        notes: the CHANGELOG entry of the version: the commit's description.
        expected_version: refuse a folder built for another version (CHANGELOG.md's).
        branch: the branch to commit to (created from `main` when missing).
        private: create the repo private (an existing repo keeps its visibility).
        dry_run: plan and report, write nothing.
        verify_load: also load the tag with `datasets.load_dataset` and compare row counts.
        token: a Hub token; None uses HF_TOKEN or the saved login.
        allow_downgrade: move the branch to this version even when it is at a later one.
        allow_other_dataset: replace another dataset (or files no build made) on the branch.
        attempts: tries per write call on transient failures.
        retry_base: first backoff delay in seconds (default: $DATASET_TOOLS_RETRY_BASE or 2).
        notify: called with a one-line message on each retry or notable step.
        progress: called with (path, bytes sent, size) as each file is uploaded, from the
            client's upload threads. The client's own progress bars are the caller's business.

    Returns:
        What was done, the plan, the commit and what was verified.

    Raises:
        NotValid, VersionMismatch: the folder cannot be published; nothing was sent.
        RepoMismatch, CardOutOfDate: its card names another repo and cannot be rendered for
            this one; nothing was sent.
        OtherDataset, VersionDowngrade: the branch holds another dataset, or a later
            version (unless allowed); nothing was written.
        TagConflict: the tag exists with other content.
        HubAuthError: no token, or the Hub refused it.
        HubUnreachable: nobody answers at the endpoint (refused, unknown host); nothing was sent.
        PublishFailed: a write failed after the retries; the message says the repo's state.
        VerifyFailed: the Hub serves something else than the manifest at the tag.
    """
    folder = Path(folder)
    job = _Job(schema, notes, expected_version, branch, private, dry_run, verify_load, token, allow_downgrade,
               allow_other_dataset, attempts, resolve_retry_base(retry_base), notify or (lambda message: None), progress)
    manifest, version = _checked_folder(folder, job)
    built = manifest["dataset"]["repo_id"]
    if built.casefold() == repo_id.casefold():
        return _publish(folder, folder, manifest, version, repo_id, job)
    replaced = rendered_for(folder, manifest, settings, schema, repo_id)
    with staged_copy(folder, publish_paths(folder, manifest), manifest, replaced, repo_id) as stage:
        staged, _ = _checked_folder(stage, job, repo_id=repo_id, shown=f"{folder} rendered for {repo_id}")
        result = _publish(stage, folder, staged, version, repo_id, job)
    result.rendered = sorted(replaced)
    return result


def _checked_folder(folder: Path, job: _Job, *, repo_id: str | None = None, shown: object = None) -> tuple[dict, str]:
    """The folder's manifest head and version, once the folder validates (its card naming
    `repo_id`, else the repo its manifest names) and its manifest names its dataset."""
    from dataset_tools.validate import validate_dataset

    shown = shown or folder
    report = validate_dataset(folder, job.schema, repo_id=repo_id)
    if not report.valid:
        listed = "; ".join(f"{e.type}" + (f" in {e.file}" if e.file else "") + f": {e.message}" for e in report.errors[:3])
        more = f" (and {len(report.errors) - 3} more)" if len(report.errors) > 3 else ""
        raise NotValid(f"{shown} does not validate ({len(report.errors)} error(s)): {listed}{more}; nothing was sent to the Hub")
    manifest = read_manifest(folder)
    version = str(manifest.get("dataset_version") or "")
    if not version:
        raise NotValid(f"{shown}/{MANIFEST_FILE} has no dataset_version")
    if job.expected_version is not None and version != job.expected_version:
        raise VersionMismatch(shown, version, job.expected_version)
    named = manifest.get("dataset")
    if not (isinstance(named, dict) and all(isinstance(named.get(key), str) for key in ("name", "repo_id"))):
        raise NotValid(f"{shown}/{MANIFEST_FILE} does not name its dataset (it was built by an older dataset-tools); "
                       "nothing was sent to the Hub",
                       hint="Rebuild with `dataset-tools build`: the build names the dataset and its repo in "
                            "manifest.json, which publish checks against the repo.")
    return manifest, version


def _publish(folder: Path, shown: Path, manifest: dict, version: str, repo_id: str, job: _Job) -> PublishResult:
    """Publish the checked `folder` (named `shown` in messages): guards, plan, writes, verification."""
    from huggingface_hub import HfApi, get_token

    tag = f"v{version}"
    local = local_files(folder, publish_paths(folder, manifest))
    if not job.dry_run and not (job.token or get_token()):
        raise HubAuthError("no Hub token: publishing needs one")
    api = HfApi(token=job.token or None)
    hub = Hub(api, repo_id, job.say, job.attempts, job.retry_base)
    url = f"{api.endpoint.rstrip('/')}/datasets/{repo_id}"
    result = PublishResult(repo_id, version, tag, job.branch, "dry-run" if job.dry_run else "published", PublishPlan(), url)

    refs = hub.refs(first_contact=True)
    result.repo_exists = refs is not None
    head = (refs.branches.get(job.branch) or refs.branches.get("main")) if refs is not None else None
    remote = hub.files(head) if head else {}
    held = check_same_dataset(hub, job.branch, head, remote, manifest["dataset"]["name"], allow=job.allow_other_dataset)
    if refs is not None and tag in refs.tags:
        at_tag = plan_commit(local, hub.files(refs.tags[tag]))
        if not at_tag.empty:
            raise TagConflict(tag, repo_id, shown, describe(at_tag))
        result.status, result.commit, result.plan = "already-published", refs.tags[tag], at_tag
        return result
    check_no_downgrade(hub, refs, job.branch, head, held, version, allow=job.allow_downgrade)
    result.plan = plan_commit(local, remote)
    if job.dry_run:
        return result
    _write(hub, result, folder, local, refs, head, job)
    _verify(hub, result, manifest, local, job)
    return result


def _write(hub: Hub, result: PublishResult, folder: Path, local: dict[str, LocalFile], refs, head: str | None,
           job: _Job) -> None:
    """Create the repo and the branch when missing, commit the plan and tag the commit."""
    api, repo_id, branch, tag = hub.api, result.repo_id, result.branch, result.tag
    hub.write("create the repository", lambda: api.create_repo(repo_id, repo_type="dataset", private=job.private,
                                                               exist_ok=True),
              state="Nothing was written yet.")
    if refs is None:
        refs = hub.refs()
        if refs is None:
            raise PublishFailed(f"{repo_id} was created but cannot be read back; nothing was committed")
        head = refs.branches.get("main")
        result.plan = plan_commit(local, hub.files(head) if head else {})
    if branch not in refs.branches:
        hub.write(f"create the branch {branch}",
                  lambda: api.create_branch(repo_id, branch=branch, revision=head, repo_type="dataset", exist_ok=True),
                  state=f"The repository {repo_id} exists; nothing else was written.")

    if result.plan.empty:
        result.status, result.commit = "tagged", head
        hub.say(f"{branch} already holds exactly these files ({head[:8]}): no commit needed, tagging it")
    else:
        result.commit = hub.commit(folder, local, result.plan, head, branch, f"Publish {tag}", job.notes.strip() or None,
                                   job.progress)

    hub.write(f"create the tag {tag}",
              lambda: api.create_tag(repo_id, tag=tag, revision=result.commit, tag_message=f"Publish {tag}",
                                     repo_type="dataset"),
              state=f"{tag} is committed to {branch} as {result.commit[:8]} but is NOT tagged. "
                    "Run the same command again: it tags that commit without uploading anything.",
              done=lambda: (hub.refs() or NO_REFS).tags.get(tag) == result.commit)
    result.retries = hub.retries


def _verify(hub: Hub, result: PublishResult, manifest: dict, local: dict[str, LocalFile], job: _Job) -> None:
    """Check the tag against the manifest; when that fails, take the tag away again."""
    try:
        result.verified_files = verify_tag(hub, result.tag, manifest, local)
        if job.verify_load:
            result.loaded_rows = verify_rows(result.repo_id, result.tag, manifest, token=job.token or None)
    except VerifyFailed as exc:
        tag, branch = result.tag, result.branch
        state = (f"the tag {tag} was removed again; {branch} still holds commit {result.commit[:8]}" if hub.remove_tag(tag)
                 else f"the tag {tag} could not be removed: delete it before publishing again")
        raise VerifyFailed(f"{exc}; {state}", hint="Compare the files on the Hub with the folder; "
                           "publishing again re-uploads what differs.") from None
