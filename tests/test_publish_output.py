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
