"""Synthesize every stack of the requested environments in one process.

A synth of every environment takes ~3.6 s in a new process (docs/performance.md says where
it goes), so synthesis happens once per change: the output is kept with a fingerprint of
what synthesis read, and a later command that needs the same environments reuses it.
What it read is recorded, not listed by hand: the layer tree and the modules tree (modules
read data files too; their READMEs are not read), the engine files of the rooms synthesis
may import (synth, config and the shared basics: tests/layout holds that rule) that the
process has loaded, the lock file that pins CDKTF and the bindings, and the variables that
override the layers.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.config import load_environment
from infra.config.layers import PROTECTION_VARIABLE, SUFFIX_VARIABLE
from infra.paths import ENVIRONMENTS, MODULES, REPO, SYNTH_OUT
from infra.synth.graph import StackGraph
from infra.synth.manifest import read_manifest

FINGERPRINT_FILE = "fingerprint.json"
PINS = REPO / "requirements.lock"
ENGINE = REPO / "infra"
SYNTH_ROOMS = ("synth", "config")  # and the shared basics beside them
NOT_READ = ("cli.py",)  # top-level files that are not a basic


@dataclass(frozen=True)
class SynthResult:
    outdir: Path
    environments: tuple[str, ...]
    stacks: tuple[str, ...]
    load_seconds: float  # importing CDKTF and the AWS bindings
    synth_seconds: float  # building the constructs and writing JSON
    reused: bool

    @functools.cached_property
    def graph(self) -> StackGraph:
        return StackGraph.from_synth(self.outdir)

    def stacks_of(self, environments: Sequence[str] | None = None) -> list[str]:
        """The stacks of these environments (default: all synthesized), in dependency order."""
        return self.graph.for_environments(list(environments or self.environments))


def engine_sources() -> list[Path]:
    """The engine files of the synthesis rooms this process has loaded (what a synth here read)."""
    found = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        path = Path(file).resolve() if file else None
        if path is None or not path.is_relative_to(ENGINE):
            continue
        parts = path.relative_to(ENGINE).parts
        if parts[0] in SYNTH_ROOMS or (len(parts) == 1 and parts[0] not in NOT_READ):
            found.add(path)
    return sorted(found)


def _digest(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path).encode())
        digest.update(path.read_bytes() if path.is_file() else b"(missing)")
    return digest.hexdigest()


def inputs_digest() -> str:
    """The layers, the modules (but their prose) and the pins."""
    trees = [
        p
        for root in (ENVIRONMENTS, MODULES)
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".md"
    ]
    return _digest([*trees, PINS])


def overrides() -> str:
    """The variables that override the layers, as set in this process ("" when none is)."""
    return "".join(f"{v}={os.environ[v]};" for v in (SUFFIX_VARIABLE, PROTECTION_VARIABLE) if os.environ.get(v))


def fingerprint(sources: Iterable[Path], inputs: str | None = None) -> str:
    """A hash of the inputs, these engine files and the override variables."""
    parts = [inputs or inputs_digest(), _digest(sorted(sources)), overrides()]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _reusable(stamp: Path, envs: Sequence[str], inputs: str) -> tuple[str, ...] | None:
    """The environments of the previous synth when its fingerprint still holds."""
    if not stamp.is_file():
        return None
    previous = json.loads(stamp.read_text())
    sources = [REPO / s for s in previous.get("sources", [])]
    if not sources or previous.get("fingerprint") != fingerprint(sources, inputs):
        return None
    if not set(envs) <= set(previous["environments"]):
        return None
    return tuple(previous["environments"])


def synthesize(environments: Sequence[str], *, outdir: Path = SYNTH_OUT, force: bool = False) -> SynthResult:
    envs = tuple(dict.fromkeys(environments))
    inputs = inputs_digest()  # before anything is read: what the output is built from
    loaded = [load_environment(name) for name in envs]  # every config error before any work
    stamp = outdir / FINGERPRINT_FILE
    previous = None if force else _reusable(stamp, envs, inputs)
    if previous is not None:
        return SynthResult(outdir, previous, tuple(read_manifest(outdir)), 0.0, 0.0, reused=True)

    from infra.toolchain import use_local_node

    use_local_node()
    started = time.monotonic()
    from infra.synth.app import build_app  # loads jsii and the AWS bindings

    loaded_at = time.monotonic()
    staging = outdir.with_name(outdir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    build_app(loaded, staging).synth()
    sources = engine_sources()
    changed = inputs_digest() != inputs  # a layer or module edited while synthesizing
    record = {
        "fingerprint": "changed while synthesizing" if changed else fingerprint(sources, inputs),
        "environments": envs,
        "sources": [str(s.relative_to(REPO)) for s in sources],
    }
    (staging / FINGERPRINT_FILE).write_text(json.dumps(record, indent=1))
    shutil.rmtree(outdir, ignore_errors=True)
    staging.rename(outdir)
    done = time.monotonic()
    return SynthResult(outdir, envs, tuple(read_manifest(outdir)), loaded_at - started, done - loaded_at, reused=False)
