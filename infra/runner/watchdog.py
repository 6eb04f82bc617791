"""The emulator going away in the middle of a run: noticed within seconds.

Without this, a Terraform whose emulator ended (killed, out of memory, stopped by another
command) keeps retrying: the provider retries a refused connection with back-off, whatever
`AWS_MAX_ATTEMPTS` says, and the run hangs for minutes before it fails with a wall of
"connection refused". Everything the emulator held, the Terraform states included, ended
with it, so nothing is left to save: while a Terraform runs against the emulator
(`INFRA_EMULATED` and `AWS_ENDPOINT_URL` in its environment), a thread knocks on the
endpoint's port every second; after MISSES refused knocks in a row it ends Terraform's process
group at once, and no other Terraform starts against that endpoint in this run. Only an
emulator that answered when the command started is watched: an environment that still names
an emulator stopped earlier (a command that does not reach AWS, such as `validate`) is not.

Only the emulator is watched. Against AWS, an endpoint that does not answer is a network
fault to retry, not a lost account.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress

from infra.emulator.launcher import EMULATED_VARIABLE

INTERVAL = 1.0  # seconds between knocks
MISSES = 3  # refused knocks in a row that mean the emulator is gone

_lock = threading.Lock()
_gone: dict[str, str] = {}  # endpoint -> what was seen


def watched_endpoint(env: Mapping[str, str]) -> str | None:
    """The emulator endpoint a Terraform with this environment talks to; None against AWS."""
    return env.get("AWS_ENDPOINT_URL") if env.get(EMULATED_VARIABLE) else None


def gone(endpoint: str | None) -> str | None:
    """What was seen when the emulator at `endpoint` went away in this run, if it did and
    nothing answers there since (a new emulator on the same port is not gone)."""
    if endpoint is None:
        return None
    with _lock:
        seen = _gone.get(endpoint)
    if seen is None or not _answers(*_address(endpoint)):
        return seen
    with _lock:
        _gone.pop(endpoint, None)
    return None


def _address(endpoint: str) -> tuple[str, int]:
    url = urllib.parse.urlsplit(endpoint)
    return url.hostname or "127.0.0.1", url.port or 443


def _answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=INTERVAL).close()
    except ConnectionRefusedError:
        return False
    except OSError:  # a timeout on a loaded machine is not a refusal: the port is still open
        return True
    return True


@contextmanager
def watching(endpoint: str | None, process_group: int) -> Iterator[None]:
    """While the block runs, end `process_group` at once if the emulator at `endpoint` goes away."""
    if endpoint is None:
        yield
        return
    host, port = _address(endpoint)
    if not _answers(host, port):  # not there when the command started: nothing to lose (a stale endpoint)
        yield
        return
    done = threading.Event()

    def knock() -> None:
        misses, first = 0, 0.0
        while not done.wait(INTERVAL):
            if _answers(host, port):
                misses = 0
                continue
            misses += 1
            first = first if misses > 1 else time.time()
            if misses < MISSES:
                continue
            since = time.strftime("%H:%M:%S", time.localtime(first))
            with _lock:
                _gone.setdefault(endpoint, f"nothing answers on port {port} since {since}")
            with suppress(ProcessLookupError):
                os.killpg(process_group, signal.SIGKILL)
            return

    thread = threading.Thread(target=knock, name=f"watchdog-{process_group}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def message(endpoint: str, seen: str) -> str:
    """What a run stopped by the watchdog says."""
    return (
        f"the emulator at {endpoint} went away ({seen}): Terraform was stopped at once. Everything the "
        "emulator held went with it, the Terraform states included: start again with a new emulator (`infra up ENV`)"
    )
