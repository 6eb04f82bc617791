"""Run one action per stack along the dependency graph, in parallel where it allows.

A stack starts when every stack it depends on (among those chosen) has succeeded. When a
stack fails, everything downstream of it is skipped, and the rest go on.
`reverse=True` walks the graph backwards (destroy: consumers before producers).

The listener hears each stack's outcome as it finishes. A listener that is also a
`Progress` (the live view) hears as well when a stack starts, and what each stack that
cannot start yet still waits on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from infra.runner import interrupts
from infra.synth.graph import StackGraph, StackNode

OK, FAILED, SKIPPED, DEFERRED = "ok", "failed", "skipped", "deferred"


class Deferred(Exception):
    """The stack cannot run yet (plan: an upstream stack has never been applied)."""


@dataclass(frozen=True)
class Outcome:
    stack: str
    status: str
    seconds: float
    detail: str = ""


Action = Callable[[StackNode], str]  # returns a one-line detail; raises on failure
Listener = Callable[[Outcome], None]


@runtime_checkable
class Progress(Protocol):
    """A listener that also follows what runs and what waits."""

    def __call__(self, outcome: Outcome) -> None: ...

    def waiting(self, stack: str, on: Sequence[str]) -> None:
        """The stack cannot start before these stacks finish (told again as the list shrinks;
        empty: it waits for a free worker)."""

    def started(self, stack: str) -> None:
        """The stack's action begins (called from the worker thread that runs it)."""


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def run_graph(
    graph: StackGraph,
    names: Iterable[str],
    action: Action,
    *,
    workers: int | None = None,
    reverse: bool = False,
    listener: Listener | None = None,
) -> list[Outcome]:
    chosen = set(names)
    graph.levels(chosen)  # refuse a cycle before starting anything
    waits_for = {n: {d for d in graph.nodes[n].depends_on if d in chosen} for n in chosen}
    if reverse:
        waits_for = {n: {m for m in chosen if n in graph.nodes[m].depends_on} for n in chosen}

    outcomes: dict[str, Outcome] = {}
    running: dict[Future[str], tuple[str, float]] = {}
    progress = listener if isinstance(listener, Progress) else None
    told: dict[str, list[str]] = {}

    def act(node: StackNode) -> str:
        if progress:
            progress.started(node.name)
        return action(node)

    def record(outcome: Outcome) -> None:
        outcomes[outcome.stack] = outcome
        if listener:
            listener(outcome)

    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        while len(outcomes) < len(chosen):
            for name in sorted(chosen - outcomes.keys() - {n for n, _ in running.values()}):
                blockers = waits_for[name]
                bad = sorted(b for b in blockers if b in outcomes and outcomes[b].status in (FAILED, SKIPPED))
                waiting = sorted(b for b in blockers if b in outcomes and outcomes[b].status == DEFERRED)
                if interrupts.received():
                    record(Outcome(name, SKIPPED, 0.0, "not started: the run was interrupted"))
                elif bad:
                    record(Outcome(name, SKIPPED, 0.0, f"{bad[0]} did not succeed"))
                elif waiting and all(b in outcomes for b in blockers):
                    record(Outcome(name, DEFERRED, 0.0, f"waits for {waiting[0]} to be applied"))
                elif all(b in outcomes for b in blockers):
                    if progress:
                        progress.waiting(name, [])  # for a free worker
                    running[pool.submit(act, graph.nodes[name])] = (name, time.monotonic())
                elif progress and told.get(name) != (on := sorted(b for b in blockers if b not in outcomes)):
                    told[name] = on
                    progress.waiting(name, on)
            if not running:
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name, started = running.pop(future)
                seconds = time.monotonic() - started
                try:
                    record(Outcome(name, OK, seconds, future.result()))
                except Deferred as exc:
                    record(Outcome(name, DEFERRED, seconds, str(exc)))
                except Exception as exc:  # noqa: BLE001 - any failure stops this stack's downstream
                    record(Outcome(name, FAILED, seconds, str(exc)))
    order = graph.order(chosen)
    if reverse:
        order.reverse()
    return [outcomes[n] for n in order]
