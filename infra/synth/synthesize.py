"""Synthesize every stack of the requested environments in one process.

The expensive part is loading the AWS bindings (~12 s), so synthesis happens once per
change: the output is kept with a fingerprint of its inputs, and a later command that
needs the same environments reuses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.config import load_environment
from infra.config.layers import PROTECTION_VARIABLE, SUFFIX_VARIABLE
from infra.paths import ENVIRONMENTS, REPO, SYNTH_OUT

FINGERPRINT_FILE = "fingerprint.json"
# What synthesis reads: the layers, the modules, and the engine files that build stacks.
_INPUTS = (ENVIRONMENTS, REPO / "modules", REPO / "infra" / "config")
_ENGINE_FILES = ("app.py", "cdk.py", "components.py", "deployment.py", "label.py", "stack.py", "versions.py")


@dataclass(frozen=True)
class SynthResult:
    outdir: Path
    environments: tuple[str, ...]
    stacks: tuple[str, ...]
    load_seconds: float  # importing CDKTF and the AWS bindings
    synth_seconds: float  # building the constructs and writing JSON
    reused: bool


def fingerprint() -> str:
    """A hash of everything synthesis reads: layers, modules, engine, the override variables."""
    digest = hashlib.sha256()
    files = [p for root in _INPUTS for p in sorted(root.rglob("*")) if p.suffix in {".py", ".toml", ".sh"}]
    files += [REPO / "infra" / name for name in _ENGINE_FILES]
    for path in files:
        if "__pycache__" not in path.parts:
            digest.update(str(path).encode())
            digest.update(path.read_bytes())
    for variable in (SUFFIX_VARIABLE, PROTECTION_VARIABLE):
        digest.update(f"{variable}={os.environ.get(variable, '')}".encode())
    return digest.hexdigest()


def _stacks(outdir: Path) -> tuple[str, ...]:
    return tuple(json.loads((outdir / "manifest.json").read_text())["stacks"])


def synthesize(environments: Sequence[str], *, outdir: Path = SYNTH_OUT, force: bool = False) -> SynthResult:
    envs = tuple(dict.fromkeys(environments))
    loaded = [load_environment(name) for name in envs]  # every config error before any work
    fp = fingerprint()
    stamp = outdir / FINGERPRINT_FILE
    if not force and stamp.is_file():
        previous = json.loads(stamp.read_text())
        if previous["fingerprint"] == fp and set(envs) <= set(previous["environments"]):
            return SynthResult(outdir, tuple(previous["environments"]), _stacks(outdir), 0.0, 0.0, reused=True)

    from infra.toolchain import use_local_node

    use_local_node()
    started = time.monotonic()
    from infra.synth.app import build_app  # loads jsii and the AWS bindings

    loaded_at = time.monotonic()
    staging = outdir.with_name(outdir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    build_app(loaded, staging).synth()
    (staging / FINGERPRINT_FILE).write_text(json.dumps({"fingerprint": fp, "environments": envs}))
    shutil.rmtree(outdir, ignore_errors=True)
    staging.rename(outdir)
    done = time.monotonic()
    return SynthResult(outdir, envs, _stacks(outdir), loaded_at - started, done - loaded_at, reused=False)
