"""The Hub emulator for the test session, and the environment the real HF clients need.

huggingface_hub and datasets read HF_ENDPOINT, HF_HOME, HF_HUB_DISABLE_XET... once, when they
are imported, and the emulator's port is known only once it listens. So importing this module
starts one emulator for the whole session and sets the environment, and it must be imported by
tests/conftest.py before anything imports huggingface_hub or datasets. A CLI run as a
subprocess inherits the same environment (see `hub_env`).
"""

from __future__ import annotations

import atexit
import ipaddress
import os
import shutil
import socket
import sys
import tempfile

import pytest

from hub_emulator import HubEmulator

if {"huggingface_hub", "datasets"} & set(sys.modules):
    raise RuntimeError("conftest_hub must be imported before huggingface_hub or datasets: they read HF_* at import")

HUB_TOKEN = "hf_emulator_write_token"
HUB_USER = "dataset-tools-bot"

HUB = HubEmulator(tokens={HUB_TOKEN}, user=HUB_USER).start()
_HF_HOME = tempfile.mkdtemp(prefix="hf-home-")
atexit.register(shutil.rmtree, _HF_HOME, True)
atexit.register(HUB.stop)

HUB_ENV = {
    "HF_ENDPOINT": HUB.url,
    "HF_TOKEN": HUB_TOKEN,
    "HF_HOME": _HF_HOME,
    "HF_DATASETS_CACHE": os.path.join(_HF_HOME, "datasets"),  # tests pass their own per load
    "HF_HUB_DISABLE_XET": "1",  # hf_xet would upload through Xet, which is not emulated
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_OFFLINE": "0",
    "HF_DATASETS_OFFLINE": "0",
    "HF_HUB_ETAG_TIMEOUT": "5",
}
os.environ.update(HUB_ENV)
os.environ.pop("HF_HUB_ENABLE_HF_TRANSFER", None)

# Nothing in this process may leave the machine: connecting anywhere but loopback fails at
# once and is remembered, so a test fails even when the client swallowed the error.
BLOCKED_CONNECTIONS: list = []
_real_connect, _real_connect_ex = socket.socket.connect, socket.socket.connect_ex


def _is_loopback(address) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX
    try:
        return ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        return address[0] == "localhost"


def _guarded(real):
    def connect(sock, address):
        if not _is_loopback(address):
            BLOCKED_CONNECTIONS.append(address)
            raise ConnectionRefusedError(f"tests may not reach {address}: only the Hub emulator")
        return real(sock, address)
    return connect


socket.socket.connect = _guarded(_real_connect)
socket.socket.connect_ex = _guarded(_real_connect_ex)


@pytest.fixture(scope="session")
def hub_server() -> HubEmulator:
    """The session's emulator as it is, state shared between tests."""
    return HUB


@pytest.fixture
def hub(hub_server):
    """A fresh, empty Hub; the test fails if the client called anything the emulator does not know."""
    hub_server.reset()
    hub_server.page_size = 1000
    del BLOCKED_CONNECTIONS[:]
    yield hub_server
    hub_server.clear_failures()
    unknown = [(r.method, r.path, r.query) for r in hub_server.unknown_requests]
    assert not unknown, f"requests the Hub emulator does not know: {unknown}"
    assert not hub_server.errors, "the Hub emulator failed:\n" + "\n".join(hub_server.errors)
    assert not BLOCKED_CONNECTIONS, f"tried to leave the machine: {BLOCKED_CONNECTIONS}"


@pytest.fixture
def datasets_cache(tmp_path) -> str:
    """A fresh datasets cache: reusing one can serve a build cached for another revision."""
    path = tmp_path / "hf-datasets-cache"
    path.mkdir()
    return str(path)


@pytest.fixture
def hub_env(hub, datasets_cache) -> dict[str, str]:
    """The environment for a CLI run as a subprocess against the emulator."""
    return {**os.environ, **HUB_ENV, "HF_DATASETS_CACHE": datasets_cache}


@pytest.fixture
def fast_retries(monkeypatch):
    """Skip the client's backoff sleeps (1s, 2s, 4s...) so retry tests stay fast, in-process only."""
    from huggingface_hub.utils import _http

    class _Time:
        def __getattr__(self, name):
            return getattr(_http_time, name)

        @staticmethod
        def sleep(seconds):
            pass

    _http_time = _http.time
    monkeypatch.setattr(_http, "time", _Time())
