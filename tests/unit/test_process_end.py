"""Stopping the emulator waits for its process to end; a child of ours that has ended is a
zombie until reaped, and must count as ended (else every stop waited its full 10 s)."""

from __future__ import annotations

import subprocess
import sys
import time

from infra.emulator.launcher import _gone


def test_an_ended_child_counts_as_gone_and_a_running_one_does_not():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert not _gone(child.pid)
    finally:
        child.kill()
    deadline = time.monotonic() + 10
    while not _gone(child.pid):  # killed, not yet reaped: a zombie until _gone reaps it
        assert time.monotonic() < deadline, "a killed child never counted as gone"
        time.sleep(0.05)
    child.returncode = -9  # reaped above; keep Popen from waiting for it again


def test_a_process_that_is_not_ours_counts_as_running_until_it_ends():
    assert not _gone(1)  # init: alive, and not our child
