"""The stack dependency graph, read from the synthesized output (never kept by hand).

CDKTF records each stack's dependencies in manifest.json: a cross-stack reference makes
the consumer depend on the producer. Plan and apply walk this graph level by level.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


class CycleError(ValueError):
    """Stacks that depend on each other: no order can apply them."""


@dataclass(frozen=True)
class StackNode:
    name: str
    environment: str  # the state scope: "dev", "dev-pr42", or the account name for account stacks
    component: str
    scope: str  # "environment" or "account"
    account: str
    region: str
    directory: Path  # the synthesized stack's folder
    depends_on: tuple[str, ...]

    @property
    def json_path(self) -> Path:
        return self.directory / "cdk.tf.json"


@dataclass(frozen=True)
class StackGraph:
    nodes: dict[str, StackNode]

    @classmethod
    def from_synth(cls, outdir: Path) -> StackGraph:
        manifest = json.loads((outdir / "manifest.json").read_text())
        nodes = {}
        for name, entry in manifest["stacks"].items():
            facts = json.loads((outdir / entry["synthesizedStackPath"]).read_text())["//"]["infra"]
            nodes[name] = StackNode(
                name=name,
                environment=facts["environment"],
                component=facts["component"],
                scope=facts["scope"],
                account=facts["account"],
                region=facts["region"],
                directory=outdir / entry["workingDirectory"],
                depends_on=tuple(sorted(entry["dependencies"])),
            )
        graph = cls(nodes)
        graph.levels()  # a cycle is an error as soon as the graph is read
        return graph

    def levels(self, names: Iterable[str] | None = None) -> list[list[str]]:
        """Stacks in dependency order, grouped: every stack of a level can run in parallel."""
        todo = set(self.nodes if names is None else names)
        done: set[str] = set()
        levels: list[list[str]] = []
        while todo:
            ready = sorted(n for n in todo if all(d in done or d not in todo for d in self.nodes[n].depends_on))
            if not ready:
                raise CycleError(f"dependency cycle between stacks: {self._cycle(todo)}")
            levels.append(ready)
            done.update(ready)
            todo.difference_update(ready)
        return levels

    def order(self, names: Iterable[str] | None = None) -> list[str]:
        return [n for level in self.levels(names) for n in level]

    def _cycle(self, among: set[str]) -> str:
        start = min(among)
        path = [start]
        while True:
            nxt = min(d for d in self.nodes[path[-1]].depends_on if d in among)
            if nxt in path:
                loop = path[path.index(nxt) :] + [nxt]
                return " -> ".join(loop)
            path.append(nxt)

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
