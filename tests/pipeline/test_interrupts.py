"""Ctrl-C, SIGTERM, and a killed Terraform, in the middle of a real apply on the emulator.

The stack is slow on purpose: a KMS key tagged as the stack's, then a `terraform_data` whose
local-exec provisioner sleeps, then an SSM parameter after it (so the AWS provider runs all
along). A key created before a SIGKILL is never saved in the state: the re-run names it. The run is `infra`'s own
(its signal handling and exit codes, `infra.cli.guarded`) in a process of its own, signalled
once Terraform is inside the sleep.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from infra.paths import REPO
from infra.pipeline.deploy import release
from infra.runner import locks, operations
from infra.runner.bootstrap import create_state_bucket
from infra.runner.terraform import OUTPUT_DIR, WORKSPACES
from infra.synth.graph import StackGraph, StackNode
from tests.pipeline import tiny

pytestmark = [pytest.mark.terraform, pytest.mark.e2e]  # minutes on the emulator: they run beside the loops
STACK = "t-slow"

RUN = """\
import json, sys
from pathlib import Path
from infra.cli import guarded
from infra.runner import interrupts, operations
from infra.synth.graph import StackGraph, StackNode
interrupts.install()
fields = json.loads(sys.argv[1])
node = StackNode(**{**fields, "directory": Path(fields["directory"]), "json_path": Path(fields["json_path"])})
graph = StackGraph({node.name: node})
sys.exit(guarded(lambda: operations.apply(graph, [node.name], run_dir=Path(sys.argv[2])), "infra apply t"))
"""


TAGS = {"Environment": tiny.ENV, "Component": "slow", "ManagedBy": "test"}


def slow_stack(root: Path, value: str) -> StackNode:
    """A KMS key (one per value, tagged as the stack's), then the sleep, then a parameter."""
    resource = {
        "aws_kms_key": {
            "before": {"for_each": f'${{toset(["{value}"])}}', "description": f"{STACK} {value}"},
        },
        "terraform_data": {
            "slow": {
                "triggers_replace": value,
                "provisioner": [{"local-exec": {"command": "sleep 8"}}],
                "depends_on": ["aws_kms_key.before"],
            }
        },
        "aws_ssm_parameter": {
            "after": {
                "name": "/t/slow",
                "type": "String",
                "insecure_value": value,
                "depends_on": ["terraform_data.slow"],
            }
        },
    }
    doc = tiny._doc("slow", resource)
    doc["provider"]["aws"][0]["default_tags"] = [{"tags": TAGS}]
    folder = root / value
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cdk.tf.json").write_text(json.dumps(doc, indent=1))
    return StackNode(
        STACK, tiny.ENV, "slow", "environment", tiny.ACCOUNT, tiny.REGION, folder, folder / "cdk.tf.json", ()
    )


@pytest.fixture(scope="module")
def emulator():
    from infra.emulator import launcher

    with launcher.running(tiny.ACCOUNT, tiny.REGION, fresh=True):
        create_state_bucket(tiny.BUCKET, tiny.REGION)
        yield


def _group_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, IndexError, ValueError):
        return None


def _processes() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent, process group, command line) of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[int(entry.name)] = (int(fields[1]), int(fields[2]), command)
    return found


def _eventually(check: Callable[[], object], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _sleeping(log: Path, since: int) -> bool:
    return log.is_file() and "Provisioning with 'local-exec'" in log.read_text()[since:]


def run_and_signal(tmp_path: Path, value: str, send: Callable[[subprocess.Popen[str], int], None]):
    """Start the apply in a process of its own, call send(process, terraform's pid) once the
    sleep runs; returns (exit code, stderr, Terraform's process group, the group's members then)."""
    node = slow_stack(tmp_path / "synth", value)
    fields = {**node.__dict__, "directory": str(node.directory), "json_path": str(node.json_path)}
    log = WORKSPACES / STACK / "terraform.log"
    since = len(log.read_text()) if log.is_file() else 0
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, json.dumps(fields), str(tmp_path / "run" / value)],
        cwd=REPO,
        env=os.environ | {"PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _eventually(lambda: _sleeping(log, since) or proc.poll() is not None, "the provisioner's sleep")
        assert proc.poll() is None, proc.communicate()
        terraform = next(
            pid for pid, (parent, _, command) in _processes().items() if parent == proc.pid and "terraform" in command
        )
        members = [command for _, group, command in _processes().values() if group == terraform]
        send(proc, terraform)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stderr, terraform, members


def _group_gone(group: int) -> bool:
    return not any(g == group for _, g, _ in _processes().values())


def _keys(value: str) -> list[str]:
    """The ARNs of the slow stack's keys for `value` that are not pending deletion."""
    kms = boto3.client("kms", region_name=tiny.REGION)
    arns = [k["KeyArn"] for k in kms.list_keys()["Keys"]]
    found = [kms.describe_key(KeyId=arn)["KeyMetadata"] for arn in arns]
    return [k["Arn"] for k in found if k.get("Description") == f"{STACK} {value}" and k["KeyState"] == "Enabled"]


def _converges(tmp_path: Path, value: str, untracked: list[str]) -> None:
    """Re-running the same apply finishes it and names the resources missing from the state
    (`untracked`); a plan then shows nothing to do."""
    graph = StackGraph({STACK: slow_stack(tmp_path / "synth", value)})
    applied = operations.apply(graph, [STACK], run_dir=tmp_path / "again")[0].detail
    if untracked:
        assert f"{len(untracked)} resource(s) tagged as {STACK}'s are not in its state" in applied, applied
        assert f"import each into the state (`terraform import ADDRESS ID` in {WORKSPACES / STACK})" in applied
        assert sorted(re.findall(r"arn:aws:kms:[^ ,;]+", applied)) == sorted(untracked), applied
    else:
        assert "not in its state" not in applied, applied
    outcomes = operations.plan(graph, [STACK], run_dir=tmp_path / "check")
    assert outcomes[0].detail == "no changes", outcomes
    assert tiny.parameter("/t/slow") == value
    assert len(_keys(value)) == 1 + len(untracked)  # the state's key, and the untracked ones still there


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_stops_terraform_gracefully_and_a_rerun_converges(emulator, tmp_path, signum, code):
    value = f"v-{signum.name}"
    returncode, stderr, group, members = run_and_signal(tmp_path, value, lambda p, _: p.send_signal(signum))
    assert any("terraform-provider-aws" in m for m in members), members  # the provider ran
    assert returncode == code, stderr
    said = stderr.strip().splitlines()
    assert len(said) == 1, stderr
    assert said[0] == (
        f"interrupted by {signum.name}: Terraform stopped {STACK} (state saved, lock released); "
        "re-run the same command to finish: infra apply t"
    )
    _eventually(lambda: _group_gone(group), "Terraform and its provider to end", timeout=30)
    _converges(tmp_path, value, untracked=[])  # the state was saved: nothing is missing from it


def test_a_killed_terraform_is_reported_with_its_lock_and_leaves_no_provider(emulator, tmp_path):
    value = "v-kill"
    returncode, stderr, group, members = run_and_signal(tmp_path, value, lambda _, tf: os.kill(tf, signal.SIGKILL))
    assert any("terraform-provider-aws" in m for m in members), members
    assert returncode == 1, stderr
    assert "Terraform was killed by SIGKILL" in stderr
    assert "the state lock remains, held by " in stderr and f"infra unlock ENV {STACK}" in stderr
    _eventually(lambda: _group_gone(group), "the provider Terraform left to end", timeout=30)
    node = slow_stack(tmp_path / "synth", value)
    lock = locks.held(node)
    assert lock is not None and lock.verb == "apply"
    assert release(node, lock).startswith(f"{STACK}: released the lock")  # what `infra unlock` does once agreed
    assert locks.held(node) is None
    created = _keys(value)  # the key was created before the kill, and the state never heard of it
    assert len(created) == 1, created
    _converges(tmp_path, value, untracked=created)
    kms = boto3.client("kms", region_name=tiny.REGION)
    kms.schedule_key_deletion(KeyId=created[0].rsplit("/", 1)[1], PendingWindowInDays=7)  # the advice: delete it


def test_a_killed_infra_lets_terraform_stop_gracefully(emulator, tmp_path):
    """SIGKILL of `infra` itself: its Terraform gets SIGINT (parent-death signal), stops
    gracefully (state saved, lock released), and is not killed by a broken pipe on the way."""
    value = "v-kill-infra"
    outputs = WORKSPACES / STACK / OUTPUT_DIR
    before = set(outputs.glob("apply-*")) if outputs.is_dir() else set()
    returncode, _, group, _ = run_and_signal(tmp_path, value, lambda apply, _: apply.kill())
    assert returncode == -signal.SIGKILL
    _eventually(lambda: _group_gone(group), "the orphaned Terraform to stop and end", timeout=60)
    left = set(outputs.glob("apply-*")) - before  # what it said with nobody reading: its own file
    assert len(left) == 1, left
    said = left.pop().read_text()
    assert "Gracefully shutting down" in said, said[-2000:]
    assert locks.held(slow_stack(tmp_path / "synth", value)) is None  # Terraform released its lock
    _converges(tmp_path, value, untracked=[])  # the key created before the kill is in the state
