"""Terraform operations over many stacks, along the graph (validate now; plan/apply later)."""

from __future__ import annotations

from collections.abc import Iterable

from infra.executor import OK, Listener, Outcome, run_graph
from infra.graph import StackGraph, StackNode
from infra.terraform import Workspace


class OperationFailed(RuntimeError):
    def __init__(self, verb: str, outcomes: list[Outcome]) -> None:
        self.outcomes = outcomes
        bad = [o for o in outcomes if o.status != OK]
        super().__init__(
            f"{verb}: {len(bad)} of {len(outcomes)} stacks did not succeed: "
            + ", ".join(f"{o.stack} ({o.status})" for o in bad)
        )


def _check(verb: str, outcomes: list[Outcome]) -> list[Outcome]:
    if any(o.status != OK for o in outcomes):
        raise OperationFailed(verb, outcomes)
    return outcomes


def validate(
    graph: StackGraph, names: Iterable[str], *, workers: int | None = None, listener: Listener | None = None
) -> list[Outcome]:
    """`terraform init -backend=false` + `terraform validate` on each stack (no AWS needed)."""

    def action(node: StackNode) -> str:
        ws = Workspace(node)
        ws.prepare()
        ws.init(backend=False)
        ws.validate()
        return "valid"

    return _check("validate", run_graph(graph, names, action, workers=workers, listener=listener))
