"""publish: a built folder -> one Hub commit + tag, against the Hub emulator over real HTTP.

The real huggingface_hub client and datasets.load_dataset talk to the emulator on 127.0.0.1
(tests/conftest_hub.py); nothing on the publish path is mocked. Where the acceptance talks
about output, the CLI runs as a subprocess, and every such run is checked for the tokens.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dataset_tools import layout
from dataset_tools.build import build_dataset
from dataset_tools.config import load_settings
from dataset_tools.errors import NotValid
from dataset_tools.fileio import human_size
from dataset_tools.publish import local_files, plan_commit
from publishing import BAD_TOKEN, REPO, cli, publish as _publish, run, v1  # noqa: F401 (fixtures)
from publishing import next_version as _next_version, story as _story
from rawfiles import write_raw


def _rows(folder: Path) -> list[tuple[str, str]]:
    tables = [pq.read_table(p, columns=["id", "title"]) for p in layout.data_files(folder)]
    return sorted((r["id"], r["title"]) for t in tables for r in t.to_pylist())


def _loaded(revision: str, cache: Path) -> list[tuple[str, str]]:
    import datasets

    ds = datasets.load_dataset(REPO, revision=revision, split="train", cache_dir=str(cache))
    return sorted(zip(ds["id"], ds["title"]))


# -- acceptance: the whole issue end to end ----------------------------------------------------


def test_end_to_end_publish_release_publish_load_and_diff(project, v1, hub, hub_env, run, tmp_path):
    first = cli("publish", cwd=project, env=hub_env)
    assert first.returncode == 0, first.stderr
    assert f"Dataset: {hub.url}/datasets/{REPO}" in first.stdout
    assert f'load_dataset("{REPO}", revision="v1.0.0")' in first.stdout
    v1_copy = tmp_path / "v1-dist"
    shutil.copytree(v1.out, v1_copy)
    v1_commit = hub.refs(REPO)["tags"]["v1.0.0"]
    assert sorted(hub.repo_files(REPO, "v1.0.0")) == sorted([".gitattributes", *local_files(v1_copy)])

    # Add two articles and correct one; release diffs against <repo>@v1.0.0 on the Hub.
    write_raw(project / "raw", "002_0000000000000002.txt", _story(2, title="Harbour story number 2, corrected"))
    for n in (4, 5):
        write_raw(project / "raw", f"00{n}_{n:016x}.txt", _story(n))
    build_dataset(load_settings(project), workers=1)
    released = run("release", cwd=project)
    assert released.returncode == 0, released.stderr
    changelog = (project / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [1.1.0] - " in changelog
    assert "- Articles: 2 added, 1 updated, 0 removed (5 in all, was 3)." in changelog
    # The build must carry v1.1.0 in its card and manifest before it can be published.
    stale = run("publish", "--dry-run", cwd=project)
    assert stale.returncode == 1 and "built as v1.0.0 but CHANGELOG.md's top release is v1.1.0" in stale.stderr
    build_dataset(load_settings(project), workers=1)

    uploaded, writes = hub.uploaded_bytes, len(hub.write_requests)
    second = cli("publish", "--verify-load", cwd=project, env=hub_env)
    assert second.returncode == 0, second.stderr
    assert "load_dataset returned 5 rows" in second.stdout
    new_local = local_files(v1.out)
    old_local = local_files(v1_copy)
    changed = [p for p, f in new_local.items() if p not in old_local or old_local[p].sha256 != f.sha256]
    # Only what differs was sent: January's two shards (one new) and its input listing, the card
    # files and plot, the report and manifest; December's shard and listing stayed as they were.
    assert hub.uploaded_bytes - uploaded == sum(new_local[p].size for p in changed)
    assert "Files: 1 added, 8 changed, 0 deleted, 2 unchanged" in second.stdout
    refs = hub.refs(REPO)
    assert refs["tags"] == {"v1.0.0": v1_commit, "v1.1.0": refs["branches"]["main"]}
    history = hub.commits(REPO)
    assert [c.title for c in history] == ["Publish v1.1.0", "Publish v1.0.0", "initial commit"]
    assert "- Articles: 2 added, 1 updated, 0 removed (5 in all, was 3)." in history[0].message
    assert sorted(hub.repo_files(REPO, "v1.1.0")) == sorted([".gitattributes", *new_local])
    lfs = sum(1 for p in changed if p.endswith((".parquet", ".png")))  # binary files go through LFS
    assert len(hub.write_requests) - writes == lfs + 2  # PUTs, commit, tag

    assert _loaded("v1.0.0", tmp_path / "c1") == _rows(v1_copy)
    assert _loaded("v1.1.0", tmp_path / "c2") == _rows(v1.out)
    assert _loaded("main", tmp_path / "c3") == _rows(v1.out)
    assert len(_rows(v1_copy)) == 3 and len(_rows(v1.out)) == 5

    diff = run("diff", f"{REPO}@v1.0.0", f"{REPO}@v1.1.0", "--json", cwd=project)
    assert diff.returncode == 0, diff.stderr
    counts = json.loads(diff.stdout)["counts"]
    assert (counts["added"], counts["updated"], counts["removed"], counts["old_rows"], counts["new_rows"]) == (2, 1, 0, 3, 5)


def test_publishing_the_same_version_again_writes_nothing(project, v1, hub, run):
    _publish(v1)
    writes, uploaded, commits, requests = len(hub.write_requests), hub.uploaded_bytes, len(hub.commits(REPO)), len(hub.requests)
    done = run("publish", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "v1.0.0 is already published on dataset-tools/news-articles with exactly these files" in done.stdout
    assert (len(hub.write_requests), hub.uploaded_bytes, len(hub.commits(REPO))) == (writes, uploaded, commits)
    assert all(r.method == "GET" for r in hub.requests[requests:])


def test_unchanged_files_are_not_uploaded_again(project, v1, hub):
    _publish(v1)
    shards_before = {p: f.sha256 for p, f in local_files(v1.out).items() if p.endswith(".parquet")}
    changelog = v1.changelog
    changelog.write_text(changelog.read_text().replace("## [1.0.0]", "## [1.0.1] - 2026-12-01\n\n- Card wording.\n\n## [1.0.0]", 1))
    build_dataset(load_settings(project), workers=1)
    settings = load_settings(project)
    assert {p: f.sha256 for p, f in local_files(settings.out).items() if p.endswith(".parquet")} == shards_before
    puts, uploaded = sum(r.method == "PUT" for r in hub.requests), hub.uploaded_bytes
    result = _publish(settings)
    assert result.status == "published"
    # The data and its plot did not change; everything that states the version did.
    assert set(result.plan.unchanged) == set(shards_before) | {"images/articles-per-month.png"}
    assert set(result.plan.changed) == {"README.md", "manifest.json", "report.json", "croissant.json", "datapackage.json"}
    assert sum(r.method == "PUT" for r in hub.requests) == puts
    assert hub.uploaded_bytes - uploaded == sum((settings.out / p).stat().st_size for p in result.plan.changed)
    assert hub.refs(REPO)["tags"]["v1.0.1"] == result.commit


# -- failures and retries ----------------------------------------------------------------------


def test_transient_failures_are_retried_and_the_publish_succeeds(project, v1, hub, run, fast_retries):
    hub.create_repo(REPO)
    hub.fail_next("POST", r"/commit/", status=500)
    hub.drop_connection_next("PUT", r"^/lfs-storage/")
    done = run("publish", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "Retry: the commit failed (HTTP 500); retrying in 0.01 s (attempt 2 of 5)" in done.stderr
    commits = [(r.injected, r.status) for r in hub.requests if r.method == "POST" and "/commit/" in r.path]
    assert commits == [("fail", 500), (None, 200)]
    assert [r.injected for r in hub.requests if r.method == "PUT"][0] == "drop"
    assert hub.refs(REPO)["tags"]["v1.0.0"] == hub.refs(REPO)["branches"]["main"]
    assert [c.title for c in hub.commits(REPO)] == ["Publish v1.0.0", "initial commit"]


def test_a_commit_failing_every_time_leaves_no_tag_and_says_how_to_resume(project, v1, hub, hub_env, run):
    hub.fail_always("POST", r"/commit/", status=503)
    done = cli("publish", cwd=project, env=hub_env, extra={"DATASET_TOOLS_DEBUG": "1"})
    assert done.returncode == 1
    assert done.stderr.count("Retry: the commit failed (HTTP 503)") == 4
    error = next(line for line in done.stderr.splitlines() if line.startswith("Error: "))
    assert "could not commit to dataset-tools/news-articles after 5 attempt(s) (HTTP 503)" in error
    assert "Nothing was committed" in error and "no tag was created" in error
    assert "Hint: Run the same command again to resume" in done.stderr
    assert hub.refs(REPO)["tags"] == {} and len(hub.commits(REPO)) == 1
    # Resume: the LFS objects are already on the Hub, so nothing is uploaded twice.
    hub.clear_failures()
    puts = sum(r.method == "PUT" for r in hub.requests)
    again = run("publish", cwd=project)
    assert again.returncode == 0, again.stderr
    assert sum(r.method == "PUT" for r in hub.requests) == puts
    assert "v1.0.0" in hub.refs(REPO)["tags"]


def test_a_failed_tag_leaves_the_commit_and_the_next_run_only_tags_it(project, v1, hub, run):
    hub.fail_always("POST", r"/tag/", status=500)
    done = run("publish", cwd=project)
    assert done.returncode == 1
    assert "is committed to main as" in done.stderr and "but is NOT tagged" in done.stderr
    assert hub.refs(REPO)["tags"] == {}
    commits = len(hub.commits(REPO))
    hub.clear_failures()
    uploaded = hub.uploaded_bytes
    again = run("publish", cwd=project)
    assert again.returncode == 0, again.stderr
    assert "main already held these files; tagged" in again.stdout
    assert len(hub.commits(REPO)) == commits and hub.uploaded_bytes == uploaded
    assert hub.refs(REPO)["tags"]["v1.0.0"] == hub.refs(REPO)["branches"]["main"]


def test_a_bad_token_is_one_line_with_a_hint_and_never_printed(project, v1, hub, hub_env, run):
    runs = [
        run("publish", "--token", BAD_TOKEN, cwd=project),
        cli("publish", "--token", BAD_TOKEN, cwd=project, env=hub_env, extra={"DATASET_TOOLS_DEBUG": "1"}),
        run("publish", cwd=project, env={"HF_TOKEN": BAD_TOKEN, "DATASET_TOOLS_DEBUG": "1"}),
        run("publish", "--dry-run", cwd=project, env={"HF_TOKEN": BAD_TOKEN, "DATASET_TOOLS_DEBUG": "1"}),
    ]
    for done in runs:  # cli() also asserts the token is in neither stdout nor stderr
        assert done.returncode == 1
        assert f"Error: the Hub at {hub.url} refused the token (HTTP 401) for dataset-tools/news-articles" in done.stderr
        assert "Hint: Pass --token, set HF_TOKEN, or log in with `hf auth login`" in done.stderr
    assert runs[0].stderr.count("\n") == 2 and runs[0].stdout == ""
    assert all("Traceback" in done.stderr for done in runs[1:])
    assert not hub.write_requests


def test_no_token_at_all_is_refused_before_any_request(project, v1, hub, run):
    from huggingface_hub import constants

    assert not Path(constants.HF_TOKEN_PATH).exists()  # the session's HF_HOME has no saved login
    done = run("publish", cwd=project, env={"HF_TOKEN": None})
    assert done.returncode == 1
    assert "Error: no Hub token: publishing needs one" in done.stderr
    assert hub.requests == []


def test_redact_hides_known_and_token_shaped_secrets(monkeypatch):
    from dataset_tools import terminal as cli_module

    monkeypatch.setenv("HF_TOKEN", "plain-secret-from-env")
    monkeypatch.setattr(cli_module, "SECRETS", {"given-on-the-command-line"})
    text = ("headers={'authorization': 'Bearer abc.def'} token=plain-secret-from-env "
            "--token given-on-the-command-line hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345 hf_hub_download")
    assert cli_module.redact(text) == ("headers={'authorization': 'Bearer ***'} token=*** --token *** *** "
                                        "hf_hub_download")


# -- refusals, dry run, branches ---------------------------------------------------------------


def test_dry_run_prints_the_changes_and_sends_no_write(project, v1, hub, run):
    fresh = run("publish", "--dry-run", cwd=project)
    assert fresh.returncode == 0, fresh.stderr
    assert "Dry run: publishing v1.0.0 to dataset-tools/news-articles (a new repo) would" in fresh.stdout
    assert not hub.write_requests and hub.requests and all(r.method == "GET" for r in hub.requests)

    _publish(v1)
    _next_version(project)
    build_dataset(load_settings(project), workers=1)
    writes, before = len(hub.write_requests), len(hub.requests)
    done = run("publish", "--dry-run", cwd=project)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Dry run: publishing v1.1.0 to dataset-tools/news-articles (branch main) would"
    assert lines[1:12] == [
        "  add     data/2026/01/train-0001.parquet",
        "  change  README.md",
        "  change  croissant.json",
        "  change  data/2026/01/train-0000.parquet",
        "  change  datapackage.json",
        "  change  images/articles-per-month.png",
        "  change  inputs/2026/01.parquet",
        "  change  manifest.json",
        "  change  report.json",
        "  delete  data/2025/12/train-0000.parquet",
        "  delete  inputs/2025/12.parquet",
    ]
    sizes = {p: f.size for p, f in local_files(v1.out).items()}
    sent = sum(sizes.values())  # every file of v1.1.0 is added or changed
    assert lines[12] == f"Would send {len(sizes)} file(s) ({human_size(sent)}), leave 0 file(s) unchanged (0 B) and delete 2 file(s), then tag v1.1.0."
    assert lines[13] == "Nothing was sent to the Hub."
    assert len(hub.write_requests) == writes
    assert {r.method for r in hub.requests[before:]} == {"GET"}
    assert hub.refs(REPO)["tags"].keys() == {"v1.0.0"}


def test_a_folder_that_does_not_validate_is_refused_before_any_request(project, v1, hub, run):
    shard = layout.data_files(v1.out)[0]
    shard.write_bytes(shard.read_bytes()[:-40] + b"\0" * 40)
    done = run("publish", cwd=project)
    assert done.returncode == 1
    assert "does not validate" in done.stderr and "hash-mismatch" in done.stderr
    assert "nothing was sent to the Hub" in done.stderr
    assert hub.requests == []
    with pytest.raises(NotValid):
        _publish(v1)


def test_a_tag_with_other_content_is_refused(project, v1, hub, run):
    _publish(v1)
    write_raw(project / "raw", "004_0000000000000004.txt", _story(4))  # rebuilt, but no release: still v1.0.0
    build_dataset(load_settings(project), workers=1)
    writes = len(hub.write_requests)
    done = run("publish", cwd=project)
    assert done.returncode == 1
    assert "Error: v1.0.0 is already on the Hub (dataset-tools/news-articles) with other content" in done.stderr
    assert "Hint: Release a new version" in done.stderr
    assert len(hub.write_requests) == writes


def test_private_repo_on_another_branch(project, v1, hub):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    result = _publish(v1, private=True, branch="staging")
    refs = hub.refs(REPO)
    assert refs["branches"]["staging"] == refs["tags"]["v1.0.0"] == result.commit
    assert list(hub.repo_files(REPO, "main")) == [".gitattributes"]
    with pytest.raises(RepositoryNotFoundError):
        HfApi(token=False).list_repo_refs(REPO, repo_type="dataset")
    assert result.verified_files == len(local_files(v1.out))


def test_plan_compares_lfs_by_sha256_and_regular_files_by_blob_id(v1):
    from dataset_tools.publish import RemoteFile

    local = local_files(v1.out)
    card = local["README.md"]
    shard = next(f for p, f in local.items() if p.endswith(".parquet"))
    remote = {
        "README.md": RemoteFile("README.md", card.size, card.blob_id),
        shard.path: RemoteFile(shard.path, shard.size, "0" * 40, "f" * 64),  # same size, other content
        "old.txt": RemoteFile("old.txt", 3, "1" * 40),
        ".gitattributes": RemoteFile(".gitattributes", 10, "2" * 40),
    }
    plan = plan_commit(local, remote)
    assert "README.md" in plan.unchanged and shard.path in plan.changed
    assert plan.deleted == ("old.txt",)
    assert set(plan.added) == set(local) - {"README.md", shard.path}


def test_a_commit_that_landed_although_its_answer_was_lost_is_not_made_twice(project, v1, hub):
    from huggingface_hub import CommitOperationAdd, HfApi

    hub.create_repo(REPO)
    hub.fail_next("POST", r"/commit/", status=500)
    messages = []

    def notify(message):
        messages.append(message)
        if "retrying" in message:  # pretend the failed attempt had landed: the same files reach main
            ops = [CommitOperationAdd(p, str(v1.out / p)) for p in local_files(v1.out)]
            HfApi().create_commit(REPO, ops, commit_message="Publish v1.0.0", repo_type="dataset")

    result = _publish(v1, notify=notify)
    assert [c.title for c in hub.commits(REPO)] == ["Publish v1.0.0", "initial commit"]
    assert result.commit == hub.refs(REPO)["tags"]["v1.0.0"] == hub.refs(REPO)["branches"]["main"]
    statuses = [r.status for r in hub.requests if r.method == "POST" and "/commit/" in r.path]
    assert statuses == [500, 200]  # ours failed; the "lost" one; the retry sees main holds it and commits nothing
    assert any("retrying" in m for m in messages)


def test_a_commit_refused_on_its_stale_parent_is_recognised_as_landed(project, v1, hub):
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    _publish(v1)
    _next_version(project)
    build_dataset(load_settings(project), workers=1)
    settings = load_settings(project)
    hub.fail_next("POST", r"/commit/", status=500)
    messages = []

    def notify(message):
        messages.append(message)
        if "retrying" in message:  # the failed attempt had in fact landed, deletion included
            local = local_files(settings.out)
            ops = [CommitOperationAdd(p, str(settings.out / p)) for p in local]
            ops += [CommitOperationDelete(p) for p in hub.repo_files(REPO) if p not in local and p != ".gitattributes"]
            HfApi().create_commit(REPO, ops, commit_message="Publish v1.1.0", repo_type="dataset")

    result = _publish(settings, notify=notify)
    # The retry still carries the deletion, so it is sent with the old parent and refused (412);
    # main holds exactly the folder, so that commit is taken as ours and tagged.
    statuses = [r.status for r in hub.requests if r.method == "POST" and "/commit/" in r.path]
    assert statuses[-3:] == [500, 200, 412]
    assert any("the commit landed although its answer was lost" in m for m in messages)
    assert [c.title for c in hub.commits(REPO)][:2] == ["Publish v1.1.0", "Publish v1.0.0"]
    assert result.commit == hub.refs(REPO)["tags"]["v1.1.0"] == hub.refs(REPO)["branches"]["main"]


def test_someone_else_committing_meanwhile_stops_the_publish_without_a_tag(project, v1, hub):
    from huggingface_hub import HfApi

    from dataset_tools.errors import PublishFailed

    hub.create_repo(REPO)
    hub.fail_next("POST", r"/commit/", status=502)

    def notify(message):
        if "retrying" in message:
            HfApi().upload_file(path_or_fileobj=b"other", path_in_repo="other.txt", repo_id=REPO, repo_type="dataset")

    with pytest.raises(PublishFailed, match="someone else committed"):
        _publish(v1, notify=notify)
    assert hub.refs(REPO)["tags"] == {}
    assert sorted(hub.repo_files(REPO)) == [".gitattributes", "other.txt"]


def test_a_branch_holding_these_files_and_more_is_not_tagged(project, v1, hub):
    from huggingface_hub import CommitOperationAdd, HfApi

    from dataset_tools.errors import PublishFailed

    hub.create_repo(REPO)
    hub.fail_next("POST", r"/commit/", status=500)

    def notify(message):
        if "retrying" in message:  # main gets every file of the folder, and one more
            ops = [CommitOperationAdd(p, str(v1.out / p)) for p in local_files(v1.out)]
            HfApi().create_commit(REPO, ops + [CommitOperationAdd("extra.txt", b"x")], commit_message="Other",
                                  repo_type="dataset")

    # The client finds nothing to send, skips the commit and answers with main's head: not ours.
    with pytest.raises(PublishFailed, match="moved while publishing and does not hold exactly this folder"):
        _publish(v1, notify=notify)
    assert hub.refs(REPO)["tags"] == {}


def test_validate_checks_a_published_revision(project, v1, hub, run):
    _publish(v1)
    good = run("validate", f"{REPO}@v1.0.0", "--json", cwd=project)
    assert good.returncode == 0, good.stdout
    report = json.loads(good.stdout)
    assert report["valid"] and report["stats"]["rows"] == 3
    assert any(r.method == "GET" and "/resolve/" in r.path for r in hub.requests)

    missing = run("validate", f"{REPO}@v9.9.9", cwd=project)
    assert missing.returncode == 2
    assert "revision 'v9.9.9' of dataset dataset-tools/news-articles not found on the Hub" in missing.stderr


# -- only what manifest.json lists is sent ----------------------------------------------------


def test_a_stray_file_is_refused_before_any_request(project, v1, hub, run):
    (v1.out / ".env").write_text("HF_TOKEN=hf_local_secret_not_for_the_hub\n")
    (v1.out / "images" / "draft.png").write_bytes(b"not listed")
    done = run("publish", cwd=project)
    assert done.returncode == 1
    assert (f"Error: {v1.out} holds 2 file(s) that publish does not send: .env, images/draft.png; "
            "nothing was sent to the Hub") in done.stderr
    assert "Hint: Remove them from the folder, or rebuild it with `dataset-tools build`" in done.stderr
    assert "hf_local_secret_not_for_the_hub" not in done.stdout + done.stderr
    assert hub.requests == []


def test_a_symlink_is_refused_before_any_request(project, v1, hub, run, tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (v1.out / "notes.txt").symlink_to(secret)
    done = run("publish", cwd=project)
    assert done.returncode == 1
    # validate, which publish runs first, names it; publish_paths would refuse it as well.
    assert "not-regular-file in notes.txt: notes.txt is a symbolic link, not a regular file" in done.stderr
    assert "nothing was sent to the Hub" in done.stderr
    assert "root:x:0" not in done.stdout + done.stderr
    assert hub.requests == []


def test_publish_sends_exactly_the_listed_regular_files(v1, tmp_path):
    from dataset_tools.errors import UnlistedFiles
    from dataset_tools.publish import publish_paths, read_manifest

    manifest = read_manifest(v1.out)
    listed = publish_paths(v1.out, manifest)
    assert listed == sorted(["manifest.json", *(e["path"] for e in manifest["data_files"] + manifest["files"])])
    assert set(listed) == set(local_files(v1.out))  # a clean build holds nothing else

    (v1.out / ".env").write_text("x")
    (v1.out / "data" / "link.parquet").symlink_to(v1.out / manifest["data_files"][0]["path"])
    os.mkfifo(v1.out / "images" / "pipe")
    with pytest.raises(UnlistedFiles) as refused:
        publish_paths(v1.out, manifest)
    assert refused.value.entries == [(".env", ""), ("data/link.parquet", "symbolic link"), ("images/pipe", "FIFO")]


def test_a_permanently_failing_lfs_upload_is_tried_six_times_in_all(project, v1, hub, run, fast_retries):
    hub.fail_always("PUT", r"^/lfs-storage/", status=500)
    done = run("publish", cwd=project)
    assert done.returncode == 1
    assert ("Error: could not upload the files to dataset-tools/news-articles (HTTP 500, after huggingface_hub's own "
            "retries). Nothing was committed") in done.stderr
    tries: dict[str, int] = {}
    for request in hub.requests:
        if request.method == "PUT":
            tries[request.path] = tries.get(request.path, 0) + 1
    # huggingface_hub tries each upload 6 times (1 + 5 retries); dataset-tools adds none on top.
    lfs_files = [p for p in local_files(v1.out) if p.endswith((".parquet", ".png"))]
    assert len(tries) == len(lfs_files) and set(tries.values()) == {6}
    assert not any(r.method == "POST" and "/commit/" in r.path for r in hub.requests)
    assert hub.refs(REPO)["tags"] == {}
