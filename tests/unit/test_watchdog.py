"""The watchdog ends a Terraform whose emulator went away, and only then: a process group
watched against a port that refuses is ended after MISSES knocks; one watched against a port
that answers runs on; against AWS nothing is watched."""

from __future__ import annotations

import socket
import subprocess
import sys
from contextlib import suppress

import pytest

from infra.runner import watchdog


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], process_group=0)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed when the block ends: connecting is refused


def _runs_on_while_watched(endpoint: str) -> bool:
    """Whether a process group watched against `endpoint` is still running after the
    watchdog had time for MISSES knocks and more."""
    proc = _sleeper()
    try:
        with watchdog.watching(endpoint, proc.pid), suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=watchdog.MISSES * watchdog.INTERVAL + 2)
        return proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(autouse=True)
def _own_records(monkeypatch):
    monkeypatch.setattr(watchdog, "_gone", {})  # what these tests see gone stays here


def test_an_emulator_that_goes_away_ends_the_watched_process_group_and_later_runs_are_told():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = int(server.getsockname()[1])
    endpoint = f"https://127.0.0.1:{port}"
    proc = _sleeper()
    try:
        with watchdog.watching(endpoint, proc.pid):
            server.close()  # the emulator goes away while the command runs
            assert proc.wait(timeout=watchdog.MISSES * watchdog.INTERVAL + 10) == -9
    finally:
        proc.kill()
        proc.wait()
    seen = watchdog.gone(endpoint)
    assert seen is not None and seen.startswith(f"nothing answers on port {port} since ")
    assert watchdog.gone("https://127.0.0.1:1") is None  # another endpoint (a new emulator) is not gone
    with socket.socket() as again:  # a new emulator on the same port: not gone
        again.bind(("127.0.0.1", port))
        again.listen(1)
        assert watchdog.gone(endpoint) is None


def test_an_endpoint_gone_before_the_command_started_is_not_watched():
    """A stale environment (an emulator stopped earlier) and a command that does not need it."""
    endpoint = f"https://127.0.0.1:{_closed_port()}"
    assert _runs_on_while_watched(endpoint), "a command whose endpoint was already gone was ended"
    assert watchdog.gone(endpoint) is None


def test_an_answering_emulator_is_left_alone():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        endpoint = f"https://127.0.0.1:{server.getsockname()[1]}"
        assert _runs_on_while_watched(endpoint), "a process whose emulator answers was ended"
    assert watchdog.gone(endpoint) is None


def test_only_the_emulator_is_watched():
    assert watchdog.watched_endpoint({"AWS_ENDPOINT_URL": "https://127.0.0.1:4566", "INFRA_EMULATED": "moto"})
    assert watchdog.watched_endpoint({"AWS_ENDPOINT_URL": "https://vpce.example"}) is None  # AWS: not ours to judge
    assert watchdog.watched_endpoint({"INFRA_EMULATED": "moto"}) is None
