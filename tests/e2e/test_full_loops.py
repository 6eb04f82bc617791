"""staging and prod through the whole loop, each on a fresh emulator (its own module, so
that no other module's deployment is alive meanwhile)."""

from __future__ import annotations

import pytest

from infra.pipeline.up import up

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_whole_loop_passes(env):
    loop = up(env)
    phases = [(p.name, p.status) for p in loop.phases]
    names = ["emulator", "bootstrap", "synth", "scan", "plan", "apply", "probe", "compliance", "re-plan", "destroy"]
    assert phases == [(name, "ok") for name in names], [(p.name, p.status, p.detail) for p in loop.phases]
