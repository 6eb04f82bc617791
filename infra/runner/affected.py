"""Which stacks a change affects: the synthesized JSON of both sides, compared per stack.

File globs miss a change to a shared module and over-trigger on a README; comparing what
Terraform would actually receive does neither. The base side is synthesized from its own
tree (infra/synth/tree.py), with its own engine, so a change to the engine counts too.
Volatile fields (CDKTF's `//` metadata: paths, versions, construct ids) are removed first.

A stack affected only because it is downstream of a changed one is planned only when an
upstream plan changes an output it reads (`changed_inputs`): most changes (a Redis node
type, an alarm threshold) change no output, and then nothing downstream can change either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.runner.locks import state_location
from infra.synth.graph import StackGraph, StackNode
from infra.synth.manifest import normalized, read_manifest


@dataclass(frozen=True)
class Affected:
    stack: str
    reason: str  # why it is planned: "changed", "new", "downstream of dev-network"
    direct: bool = True  # False: only downstream of a change (see changed_inputs)


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
            found[name] = Affected(name, f"downstream of {cause}", direct=False)
    return [found[n] for n in head.order(found)]


def removed(base_out: Path, head: StackGraph, environments: Iterable[str]) -> list[str]:
    """Stacks of these environments that the base has and the head no longer synthesizes:
    their resources still exist, and a plan of the head cannot see them."""
    base = StackGraph.from_synth(base_out)
    return sorted(n for n in set(base.for_environments(list(environments))) - set(head.nodes))


_REFERENCE = re.compile(r"data\.terraform_remote_state\.([\w-]+)\.outputs\.([\w-]+)")


def outputs_read(graph: StackGraph, node: StackNode) -> dict[str, set[str]]:
    """{upstream stack: the outputs of it that this stack reads}. CDKTF reads another stack's
    outputs through a `terraform_remote_state` data source; its backend key names the stack."""
    text = node.json_path.read_text()
    sources = json.loads(text).get("data", {}).get("terraform_remote_state", {})
    stack_by_key = {state_location(graph.nodes[d])[1]: d for d in node.depends_on}
    source_stack = {name: stack_by_key.get(source.get("config", {}).get("key")) for name, source in sources.items()}
    read: dict[str, set[str]] = {}
    for source, output in _REFERENCE.findall(text):
        if stack := source_stack.get(source):
            read.setdefault(stack, set()).add(output)
    return read


def changed_inputs(graph: StackGraph, node: StackNode, run_dir: Path) -> list[str]:
    """The outputs this stack reads that a plan saved earlier in the run (run_dir/<stack>/
    plan.json) changes, as "stack.output". A stack planned without changes has no plan.json."""
    changed = []
    for stack, outputs in sorted(outputs_read(graph, node).items()):
        plan_json = run_dir / stack / "plan.json"
        if not plan_json.is_file():
            continue
        changes = json.loads(plan_json.read_text()).get("output_changes", {})
        moving = {name for name, change in changes.items() if change.get("actions", ["no-op"]) != ["no-op"]}
        changed += [f"{stack}.{o}" for o in sorted(outputs & moving)]
    return changed
