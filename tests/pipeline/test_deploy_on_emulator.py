"""The deploy verbs on the emulator, with dev-kms (the smallest stack).

A real held lock: a plan that meets it says who holds it and how to release it; `infra
unlock` shows it and releases it only when told to. `apply` against AWS (here the emulator,
reached the way real AWS is: through the environment, without --emulator) shows what it
will do and asks first. `infra plan` prints the diff.

The lock is the one a killed job leaves: a real `terraform apply` of dev-kms that stops at
its approval prompt (holding the lock) and is killed there.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest

from infra.config import load_environment
from infra.errors import EXIT_BAD_INPUT, EXIT_FAILED
from infra.paths import REPO
from infra.runner import locks
from infra.runner.bootstrap import create_state_bucket, state_exists
from infra.runner.terraform import Workspace
from infra.synth.graph import StackNode
from infra.toolchain import terraform_binary, terraform_env

pytestmark = pytest.mark.terraform


def run_cli(*args: str, answer: str | None = None, prelude: str = "") -> subprocess.CompletedProcess[str]:
    """The real CLI, with this process's environment (pointed at the emulator)."""
    code = f"{prelude}\nfrom infra.cli import main\nmain()"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env=environ,
        input=answer if answer is not None else "",
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def kms(synthesized) -> Iterator[StackNode]:
    """dev-kms on a fresh emulator with its state bucket, initialised; the emulator is
    stopped afterwards."""
    from infra.emulator import launcher

    cfg = load_environment("dev").config
    result, _ = synthesized
    node = result.graph.nodes["dev-kms"]
    with launcher.running(cfg.account.id, cfg.region, fresh=True):
        create_state_bucket(cfg.account.state_bucket, cfg.region)
        ws = Workspace(node)
        ws.prepare()
        ws.init(backend=True)
        yield node


@pytest.fixture
def held(kms: StackNode) -> Iterator[locks.LockInfo]:
    """A lock left by a killed `terraform apply` (it held the lock at its approval prompt)."""
    ws = Workspace(kms)
    proc = subprocess.Popen(
        [terraform_binary(), "apply", "-no-color"],
        cwd=ws.dir,
        env=terraform_env() | {"TF_INPUT": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        said = ""
        while "Enter a value" not in said:
            char = proc.stdout.read(1)
            assert char, f"terraform apply ended before asking:\n{said}"
            said += char
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    lock = locks.held(kms)
    assert lock is not None and lock.verb == "apply"
    yield lock
    bucket, key, region = locks.lock_location(kms)
    boto3.client("s3", region_name=region).delete_object(Bucket=bucket, Key=key)  # if the test left it


def test_a_stale_lock_is_named_by_the_plan_that_meets_it_and_released_by_infra_unlock(kms, held):
    """One lock, as a person meets it: an apply fails naming it (a plan takes no lock: it
    writes nothing); unlock shows it, keeps it without an answer or on "n", releases it on
    "y"; Terraform can take the lock again."""
    quick = "import infra.runner.operations as o\no.LOCK_TIMEOUT = '-lock-timeout=1s'"
    planned = run_cli("apply", "dev", "--stack", "kms", "--emulator", prelude=quick)
    assert "Traceback" not in planned.stderr and planned.returncode == EXIT_FAILED, planned.stderr
    since = held.created[:19].replace("T", " ")
    assert f"dev-kms: `terraform plan` met the state lock of {held.who} since {since}" in planned.stderr
    assert f"apply, ID {held.id}" in planned.stderr
    assert "release it: infra unlock dev dev-kms" in planned.stderr

    unanswered = run_cli("unlock", "dev", "kms", "--emulator", answer="")
    assert "Traceback" not in unanswered.stderr and unanswered.returncode == EXIT_BAD_INPUT, unanswered.stderr
    assert "nothing answered the confirmation: answer it, or pass --yes" in unanswered.stderr

    refused = run_cli("unlock", "dev", "kms", "--emulator", answer="n\n")
    assert "Traceback" not in refused.stderr and refused.returncode == EXIT_FAILED, refused.stderr
    for said in (
        f"held by    {held.who}",
        "operation  apply",
        f"lock ID    {held.id}",
        "dev/kms/terraform.tfstate.tflock",
    ):
        assert said in refused.stdout
    assert "Release the lock on dev-kms's state?" in refused.stderr and "dev-kms stays locked" in refused.stderr
    assert locks.held(kms) == held

    released = run_cli("unlock", "dev", "dev-kms", "--emulator", answer="y\n")
    assert released.returncode == 0, released.stderr
    assert f"released the lock of {held.who}" in released.stdout
    assert locks.held(kms) is None
    Workspace(kms).run("plan", "-input=false", "-no-color", "-lock-timeout=1s")  # takes the lock, and frees it
    again = run_cli("unlock", "dev", "kms", "--emulator", "--yes")
    assert again.returncode == 0 and "dev-kms is not locked" in again.stdout, again.stderr


def test_apply_against_aws_shows_the_plan_and_changes_nothing_when_told_no(kms):
    proc = run_cli("apply", "dev", "--stack", "kms", answer="n\n")
    assert "Traceback" not in proc.stderr and proc.returncode == EXIT_FAILED, proc.stderr
    assert "target: AWS" in proc.stderr
    assert re.search(r"^  dev-kms  \+\d+\b", proc.stdout, re.MULTILINE), proc.stdout  # what it would create
    assert "Apply dev in AWS account 111111111111 (sa-east-1)?" in proc.stderr
    assert "apply cancelled: nothing was changed" in proc.stderr
    assert not state_exists(*locks.state_location(kms))


def test_plan_prints_the_diff_of_each_changed_stack(kms):
    proc = run_cli("plan", "dev", "--stack", "kms", "--emulator")
    assert proc.returncode == 0, proc.stderr
    assert "─ dev-kms ─" in proc.stdout
    assert re.search(r"# aws_kms_key\.\S+ will be created", proc.stdout), proc.stdout
    assert "Plan: " in proc.stdout and " to add, 0 to change, 0 to destroy." in proc.stdout


def test_apply_told_yes_applies_the_plan_it_showed(kms):
    """After "y", each stack is planned again and applied only when it makes the changes
    that were shown (else it stops: tests/pipeline/test_merge_apply.py breaks that case)."""
    proc = run_cli("apply", "dev", "--stack", "kms", answer="y\n")
    assert "Traceback" not in proc.stderr and proc.returncode == 0, proc.stderr
    assert re.search(r"# aws_kms_key\.\S+ will be created", proc.stdout), proc.stdout  # the diff, before asking
    assert "re-planned, same as reviewed" in proc.stdout + proc.stderr
    assert state_exists(*locks.state_location(kms))
