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
from rawfiles import write_raw


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

    from dataset_tools import cli

    payload = json.dumps({"path": "raw/é ü \u2028 \"q\".txt", "rows": [1, 2.5, None, True], "empty": {}, "list": [], "long": "x" * 300})
    cli._print_json(payload)
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
