"""What publish prints besides its summary: no retries and one line with a hint when nobody
answers at the endpoint; upload progress bars on a terminal and none in a pipe. The CLI runs as
a subprocess (its own environment, its own terminal or pipe) against the Hub emulator."""

from __future__ import annotations

import socket
import time

from publishing import cli, v1  # noqa: F401 (fixtures)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_connection_fails_at_once_with_a_hint(project, v1, hub, hub_env):
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    for args in (("publish",), ("publish", "--dry-run")):
        started = time.monotonic()
        # The default backoff (2 s, doubled) would make 4 retries last 30 s.
        done = cli(*args, cwd=project, env=hub_env, extra={"HF_ENDPOINT": endpoint, "DATASET_TOOLS_RETRY_BASE": None})
        elapsed = time.monotonic() - started
        assert done.returncode == 1, done.stderr
        assert done.stderr.splitlines() == [
            f"Error: cannot reach the Hub at {endpoint}: connection refused; nothing was sent",
            "Hint: Check HF_ENDPOINT (unset it for huggingface.co) and the network, then run the same command again.",
        ]
        assert done.stdout == ""
        # No retry was announced (stderr is those two lines); four would have taken 30 s more.
        assert elapsed < 25, f"{args} took {elapsed:.1f} s"
    assert hub.requests == []


# Text that only a progress bar prints: huggingface_hub's (tqdm) or ours (rich).
BAR_TEXT = ("LFS files", "%|", "it/s", "it]", "Uploading ", "━", "█")


def _on_a_terminal(*args: str, cwd, env: dict) -> tuple[int, str, str]:
    """Run `dataset-tools ARGS` with stderr on a pseudo-terminal; (exit code, stdout, what the
    terminal received)."""
    import os
    import pty
    import subprocess
    import sys

    from conftest_hub import HUB_TOKEN
    from publishing import REPO_ROOT

    full = {**env, "PYTHONPATH": str(REPO_ROOT), "DATASET_TOOLS_RETRY_BASE": "0.01", "COLUMNS": "160", "TERM": "xterm"}
    full.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
    master, terminal = pty.openpty()
    with subprocess.Popen([sys.executable, "-m", "dataset_tools", *args], cwd=cwd, env=full, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=terminal) as process:
        os.close(terminal)
        received = bytearray()
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            received += chunk
        stdout = process.stdout.read().decode()
        code = process.wait(timeout=300)
    os.close(master)
    text = received.decode(errors="replace")
    assert HUB_TOKEN not in text + stdout
    return code, stdout, text


def test_upload_bars_on_a_terminal_and_none_in_a_pipe(project, v1, hub, hub_env):
    from dataset_tools.build import build_dataset
    from dataset_tools.config import load_settings
    from dataset_tools.publish import local_files
    from publishing import release_by_hand, story
    from rawfiles import write_raw

    # A pipe gets the summary and no bar at all: neither ours, nor huggingface_hub's (on, as for a
    # user without HF_HUB_DISABLE_PROGRESS_BARS: "Upload 2 LFS files: 100%|..."), nor datasets'.
    piped = cli("publish", "--verify-load", cwd=project, env=hub_env, extra={"HF_HUB_DISABLE_PROGRESS_BARS": None})
    assert piped.returncode == 0, piped.stderr
    assert "Published v1.0.0" in piped.stdout and "load_dataset returned 3 rows" in piped.stdout
    assert piped.stderr == ""
    assert not [text for text in BAR_TEXT if text in piped.stdout + piped.stderr]

    # A terminal gets one bar per file sent, named by its path, with its size; a shard is among them.
    before = local_files(v1.out)
    write_raw(project / "raw", "002_0000000000000002.txt", story(2, title="Harbour story number 2, corrected"))
    release_by_hand(project, "1.0.1")
    build_dataset(load_settings(project), workers=1)
    sent = sorted(p for p, f in local_files(v1.out).items() if p not in before or before[p].sha256 != f.sha256)
    assert any(p.endswith(".parquet") for p in sent)
    code, stdout, terminal = _on_a_terminal("publish", cwd=project, env=hub_env)
    assert code == 0, terminal
    assert "Published v1.0.1 to dataset-tools/news-articles" in stdout
    for path in sent:
        assert f"Uploading {path}" in terminal
    unchanged = sorted(set(before) - set(sent))
    assert unchanged and not [p for p in unchanged if f"Uploading {p}" in terminal]
    assert "LFS files" not in terminal  # huggingface_hub's bar is off: ours replace it


def test_quiet_publish_prints_one_line_and_no_notes_or_bars(project, v1, hub, hub_env):
    done = cli("publish", "-q", cwd=project, env=hub_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "v1.0.0 published on dataset-tools/news-articles\n"
    assert done.stderr == ""
    again = cli("publish", "--quiet", cwd=project, env=hub_env)
    assert again.stdout == "v1.0.0 already-published on dataset-tools/news-articles\n" and again.stderr == ""
