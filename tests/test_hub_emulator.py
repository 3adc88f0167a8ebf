"""The Hub emulator is faithful: the real huggingface_hub and datasets clients work against it."""

import io
import socket
import subprocess
import sys

import httpx2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    BadRequestError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from conftest_hub import BLOCKED_CONNECTIONS, HUB_TOKEN, HUB_USER
from hub_emulator import git_blob_id

REPO = f"{HUB_USER}/news-articles"
SHARD = "data/train-00000-of-00001.parquet"
CARD = b"""---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
---
# News articles (test)
"""


def parquet(*rows):
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": [r[0] for r in rows], "title": [r[1] for r in rows]}), buffer)
    return buffer.getvalue()


V1_ROWS = [(1, "first"), (2, "second")]
V2_ROWS = [(3, "third")]


@pytest.fixture
def api(hub):
    return HfApi()


@pytest.fixture
def published(api):
    """A dataset repo whose tag v1.0.0 holds V1_ROWS and whose main has moved on to V2_ROWS."""
    api.create_repo(REPO, repo_type="dataset")
    api.create_commit(REPO, [CommitOperationAdd("README.md", CARD), CommitOperationAdd(SHARD, parquet(*V1_ROWS)),
                             CommitOperationAdd("notes/a.txt", b"a"), CommitOperationAdd("notes/b.txt", b"b")],
                      commit_message="Publish v1.0.0", repo_type="dataset")
    api.create_tag(REPO, tag="v1.0.0", repo_type="dataset")
    api.create_commit(REPO, [CommitOperationAdd(SHARD, parquet(*V2_ROWS))], commit_message="Publish v2",
                      repo_type="dataset")
    return REPO


def test_create_repo_twice_with_exist_ok(api, hub):
    first = api.create_repo(REPO, repo_type="dataset", exist_ok=True)
    second = api.create_repo(REPO, repo_type="dataset", exist_ok=True)
    assert first.repo_id == second.repo_id == REPO and first.repo_type == "dataset"
    with pytest.raises(HfHubHTTPError) as err:
        api.create_repo(REPO, repo_type="dataset")
    assert err.value.response.status_code == 409
    # Like the Hub, a new repo starts with one commit holding the LFS rules.
    assert list(hub.repo_files(REPO)) == [".gitattributes"]
    assert api.dataset_info(REPO).sha == hub.refs(REPO)["branches"]["main"]


def test_one_commit_adds_regular_and_lfs_files_and_deletes(api, hub, published):
    operations = [CommitOperationAdd("README.md", CARD + b"\nv3\n"), CommitOperationDelete("notes/a.txt"),
                  CommitOperationDelete("notes/", is_folder=True),
                  CommitOperationAdd("data/extra.parquet", parquet(*V1_ROWS))]
    info = api.create_commit(REPO, operations, commit_message="Third", repo_type="dataset")
    files = hub.repo_files(REPO, info.oid)
    assert sorted(files) == [".gitattributes", "README.md", "data/extra.parquet", SHARD]
    assert files["README.md"].endswith(b"v3\n") and files[SHARD] == parquet(*V2_ROWS)
    kinds = {e.path: e.lfs is not None for e in api.list_repo_tree(REPO, repo_type="dataset", recursive=True)
             if hasattr(e, "size")}
    assert kinds == {".gitattributes": False, "README.md": False, "data/extra.parquet": True, SHARD: True}
    assert [c.title for c in hub.commits(REPO)] == ["Third", "Publish v2", "Publish v1.0.0", "initial commit"]
    # Deleting what is not there is an EntryNotFound, as on the Hub.
    with pytest.raises(RemoteEntryNotFoundError):
        api.create_commit(REPO, [CommitOperationDelete("nope.txt")], commit_message="x", repo_type="dataset")


def test_tags_branches_and_refs(api, hub, published):
    with pytest.raises(HfHubHTTPError) as err:
        api.create_tag(REPO, tag="v1.0.0", repo_type="dataset")
    assert err.value.response.status_code == 409
    api.create_tag(REPO, tag="v1.0.0", repo_type="dataset", exist_ok=True)
    api.create_branch(REPO, branch="dev", revision="v1.0.0", repo_type="dataset")
    api.create_commit(REPO, [CommitOperationAdd("dev.txt", b"dev")], commit_message="On dev", revision="dev",
                      repo_type="dataset")
    refs = api.list_repo_refs(REPO, repo_type="dataset")
    assert {b.name for b in refs.branches} == {"main", "dev"}
    assert [(t.name, t.ref) for t in refs.tags] == [("v1.0.0", "refs/tags/v1.0.0")]
    assert refs.tags[0].target_commit == hub.commits(REPO)[1].oid
    assert "dev.txt" in hub.repo_files(REPO, "dev") and "dev.txt" not in hub.repo_files(REPO, "main")
    with pytest.raises(BadRequestError):  # commits go to branches only
        api.create_commit(REPO, [CommitOperationAdd("t.txt", b"t")], commit_message="t", revision="v1.0.0",
                          repo_type="dataset")
    api.delete_tag(REPO, tag="v1.0.0", repo_type="dataset")
    assert hub.refs(REPO)["tags"] == {}
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_files(REPO, repo_type="dataset", revision="v1.0.0")


def test_tree_paths_info_and_commits(api, hub, published):
    hub.page_size = 2  # forces the client through Link-header pagination
    tree = list(api.list_repo_tree(REPO, repo_type="dataset", recursive=True))
    assert [e.path for e in tree] == [".gitattributes", "README.md", "data", SHARD, "notes", "notes/a.txt",
                                      "notes/b.txt"]
    assert sum(r.path.endswith("/tree/main") for r in hub.requests) == 4
    top = [e.path for e in api.list_repo_tree(REPO, repo_type="dataset", revision="v1.0.0")]
    assert top == [".gitattributes", "README.md", "data", "notes"]
    shard = next(e for e in api.list_repo_tree(REPO, "data", repo_type="dataset", expand=True))
    assert shard.lfs.size == len(parquet(*V2_ROWS)) and shard.last_commit.title == "Publish v2"
    info = api.get_paths_info(REPO, ["README.md", "notes", "missing"], repo_type="dataset", revision="v1.0.0")
    assert [(type(i).__name__, i.path) for i in info] == [("RepoFile", "README.md"), ("RepoFolder", "notes")]
    assert info[0].blob_id == git_blob_id(CARD)
    commits = api.list_repo_commits(REPO, repo_type="dataset")
    assert [c.title for c in commits] == ["Publish v2", "Publish v1.0.0", "initial commit"]
    assert commits[0].authors == [HUB_USER]


def test_downloads_at_a_tag(api, hub, published, tmp_path):
    path = hf_hub_download(REPO, SHARD, repo_type="dataset", revision="v1.0.0", cache_dir=tmp_path / "c1")
    assert open(path, "rb").read() == parquet(*V1_ROWS)
    folder = snapshot_download(REPO, repo_type="dataset", revision="v1.0.0", cache_dir=tmp_path / "c2")
    assert (tmp_path / "c2").exists() and open(f"{folder}/{SHARD}", "rb").read() == parquet(*V1_ROWS)
    assert open(f"{folder}/notes/a.txt", "rb").read() == b"a"
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download(REPO, "missing.txt", repo_type="dataset", cache_dir=tmp_path / "c3")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(REPO, SHARD, repo_type="dataset", revision="v9", cache_dir=tmp_path / "c3")
    # The headers and the byte ranges the clients rely on.
    url = f"{hub.url}/datasets/{REPO}/resolve/v1.0.0/{SHARD}"
    head = httpx2.head(url)
    data = parquet(*V1_ROWS)
    assert head.headers["X-Linked-Size"] == head.headers["Content-Length"] == str(len(data))
    assert head.headers["X-Repo-Commit"] == hub.refs(REPO)["tags"]["v1.0.0"]
    part = httpx2.get(url, headers={"Range": "bytes=4-9"})
    assert part.status_code == 206 and part.content == data[4:10]
    assert part.headers["Content-Range"] == f"bytes 4-9/{len(data)}"
    assert httpx2.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416


def test_publishing_the_same_files_again_uploads_nothing(api, hub, published):
    writes, uploaded, commits = len(hub.write_requests), hub.uploaded_bytes, len(hub.commits(REPO))
    api.create_repo(REPO, repo_type="dataset", exist_ok=True)
    api.create_commit(REPO, [CommitOperationAdd("README.md", CARD), CommitOperationAdd(SHARD, parquet(*V2_ROWS))],
                      commit_message="Again", repo_type="dataset")
    assert (len(hub.write_requests), hub.uploaded_bytes, len(hub.commits(REPO))) == (writes, uploaded, commits)
    # The same content at a new path is committed but not sent again: the batch has no actions.
    api.create_commit(REPO, [CommitOperationAdd("data/copy.parquet", parquet(*V2_ROWS))], commit_message="Copy",
                      repo_type="dataset")
    assert hub.uploaded_bytes == uploaded and len(hub.commits(REPO)) == commits + 1
    assert not any(r.method == "PUT" for r in hub.requests[-4:])


def test_injected_server_error_on_commit(api, hub, published):
    before = hub.commits(REPO)
    hub.fail_next("POST", r"/commit/", status=500)
    with pytest.raises(HfHubHTTPError) as err:
        api.create_commit(REPO, [CommitOperationAdd("x.txt", b"x")], commit_message="x", repo_type="dataset")
    assert err.value.response.status_code == 500
    assert hub.commits(REPO) == before  # commits are not retried by the client
    api.create_commit(REPO, [CommitOperationAdd("x.txt", b"x")], commit_message="x", repo_type="dataset")
    assert len(hub.commits(REPO)) == len(before) + 1


def test_dropped_connection_during_lfs_upload_is_retried(api, hub, fast_retries):
    api.create_repo(REPO, repo_type="dataset")
    hub.drop_connection_next("PUT", r"^/lfs-storage/")
    api.create_commit(REPO, [CommitOperationAdd(SHARD, parquet(*V1_ROWS))], commit_message="v1", repo_type="dataset")
    puts = [(r.injected, r.status) for r in hub.requests if r.method == "PUT"]
    assert puts == [("drop", 0), (None, 200)]
    assert hub.repo_files(REPO)[SHARD] == parquet(*V1_ROWS)


def test_lfs_upload_that_always_fails_makes_no_commit(api, hub, fast_retries):
    api.create_repo(REPO, repo_type="dataset")
    hub.fail_always("PUT", r"^/lfs-storage/", status=503)
    with pytest.raises(RuntimeError, match="Error while uploading"):
        api.create_commit(REPO, [CommitOperationAdd(SHARD, parquet(*V1_ROWS))], commit_message="v1",
                          repo_type="dataset")
    assert len(hub.commits(REPO)) == 1 and sum(r.method == "PUT" for r in hub.requests) == 6  # 1 + 5 retries


def test_tokens(api, hub):
    assert api.whoami()["name"] == HUB_USER
    with pytest.raises(HfHubHTTPError, match="Invalid user token"):
        HfApi(token="hf_wrong").whoami()
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(token="hf_wrong").create_repo(REPO, repo_type="dataset")
    assert err.value.response.status_code == 401 and not isinstance(err.value, RepositoryNotFoundError)
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(token=False).create_repo(REPO, repo_type="dataset")
    assert err.value.response.status_code == 401
    assert not hub.write_requests
    # Public repos are readable anonymously; private ones look missing.
    api.create_repo(REPO, repo_type="dataset")
    api.create_repo(REPO + "-private", repo_type="dataset", private=True)
    assert HfApi(token=False).list_repo_files(REPO, repo_type="dataset") == [".gitattributes"]
    with pytest.raises(RepositoryNotFoundError):
        HfApi(token=False).list_repo_files(REPO + "-private", repo_type="dataset")
    assert api.list_repo_files(REPO + "-private", repo_type="dataset") == [".gitattributes"]
    assert HUB_TOKEN in hub.tokens


def test_stale_parent_commit_and_pull_request_refs(api, hub, published):
    v1 = hub.refs(REPO)["tags"]["v1.0.0"]
    with pytest.raises(HfHubHTTPError) as err:
        api.create_commit(REPO, [CommitOperationAdd("y.txt", b"y")], commit_message="y", parent_commit=v1,
                          repo_type="dataset")
    assert err.value.response.status_code == 412
    pr = api.create_commit(REPO, [CommitOperationAdd("y.txt", b"y")], commit_message="y", create_pr=True,
                           repo_type="dataset")
    assert pr.pr_revision == "refs/pr/1"
    assert "y.txt" in api.list_repo_files(REPO, repo_type="dataset", revision="refs/pr/1")
    assert "y.txt" not in api.list_repo_files(REPO, repo_type="dataset")
    assert any("refs%2Fpr%2F1" in r.path for r in hub.requests)


def test_gitignored_files_are_left_out(api, hub):
    api.create_repo(REPO, repo_type="dataset")
    api.create_commit(REPO, [CommitOperationAdd(".gitignore", b"*.tmp\n")], commit_message="ignore",
                      repo_type="dataset")
    api.create_commit(REPO, [CommitOperationAdd("scratch.tmp", b"\0binary"), CommitOperationAdd("keep.txt", b"k")],
                      commit_message="files", repo_type="dataset")
    assert sorted(hub.repo_files(REPO)) == [".gitattributes", ".gitignore", "keep.txt"]


def test_unknown_requests_are_recorded(hub):
    response = httpx2.get(f"{hub.url}/api/datasets/{REPO}/something-new")
    assert response.status_code == 404
    assert [(r.method, r.path) for r in hub.unknown_requests] == [("GET", f"/api/datasets/{REPO}/something-new")]
    hub.unknown_requests.clear()  # expected here; the fixture fails a test on any other


def test_nothing_leaves_the_machine(hub):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("203.0.113.7", 443), timeout=1)
    assert BLOCKED_CONNECTIONS == [("203.0.113.7", 443)]
    BLOCKED_CONNECTIONS.clear()  # expected here; the fixture fails a test on any other


def test_load_dataset_at_a_tag(hub, published, datasets_cache, tmp_path):
    import datasets

    before = len(hub.requests)
    at_tag = datasets.load_dataset(REPO, revision="v1.0.0", split="train", cache_dir=datasets_cache)
    assert [(r["id"], r["title"]) for r in at_tag] == V1_ROWS
    at_main = datasets.load_dataset(REPO, split="train", cache_dir=str(tmp_path / "another-cache"))
    assert [(r["id"], r["title"]) for r in at_main] == V2_ROWS
    assert {r.method for r in hub.requests[before:]} <= {"GET", "HEAD"}


def test_model_repos_and_chunked_bodies(api, hub, tmp_path):
    api.create_repo(f"{HUB_USER}/tiny-model")
    api.upload_file(path_or_fileobj=b"\0weights", path_in_repo="model.bin", repo_id=f"{HUB_USER}/tiny-model")
    path = hf_hub_download(f"{HUB_USER}/tiny-model", "model.bin", cache_dir=tmp_path)
    assert open(path, "rb").read() == b"\0weights"
    # A body sent in chunks (no Content-Length) is read whole, and the connection stays usable.
    with httpx2.Client() as client:
        chunked = client.post(f"{hub.url}/api/validate-yaml", content=iter([b'{"content": "---\\nx: 1', b'\\n"}']))
        assert chunked.json()["errors"][0]["message"] == "metadata block is not closed by '---'"
        assert client.post(f"{hub.url}/api/validate-yaml", json={"content": "# ok"}).json()["errors"] == []


def test_a_subprocess_reaches_the_emulator_through_its_environment(hub, hub_env):
    # What a CLI test does: no patching, the child process reads HF_ENDPOINT and HF_TOKEN itself.
    script = (f"from huggingface_hub import HfApi; api = HfApi(); api.create_repo({REPO!r}, repo_type='dataset');"
              f"api.upload_file(path_or_fileobj=b'hello', path_in_repo='hello.txt', repo_id={REPO!r},"
              " repo_type='dataset')")
    subprocess.run([sys.executable, "-c", script], env=hub_env, check=True, timeout=60)
    assert hub.repo_files(REPO)["hello.txt"] == b"hello"
