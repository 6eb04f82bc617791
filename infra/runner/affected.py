"""Which stacks a change affects: the synthesized JSON of both sides, compared per stack.

File globs miss a change to a shared module and over-trigger on a README; comparing what
Terraform would actually receive does neither. The base side is synthesized from its own
tree (`git archive REF`), with its own engine, so a change to the engine counts too.
Volatile fields (CDKTF's `//` metadata: paths, versions, construct ids) are removed first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.paths import REPO, WORK
from infra.synth.graph import StackGraph

BASE_SYNTHS = WORK / "base"
SYNTH_RELATIVE = Path(".infra") / "synth"  # where a tree's own synth writes


class AffectedError(RuntimeError):
    """The base side could not be read or synthesized."""


@dataclass(frozen=True)
class Affected:
    stack: str
    reason: str  # why it is planned: "changed", "new", "downstream of dev-network"


def normalized(doc: Any) -> Any:
    """The stack's JSON without CDKTF's volatile `//` metadata."""
    if isinstance(doc, dict):
        return {k: normalized(v) for k, v in doc.items() if not k.startswith("//")}
    if isinstance(doc, list):
        return [normalized(v) for v in doc]
    return doc


def stack_documents(outdir: Path) -> dict[str, Any]:
    manifest = json.loads((outdir / "manifest.json").read_text())
    return {
        name: normalized(json.loads((outdir / entry["synthesizedStackPath"]).read_text()))
        for name, entry in manifest["stacks"].items()
    }


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


def synthesize_ref(ref: str, repo: Path = REPO) -> Path:
    """Synthesize every environment of REF's tree (its own engine and modules); the output folder.

    Kept per commit under .infra/base/, so a second plan against the same base is quick.
    """
    sha = _git(repo, "rev-parse", "--verify", f"{ref}^{{commit}}").strip()
    target = BASE_SYNTHS / sha
    if (target / SYNTH_RELATIVE / "manifest.json").is_file():
        return target / SYNTH_RELATIVE
    BASE_SYNTHS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BASE_SYNTHS) as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        archive = Path(tmp) / "tree.tar"
        _git(repo, "archive", "--format=tar", f"--output={archive}", sha)
        with tarfile.open(archive) as tar:
            tar.extractall(tree, filter="data")
        synthesize_tree(tree, label=f"{ref} ({sha[:12]})")
        tree.rename(target)
    return target / SYNTH_RELATIVE


def synthesize_tree(tree: Path, label: str = "") -> Path:
    """Synthesize every environment of a source tree with that tree's own engine."""
    link = tree / "node_modules"
    if not link.exists():
        link.symlink_to(REPO / "node_modules")  # Node 22 for jsii: the tools, not the code
    env = {k: v for k, v in os.environ.items() if k not in ("INFRA_ENVIRONMENTS", "INFRA_WORK_DIR")}
    env["PYTHONPATH"] = str(tree)  # the tree's own engine, not this one
    command = [sys.executable, "-c", "from infra.cli import main; main()", "synth"]
    proc = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AffectedError(f"synthesizing {label or tree} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return tree / SYNTH_RELATIVE


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AffectedError(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout
