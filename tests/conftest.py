"""Shared fixtures: a writable copy of the layer tree, and one synth of every environment."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.paths import ENVIRONMENTS


@pytest.fixture
def layers(tmp_path: Path) -> Path:
    """A copy of environments/ that a test may break."""
    root = tmp_path / "environments"
    shutil.copytree(ENVIRONMENTS, root)
    return root


@pytest.fixture
def write(layers: Path) -> Callable[[str, str], Path]:
    """write("nonprod/sa-east-1/dev/network.toml", "...") in the copied tree."""

    def _write(relative: str, text: str) -> Path:
        path = layers / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return _write


@pytest.fixture(scope="session")
def synthesized():
    """Every environment synthesized once per test session (reused when unchanged)."""
    from infra.synth import synthesize
    from infra.synth.graph import StackGraph

    result = synthesize(["dev", "staging", "prod"])
    return result, StackGraph.from_synth(result.outdir)
