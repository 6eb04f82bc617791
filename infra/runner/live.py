"""What a person watching a run sees: which stacks run and for how long, which wait on
which, what each last said; how each ended.

On a terminal this is a table redrawn in place (rich's Live), left on screen when the run
ends. In CI (`CI=true`) or when the output is not a terminal it is plain lines instead: a
stack starting, waiting, finishing, and every `heartbeat` seconds a line per running stack,
so a ten-minute apply is not ten silent minutes in a job log.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from infra.runner.executor import DEFERRED, FAILED, OK, SKIPPED, Outcome
from infra.runner.terraform import watching

COLOURS = {OK: "green", FAILED: "red", SKIPPED: "yellow", DEFERRED: "cyan", "running": "bold blue"}
# Commands whose output is data for the engine, not something to read (JSON of a plan).
QUIET_COMMANDS = frozenset({"show", "output"})
HEARTBEAT_SECONDS = 60.0


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def duration(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{seconds:.1f}s"


@dataclass
class _Row:
    state: str = "waiting"  # waiting, running, or an outcome's status
    on: Sequence[str] = ()
    started: float = 0.0
    seconds: float = 0.0
    detail: str = ""
    last: str = ""  # the last line Terraform wrote


class RunView:
    """A listener for run_graph (an executor `Progress`) and a watcher of Terraform's lines.

    `verbose`: Terraform's own output is shown too, as it is written (meant for one stack).
    Use it as a context manager around the run; the table starts with the first stack and
    stays on screen when every stack has ended.
    """

    def __init__(
        self,
        console: Console,
        *,
        plain: bool | None = None,
        verbose: bool = False,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.console = console
        self.plain = plain if plain is not None else (in_ci() or not console.is_terminal)
        self.verbose = verbose
        self.heartbeat = heartbeat
        self._rows: dict[str, _Row] = {}
        self._lock = threading.RLock()
        self._live: Live | None = None
        self._stop = threading.Event()
        self._watch = watching(self.line)
        self._beats: threading.Thread | None = None

    # --- the run's events ---------------------------------------------------------------

    def waiting(self, stack: str, on: Sequence[str]) -> None:
        with self._lock:
            self._begin()
            new = stack not in self._rows
            self._rows.setdefault(stack, _Row()).on = tuple(on)
        if self.plain and new and on:
            self._say(f"{'waiting':>7} {stack} (on {', '.join(on)})")

    def started(self, stack: str) -> None:
        with self._lock:
            self._begin()
            row = self._rows.setdefault(stack, _Row())
            row.state, row.on, row.started = "running", (), time.monotonic()
        if self.plain:
            self._say(f"{'started':>7} {stack}")

    def __call__(self, outcome: Outcome) -> None:
        with self._lock:
            self._begin()
            row = self._rows.setdefault(outcome.stack, _Row())
            row.state, row.seconds, row.on = outcome.status, outcome.seconds, ()
            row.detail = outcome.detail
            done = all(r.state not in ("waiting", "running") for r in self._rows.values())
        if self.plain:
            colour = COLOURS.get(outcome.status, "white")
            self.console.print(f"[{colour}]{outcome.status:>7}[/{colour}] ", end="")
            self.console.print(f"{outcome.stack} ({outcome.seconds:.1f} s) {outcome.detail}", markup=False)
        if done:
            self._end()

    def line(self, stack: str, command: str, text: str) -> None:
        """One line of Terraform's output (from the thread running the stack)."""
        if not text.strip():
            return
        with self._lock:
            row = self._rows.get(stack)
            if row is not None and command not in QUIET_COMMANDS:
                row.last = text.strip()
        if self.verbose and command not in QUIET_COMMANDS:
            self.console.print(text, markup=False, highlight=False)

    # --- drawing ------------------------------------------------------------------------

    def __rich__(self) -> Group:
        with self._lock:
            rows = list(self._rows.items())
        now = time.monotonic()
        table = Table(box=None, show_header=False, pad_edge=False, expand=False)
        table.add_column("state", no_wrap=True)
        table.add_column("stack", no_wrap=True)
        table.add_column("time", justify="right", no_wrap=True)
        table.add_column("detail", no_wrap=True, overflow="ellipsis", max_width=100)
        counts: dict[str, int] = {}
        for name, row in rows:
            counts[row.state] = counts.get(row.state, 0) + 1
            if row.state == "waiting":
                what = f"waiting on {', '.join(row.on)}" if row.on else "queued for a worker"
                table.add_row(Text("waiting", "dim"), Text(name, "dim"), "", Text(what, "dim"))
            elif row.state == "running":
                table.add_row(
                    Text("running", COLOURS["running"]), name, duration(now - row.started), Text(row.last, "dim")
                )
            else:
                first = row.detail.strip().splitlines()[0] if row.detail.strip() else ""
                table.add_row(Text(row.state, COLOURS.get(row.state, "white")), name, duration(row.seconds), first)
        summary = " · ".join(f"{n} {state}" for state, n in counts.items())
        return Group(Text(summary, "bold"), table)

    # --- life cycle ---------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def _begin(self) -> None:
        """The first event of a run: the table appears (terminal only)."""
        if self.plain or self._live is not None:
            return
        if all(r.state not in ("waiting", "running") for r in self._rows.values()):
            self._rows.clear()  # a new run (`infra up` runs several): a new table
        self._live = Live(self, console=self.console, refresh_per_second=4, transient=False)
        self._live.start()

    def _end(self) -> None:
        with self._lock:
            live, self._live = self._live, None
        if live is not None:
            live.stop()
        elif self.plain:
            with self._lock:
                self._rows.clear()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            with self._lock:
                running = [(n, r) for n, r in self._rows.items() if r.state == "running"]
            now = time.monotonic()
            for name, row in running:
                self._say(f"{'running':>7} {name} ({duration(now - row.started)}) {row.last}".rstrip())

    def __enter__(self) -> RunView:
        self._watch.__enter__()
        if self.plain and self.heartbeat > 0:
            self._beats = threading.Thread(target=self._beat, name="run-view-heartbeat", daemon=True)
            self._beats.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        if self._beats is not None:
            self._beats.join()
        self._end()
        self._watch.__exit__(kind, exc, tb)
