"""Run the in-VPC probe task (modules/lms/probe.py) once and read back what it found.

RunTask in the private subnets with the security groups given, wait until it stops, then
read its JSON lines from CloudWatch Logs (`probe/probe/<task id>` in the LMS's group).
Used by the post-apply suite (tests/post_apply/test_in_vpc.py), on AWS and on the emulator
alike (there the emulator runs the task as a local process: infra/emulator/planes/tasks.py).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import WaiterError

from infra.emulator.launcher import EMULATED_VARIABLE
from modules.lms.probe_program import CONTAINER, DONE, STREAM_PREFIX

TIMEOUT = 600  # seconds: a Fargate task's image pull, ENI and pip install take minutes on AWS
LOG_WAIT = 60  # seconds to wait, after the task stopped, for its last log line (on AWS: the
# emulator writes every line before it marks the task stopped, so there it waits for nothing)


@dataclass(frozen=True)
class TaskRun:
    task_arn: str
    exit_code: int | None
    stopped_reason: str
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    output: tuple[str, ...] = ()

    def describe(self) -> str:
        """How the task ended, with the end of its output: what a failing probe shows."""
        tail = "\n".join(self.output[-15:]) or "(no output in its log stream)"
        return f"task {self.task_arn}: exit code {self.exit_code}, stopped: {self.stopped_reason}\n{tail}"


def run_probe_task(
    ecs: Any, logs: Any, *, cluster: str, family: str, subnets: list[str], security_groups: list[str], log_group: str
) -> TaskRun:
    started = ecs.run_task(
        cluster=cluster,
        taskDefinition=family,  # its latest ACTIVE revision, as `aws ecs run-task` takes it
        launchType="FARGATE",
        count=1,
        startedBy="infra-probe",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": subnets, "securityGroups": security_groups, "assignPublicIp": "DISABLED"}
        },
    )
    if started.get("failures") or not started.get("tasks"):
        return TaskRun("", None, f"RunTask failed: {started.get('failures')}")
    arn = started["tasks"][0]["taskArn"]
    emulated = bool(os.environ.get(EMULATED_VARIABLE))
    delay = 1 if emulated else 6
    log_wait = 0 if emulated else LOG_WAIT
    try:
        ecs.get_waiter("tasks_stopped").wait(
            cluster=cluster, tasks=[arn], WaiterConfig={"Delay": delay, "MaxAttempts": TIMEOUT // delay}
        )
    except WaiterError as exc:
        ecs.stop_task(cluster=cluster, task=arn, reason="infra probe: no result in time")  # it costs while it runs
        return TaskRun(arn, None, f"still running after {TIMEOUT} s, stopped ({exc})")
    task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
    container = next((c for c in task.get("containers", []) if c.get("name") == CONTAINER), task["containers"][0])
    stream = f"{STREAM_PREFIX}/{CONTAINER}/{arn.rsplit('/', 1)[1]}"
    started_at = time.monotonic()
    while True:  # CloudWatch Logs takes a moment to deliver the last lines: until `_done`
        lines = _log_lines(logs, log_group, stream)
        results = _results(lines)
        if DONE in results or container.get("exitCode") is None or time.monotonic() - started_at >= log_wait:
            break
        time.sleep(delay)
    results.pop(DONE, None)
    return TaskRun(arn, container.get("exitCode"), task.get("stoppedReason", ""), results, tuple(lines))


def _results(lines: list[str]) -> dict[str, dict[str, Any]]:
    results = {}
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "check" in record:
            results[record["check"]] = record
    return results


def _log_lines(logs: Any, group: str, stream: str) -> list[str]:
    """Every line of the stream, page by page until the forward token stops moving."""
    lines: list[str] = []
    token = None
    while True:
        try:
            page = logs.get_log_events(
                logGroupName=group, logStreamName=stream, startFromHead=True, **({"nextToken": token} if token else {})
            )
        except logs.exceptions.ResourceNotFoundException:
            return lines  # the task never started, or its first lines are not delivered yet
        lines += [event["message"] for event in page["events"]]
        if page.get("nextForwardToken") in (None, token):
            return lines
        token = page["nextForwardToken"]
