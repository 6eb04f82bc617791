"""Which stacks a change affects: the synthesized JSON of both sides, compared per stack.

File globs miss a change to a shared module and over-trigger on a README; comparing what
Terraform would actually receive does neither. The base side is synthesized from its own
tree (infra/synth/tree.py), with its own engine, so a change to the engine counts too.
Volatile fields (CDKTF's `//` metadata: paths, versions, construct ids) are removed first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.synth.graph import StackGraph
from infra.synth.manifest import normalized, read_manifest


@dataclass(frozen=True)
class Affected:
    stack: str
    reason: str  # why it is planned: "changed", "new", "downstream of dev-network"


def stack_documents(outdir: Path) -> dict[str, Any]:
    return {name: normalized(stack.document()) for name, stack in read_manifest(outdir).items()}


def compare(base_out: Path, head: StackGraph, head_out: Path, environments: Iterable[str]) -> list[Affected]:
    """The head stacks of these environments that differ from the base, then their consumers."""
    base, current = stack_documents(base_out), stack_documents(head_out)
    chosen = head.for_environments(list(environments))
    direct = {
        name: ("new stack" if name not in base else "synthesized JSON changed")
        for name in chosen
        if base.get(name) != current[name]
    }
    found = {name: Affected(name, reason) for name, reason in direct.items()}
    for name in head.order(head.downstream(direct) & set(chosen)):
        if name not in found:
            cause = next(d for d in head.order(head.upstream([name])) if d in direct and d != name)
            found[name] = Affected(name, f"downstream of {cause}")
    return [found[n] for n in head.order(found)]


def removed(base_out: Path, head: StackGraph, environments: Iterable[str]) -> list[str]:
    """Stacks of these environments that the base has and the head no longer synthesizes:
    their resources still exist, and a plan of the head cannot see them."""
    base = StackGraph.from_synth(base_out)
    return sorted(n for n in set(base.for_environments(list(environments))) - set(head.nodes))
