"""Synthesize another commit's tree, with that tree's own engine and modules.

`--affected-since REF` and `scan --at-ref REF` compare this tree's stacks with REF's. REF's
tree is taken with `git archive` and synthesized by its own code (so a change to the engine
counts too), once per source tree: the output is kept under .infra/base/<tree hash>/, so
commits with the same tree (a rebase, a merge commit, a revert) share it, and the plan
workflow restores it from its cache: a pull request pays for one synth, not two.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from infra.errors import BadInput
from infra.paths import REPO, WORK
from infra.synth.synthesis import overrides

BASE_SYNTHS = WORK / "base"
SYNTH_RELATIVE = Path(".infra") / "synth"  # where a tree's own synth writes


class RefError(BadInput):
    """A git ref cannot be read, or its tree does not synthesize."""


def synthesize_ref(ref: str, repo: Path = REPO) -> Path:
    """Synthesize every environment of REF's tree (its own engine and modules); the output folder.

    Kept per tree under .infra/base/, so a second plan against the same base is quick.
    """
    sha = _git(repo, "rev-parse", "--verify", f"{ref}^{{commit}}").strip()
    key = _git(repo, "rev-parse", f"{sha}^{{tree}}").strip()
    if variables := overrides():  # they reach the tree's synth too, and change what it writes
        key += "-" + hashlib.sha256(variables.encode()).hexdigest()[:12]
    target = BASE_SYNTHS / key
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
        raise RefError(f"synthesizing {label or tree} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return tree / SYNTH_RELATIVE


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RefError(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout
