"""The one reader of CDKTF's output folder: manifest.json and each stack's JSON.

CDKTF writes `manifest.json` with every stack's folder, JSON file and dependencies (a
cross-stack reference makes the consumer depend on the producer). Everything the engine
knows about synthesized stacks is read here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class SynthesizedStack:
    name: str
    directory: Path  # the stack's folder (Terraform's working directory)
    json_path: Path  # its cdk.tf.json
    dependencies: tuple[str, ...]

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.json_path.read_text())
        return doc


def read_manifest(outdir: Path) -> dict[str, SynthesizedStack]:
    """Every stack of a synth output folder, by name, in the manifest's order."""
    manifest = json.loads((outdir / MANIFEST).read_text())
    return {
        name: SynthesizedStack(
            name=name,
            directory=outdir / entry["workingDirectory"],
            json_path=outdir / entry["synthesizedStackPath"],
            dependencies=tuple(sorted(entry["dependencies"])),
        )
        for name, entry in manifest["stacks"].items()
    }


def normalized(doc: Any) -> Any:
    """A stack's JSON without CDKTF's volatile `//` metadata (paths, versions, construct ids)."""
    if isinstance(doc, dict):
        return {k: normalized(v) for k, v in doc.items() if not k.startswith("//")}
    if isinstance(doc, list):
        return [normalized(v) for v in doc]
    return doc
