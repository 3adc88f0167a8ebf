"""The command line as a user meets it: help everywhere, one-line errors, exit codes, --json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import typer

from dataset_tools.cli import app
from conftest import SEED
from rawfiles import collected_article, write_raw


def run(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh process, as a user would."""
    full_env = {key: value for key, value in os.environ.items() if key != "DATASET_TOOLS_DEBUG"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "dataset_tools", *args], cwd=cwd, env=full_env, capture_output=True, text=True
    )


def _commands() -> list[str]:
    group = typer.main.get_command(app)
    return sorted(group.commands)


def test_every_command_has_help():
    group = typer.main.get_command(app)
    for name in _commands():
        command = group.commands[name]
        assert command.help and command.help.strip(), f"command {name!r} has no help text"
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert param.help, f"option {param.opts} of {name!r} has no help text"


@pytest.mark.parametrize("name", _commands())
def test_help_runs(name):
    done = run(name, "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout


def test_version_prints_the_changelog_version(project):
    done = run("version", cwd=project)
    assert done.returncode == 0
    assert done.stdout.strip() == "1.0.0"


def test_build_json_summary_and_table(project):
    shutil.copy(SEED, project / "raw" / SEED.name)
    write_raw(project / "raw", "001_0000000000000001.txt", b"")
    done = run("build", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["inputs"] == 2 and summary["rows"] == 1 and summary["rejected"] == 1
    assert summary["rejects_by_reason"] == {"empty-file": 1}
    seconds = summary["seconds"]  # where the time went, stage by stage
    assert {"list", "plan", "parse", "write", "report", "card", "manifest", "total"} <= set(seconds)
    assert all(value >= 0 for value in seconds.values())
    assert sum(v for k, v in seconds.items() if k != "total") <= seconds["total"] + 0.01

    table = run("build", cwd=project)
    assert table.returncode == 0
    for label in ("inputs", "rows", "duplicates", "superseded", "rejected", "empty-file", "output size", "time"):
        assert label in table.stdout


def test_strict_fails_on_rejects_with_one_line_and_hint(project):
    shutil.copy(SEED, project / "raw" / SEED.name)
    write_raw(project / "raw", "001_0000000000000001.txt", b"   \n")
    done = run("build", "--strict", cwd=project)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "Error: 1 input(s) rejected and --strict was given"
    assert lines[1].startswith("Hint: ")
    assert "Traceback" not in done.stderr
    # the dataset is still written
    assert (project / "dist" / "manifest.json").exists()


def test_missing_raw_folder_is_a_usage_error(project):
    done = run("build", "--raw", "nowhere", cwd=project)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: raw folder ")
    assert "Hint: " in done.stderr
    assert "Traceback" not in done.stderr


def test_traceback_only_with_debug_variable(project):
    done = run("build", "--raw", "nowhere", cwd=project, env={"DATASET_TOOLS_DEBUG": "1"})
    assert done.returncode == 2
    assert "Traceback" in done.stderr


def test_outside_a_project_says_where_to_run(tmp_path):
    done = run("version", cwd=tmp_path)
    assert done.returncode == 2
    assert "no pyproject.toml with a [tool.dataset-tools] table" in done.stderr


def test_bad_option_is_exit_2(project):
    done = run("build", "--workers", "0", cwd=project)
    assert done.returncode == 2


def test_json_to_a_pipe_is_what_rich_would_print(capsys):
    # --json output is written without importing rich when stdout is not a terminal; scripts
    # reading it must get the bytes rich's print_json gave them.
    import io

    from rich.console import Console

    from dataset_tools import terminal

    payload = json.dumps({"path": "raw/é ü \u2028 \"q\".txt", "rows": [1, 2.5, None, True], "empty": {}, "list": [], "long": "x" * 300})
    terminal.print_json(payload)
    written = capsys.readouterr().out
    console = io.StringIO()
    Console(file=console, force_terminal=False).print_json(payload)
    assert written == console.getvalue()


@pytest.mark.skipif(not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2, reason="counts threads in /proc; one core starts no BLAS threads")
def test_a_command_starts_no_blas_threads_unless_the_user_asks():
    # numpy's OpenBLAS starts a thread per core that spins for a while after the import: a
    # command (which never does linear algebra) keeps it to the calling thread, unless the
    # user set OPENBLAS_NUM_THREADS.
    script = (
        "import os, sys\n"
        "from dataset_tools.__main__ import main\n"
        "sys.argv = ['dataset-tools', 'version']\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    print('THREADS', len(os.listdir('/proc/self/task')), 'numpy' in sys.modules)\n"
    )

    def threads(**env: str) -> int:
        clean = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")}
        out = subprocess.run([sys.executable, "-c", script], env={**clean, **env}, capture_output=True, text=True, check=False).stdout
        count, numpy_loaded = out.split("THREADS", 1)[1].split()
        assert numpy_loaded == "True"  # the command did load numpy (via pyarrow)
        return int(count)

    default = threads()
    assert default == threads(OPENBLAS_NUM_THREADS="1")
    assert threads(OPENBLAS_NUM_THREADS="2") > default  # the user's value is kept, and counts


# -- the habits of the hf and frictionless CLIs ------------------------------------------------


def test_version_option_prints_the_tools_version_and_version_command_the_datasets(project):
    from dataset_tools import __version__

    done = run("--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"dataset-tools {__version__}\n", "")
    assert run("version", cwd=project).stdout == "1.0.0\n"
    assert "the DATASET's version" in run("version", "--help").stdout


@pytest.mark.parametrize("name", ["", *_commands()])
def test_dash_h_is_help_everywhere(name):
    args = [name] if name else []
    short, long = run(*args, "-h"), run(*args, "--help")
    assert short.returncode == long.returncode == 0
    assert short.stdout == long.stdout and "Usage" in short.stdout


def test_no_command_shows_the_help():
    done = run()
    assert done.returncode == 2  # click's code for "no command given"
    assert "Usage: dataset-tools [OPTIONS] COMMAND [ARGS]..." in done.stdout
    assert "init" in done.stdout and "Error" not in done.stderr


def test_shell_completion_is_offered_and_completes():
    # As a user runs it, from a shell (typer finds which one in the process tree).
    # (`; exit $?` keeps bash from exec-ing the command, so bash stays its parent.)
    done = subprocess.run(["bash", "-c", f"{sys.executable} -m dataset_tools --show-completion; exit $?"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "_DATASET_TOOLS_COMPLETE=complete_bash" in done.stdout and "dataset-tools" in done.stdout
    assert "--install-completion" in run("--help").stdout
    completed = run(env={"_DATASET_TOOLS_COMPLETE": "complete_bash", "COMP_WORDS": "dataset-tools build --wor", "COMP_CWORD": "2"})
    assert completed.stdout.split() == ["--workers"]


@pytest.mark.parametrize(
    "args, error, hint",
    [
        (["build", "--workers", "0"], "Invalid value for '--workers': 0 is not in the range x>=1.", "Run `dataset-tools build -h` for the usage."),
        (["build", "--zzz"], "No such option: --zzz", "Run `dataset-tools build -h` for the usage."),
        (["build", "--engine", "spark"], "unknown engine 'spark'", "Use one of: local, dask."),
        (["diff", "dist"], "Missing argument 'new'.", "Run `dataset-tools diff -h` for the usage."),
        (["card", "nowhere"], "build folder nowhere does not exist", "Run `dataset-tools build` first, or pass the build folder."),
        (["validate", "--schema", "nosuch.json"], "schema file nosuch.json not found", "Check the path nosuch.json (from --schema or the `schema` setting in pyproject.toml)."),
        (["release", "--major", "--minor"], "give at most one of --major, --minor, --patch", "Leave them out to release the bump the changes call for."),
    ],
)
def test_every_usage_error_is_exit_2_with_one_line_and_a_hint(project, args, error, hint):
    done = run(*args, cwd=project)
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"Error: {error}\nHint: {hint}\n"
    assert done.stdout == ""


def test_missing_settings_are_named_in_one_error(project):
    (project / "pyproject.toml").write_text('[tool.dataset-tools]\nname = "river-news"\n')
    done = run("build", cwd=project)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"Error: missing setting(s) in [tool.dataset-tools] of {project / 'pyproject.toml'}: pretty_name, repo_id, license, description",
        "Hint: Add them to the table; `dataset-tools init` writes a complete one in a new folder.",
    ]


def test_outside_a_project_points_at_init(tmp_path):
    done = run("build", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines()[1] == "Hint: Run `dataset-tools init` to start a dataset project here, or run inside one, or pass --project DIR."


@pytest.mark.parametrize(
    "args, code, kind, message",
    [
        (["build", "--engine", "spark", "--json"], 2, "UnknownEngine", "unknown engine 'spark'"),
        (["build", "--workers", "0", "--json"], 2, "UsageError", "Invalid value for '--workers': 0 is not in the range x>=1."),
        (["validate", "--json", "--schema", "nosuch.json"], 2, "SchemaNotFound", "schema file nosuch.json not found"),
        (["build", "--json"], 1, "NothingToBuild", None),
    ],
)
def test_json_errors_are_json_on_stdout_with_the_same_exit_code(project, args, code, kind, message):
    done = run(*args, cwd=project)
    assert done.returncode == code
    error = json.loads(done.stdout)["error"]
    assert set(error) == {"type", "message", "hint"}
    assert error["type"] == kind and error["hint"]
    assert error["message"] == (message or f"the raw folder {project / 'raw'} has no files: nothing to build")
    assert done.stderr == ""


def test_a_json_error_never_shows_a_token(project):
    token = "hf_" + "Q" * 30
    done = run("build", "--raw", f"/nowhere/{token}", "--json", cwd=project, env={"HF_TOKEN": token})
    assert done.returncode == 2
    assert token not in done.stdout + done.stderr
    assert json.loads(done.stdout)["error"]["message"] == "raw folder /nowhere/*** does not exist"


def test_an_empty_raw_folder_fails_even_without_strict_and_keeps_dist(project):
    for args in (["build"], ["build", "--strict"]):
        done = run(*args, cwd=project)
        assert done.returncode == 1
        assert done.stderr.splitlines() == [
            f"Error: the raw folder {project / 'raw'} has no files: nothing to build",
            "Hint: Put the collected pages (one text file per article) in it, or pass --raw DIR. The previous output is unchanged.",
        ]
    assert not (project / "dist").exists()


@pytest.fixture
def two_builds(project):
    """dist/ (the seed and three more articles) and old/ (the seed alone) of the project."""
    shutil.copy(SEED, project / "raw" / SEED.name)
    assert run("build", "-q", cwd=project).returncode == 0
    shutil.copytree(project / "dist", project / "old")
    for n in range(3):
        write_raw(project / "raw", f"{n + 1:03d}_{n + 1:016x}.txt", collected_article(url=f"https://news.example.org/2026/story-{n}.html"))
    assert run("build", "-q", cwd=project).returncode == 0
    return project


def test_diff_limit_says_how_many_it_left_out(two_builds):
    done = run("diff", "old", "dist", "--limit", "1", cwd=two_builds)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[-2].startswith("added    ")
    assert lines[-1] == "... and 2 more added (--limit 1; --json lists all)"
    assert "more" not in run("diff", "old", "dist", cwd=two_builds).stdout


@pytest.mark.parametrize("args", [["diff", "old", "dist"], ["diff", "old", "dist", "--json"]])
def test_a_closed_pipe_ends_the_command_quietly(two_builds, args):
    # `dataset-tools diff A B | head -1`: the reader is gone before the first line is written.
    process = subprocess.Popen([sys.executable, "-m", "dataset_tools", *args], cwd=two_builds, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    code = process.wait()
    assert stderr == ""
    assert code in (0, 141)  # 141: as a shell reports `cat` killed by SIGPIPE; 0: all written before


def test_a_closed_pipe_in_a_shell_pipeline(two_builds):
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {sys.executable} -m dataset_tools diff old dist | head -1"],
        cwd=two_builds, capture_output=True, text=True,
    )
    assert done.stdout == "old: old\n" and done.stderr == ""
    assert done.returncode in (0, 141)


def test_quiet_prints_only_what_was_asked_and_verbose_adds_detail(two_builds):
    quiet = run("build", "-q", cwd=two_builds)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    verbose = run("build", "--verbose", cwd=two_builds)
    for stage in ("list", "plan", "parse", "write", "report", "card", "manifest"):
        assert f"  {stage} " in verbose.stdout
    assert "  plan " not in run("build", cwd=two_builds).stdout
    assert run("validate", "-q", cwd=two_builds).stdout == ""
    assert run("card", "-q", cwd=two_builds).stdout == ""
    (two_builds / "dist" / "README.md").write_text("my own card\n")
    invalid = run("validate", "-q", "-v", cwd=two_builds)
    assert invalid.returncode == 1
    assert "invalid: " in invalid.stdout  # quiet still shows the errors
    assert "card-edited: a card file (README.md, croissant.json, datapackage.json, the plot) changed after the build wrote it" in invalid.stdout
