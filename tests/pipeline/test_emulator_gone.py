"""The emulator going away in the middle of a real apply: the run fails within seconds and
says so, no Terraform or provider is left, and a run on a new emulator converges.

The stack and the way the apply runs (`infra`'s own CLI guard, in a process of its own) are
those of the interrupt tests; here the emulator is killed instead of Terraform.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from infra.emulator import launcher
from infra.runner import operations
from infra.runner.bootstrap import create_state_bucket
from infra.runner.watchdog import MISSES
from infra.synth.graph import StackGraph
from tests.pipeline import tiny
from tests.pipeline.test_interrupts import STACK, _eventually, _group_gone, run_and_signal, slow_stack

pytestmark = [pytest.mark.terraform, pytest.mark.e2e]

# The provider alone retried a refused connection for minutes; the watchdog needs MISSES
# knocks a second apart, then Terraform ends at once. What is left is process start-up.
WITHIN_SECONDS = MISSES + 12


def test_the_emulator_going_away_fails_the_apply_within_seconds_and_a_new_emulator_converges(tmp_path):
    killed_at: list[float] = []

    def kill_the_emulator(apply: object, terraform: int) -> None:
        emulator = launcher.current()
        assert emulator is not None
        os.killpg(emulator.pid, signal.SIGKILL)
        killed_at.append(time.monotonic())

    with launcher.running(tiny.ACCOUNT, tiny.REGION, fresh=True) as emulator:
        create_state_bucket(tiny.BUCKET, tiny.REGION)
        returncode, stderr, group, members = run_and_signal(tmp_path, "v-gone", kill_the_emulator)
        took = time.monotonic() - killed_at[0]
        launcher.stop()  # reaps the killed emulator; its state file goes

        assert any("terraform-provider-aws" in m for m in members), members  # the provider ran
        assert returncode == 1, stderr
        assert f"the emulator at {emulator.endpoint} went away (nothing answers on port {emulator.port}" in stderr
        assert "start again with a new emulator" in stderr
        assert "Traceback" not in stderr
        assert took < WITHIN_SECONDS, f"the apply failed {took:.0f} s after the emulator went away"
        _eventually(lambda: _group_gone(group), "Terraform and its provider to end", timeout=10)

    with launcher.running(tiny.ACCOUNT, tiny.REGION, fresh=True):
        create_state_bucket(tiny.BUCKET, tiny.REGION)
        graph = StackGraph({STACK: slow_stack(tmp_path / "synth", "v-gone")})
        operations.apply(graph, [STACK], run_dir=tmp_path / "again")
        assert tiny.parameter("/t/slow") == "v-gone"
