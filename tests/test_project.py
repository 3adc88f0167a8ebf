"""`dataset-tools init`: a new user's own folder of collected pages becomes a dataset project
that builds and validates with nothing else done."""

from __future__ import annotations

import os
import pty
import select
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from conftest import REPO
from dataset_tools.project import ci_install_source, install_source
from rawfiles import collected_article, write_raw


def run(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh process, as a user would (stdin is not a terminal)."""
    full_env = {key: value for key, value in os.environ.items() if key != "DATASET_TOOLS_DEBUG"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "dataset_tools", *args], cwd=cwd, env=full_env, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def _collect_pages(raw: Path) -> None:
    """Three collected pages, as a user's collector would have saved them."""
    write_raw(raw, "001_0000000000000001.txt", collected_article())
    write_raw(raw, "002_0000000000000002.txt", collected_article(
        url="https://news.example.org/20260210/harbour-ferry-returns-1000002.html",
        title="Harbour Ferry Returns After Winter Break",
        timestamps=("2026-02-10T07:00+0000",),
        lead="RIVERTON (Example Wire) - The harbour ferry started its spring timetable on Tuesday, a week earlier than planned.",
    ))
    write_raw(raw, "003_0000000000000003.txt", collected_article(
        url="https://news.example.org/20260302/school-garden-prize-1000003.html",
        title="School Garden Wins Regional Prize",
        timestamps=("2026-03-02T12:30+0000",),
        lead="RIVERTON (Example Wire) - Pupils of the east school won a regional prize for the garden they planted behind the gym.",
    ))


def test_init_then_build_then_validate_with_nothing_else_done(tmp_path):
    folder = tmp_path / "harbour-news"
    _collect_pages(folder / "raw")  # the user's own folder of collected pages, before init
    made = run("init", "--yes", "--repo-id", "someone/harbour-news", "--license", "cc-by-4.0", cwd=folder)
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines() == [
        "Made a dataset project in .: pyproject.toml, card.md, CHANGELOG.md, .github/workflows/validate.yml, schemas/article.schema.json, .gitignore",
        "Kept what was there: raw/",
        "Next: put the collected pages (one text file per article) in raw/, then run `dataset-tools build` and `dataset-tools validate`.",
        "Before the first `dataset-tools publish`: check repo_id and license in pyproject.toml, and make card.md say what is true of your collection.",
    ]
    built = run("build", cwd=folder)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("Built Harbour News v1.0.0 -> dist\n")
    validated = run("validate", cwd=folder)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert validated.stdout == f"valid: {folder / 'dist'}: 3 Parquet file(s), 3 rows, 0 error(s)\n"
    assert run("version", cwd=folder).stdout == "1.0.0\n"
    card = (folder / "dist" / "README.md").read_text()
    assert "# Harbour News\n" in card and "license: cc-by-4.0" in card
    assert "state-affiliated" not in card and "[More Information Needed]" not in card
    assert sorted(p.name for p in (folder / "raw").iterdir()) == ["001_0000000000000001.txt", "002_0000000000000002.txt", "003_0000000000000003.txt"]


def test_init_writes_the_answers_and_defaults_from_the_folder(tmp_path):
    done = run("init", "river-desk", "--yes", "--pretty-name", "The River Desk", "--description", 'Local news, "quoted" \\ and all.', "--creator", "River Desk Team", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "river-desk"
    table = tomllib.loads((folder / "pyproject.toml").read_text())["tool"]["dataset-tools"]
    import getpass

    assert table["name"] == "river-desk"
    assert table["pretty_name"] == "The River Desk"
    assert table["repo_id"].endswith("/river-desk") and table["repo_id"].split("/")[0] in (getpass.getuser().lower(), "namespace")
    assert table["license"] == "unknown"
    assert table["description"] == 'Local news, "quoted" \\ and all.'
    assert table["creator"] == "River Desk Team"
    assert (table["schema"], table["changelog"], table["card_text"], table["raw"], table["out"]) == (
        "schemas/article.schema.json", "CHANGELOG.md", "card.md", "raw", "dist",
    )
    assert (folder / "schemas" / "article.schema.json").read_bytes() == (REPO / "dataset_tools" / "schemas" / "article.schema.json").read_bytes()
    assert (folder / "raw").is_dir() and not any((folder / "raw").iterdir())
    changelog = (folder / "CHANGELOG.md").read_text()
    assert "\n## [1.0.0] - 20" in changelog and changelog.rstrip().endswith("First release.")
    assert (folder / ".gitignore").read_text().splitlines()[1:] == ["dist/", ".dataset-tools-cache/"]
    assert done.stdout.splitlines()[1] == "Next: put the collected pages (one text file per article) in river-desk/raw/, then run `dataset-tools build` and `dataset-tools validate` in river-desk."


def test_the_proposed_card_text_is_neutral_and_complete(tmp_path):
    from dataset_tools.card.texts import MISSING, load_card_text

    assert run("init", "--yes", cwd=tmp_path).returncode == 0
    text = load_card_text(tmp_path / "card.md")
    values = [text.data_collection, text.data_preprocessing, text.biases, text.limitations, text.personal_information]
    assert MISSING not in values
    assert not any("state-affiliated" in value or "<!--" in value for value in values)


def test_init_refuses_to_overwrite_a_project_unless_forced(tmp_path):
    assert run("init", "--yes", cwd=tmp_path).returncode == 0
    (tmp_path / "card.md").write_text("## Biases\n\nOurs.\n")
    write_raw(tmp_path / "raw", "001_0000000000000001.txt", collected_article())
    again = run("init", "--yes", cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.splitlines() == [
        f"Error: {tmp_path} already has pyproject.toml, card.md, CHANGELOG.md, .github/workflows/validate.yml, schemas/article.schema.json: init would overwrite them",
        "Hint: Run `dataset-tools init` in a new folder, or pass --force to overwrite these files.",
    ]
    assert (tmp_path / "card.md").read_text() == "## Biases\n\nOurs.\n"
    forced = run("init", "--yes", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "## Biases" in (tmp_path / "card.md").read_text() and "Ours." not in (tmp_path / "card.md").read_text()
    assert [p.name for p in (tmp_path / "raw").iterdir()] == ["001_0000000000000001.txt"]  # raw/ is never touched
    assert (tmp_path / ".gitignore").read_text().count("dist/") == 1


def test_init_adds_its_lines_to_an_existing_gitignore(tmp_path):
    (tmp_path / ".gitignore").write_text(".venv/\ndist/")
    assert run("init", "--yes", cwd=tmp_path).returncode == 0
    assert (tmp_path / ".gitignore").read_text() == (
        ".venv/\ndist/\n\n# dataset-tools: the built dataset and the build cache (`dataset-tools build` makes both again)\n.dataset-tools-cache/\n"
    )


def test_init_refuses_a_malformed_repo_id_before_writing(tmp_path):
    done = run("init", "--yes", "--repo-id", "no-namespace", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == "Error: repo_id 'no-namespace' is not of the form 'namespace/name'"
    assert list(tmp_path.iterdir()) == []


def _workflow_runs(folder: Path) -> list[str]:
    workflow = yaml.safe_load((folder / ".github" / "workflows" / "validate.yml").read_text())
    assert set(workflow[True]) == {"push", "pull_request"}  # YAML 1.1 reads the key `on` as True
    return [step["run"] for step in workflow["jobs"]["validate"]["steps"] if "run" in step]


def test_the_ci_workflow_installs_the_requirement_given_then_builds_and_validates(tmp_path):
    requirement = "dataset-tools @ git+https://git.example.org/tools/dataset-tools@v0.2.0"
    done = run("init", "--yes", "--install", requirement, cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    install, build, validate = _workflow_runs(tmp_path)
    assert shlex.split(install) == ["pip", "install", requirement]
    assert (build, validate) == ("dataset-tools build --no-cache", "dataset-tools validate")


def test_an_install_requirement_of_several_lines_is_refused_before_writing(tmp_path):
    done = run("init", "--yes", "--install", "dataset-tools\n      - name: another step", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.splitlines()[0] == "Error: --install must be one line of printable characters"
    assert list(tmp_path.iterdir()) == []


def test_a_workflow_that_cannot_know_the_install_source_fails_with_what_to_write_and_init_says_so(tmp_path):
    """This checkout is installed from a local folder (`pip install -e .`) that no CI runner can
    reach (a clone without a pushed commit on a web origin); and the name `dataset-tools` on
    PyPI is another project's: nothing is guessed."""
    reachable = ci_install_source()
    done = run("init", "--yes", "-q", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == ""
    install, _, _ = _workflow_runs(tmp_path)
    if reachable is not None:  # a clone of a published repository, at a pushed commit: its source
        assert shlex.split(install) == ["pip", "install", reachable] and done.stderr == ""
        return
    assert done.stderr.splitlines() == [
        "Warning: init cannot tell where a CI runner can install dataset-tools from (this one was not installed from a git or web URL, nor from a pushed clone): "
        "write a pip requirement in .github/workflows/validate.yml, or run init again with --install REQUIREMENT --force"
    ]
    assert install.splitlines()[-1] == "exit 1" and "Say where to install dataset-tools from" in install and "pip" not in install


def test_the_install_source_is_the_commit_or_url_a_ci_runner_can_reach():
    git = {"url": "https://github.com/someone/dataset-tools", "vcs_info": {"vcs": "git", "requested_revision": "v0.2.0", "commit_id": "0a1b2c3d"}}
    assert install_source(git) == "dataset-tools @ git+https://github.com/someone/dataset-tools@0a1b2c3d"
    wheel = {"url": "https://files.example.org/dataset_tools-0.2.0-py3-none-any.whl", "archive_info": {}}
    assert install_source(wheel) == "dataset-tools @ https://files.example.org/dataset_tools-0.2.0-py3-none-any.whl"
    assert install_source({"url": "file:///home/someone/dataset-tools", "dir_info": {"editable": True}}) is None
    assert install_source({"url": "file:///tmp/dataset_tools-0.2.0-py3-none-any.whl", "archive_info": {}}) is None
    assert install_source({"url": "file:///home/someone/dataset-tools", "vcs_info": {"vcs": "git", "commit_id": "0a1b2c3d"}}) is None


def test_a_clone_installed_in_place_gives_its_pushed_commit_on_its_web_origin(tmp_path):
    """`pip install -e .` in a clone of a public repository: CI installs the same commit from there;
    not before it is pushed, nor from a clone with changes, nor from an origin a runner cannot reach."""
    clone = tmp_path / "dataset-tools"
    clone.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(clone), *args], check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    (clone / "tool.py").write_text("print('a tool')\n")
    git("add", "tool.py")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "first")
    commit = git("rev-parse", "HEAD")
    editable = {"url": clone.as_uri(), "dir_info": {"editable": True}}
    assert install_source(editable) is None  # no origin
    git("remote", "add", "origin", "https://git.example.org/tools/dataset-tools.git")
    assert install_source(editable) is None  # not pushed
    git("update-ref", "refs/remotes/origin/main", commit)  # what a push (or fetch) records
    assert install_source(editable) == f"dataset-tools @ git+https://git.example.org/tools/dataset-tools.git@{commit}"
    (clone / "tool.py").write_text("print('a changed tool')\n")
    assert install_source(editable) is None  # the installed code is not that commit's
    git("checkout", "-q", "tool.py")
    git("remote", "set-url", "origin", "https://someone:secret@git.example.org/tools/dataset-tools.git")
    assert install_source(editable) is None  # a credential is never written into a workflow
    git("remote", "set-url", "origin", "/srv/git/dataset-tools")
    assert install_source(editable) is None  # a path on this machine


def test_the_repository_offers_a_pre_commit_hook_that_validates():
    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "dataset-tools-validate"
    assert hook["entry"] == "dataset-tools validate"
    assert (hook["language"], hook["pass_filenames"]) == ("python", False)
    assert "dataset-tools = \"dataset_tools.__main__:main\"" in (REPO / "pyproject.toml").read_text()


def _read_until(fd: int, marker: bytes, seen: bytearray) -> None:
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], 30)
        assert ready, f"no {marker!r} after {bytes(seen)!r}"
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the other end closed (Linux: EIO)
            chunk = b""
        assert chunk, f"no {marker!r} in {bytes(seen)!r}"
        seen += chunk
    del seen[: seen.index(marker) + len(marker)]


def test_init_on_a_terminal_asks_for_each_setting_not_given(tmp_path):
    main, terminal = pty.openpty()
    env = {**os.environ, "TERM": "dumb", "NO_COLOR": "1", "COLUMNS": "200"}
    process = subprocess.Popen(
        [sys.executable, "-m", "dataset_tools", "init", "tides", "--license", "cc-by-4.0"],
        cwd=tmp_path, stdin=terminal, stdout=terminal, stderr=terminal, env=env,
    )
    os.close(terminal)
    seen = bytearray()
    try:
        for prompt, answer in (
            (b"Dataset name (a short id, e.g. my-news) [tides]: ", b""),
            (b"Pretty name (the card's title) [Tides]: ", b"Tide Tables News"),
            (b"Hub repo id (namespace/name) [", b"not-a-repo-id"),
            (b"is not of the form 'namespace/name'", None),
            (b"Hub repo id (namespace/name) [", b"coast/tides"),
            (b"One-sentence description [", b"News of the coast."),
            (b"Made a dataset project in tides", None),
        ):
            _read_until(main, prompt, seen)
            if answer is not None:
                os.write(main, answer + b"\n")
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
        os.close(main)
    table = tomllib.loads((tmp_path / "tides" / "pyproject.toml").read_text())["tool"]["dataset-tools"]
    assert (table["name"], table["pretty_name"], table["repo_id"], table["license"], table["description"]) == (
        "tides", "Tide Tables News", "coast/tides", "cc-by-4.0", "News of the coast.",
    )
