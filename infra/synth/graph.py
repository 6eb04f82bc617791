"""The stack dependency graph, read from the synthesized output (never kept by hand).

CDKTF records each stack's dependencies in manifest.json (read by manifest.py); the engine's
facts about each stack (environment, component, account) are in its JSON under `//`. Plan
and apply walk this graph level by level; ordering and cycles are the standard library's
`graphlib`.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.errors import BadInput
from infra.synth.manifest import read_manifest
from modules.ci_identities.documents import BOOTSTRAP  # the bootstrap stacks' scope


class CycleError(BadInput):
    """Stacks that depend on each other: no order can apply them."""


@dataclass(frozen=True)
class StackNode:
    name: str
    environment: str  # the state scope: "dev", "dev-pr42", or the account name for account stacks
    component: str
    scope: str  # "environment", "account", or "bootstrap" (applied by `infra bootstrap` alone)
    account: str
    region: str
    directory: Path  # the synthesized stack's folder
    json_path: Path  # its Terraform JSON
    depends_on: tuple[str, ...]


@dataclass(frozen=True)
class StackGraph:
    nodes: dict[str, StackNode]

    @classmethod
    def from_synth(cls, outdir: Path) -> StackGraph:
        nodes = {}
        for name, stack in read_manifest(outdir).items():
            facts = stack.document()["//"]["infra"]
            nodes[name] = StackNode(
                name=name,
                environment=facts["environment"],
                component=facts["component"],
                scope=facts["scope"],
                account=facts["account"],
                region=facts["region"],
                directory=stack.directory,
                json_path=stack.json_path,
                depends_on=stack.dependencies,
            )
        graph = cls(nodes)
        graph.levels()  # a cycle is an error as soon as the graph is read
        return graph

    def levels(self, names: Iterable[str] | None = None) -> list[list[str]]:
        """Stacks in dependency order, grouped: every stack of a level can run in parallel."""
        todo = set(self.nodes if names is None else names)
        sorter = graphlib.TopologicalSorter({n: [d for d in self.nodes[n].depends_on if d in todo] for n in todo})
        try:
            sorter.prepare()
        except graphlib.CycleError:
            raise CycleError(f"dependency cycle between stacks: {self._cycle(todo)}") from None
        levels: list[list[str]] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            levels.append(ready)
            sorter.done(*ready)
        return levels

    def order(self, names: Iterable[str] | None = None) -> list[str]:
        return [n for level in self.levels(names) for n in level]

    def _cycle(self, among: set[str]) -> str:
        """One cycle, the same every time: peel off what can be ordered, then walk from the
        smallest name left along its smallest dependency until a name repeats."""
        stuck = set(among)
        while ready := {n for n in stuck if not stuck.intersection(self.nodes[n].depends_on)}:
            stuck -= ready
        path = [min(stuck)]
        while (step := min(d for d in self.nodes[path[-1]].depends_on if d in stuck)) not in path:
            path.append(step)
        return " -> ".join([*path[path.index(step) :], step])

    def downstream(self, names: Iterable[str]) -> set[str]:
        """These stacks and every stack that depends on them, directly or not."""
        found = set(names)
        changed = True
        while changed:
            changed = False
            for node in self.nodes.values():
                if node.name not in found and found.intersection(node.depends_on):
                    found.add(node.name)
                    changed = True
        return found

    def upstream(self, names: Iterable[str]) -> set[str]:
        found = set(names)
        stack = list(found)
        while stack:
            for dep in self.nodes[stack.pop()].depends_on:
                if dep not in found:
                    found.add(dep)
                    stack.append(dep)
        return found

    def for_environments(self, environments: Sequence[str]) -> list[str]:
        """The stacks of these environments, their accounts' stacks, and what they depend on."""
        own = [n for n in self.nodes.values() if n.environment in environments and n.scope == "environment"]
        homes = {(n.account, n.region) for n in own}
        accounts = [n.name for n in self.nodes.values() if n.scope == "account" and (n.account, n.region) in homes]
        return self.order(self.upstream([n.name for n in own] + accounts))

    def checked(self, environments: Sequence[str]) -> list[str]:
        """What a pull request scans and validates: the environments' stacks and their
        accounts' bootstrap stacks (when the tree has them)."""
        names = self.for_environments(environments)
        accounts = {self.nodes[n].account for n in names}
        return names + sorted(n.name for n in self.nodes.values() if n.scope == BOOTSTRAP and n.account in accounts)

    def bootstrap_of(self, account: str) -> str:
        """The account's bootstrap stack: never one of an environment's stacks (plan and apply
        leave it alone), applied by an administrator with `infra bootstrap`."""
        found = [n.name for n in self.nodes.values() if n.scope == BOOTSTRAP and n.account == account]
        if len(found) != 1:
            raise BadInput(f"{len(found)} bootstrap stacks of account {account!r} in the synth output, not one")
        return found[0]

    def mermaid(self, names: Iterable[str] | None = None) -> str:
        chosen = set(self.nodes if names is None else names)
        lines = ["flowchart LR"]
        for name in self.order(chosen):
            lines.append(f'  {_id(name)}["{name}"]')
        for name in self.order(chosen):
            for dep in self.nodes[name].depends_on:
                if dep in chosen:
                    lines.append(f"  {_id(dep)} --> {_id(name)}")
        return "\n".join(lines)


def _id(name: str) -> str:
    return name.replace("-", "_")
