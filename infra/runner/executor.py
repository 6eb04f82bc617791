"""Run one action per stack along the dependency graph, in parallel where it allows.

A stack starts when every stack it depends on (among those chosen) has succeeded. When a
stack fails, everything downstream of it is skipped, and the rest go on.
`reverse=True` walks the graph backwards (destroy: consumers before producers).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

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
                if bad:
                    record(Outcome(name, SKIPPED, 0.0, f"{bad[0]} did not succeed"))
                elif waiting and all(b in outcomes for b in blockers):
                    record(Outcome(name, DEFERRED, 0.0, f"waits for {waiting[0]} to be applied"))
                elif all(b in outcomes for b in blockers):
                    running[pool.submit(action, graph.nodes[name])] = (name, time.monotonic())
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
