"""Ctrl-C (SIGINT) and SIGTERM of a run: Terraform stops gracefully, nothing new starts.

Terraform runs in a process group of its own (see `Workspace.run`), so a Ctrl-C at the
terminal reaches `infra` alone, and `infra` passes one SIGINT on to each running Terraform:
Terraform's graceful stop (the calls in flight finish, the state is written, the lock is
released). A second signal is passed on again, and Terraform then exits at once, as it does
when a person presses Ctrl-C twice. With no Terraform running, the signal stops `infra` where
it is (KeyboardInterrupt). Either way `infra` exits 128 + the signal: 130, or 143.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from types import FrameType

_lock = threading.Lock()
_running: set[subprocess.Popen[bytes]] = set()
_stopped: dict[str, str] = {}  # stack -> what became of its state
_received: int | None = None


def received() -> int | None:
    """The signal that interrupted this run, if one did."""
    return _received


def started(proc: subprocess.Popen[bytes]) -> None:
    with _lock:
        _running.add(proc)


def ended(proc: subprocess.Popen[bytes]) -> None:
    with _lock:
        _running.discard(proc)


def stopped(stack: str, state: str) -> None:
    """A stack's Terraform ended because of the interrupt; `state`: what became of its state."""
    with _lock:
        _stopped[stack] = state


def interrupted(signum: int) -> None:
    """The run was interrupted by this signal (the first one counts)."""
    global _received
    if _received is None:
        _received = signum


def _handle(signum: int, frame: FrameType | None) -> None:
    interrupted(signum)
    with _lock:
        running = list(_running)
    if not running:
        raise KeyboardInterrupt
    for proc in running:
        proc.send_signal(signal.SIGINT)


def install() -> None:
    """Handle SIGINT and SIGTERM as above (from the main thread)."""
    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)


def exit_code() -> int:
    return 128 + (_received or signal.SIGINT)


def summary(command: str) -> str:
    """One line: what was interrupted, whether the state is consistent, what to do next."""
    name = signal.Signals(_received or signal.SIGINT).name
    with _lock:
        stopped = dict(_stopped)
    if not stopped:
        what = "no Terraform was running: no state was being written"
    else:
        what = "Terraform stopped " + "; ".join(f"{stack} ({state})" for stack, state in sorted(stopped.items()))
    return f"interrupted by {name}: {what}; re-run the same command to finish: {command}"
