"""From inside the VPC: the probe task (modules/lms/probe.py) in the LMS's place, and in
an outsider's (a security group no data store admits, whose egress tries them all).

`infra probe` runs the task with RunTask and reads its JSON lines back (one per check);
each test here is one check, saying what it expected and what the task found. The same
runs on AWS (a Fargate task) and on the emulator (a local process, infra/emulator/planes/
tasks.py, whose connections the data planes admit by the security groups' rules).
"""

from __future__ import annotations

import pytest

from infra.pipeline.probe_task import TaskRun, run_probe_task

# What each check of a task in the LMS's place must find.
FROM_THE_LMS = {
    "efs.write_read": "the content volume mounted, and a file written with a nonce reads back",
    "efs.owner": "the file written belongs to the access point's POSIX user (the LMS container's user)",
    "redis.tls": "a TLS handshake with the cache whose certificate verifies",
    "redis.plaintext": "no answer to a plaintext PING (the connection refused or closed)",
    "redis.login": "the app user signed in with an IAM token, and PING answered PONG",
    "redis.wrong_token": "a forged IAM token refused",
    "mysql.tls_login": "a TLS login with the RDS-managed master secret, and SELECT 1 answered",
    "mysql.plaintext": "a login without TLS refused (require_secure_transport)",
}
# What a task in the outsider group must find: the stores not reached.
UNREACHABLE = {"redis.tls": "the cache", "mysql.tls_login": "the database"}


def _run(aws, outputs, family: str, group: str) -> TaskRun:
    return run_probe_task(
        aws("ecs"),
        aws("logs"),
        cluster=outputs["ecs_cluster_name"],
        family=outputs[family],
        subnets=outputs["private_subnet_ids"],
        security_groups=[group],
        log_group=outputs["lms_log_group"],
    )


@pytest.fixture(scope="module")
def lms_place(aws, outputs, cfg) -> TaskRun:
    if not cfg.workloads.lms:
        pytest.skip("the LMS is switched off in this environment")
    return _run(aws, outputs, "probe_task_family", outputs["lms_security_group_id"])


@pytest.fixture(scope="module")
def outside_place(aws, outputs, cfg) -> TaskRun:
    if not cfg.workloads.lms:
        pytest.skip("the LMS is switched off in this environment")
    return _run(aws, outputs, "probe_network_task_family", outputs["probe_outside_group_id"])


def _check(run: TaskRun, check: str) -> dict:
    result = run.results.get(check)
    assert result is not None, f"the probe task reported no {check!r}: {run.describe()}"
    return result


def test_the_probe_task_ran_to_the_end(lms_place):
    assert lms_place.exit_code == 0, f"expected the probe task to exit 0, found: {lms_place.describe()}"


@pytest.mark.parametrize("check", FROM_THE_LMS)
def test_from_the_lms_group(lms_place, check):
    result = _check(lms_place, check)
    assert result["ok"], f"{check}: expected {FROM_THE_LMS[check]}, found {result['found']}"


@pytest.mark.parametrize("check", UNREACHABLE)
def test_an_outsider_cannot_reach(outside_place, outputs, check):
    result = _check(outside_place, check)
    # not reached: no connection, or one reset before the server spoke (a TLS or login
    # failure after the server answered would mean the store let the outsider in)
    assert result["reached"] is False, (
        f"{check}: expected {UNREACHABLE[check]} not reached from the outsider group "
        f"{outputs['probe_outside_group_id']} (its egress allows the port: only the store's ingress can stop it), "
        f"found {result['found']}"
    )


def test_an_outsider_cannot_mount_the_content(aws, outputs, cfg):
    """The full probe task (with the EFS volume) in the outsider group must not start: the
    mount targets admit NFS only from the LMS's group."""
    if not cfg.workloads.lms:
        pytest.skip("the LMS is switched off in this environment")
    run = _run(aws, outputs, "probe_task_family", outputs["probe_outside_group_id"])
    reason = run.stopped_reason  # AWS: "ResourceInitializationError: failed to invoke EFS utils commands ..."
    assert (
        run.exit_code is None and "ResourceInitializationError" in reason and "EFS" in reason
    ), f"expected the outsider group to be refused the EFS mount, found: {run.describe()}"
