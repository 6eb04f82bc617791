"""Run one action per stack along the dependency graph, in parallel where it allows.

A stack starts when every stack it depends on (among those chosen) has succeeded. When a
stack fails, everything downstream of it is skipped, and the rest go on.
`reverse=True` walks the graph backwards (destroy: consumers before producers).

An `eager` stack starts at once, without waiting: its action reads nothing the actions of
its upstream produce in this run (a plan reads its upstream's applied state, not its plan).
Its outcome is still settled in order, once its upstream's are known: downstream of a stack
that failed it is reported skipped, downstream of a deferred one deferred, as if it had
waited, and `drop` undoes what its action left behind.

The listener hears each stack's outcome as it finishes. A listener that is also a
`Progress` (the live view) hears as well when a stack starts, and what each stack that
cannot start yet still waits on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from infra.runner import interrupts
from infra.synth.graph import StackGraph, StackNode

OK, FAILED, SKIPPED, DEFERRED = "ok", "failed", "skipped", "deferred"


class Deferred(Exception):
    """The stack cannot run yet (plan: an upstream stack has never been applied)."""


class NotStarted(Exception):
    """The run was interrupted while the stack waited for a worker."""


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
    eager: Collection[str] = (),
    drop: Callable[[StackNode], object] | None = None,
) -> list[Outcome]:
    chosen = set(names)
    order = graph.order(chosen)  # refuses a cycle before starting anything
    if reverse:
        order.reverse()
    waits_for = {n: {d for d in graph.nodes[n].depends_on if d in chosen} for n in chosen}
    if reverse:
        waits_for = {n: {m for m in chosen if n in graph.nodes[m].depends_on} for n in chosen}

    outcomes: dict[str, Outcome] = {}
    running: dict[Future[str], tuple[str, float]] = {}
    held: dict[str, Outcome] = {}  # eager stacks that finished before their upstream did
    progress = listener if isinstance(listener, Progress) else None
    told: dict[str, list[str]] = {}
    started_at: dict[str, float] = {}  # when a stack's action began (it may queue for a worker first)

    def act(node: StackNode) -> str:
        if interrupts.received():  # queued when the interrupt came: it never starts
            raise NotStarted("not started: the run was interrupted")
        started_at[node.name] = time.monotonic()
        if progress:
            progress.started(node.name)
        return action(node)

    def record(outcome: Outcome) -> None:
        outcomes[outcome.stack] = outcome
        if listener:
            listener(outcome)

    def inherited(name: str, seconds: float) -> Outcome | None:
        """The stack's outcome because of its upstream, if they decide it: skipped below one
        that failed or was skipped, deferred below a deferred one once all of them are known."""
        blockers = sorted(waits_for[name])
        bad = [b for b in blockers if b in outcomes and outcomes[b].status in (FAILED, SKIPPED)]
        deferred = [b for b in blockers if b in outcomes and outcomes[b].status == DEFERRED]
        if bad:
            return Outcome(name, SKIPPED, seconds, f"{bad[0]} did not succeed")
        if deferred and all(b in outcomes for b in blockers):
            return Outcome(name, DEFERRED, seconds, f"waits for {deferred[0]} to be applied")
        return None

    def settle(outcome: Outcome) -> None:
        """An eager stack's outcome, once its upstream's are known: what it would have been
        had it waited (what its action left behind is dropped when its upstream decides)."""
        decided = inherited(outcome.stack, outcome.seconds)
        if decided and drop:
            drop(graph.nodes[outcome.stack])
        record(decided or outcome)

    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        while len(outcomes) < len(chosen):
            for name in order:  # in order: a chain of held stacks settles in one pass
                if name in held and waits_for[name] <= outcomes.keys():
                    settle(held.pop(name))
            busy = {n for n, _ in running.values()} | held.keys()
            for name in [n for n in order if n not in outcomes and n not in busy]:
                blockers = waits_for[name]
                if interrupts.received():
                    record(Outcome(name, SKIPPED, 0.0, "not started: the run was interrupted"))
                elif decided := inherited(name, 0.0):
                    record(decided)
                elif name in eager or all(b in outcomes for b in blockers):
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
                name, submitted = running.pop(future)
                seconds = time.monotonic() - started_at.get(name, submitted)
                try:
                    outcome = Outcome(name, OK, seconds, future.result())
                except NotStarted as exc:
                    outcome = Outcome(name, SKIPPED, 0.0, str(exc))
                except Deferred as exc:
                    outcome = Outcome(name, DEFERRED, seconds, str(exc))
                except Exception as exc:  # noqa: BLE001 - any failure stops this stack's downstream
                    outcome = Outcome(name, FAILED, seconds, str(exc))
                if waits_for[name] <= outcomes.keys():
                    settle(outcome)
                else:
                    held[name] = outcome
    return [outcomes[n] for n in order]
