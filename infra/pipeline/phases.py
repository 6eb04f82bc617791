"""A sequence of timed phases with one report at the end: how `infra up` and `infra ci plan`
run their steps. A failed phase stops the sequence and names itself in the report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from infra.console import out
from infra.errors import Failed


class PhaseFailed(Failed):
    """A phase failed; the report names it and the phases after it do not run."""

    def __init__(self, message: str, loop: Loop) -> None:
        super().__init__(message)
        self.loop = loop


@dataclass
class PhaseReport:
    name: str
    status: str
    seconds: float
    detail: str


@dataclass
class Loop:
    title: str
    phases: list[PhaseReport] = field(default_factory=list)

    def phase(self, name: str, fn: Callable[[], str]) -> None:
        out.print(f"[bold]==> {name}[/bold]")
        started = time.monotonic()
        try:
            detail = fn()
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.phases.append(PhaseReport(name, "failed", time.monotonic() - started, first))
            raise PhaseFailed(f"{name}: {exc}", self) from exc
        self.phases.append(PhaseReport(name, "ok", time.monotonic() - started, detail))

    def report(self) -> None:
        table = Table("phase", "status", "seconds", "detail", title=self.title)
        for p in self.phases:
            colour = "green" if p.status == "ok" else "red"
            table.add_row(p.name, f"[{colour}]{p.status}[/{colour}]", f"{p.seconds:.1f}", p.detail)
        table.add_row("total", "", f"{sum(p.seconds for p in self.phases):.1f}", "")
        out.print(table)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
