"""The repo on the Hub, through the real huggingface_hub client, with retries.

Transient failures (connection errors, HTTP 408/429/5xx) are retried with exponential backoff.
A request the client already retries itself (the upload steps of a commit, the paged listings)
is not retried again, so no request is tried more than `max(attempts, 6)` times in all. Every
failure becomes one error that says what state the repo is in.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from dataset_tools.errors import HubAuthError, HubUnreachable, PublishFailed
from dataset_tools.publish.plan import LocalFile, PublishPlan, RemoteFile, plan_commit
from dataset_tools.publish.upload import Progress, arm, open_sent

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# A JSON document read from the Hub to decide something (a manifest's head, croissant.json) is
# read up to this many bytes: a manifest's list of inputs, last in it, can be a million lines.
JSON_HEAD_BYTES = 4 << 20
DEFAULT_ATTEMPTS = 5
DEFAULT_RETRY_BASE = 2.0  # seconds; doubled after each failure, capped at MAX_RETRY_DELAY
MAX_RETRY_DELAY = 60.0
RETRY_BASE_ENV = "DATASET_TOOLS_RETRY_BASE"

Notify = Callable[[str], None]


@dataclass
class Refs:
    """A repo's branches and tags, each name -> commit id."""

    branches: dict[str, str]
    tags: dict[str, str]


NO_REFS = Refs({}, {})


def retry_base(value: float | None) -> float:
    """The first backoff delay: `value`, else $DATASET_TOOLS_RETRY_BASE, else 2 s."""
    if value is not None:
        return max(0.0, float(value))
    raw = os.environ.get(RETRY_BASE_ENV, "")
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_RETRY_BASE
    except ValueError:
        return DEFAULT_RETRY_BASE


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _causes(exc: BaseException | None):
    """`exc` and the exceptions it was raised from, each once."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def transient_reason(exc: BaseException) -> str | None:
    """Why `exc` is worth retrying ("HTTP 503", "connection dropped: ReadError"), or None."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    for cause in _causes(exc):
        if isinstance(cause, HfHubHTTPError):
            status = _status(cause)
            return f"HTTP {status}" if status in TRANSIENT_STATUS else None
        if isinstance(cause, httpx2.TransportError | ConnectionError | TimeoutError):
            return f"connection failed: {type(cause).__name__}"
    return None


def unreachable_reason(exc: BaseException) -> str | None:
    """"connection refused" or "unknown host" when `exc` says nobody answers at the endpoint."""
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "unknown host"
    return None


def shown_endpoint(endpoint: str) -> str:
    """The endpoint URL without any user:password part."""
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    return parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl() if parts.hostname else endpoint


def _auth_error(exc: BaseException, repo_id: str, endpoint: str) -> HubAuthError | None:
    status = _status(exc)
    if status in (401, 403):
        return HubAuthError(f"the Hub at {endpoint} refused the token (HTTP {status}) for {repo_id}")
    return None


def _failed_request_path(exc: BaseException) -> str | None:
    """The URL path of the HTTP request whose failure `exc` (or one of its causes) reports."""
    for cause in _causes(exc):
        for holder in (getattr(cause, "response", None), cause):
            try:
                request = holder.request  # httpx raises RuntimeError when a response or error has none
            except (AttributeError, RuntimeError):
                continue
            if request is not None:
                return request.url.path
    return None


def _short(exc: BaseException) -> str:
    status = _status(exc)
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"HTTP {status}: {text}" if status else f"{type(exc).__name__}: {text}"


def _parse_head(data: bytes, path: str, listing: str | None) -> object | None:
    from dataset_tools.untrusted import load_json

    if listing is not None:
        marker = b'\n  "' + listing.encode() + b'": ['
        cut = data.find(marker)
        if cut >= 0:
            text = data[:cut].rstrip()
            data = (text[:-1] if text.endswith(b",") else text) + b"\n}"
    if len(data) >= JSON_HEAD_BYTES:
        return None  # cut short: not the whole document, nor a head that ends before its list
    try:
        return load_json(data, path)
    except ValueError:
        return None


def _quiet(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except PublishFailed:
        return False


class Hub:
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

    def _read(self, what: str, call, *, retried_by_client: bool = False, first_contact: bool = False):
        """A read, retried on transient failures unless the client already retried it; other
        errors become one-line errors. At the `first_contact`, an endpoint where nobody answers
        fails at once: a wrong HF_ENDPOINT is not worth half a minute of retries."""
        attempts = 1 if retried_by_client else self.attempts
        for attempt in range(1, attempts + 1):
            try:
                return call()
            except Exception as exc:
                denied = _auth_error(exc, self.repo_id, self.api.endpoint)
                if denied:
                    raise denied from None
                nobody = unreachable_reason(exc) if first_contact else None
                if nobody:
                    raise HubUnreachable(shown_endpoint(self.api.endpoint), nobody) from None
                reason = transient_reason(exc)
                if reason is None or attempt == attempts:
                    raise PublishFailed(f"could not {what} on the Hub ({reason or _short(exc)}). Nothing was written by "
                                        "this step.", hint="Check the network and HF_ENDPOINT, then run the same "
                                        "command again.") from None
                self._sleep(what, reason, attempt)

    def refs(self, *, first_contact: bool = False) -> Refs | None:
        """Branches and tags, or None when the repo does not exist (or is not visible).

        Raises:
            HubUnreachable: at the `first_contact`, nobody answers at the endpoint.
        """
        from huggingface_hub.errors import RepositoryNotFoundError

        def call():
            try:
                found = self.api.list_repo_refs(self.repo_id, repo_type="dataset")
            except RepositoryNotFoundError:
                # A refused token is a plain 401, not this: here the repo is missing (or private
                # and we have no token), which create_repo settles.
                return None
            return Refs({b.name: b.target_commit for b in found.branches}, {t.name: t.target_commit for t in found.tags})
        return self._read("read the branches and tags of " + self.repo_id, call, first_contact=first_contact)

    def files(self, revision: str) -> dict[str, RemoteFile]:
        from huggingface_hub.hf_api import RepoFile

        def call():
            items = self.api.list_repo_tree(self.repo_id, repo_type="dataset", revision=revision, recursive=True)
            return {item.path: RemoteFile(item.path, item.size, item.blob_id, item.lfs.sha256 if item.lfs else None)
                    for item in items if isinstance(item, RepoFile)}
        # list_repo_tree pages through http_backoff, which retries each page itself.
        return self._read(f"list the files at {revision[:12]}", call, retried_by_client=True)

    def history(self, revision: str) -> set[str]:
        """The ids of the commits on the history of `revision`, itself included."""
        def call():
            return {commit.commit_id for commit in self.api.list_repo_commits(self.repo_id, repo_type="dataset",
                                                                              revision=revision)}
        # list_repo_commits pages through http_backoff, which retries each page itself.
        return self._read(f"list the history of {revision[:12]}", call, retried_by_client=True)

    def json_head(self, revision: str, path: str, *, listing: str | None = None) -> object | None:
        """The JSON document `path` at `revision`, from its first JSON_HEAD_BYTES; with `listing`,
        only its head up to that list (see untrusted.read_json). None when that does not parse."""
        from huggingface_hub import hf_hub_url
        from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

        url = hf_hub_url(self.repo_id, path, repo_type="dataset", revision=revision, endpoint=self.api.endpoint)

        def call() -> bytes:
            headers = {**build_hf_headers(token=self.api.token), "Range": f"bytes=0-{JSON_HEAD_BYTES - 1}"}
            data = bytearray()
            with get_session().stream("GET", url, headers=headers, follow_redirects=True) as response:
                hf_raise_for_status(response)
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) >= JSON_HEAD_BYTES:
                        break
            return bytes(data)
        return _parse_head(self._read(f"read {path} at {revision[:12]}", call), path, listing)

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

    def remove_tag(self, tag: str) -> bool:
        try:
            self.api.delete_tag(self.repo_id, tag=tag, repo_type="dataset")
            return True
        except Exception:
            return False

    def commit(self, folder: Path, local: dict[str, LocalFile], plan: PublishPlan, parent: str | None, branch: str,
               title: str, description: str | None, progress: Progress | None = None) -> str:
        """One commit holding the plan, on top of `parent`; returns its id. `progress` is told
        how much of each file has been sent."""
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete

        def operations(files: ExitStack):  # fresh objects each try: the client mutates them
            # Open files, not paths: the client would open a path again, following a link put there since.
            ops = []
            for path in plan.upload_paths():
                handle = files.enter_context(open_sent(folder, path, progress))
                ops.append(CommitOperationAdd(path_in_repo=path, path_or_fileobj=handle))
                arm(handle)  # the client has hashed it: what it reads from here on is sent
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
