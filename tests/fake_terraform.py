"""A fake `terraform` on PATH (a Python script saying what a test needs), and a workspace of
one stack (`dev-kms`) for it to run in: for the runner's tests of what Terraform printed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from infra.runner.terraform import Workspace
from infra.synth.graph import StackNode


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """`terraform` is now this Python script."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "terraform").write_text(f"#!{sys.executable}\n{script}")
    (bin_dir / "terraform").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def workspace(tmp_path: Path, **env: str) -> Workspace:
    """dev-kms's workspace under tmp_path, prepared, with this process's environment and `env`."""
    json_path = tmp_path / "synth" / "dev-kms" / "cdk.tf.json"
    json_path.parent.mkdir(parents=True)
    json_path.write_text("{}")
    node = StackNode("dev-kms", "dev", "kms", "environment", "1", "sa-east-1", json_path.parent, json_path, ())
    ws = Workspace(node, env=dict(os.environ) | env, root=tmp_path / "work")
    ws.prepare()
    return ws
