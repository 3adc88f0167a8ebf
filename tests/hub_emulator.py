"""An in-memory Hugging Face Hub that speaks the wire protocol of the real clients.

Tests point `HF_ENDPOINT` at it so the real `huggingface_hub` and `datasets` run over real HTTP
(see shared/design/hub-protocol.md). Standard library only. Every request is recorded; a
request the emulator does not know is answered 404/400 and also kept in `unknown_requests`, so
a fixture can fail the test the moment the client starts calling something new.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import http.server
import json
import os
import re
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

# What a new repo's first commit holds, like the real Hub's "initial commit": the LFS rules
# that make preupload answer "lfs" for data files.
DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in ("*.parquet", "*.arrow", "*.bin", "*.gz", "*.zip", "*.zst", "*.tar", "*.npy", "*.safetensors")
)
REGULAR_FILE_MAX = 10 * 1024 * 1024  # the Hub refuses larger files as regular git blobs
_HEX40 = re.compile(r"[0-9a-f]{40}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"


@dataclass(frozen=True)
class Blob:
    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def pointer(self) -> bytes:
        return b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (
            self.sha256.encode(), len(self.data))

    @property
    def oid(self) -> str:
        """The git blob id: of the pointer file for an LFS file, as git stores it."""
        return git_blob_id(self.pointer if self.lfs else self.data)


@dataclass(frozen=True)
class Commit:
    oid: str
    parent: str | None
    files: dict  # path -> Blob; never mutated once the commit exists
    title: str
    message: str
    author: str
    date: str


@dataclass
class Repo:
    type: str
    id: str
    private: bool
    created: str
    commits: dict = field(default_factory=dict)  # oid -> Commit
    branches: dict = field(default_factory=dict)  # name -> oid
    tags: dict = field(default_factory=dict)
    prs: dict = field(default_factory=dict)  # "refs/pr/N" -> oid

    def resolve(self, rev: str) -> Commit | None:
        for table, prefix in ((self.branches, "refs/heads/"), (self.tags, "refs/tags/")):
            name = rev[len(prefix):] if rev.startswith(prefix) else rev
            if name in table:
                return self.commits[table[name]]
        if rev in self.prs:
            return self.commits[self.prs[rev]]
        return self.commits.get(rev) if _HEX40.fullmatch(rev) else None


@dataclass
class RecordedRequest:
    method: str
    path: str  # as sent, still percent-encoded
    query: dict  # name -> list of values
    status: int = 0
    write: bool = False  # the endpoint changes state (commit, tag, branch, repo, LFS upload)
    injected: str | None = None  # "fail" or "drop" when a test-injected failure answered it


@dataclass
class _Injection:
    method: str
    pattern: re.Pattern
    action: str
    status: int
    times: int | None  # None: every time


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, **extra):
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra


@dataclass
class _Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    user: str | None
    params: dict = field(default_factory=dict)  # named groups of the matched route

    def json(self) -> dict:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            raise HubError(400, "Body is not valid JSON") from None

    def flag(self, name: str) -> bool:
        return self.query.get(name, [""])[-1].lower() in ("1", "true")


_T = r"/api/(?P<kind>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)"
_G = r"/(?:(?P<prefix>datasets|spaces)/)?(?P<repo>[^/]+/[^/]+)"
# method, path regex, handler, auth ("read": anonymous allowed on public repos, "write": token
# required), and whether the endpoint changes state.
_ROUTES = [
    ("GET", r"/api/whoami-v2", "whoami", "none", False),
    ("POST", r"/api/repos/create", "create_repo", "write", True),
    ("DELETE", r"/api/repos/delete", "delete_repo", "write", True),
    ("POST", r"/api/validate-yaml", "validate_yaml", "read", False),
    ("GET", _T, "info", "read", False),
    ("GET", _T + r"/revision/(?P<rev>.+)", "info", "read", False),
    ("GET", _T + r"/refs", "list_refs", "read", False),
    ("POST", _T + r"/preupload/(?P<rev>.+)", "preupload", "write", False),
    ("POST", _T + r"/commit/(?P<rev>.+)", "commit", "write", True),
    ("POST", _T + r"/tag/(?P<rev>.+)", "create_tag", "write", True),
    ("DELETE", _T + r"/tag/(?P<rev>.+)", "delete_tag", "write", True),
    ("POST", _T + r"/branch/(?P<rev>.+)", "create_branch", "write", True),
    ("DELETE", _T + r"/branch/(?P<rev>.+)", "delete_branch", "write", True),
    ("GET", _T + r"/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", "tree", "read", False),
    ("POST", _T + r"/paths-info/(?P<rev>.+)", "paths_info", "read", False),
    ("GET", _T + r"/commits/(?P<rev>.+)", "list_commits", "read", False),
    ("POST", _G + r"\.git/info/lfs/objects/batch", "lfs_batch", "write", False),
    ("POST", _G + r"\.git/info/lfs/objects/verify", "lfs_verify", "write", False),
    ("GET", _G + r"/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve", "read", False),
    ("HEAD", _G + r"/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve", "read", False),
    # Stands for the pre-signed storage URL the batch answer points to: no Authorization header.
    ("PUT", r"/lfs-storage/(?P<oid>[0-9a-f]{64})", "lfs_put", "none", True),
]
_ROUTES = [(m, re.compile(p), h, a, w) for m, p, h, a, w in _ROUTES]


class HubEmulator:
    """The Hub on 127.0.0.1: `with HubEmulator(tokens={"t"}) as hub: ... hub.url ...`."""

    def __init__(self, tokens=("hf_emulator_token",), user: str = "emulator-user", page_size: int = 1000):
        self.tokens = set(tokens)
        self.user = user
        self.page_size = page_size  # tests lower it to exercise Link-header pagination
        self._lock = threading.RLock()
        self._secret = os.urandom(16)  # signs upload URLs; also salts commit ids across resets
        self._server: http.server.ThreadingHTTPServer | None = None
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> HubEmulator:
        handler = type("Handler", (_Handler,), {"hub": self})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="hub-emulator", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HubEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    def reset(self) -> None:
        """Forget every repo, object, request and injected failure (tokens stay)."""
        with self._lock:
            self._repos: dict[tuple[str, str], Repo] = {}
            self._lfs: dict[str, bytes] = {}  # sha256 -> content, shared by all repos
            self._injections: list[_Injection] = []
            self._counter = 0
            self.requests: list[RecordedRequest] = []
            self.unknown_requests: list[RecordedRequest] = []
            self.errors: list[str] = []  # tracebacks of emulator bugs, answered 501
            self.uploaded_bytes = 0  # LFS PUT bodies stored + inline file contents committed

    # -- helpers for tests ---------------------------------------------------------------
    @property
    def write_requests(self) -> list[RecordedRequest]:
        """Requests that changed state: successful commits, refs, repos and LFS uploads."""
        return [r for r in self.requests if r.write and r.status < 300]

    def create_repo(self, repo_id: str, repo_type: str = "dataset", private: bool = False) -> Repo:
        """Seed a repo without HTTP, with the initial commit the Hub makes."""
        with self._lock:
            repo = Repo(repo_type, repo_id, private, _now())
            self._repos[(repo_type, repo_id)] = repo
            initial = {".gitattributes": Blob(DEFAULT_GITATTRIBUTES.encode(), False)}
            repo.branches["main"] = self._add_commit(repo, None, initial, "initial commit", "", self.user).oid
            return repo

    def repo_files(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> dict[str, bytes]:
        """Path -> content at a branch, tag, PR ref or commit id."""
        with self._lock:
            commit = self._commit(self._repo(repo_type, repo_id), revision)
            return {path: blob.data for path, blob in commit.files.items()}

    def refs(self, repo_id: str, repo_type: str = "dataset") -> dict[str, dict[str, str]]:
        """{"branches": {name: commit id}, "tags": {...}, "pull_requests": {"refs/pr/1": ...}}"""
        with self._lock:
            repo = self._repo(repo_type, repo_id)
            return {"branches": dict(repo.branches), "tags": dict(repo.tags), "pull_requests": dict(repo.prs)}

    def commits(self, repo_id: str, branch: str = "main", repo_type: str = "dataset") -> list[Commit]:
        """The first-parent history of `branch` (or any revision), newest first."""
        with self._lock:
            repo = self._repo(repo_type, repo_id)
            return self._history(repo, self._commit(repo, branch))

    # -- failure injection ---------------------------------------------------------------
    def fail_next(self, method: str, path_regex: str, status: int = 500, times: int | None = 1) -> None:
        """Answer the next `times` matching requests (None: all of them) with `status`.

        `method` may be "*"; `path_regex` is searched in the percent-encoded path."""
        with self._lock:
            self._injections.append(_Injection(method.upper(), re.compile(path_regex), "fail", status, times))

    def fail_always(self, method: str, path_regex: str, status: int = 500) -> None:
        self.fail_next(method, path_regex, status, times=None)

    def drop_connection_next(self, method: str, path_regex: str, times: int | None = 1) -> None:
        """Close the socket mid-request, without any response, like a network cut."""
        with self._lock:
            self._injections.append(_Injection(method.upper(), re.compile(path_regex), "drop", 0, times))

    def clear_failures(self) -> None:
        with self._lock:
            self._injections.clear()

    def _take_injection(self, method: str, path: str) -> _Injection | None:
        with self._lock:
            for inj in self._injections:
                if inj.method in ("*", method) and inj.pattern.search(path):
                    if inj.times is not None:
                        inj.times -= 1
                        if inj.times <= 0:
                            self._injections.remove(inj)
                    return inj
        return None

    # -- dispatch ------------------------------------------------------------------------
    def handle(self, req: _Request, record: RecordedRequest) -> tuple[int, dict, bytes]:
        """Route one parsed request; returns (status, headers, body)."""
        allowed = set()
        for method, pattern, name, auth, write in _ROUTES:
            match = pattern.fullmatch(req.path)
            if not match:
                continue
            allowed.add(method)
            if method != req.method:
                continue
            record.write = write
            req.params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            try:
                self._authorize(req, auth)
                with self._lock:
                    return getattr(self, "_h_" + name)(req)
            except HubError as err:
                return _error(err)
            except Exception:
                # An emulator bug: 501 because the client does not retry it (it retries 500s
                # for ~20 s), and the fixture fails the test on `errors`.
                self.errors.append(traceback.format_exc())
                return _error(HubError(501, f"Emulator error on {req.method} {req.path}"))
        with self._lock:
            self.unknown_requests.append(record)
        if allowed:
            return _error(HubError(405, f"{req.method} not allowed on {req.path}"))
        return _error(HubError(404, f"Unknown endpoint {req.method} {req.path}"))

    def _authorize(self, req: _Request, auth: str) -> None:
        header = req.headers.get("authorization")
        if header is not None and req.user is None:
            # The client maps this exact message to a plain 401 rather than RepoNotFound.
            raise HubError(401, "Invalid credentials in Authorization header")
        if auth == "write" and req.user is None:
            raise HubError(401, "You must be authenticated to access this resource")

    def _repo(self, kind: str, repo_id: str, user: str | None = "?") -> Repo:
        repo = self._repos.get((kind, repo_id))
        if repo is None or (repo.private and user is None):
            # Like the Hub: a private repo is invisible to anonymous callers.
            raise HubError(401 if user is None else 404, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    def _req_repo(self, req: _Request) -> Repo:
        kind = _TYPES[req.params["kind"]] if "kind" in req.params else (
            {"datasets": "dataset", "spaces": "space"}.get(req.params.get("prefix"), "model"))
        return self._repo(kind, req.params["repo"], req.user)

    def _commit(self, repo: Repo, rev: str) -> Commit:
        commit = repo.resolve(rev)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return commit

    def _add_commit(self, repo, parent, files, title, message, author) -> Commit:
        self._counter += 1
        seed = f"{parent}|{sorted((p, b.oid) for p, b in files.items())}|{title}|{self._counter}|{time.time_ns()}"
        oid = hashlib.sha1(self._secret + seed.encode()).hexdigest()
        repo.commits[oid] = Commit(oid, parent, dict(files), title, message, author, _now())
        return repo.commits[oid]

    def _history(self, repo: Repo, commit: Commit) -> list[Commit]:
        out = [commit]
        while out[-1].parent:
            out.append(repo.commits[out[-1].parent])
        return out

    def _repo_url(self, repo: Repo) -> str:
        return f"{self.url}/{_PREFIX[repo.type]}{repo.id}"

    # -- account and repos -----------------------------------------------------------------
    def _h_whoami(self, req):
        if req.user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        return _json({"type": "user", "id": hashlib.md5(req.user.encode()).hexdigest()[:24], "name": req.user,
                      "fullname": req.user, "email": None, "orgs": [], "isPro": False,
                      "auth": {"type": "access_token", "accessToken": {"displayName": "emulator", "role": "write"}}})

    def _h_create_repo(self, req):
        body = req.json()
        kind, name = body.get("type") or "model", body.get("name") or ""
        if kind not in _PREFIX or not re.fullmatch(r"[\w.-]{1,96}", name):
            raise HubError(400, f"Invalid repo name or type: {name!r} {kind!r}")
        repo_id = f"{body.get('organization') or req.user}/{name}"
        if (kind, repo_id) in self._repos:
            # create_repo(exist_ok=True) reads the url from this 409 answer.
            raise HubError(409, "You already created this repo", url=self._repo_url(self._repos[(kind, repo_id)]))
        private = body.get("private") is True or body.get("visibility") == "private"
        repo = self.create_repo(repo_id, kind, private)
        return _json({"url": self._repo_url(repo), "name": repo_id})

    def _h_delete_repo(self, req):
        body = req.json()
        repo_id = f"{body.get('organization') or req.user}/{body.get('name')}"
        self._repo(body.get("type") or "model", repo_id, req.user)
        del self._repos[(body.get("type") or "model", repo_id)]
        return _json({})

    def _h_validate_yaml(self, req):
        content = req.json().get("content", "")
        if content.startswith("---") and not re.search(r"^---\s*$", content[3:], re.M):
            return _json({"errors": [{"message": "metadata block is not closed by '---'"}], "warnings": []}, 400)
        return _json({"errors": [], "warnings": []})

    def _h_info(self, req):
        repo = self._req_repo(req)
        commit = self._commit(repo, req.params.get("rev", "main"))
        blobs = req.flag("blobs")
        siblings = []
        for path in sorted(commit.files):
            item = {"rfilename": path}
            if blobs:
                blob = commit.files[path]
                item.update(size=len(blob.data), blobId=blob.oid)
                if blob.lfs:
                    item["lfs"] = {"sha256": blob.sha256, "size": len(blob.data), "pointerSize": len(blob.pointer)}
            siblings.append(item)
        ns = repo.id.split("/")[0]
        return _json({"_id": hashlib.sha1(repo.id.encode()).hexdigest()[:24], "id": repo.id, "author": ns,
                      "sha": commit.oid, "lastModified": commit.date, "createdAt": repo.created,
                      "private": repo.private, "gated": False, "disabled": False, "downloads": 0, "likes": 0,
                      "tags": [], "siblings": siblings,
                      "usedStorage": sum(len(b.data) for b in commit.files.values())})

    # -- refs ----------------------------------------------------------------------------
    def _h_list_refs(self, req):
        repo = self._req_repo(req)

        def items(table, prefix):
            return [{"name": n, "ref": prefix + n, "targetCommit": oid} for n, oid in sorted(table.items())]
        prs = [{"name": n, "ref": n, "targetCommit": oid} for n, oid in sorted(repo.prs.items())]
        return _json({"branches": items(repo.branches, "refs/heads/"), "tags": items(repo.tags, "refs/tags/"),
                      "converts": [], "pullRequests": prs if req.flag("include_prs") else []})

    def _check_ref_name(self, repo: Repo, name: str) -> None:
        if not re.fullmatch(r"[\w.][\w./-]*", name) or ".." in name or name.startswith("refs/"):
            raise HubError(400, f"Invalid reference name: {name!r}")
        if name in repo.branches or name in repo.tags:
            raise HubError(409, f"Reference already exists: {name}")

    def _h_create_tag(self, req):
        repo = self._req_repo(req)
        commit = self._commit(repo, req.params["rev"])
        tag = req.json().get("tag") or ""
        self._check_ref_name(repo, tag)
        repo.tags[tag] = commit.oid
        return _json({})

    def _h_delete_tag(self, req):
        repo = self._req_repo(req)
        if repo.tags.pop(req.params["rev"], None) is None:
            raise HubError(404, f"Tag {req.params['rev']} not found", "RevisionNotFound")
        return _json({})

    def _h_create_branch(self, req):
        repo = self._req_repo(req)
        start = self._commit(repo, req.json().get("startingPoint") or "main")
        self._check_ref_name(repo, req.params["rev"])
        repo.branches[req.params["rev"]] = start.oid
        return _json({})

    def _h_delete_branch(self, req):
        repo = self._req_repo(req)
        name = req.params["rev"]
        if name == "main":
            raise HubError(403, "The default branch cannot be deleted")
        if repo.branches.pop(name, None) is None:
            raise HubError(404, f"Branch {name} not found", "RevisionNotFound")
        return _json({})

    # -- the upload pipeline: preupload, LFS batch, PUT, verify, commit --------------------
    def _lfs_patterns(self, commit: Commit) -> list[str]:
        lines = _text(commit.files.get(".gitattributes")).splitlines()
        return [line.split()[0] for line in lines if "filter=lfs" in line.split()[1:]]

    def _h_preupload(self, req):
        repo = self._req_repo(req)
        commit = self._commit(repo, req.params["rev"])
        patterns = self._lfs_patterns(commit)
        ignore = [p for p in (req.json().get("gitIgnore") or _text(commit.files.get(".gitignore"))).splitlines()
                  if p.strip() and not p.startswith("#")]
        out = []
        for item in req.json().get("files", []):
            path, size = item["path"], int(item.get("size", 0))
            sample = base64.b64decode(item.get("sample", ""))
            lfs = size > REGULAR_FILE_MAX or b"\0" in sample or any(_matches(path, p) for p in patterns)
            entry = {"path": path, "uploadMode": "lfs" if lfs else "regular",
                     "shouldIgnore": any(_matches(path, p.strip()) for p in ignore)}
            existing = commit.files.get(path)
            if existing is not None:
                # The client compares this with its own hash and leaves unchanged files out of the commit.
                entry["oid"] = existing.sha256 if existing.lfs else existing.oid
            out.append(entry)
        return _json({"files": out, "commitOid": commit.oid})

    def _signature(self, oid: str, size: int) -> str:
        return hmac.new(self._secret, f"{oid}:{size}".encode(), "sha256").hexdigest()

    def _upload_href(self, oid: str, size: int) -> str:
        return f"{self.url}/lfs-storage/{oid}?{urlencode({'size': size, 'sig': self._signature(oid, size)})}"

    def _h_lfs_batch(self, req):
        repo = self._req_repo(req)
        body = req.json()
        if body.get("operation") != "upload":
            raise HubError(400, "Only the upload operation is emulated")
        objects = []
        for obj in body.get("objects", []):
            oid, size = str(obj.get("oid", "")), obj.get("size")
            if not _HEX64.fullmatch(oid) or not isinstance(size, int) or size < 0:
                objects.append({"oid": oid, "size": size if isinstance(size, int) else 0,
                                "error": {"code": 422, "message": "Invalid object id or size"}})
            elif oid in self._lfs:
                objects.append({"oid": oid, "size": size})  # stored already: no actions, nothing to send
            else:
                verify = f"{self._repo_url(repo)}.git/info/lfs/objects/verify"
                objects.append({"oid": oid, "size": size, "authenticated": True,
                                "actions": {"upload": {"href": self._upload_href(oid, size)},
                                            "verify": {"href": verify}}})
        headers = {"Content-Type": "application/vnd.git-lfs+json"}
        return _json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"}, headers=headers)

    def _h_lfs_put(self, req):
        oid, size = req.params["oid"], req.query.get("size", [""])[0]
        signature = req.query.get("sig", [""])[0]
        if not size.isdigit() or not hmac.compare_digest(signature, self._signature(oid, int(size))):
            raise HubError(403, "Signature does not match")
        if len(req.body) != int(size) or hashlib.sha256(req.body).hexdigest() != oid:
            raise HubError(400, "Uploaded content does not match the announced oid and size")
        self._lfs[oid] = req.body
        self.uploaded_bytes += len(req.body)
        return 200, {"ETag": f'"{hashlib.md5(req.body).hexdigest()}"'}, b""

    def _h_lfs_verify(self, req):
        self._req_repo(req)
        body = req.json()
        stored = self._lfs.get(body.get("oid", ""))
        if stored is None or len(stored) != body.get("size"):
            raise HubError(404, "Object not found or of another size")
        return _json({})

    def _h_commit(self, req):
        repo = self._req_repo(req)
        rev = req.params["rev"]
        try:
            lines = [json.loads(line) for line in req.body.splitlines() if line.strip()]
        except ValueError:
            raise HubError(400, "The commit body is not NDJSON") from None
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "The first NDJSON line must be the commit header")
        header = lines[0]["value"]
        if req.flag("create_pr"):
            base = self._commit(repo, rev)
            branch, table = f"refs/pr/{len(repo.prs) + 1}", repo.prs
        elif rev in repo.branches or rev in repo.prs:
            branch, table = rev, repo.branches if rev in repo.branches else repo.prs
            base = repo.commits[table[branch]]
        else:
            self._commit(repo, rev)  # 404 RevisionNotFound when unknown
            raise HubError(400, f"Cannot commit to {rev}: not a branch")
        parent = header.get("parentCommit")
        if parent and req.flag("create_pr"):
            base = self._commit(repo, parent)
        elif parent and parent != base.oid:
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files, inline = dict(base.files), 0
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value", {})
            path = _check_path(value.get("path", "").rstrip("/") if key == "deletedFolder" else value.get("path", ""))
            if key == "file":
                raw = value.get("content", "")
                data = base64.b64decode(raw) if value.get("encoding") == "base64" else raw.encode()
                files[path], inline = Blob(data, False), inline + len(data)
            elif key == "lfsFile":
                if value.get("oid") not in self._lfs:
                    raise HubError(422, f"LFS object {value.get('oid')} for {path} was never uploaded")
                files[path] = Blob(self._lfs[value["oid"]], True)
            elif key == "deletedFile":
                if files.pop(path, None) is None:
                    raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
            elif key == "deletedFolder":
                prefix = path + "/"
                gone = [p for p in files if p.startswith(prefix)]
                if not gone:
                    raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                for p in gone:
                    del files[p]
            else:
                raise HubError(400, f"Unknown commit operation {key!r}")
        commit = self._add_commit(repo, base.oid, files, header.get("summary") or "", header.get("description") or "",
                                  req.user)
        table[branch] = commit.oid
        self.uploaded_bytes += inline
        pr_url = f"{self._repo_url(repo)}/discussions/{branch.rsplit('/', 1)[1]}" if req.flag("create_pr") else None
        return _json({"success": True, "commitOid": commit.oid, "commitMessage": commit.title,
                      "commitUrl": f"{self._repo_url(repo)}/commit/{commit.oid}", "pullRequestUrl": pr_url})

    # -- reads: tree, paths-info, commits, resolve -----------------------------------------
    def _last_commit(self, repo: Repo, commit: Commit, path: str) -> dict:
        """The newest commit after which `path` (a file or a folder) no longer changed."""
        def state(c):
            return sorted((p, b.oid) for p, b in c.files.items() if p == path or p.startswith(path + "/"))
        history = self._history(repo, commit)
        last = history[0]
        for older in history[1:]:
            if state(older) != state(last):
                break
            last = older
        return {"id": last.oid, "title": last.title, "date": last.date}

    def _entry(self, repo: Repo, commit: Commit, path: str, expand: bool) -> dict:
        blob = commit.files.get(path)
        if blob is not None:
            item = {"type": "file", "oid": blob.oid, "size": len(blob.data), "path": path}
            if blob.lfs:
                item["lfs"] = {"oid": blob.sha256, "size": len(blob.data), "pointerSize": len(blob.pointer)}
        else:
            inside = sorted((p, b.oid) for p, b in commit.files.items() if p.startswith(path + "/"))
            item = {"type": "directory", "oid": hashlib.sha1(repr(inside).encode()).hexdigest(), "size": 0,
                    "path": path}
        if expand:
            item["lastCommit"] = self._last_commit(repo, commit, path)
        return item

    def _page(self, req: _Request, items: list) -> tuple[int, dict, bytes]:
        """One page of `items` and, when more remain, a GitHub-style Link header to the next."""
        start = int(req.query.get("cursor", ["0"])[0])
        page = items[start:start + self.page_size]
        headers = {}
        if start + len(page) < len(items):
            query = {k: v[-1] for k, v in req.query.items()}
            query["cursor"] = str(start + len(page))
            headers["Link"] = f'<{self.url}{req.path}?{urlencode(query)}>; rel="next"'
        return _json(page, headers=headers)

    def _h_tree(self, req):
        repo = self._req_repo(req)
        commit = self._commit(repo, req.params["rev"])
        base = req.params.get("path", "").strip("/")
        if base and (base in commit.files or not any(p.startswith(base + "/") for p in commit.files)):
            raise HubError(404, f"Directory not found: {base}", "EntryNotFound")
        prefix = base + "/" if base else ""
        paths = set()
        for p in commit.files:
            if p.startswith(prefix):
                parts = p[len(prefix):].split("/")
                depth = len(parts) if req.flag("recursive") else 1
                paths.update(prefix + "/".join(parts[:i + 1]) for i in range(depth))
        items = [self._entry(repo, commit, p, req.flag("expand")) for p in sorted(paths)]
        return self._page(req, items)

    def _h_paths_info(self, req):
        repo = self._req_repo(req)
        commit = self._commit(repo, req.params["rev"])
        form = parse_qs(req.body.decode(), keep_blank_values=True)
        if "json" in req.headers.get("content-type", ""):
            form = {k: v if isinstance(v, list) else [str(v)] for k, v in req.json().items()}
        expand = form.get("expand", [""])[-1].lower() in ("1", "true")
        out = []
        for path in form.get("paths", []):
            path = path.strip("/")
            if path in commit.files or any(p.startswith(path + "/") for p in commit.files):
                out.append(self._entry(repo, commit, path, expand))
        return _json(out)  # unknown paths are silently left out, as on the Hub

    def _h_list_commits(self, req):
        repo = self._req_repo(req)
        items = []
        for c in self._history(repo, self._commit(repo, req.params["rev"])):
            item = {"id": c.oid, "title": c.title, "message": c.message, "date": c.date,
                    "authors": [{"user": c.author, "avatar": None}]}
            if "formatted" in req.query.get("expand[]", []):
                item["formatted"] = {"title": c.title, "message": c.message}
            items.append(item)
        return self._page(req, items)

    def _h_resolve(self, req):
        repo = self._req_repo(req)
        commit = self._commit(repo, req.params["rev"])
        blob = commit.files.get(req.params["path"])
        if blob is None:
            raise HubError(404, f"Entry not found: {req.params['path']}", "EntryNotFound")
        headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{blob.oid}"', "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        if blob.lfs:
            headers.update({"X-Linked-Etag": f'"{blob.sha256}"', "X-Linked-Size": str(len(blob.data)),
                            "ETag": f'"{blob.sha256}"'})
        data, status = blob.data, 200
        rng = req.headers.get("range")
        if rng:
            span = _parse_range(rng, len(data))
            if span is None:
                headers["Content-Range"] = f"bytes */{len(data)}"
                return 416, headers, b""
            start, end = span
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start:end + 1], 206
        return status, headers, data


def _text(blob: Blob | None) -> str:
    return blob.data.decode("utf-8", "replace") if blob else ""


def _matches(path: str, pattern: str) -> bool:
    """A .gitattributes/.gitignore pattern: without a slash it matches the name in any folder."""
    if pattern.endswith("/"):
        return ("/" + path).find("/" + pattern) >= 0
    pattern = pattern.lstrip("/")
    target = path if "/" in pattern else path.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(target, pattern.replace("**/", "*"))


def _check_path(path: str) -> str:
    parts = path.split("/")
    if not path or path.startswith("/") or ".." in parts or "" in parts or parts[0] == ".git":
        raise HubError(400, f"Invalid path in repository: {path!r}")
    return path


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    m = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not m or m.group(1) == m.group(2) == "":
        return None
    if m.group(1) == "":  # a suffix: the last N bytes
        start, end = max(0, size - int(m.group(2))), size - 1
    else:
        start = int(m.group(1))
        end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    return (start, end) if start <= end and start < size else None


def _json(obj, status: int = 200, headers: dict | None = None) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, json.dumps(obj).encode()


def _error(err: HubError) -> tuple[int, dict, bytes]:
    # The client reads the error kind from X-Error-Code and shows X-Error-Message to the user.
    headers = {"X-Error-Message": err.message}
    if err.code:
        headers["X-Error-Code"] = err.code
    return _json({"error": err.message, **err.extra}, err.status, headers)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's pooled connections expect
    # Headers and body leave in one packet: written apart, Nagle and delayed ACKs add ~40 ms a request.
    wbufsize = -1
    disable_nagle_algorithm = True
    hub: HubEmulator

    def log_message(self, *args) -> None:  # quiet: the record is emulator.requests
        pass

    def _serve(self) -> None:
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        record = RecordedRequest(self.command, split.path, query)
        with self.hub._lock:
            self.hub.requests.append(record)
        injection = self.hub._take_injection(self.command, split.path)
        if injection and injection.action == "drop":
            record.injected = "drop"
            # Read part of the body, then cut the connection: the client sees no response at all.
            self.rfile.read(min(int(self.headers.get("Content-Length") or 0) // 2, 1 << 20))
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = self._read_body()
        if injection:
            record.injected = "fail"
            status, headers, payload = _error(HubError(injection.status, "Injected failure"))
        else:
            auth = self.headers.get("Authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
            user = self.hub.user if token in self.hub.tokens else None
            headers_lower = {k.lower(): v for k, v in self.headers.items()}
            req = _Request(self.command, split.path, query, headers_lower, body, user)
            status, headers, payload = self.hub.handle(req, record)
        record.status = status
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF closing the chunk
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers, up to the blank line that ends the body
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _serve
