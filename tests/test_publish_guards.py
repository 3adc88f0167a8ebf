"""publish refuses to replace another dataset or to move a branch back to an earlier version
(exit 1, nothing written), unless told to; and a folder published to another repo than the one
its build names gets its card and croissant.json rendered for that repo. Against the Hub
emulator, over real HTTP."""

from __future__ import annotations

import hashlib
import json

import pytest

from dataset_tools.build import build_dataset
from dataset_tools.config import load_settings
from publishing import REPO, publish, release_by_hand, run, set_setting, v1  # noqa: F401 (fixtures)

OTHER = "someuser/news"


def _build(project, version: str | None = None, **settings: str):
    for key, value in settings.items():
        set_setting(project, key, value)
    if version:
        release_by_hand(project, version)
    build_dataset(load_settings(project), workers=1)
    return load_settings(project)


def _digests(folder) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# -- an earlier version ------------------------------------------------------------------------


def test_moving_a_branch_back_is_refused_unless_allowed(project, v1, hub, run):
    publish(v1)
    _build(project, "1.1.0")
    publish(load_settings(project))
    _build(project, "0.9.0")
    writes = len(hub.write_requests)
    for args in (("publish",), ("publish", "--dry-run")):
        refused = run(*args, cwd=project)
        assert refused.returncode == 1
        assert refused.stderr.splitlines() == [
            f"Error: main of {REPO} is at v1.1.0, a later version than v0.9.0: publishing would move it back; "
            "nothing was sent",
            "Hint: Publish a version after v1.1.0 (`dataset-tools release`, then `dataset-tools build`), or pass "
            "--allow-downgrade to move main back on purpose.",
        ]
    assert len(hub.write_requests) == writes

    allowed = run("publish", "--allow-downgrade", cwd=project)
    assert allowed.returncode == 0, allowed.stderr
    assert f"moving main of {REPO} back from v1.1.0 to v0.9.0 (--allow-downgrade)" in allowed.stderr
    refs = hub.refs(REPO)
    assert refs["tags"].keys() == {"v1.0.0", "v1.1.0", "v0.9.0"} and refs["branches"]["main"] == refs["tags"]["v0.9.0"]


def test_only_the_tags_on_the_branch_history_count(project, v1, hub, run):
    publish(v1)
    publish(_build(project, "2.0.0"), branch="next")  # v2.0.0 is on `next`, not on main's history
    fix = _build(project, "1.0.1")
    assert publish(fix).status == "published"
    assert hub.refs(REPO)["branches"]["main"] == hub.refs(REPO)["tags"]["v1.0.1"]
    # On `next`, 1.0.1 would move it back from 2.0.0.
    release_by_hand(project, "1.0.2")
    build_dataset(load_settings(project), workers=1)
    done = run("publish", "--revision", "next", cwd=project)
    assert done.returncode == 1 and f"Error: next of {REPO} is at v2.0.0" in done.stderr


def test_versions_order_as_semantic_versions():
    from dataset_tools.publish.guards import version_key

    ordered = ["0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0"]
    assert sorted(ordered, key=version_key) == ordered
    assert version_key("1.0.0+build.7") == version_key("1.0.0") and version_key("latest") is None


# -- another dataset ---------------------------------------------------------------------------


def test_replacing_another_dataset_is_refused_unless_allowed(project, v1, hub, run):
    # The issue: main held 1.1.0 of another dataset; publishing 0.1.0 of this one replaced it.
    theirs = _build(project, "1.1.0", name="other-news")
    assert run("publish", cwd=project).returncode == 0
    files_before = hub.repo_files(REPO)
    ours = _build(project, "0.1.0", name="news-articles")
    writes = len(hub.write_requests)
    for args in (("publish",), ("publish", "--dry-run"), ("publish", "--allow-downgrade")):
        refused = run(*args, cwd=project)
        assert refused.returncode == 1
        assert refused.stderr.splitlines() == [
            f"Error: main of {REPO} holds the dataset 'other-news', not the dataset 'news-articles': publishing "
            "would replace it; nothing was sent",
            "Hint: Check --repo (or repo_id in pyproject.toml); pass --allow-other-dataset to replace it on purpose.",
        ]
    # Replacing it is one thing; moving main from its 1.1.0 back to 0.1.0 is another, said apart.
    both = run("publish", "--allow-other-dataset", cwd=project)
    assert both.returncode == 1 and f"Error: main of {REPO} is at v1.1.0, a later version than v0.1.0" in both.stderr
    assert len(hub.write_requests) == writes and hub.repo_files(REPO) == files_before

    done = run("publish", "--allow-other-dataset", "--allow-downgrade", cwd=project)
    assert done.returncode == 0, done.stderr
    assert f"replacing the dataset 'other-news' on main of {REPO} (--allow-other-dataset)" in done.stderr
    manifest = json.loads(hub.repo_files(REPO)["manifest.json"])
    assert manifest["dataset"] == {"name": "news-articles", "repo_id": REPO}
    assert theirs.name == "other-news" and ours.name == "news-articles"


def test_a_dataset_published_before_manifests_named_it_is_named_by_its_croissant(project, v1, hub, run, tmp_path):
    import shutil

    from huggingface_hub import HfApi

    theirs = _build(project, name="other-news")
    old = tmp_path / "old-build"
    shutil.copytree(theirs.out, old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["dataset"]  # as a build made before manifest.json named its dataset
    (old / "manifest.json").write_text(json.dumps(manifest, indent=2))
    hub.create_repo(REPO)
    HfApi().upload_folder(folder_path=str(old), repo_id=REPO, repo_type="dataset")
    _build(project, "1.0.1", name="news-articles")
    refused = run("publish", cwd=project)
    assert refused.returncode == 1
    assert f"Error: main of {REPO} holds the dataset 'other-news', not the dataset 'news-articles'" in refused.stderr


def test_files_that_no_build_made_are_not_replaced_unless_allowed(project, v1, hub, run):
    from huggingface_hub import HfApi

    hub.create_repo(REPO)
    HfApi().upload_file(path_or_fileobj=b"# notes\n", path_in_repo="notes.md", repo_id=REPO, repo_type="dataset")
    writes = len(hub.write_requests)
    refused = run("publish", cwd=project)
    assert refused.returncode == 1
    assert (f"Error: main of {REPO} holds 1 file(s) and no manifest.json (not a dataset built by dataset-tools), not "
            "the dataset 'news-articles'") in refused.stderr
    assert len(hub.write_requests) == writes
    done = run("publish", "--allow-other-dataset", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "notes.md" not in hub.repo_files(REPO, "v1.0.0")


def test_a_build_that_does_not_name_its_dataset_is_refused_before_any_request(project, v1, hub, run):
    path = v1.out / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["dataset"]
    path.write_text(json.dumps(manifest, indent=2))
    done = run("publish", cwd=project)
    assert done.returncode == 1
    assert "manifest.json does not name its dataset (it was built by an older dataset-tools)" in done.stderr
    assert "Hint: Rebuild with `dataset-tools build`" in done.stderr
    assert hub.requests == []


# -- another repo ------------------------------------------------------------------------------


def test_publishing_to_another_repo_renders_the_card_for_it(project, v1, hub, run, tmp_path):
    import datasets

    before = _digests(v1.out)
    dry = run("publish", "--repo", OTHER, "--dry-run", cwd=project)
    assert dry.returncode == 0, dry.stderr
    assert "README.md and croissant.json would be rendered for someuser/news; the folder is left as it is." in dry.stdout
    done = run("publish", "--repo", OTHER, "--verify-load", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "README.md and croissant.json were rendered for someuser/news; the folder is left as it is." in done.stdout
    assert f'load_dataset("{OTHER}", revision="v1.0.0")' in done.stdout
    # The folder is as it was, and no staged copy is left beside it.
    assert _digests(v1.out) == before
    assert not [p.name for p in v1.out.parent.iterdir() if "publish" in p.name]

    published = hub.repo_files(OTHER, "v1.0.0")
    card, croissant = published["README.md"].decode(), json.loads(published["croissant.json"])
    assert f'ds = load_dataset("{OTHER}", revision="v1.0.0", split="train")' in card
    assert f"\\url{{https://huggingface.co/datasets/{OTHER}}}" in card  # the citation
    assert croissant["url"] == f"https://huggingface.co/datasets/{OTHER}" and OTHER in croissant["citeAs"]
    assert REPO not in card and REPO not in published["croissant.json"].decode()
    manifest = json.loads(published["manifest.json"])
    assert manifest["dataset"] == {"name": "news-articles", "repo_id": OTHER}
    # Only the files that name the repo differ from the folder's, and the manifest lists them as they are.
    differing = {p for p, data in published.items() if p in before and hashlib.sha256(data).hexdigest() != before[p]}
    assert differing == {"README.md", "croissant.json", "manifest.json"}
    listed = {e["path"]: e["sha256"] for e in manifest["files"] + manifest["data_files"]}
    assert all(listed[p] == hashlib.sha256(published[p]).hexdigest() for p in listed)

    valid = run("validate", f"{OTHER}@v1.0.0", "--json", cwd=project)
    assert valid.returncode == 0, valid.stdout
    loaded = datasets.load_dataset(OTHER, revision="v1.0.0", split="train", cache_dir=str(tmp_path / "cache"))
    assert loaded.num_rows == 3

    again = run("publish", "--repo", OTHER, cwd=project)  # rendered the same: already published
    assert again.returncode == 0 and "v1.0.0 is already published on someuser/news" in again.stdout


def test_validate_finds_a_card_that_names_another_repo(project, v1, hub, run):
    from huggingface_hub import HfApi

    # What publish --repo did before: the folder as it was built, for dataset-tools/news-articles.
    hub.create_repo(OTHER)
    HfApi().upload_folder(folder_path=str(v1.out), repo_id=OTHER, repo_type="dataset")
    done = run("validate", f"{OTHER}@main", "--json", cwd=project)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    found = sorted((e["file"], e["field"]) for e in report["errors"] if e["type"] == "repo-mismatch")
    # The card's two load lines (the version, and a date range of months) both name the repo.
    assert found == [("README.md", "citation"), ("README.md", "load line"), ("README.md", "load line"), ("croissant.json", "citeAs"),
                     ("croissant.json", "url")]
    assert {e["type"] for e in report["errors"]} == {"repo-mismatch"}
    message = next(e["message"] for e in report["errors"] if e["field"] == "load line")
    assert message == f"README.md's load line names {REPO}, but the dataset is {OTHER}"
    assert run("validate", f"{REPO}@main", cwd=project).returncode == 2  # nothing there
    assert run("validate", str(v1.out), cwd=project).returncode == 0  # the folder names its own repo


def test_a_card_that_is_out_of_date_is_not_rendered_for_another_repo(project, v1, hub, run):
    set_setting(project, "description", "A description edited after the build.")
    done = run("publish", "--repo", OTHER, cwd=project)
    assert done.returncode == 1
    assert (f"README.md, croissant.json differ from what the project renders now for {REPO}, so they cannot be "
            f"rendered for {OTHER} with only the repo changed; nothing was sent") in done.stderr
    assert "Hint: Run `dataset-tools card`" in done.stderr
    assert hub.requests == []


def test_without_settings_a_folder_built_for_another_repo_is_refused(v1, hub):
    from dataset_tools.errors import RepoMismatch

    with pytest.raises(RepoMismatch, match=f"was built for {REPO}: its card, croissant.json and citation name it, not {OTHER}"):
        publish(v1, OTHER)
    assert hub.requests == []


def test_the_card_command_renames_the_repo_in_the_manifest(project, v1, run):
    set_setting(project, "repo_id", OTHER)
    done = run("card", cwd=project)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((v1.out / "manifest.json").read_text())
    assert manifest["dataset"] == {"name": "news-articles", "repo_id": OTHER}
    assert list(manifest).index("dataset") == list(manifest).index("dataset_version") + 1
    assert run("validate", cwd=project).returncode == 0
