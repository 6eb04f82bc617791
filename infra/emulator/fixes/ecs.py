"""ECS services: stock moto 5.2.5 drops healthCheckGracePeriodSeconds,
enableECSManagedTags and availabilityZoneRebalancing, so a plan after apply wants to set
them again. Ours keeps them from create and update.

ECS tasks: stock RunTask fails (500) for a Fargate task definition whose container states
no memory of its own (AWS takes the task's; ours counts it as 0), and for every awsvpc task
(its network interface has no `private_dns_name`; ours gives it the name AWS would:
`ip-10-0-1-5.<region>.compute.internal`). A family named without a revision (RunTask,
DescribeTaskDefinition) is its latest revision, even a deregistered one; on AWS it is the
latest ACTIVE one, and ours takes that. RunTask
of a task whose container runs `python` runs it here as a process
(infra/emulator/planes/tasks.py); StopTask ends it. Stock moto only records the task."""

from __future__ import annotations

from typing import Any

from infra.emulator.fixes import replace
from infra.emulator.planes import tasks as task_plane

MEMORY_KEYS = ("memory", "memoryReservation", "Memory", "MemoryReservation")
KEPT = {
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "enableECSManagedTags": "enable_ecs_managed_tags",
    "availabilityZoneRebalancing": "availability_zone_rebalancing",
}


def _keep(stock: Any) -> Any:
    def handler(self: Any) -> Any:
        answer = stock(self)
        service = answer.result["service"]
        for param, attribute in KEPT.items():
            value = self._get_param(param)
            if value is not None:
                setattr(service, attribute, value)
        if getattr(service, "availability_zone_rebalancing", None) is None:
            service.availability_zone_rebalancing = "DISABLED"
        return answer

    return handler


def _run_task(stock: Any) -> Any:
    def run_task(self: Any, cluster_str: str, task_definition_str: str, *args: Any, **kwargs: Any) -> Any:
        tasks = stock(self, cluster_str, task_definition_str, *args, **kwargs)
        definition = self.describe_task_definition(task_definition_str)
        for task in tasks:
            task_plane.started(self, task, definition)
        return tasks

    return run_task


def _requirements(stock: Any) -> Any:
    def calculate(task_definition: Any) -> Any:
        saved = task_definition.container_definitions
        task_definition.container_definitions = [
            c if any(k in c for k in MEMORY_KEYS) else {**c, "memory": 0} for c in saved
        ]
        try:
            return stock(task_definition)
        finally:
            task_definition.container_definitions = saved

    return staticmethod(calculate)


def _latest_active(stock: Any) -> Any:
    def describe_task_definition(self: Any, task_definition_str: str) -> Any:
        name = task_definition_str.split("/")[-1]
        revisions = self.task_definitions.get(name, {})
        if ":" not in name and revisions:
            active = [number for number, definition in revisions.items() if definition.status == "ACTIVE"]
            if active:
                return revisions[max(active)]
        return stock(self, task_definition_str)

    return describe_task_definition


def _stop_task(stock: Any) -> Any:
    def stop_task(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
        task = stock(self, cluster_str, task_str, reason)
        task_plane.stopped(task.task_arn)
        return task

    return stop_task


def _get_dns_name(eni: Any) -> str:
    name = eni.__dict__.get("_private_dns_name")  # set by moto where it knows one (NAT gateways)
    return name or f"ip-{str(eni.private_ip_address).replace('.', '-')}.{eni.ec2_backend.region_name}.compute.internal"


def _set_dns_name(eni: Any, name: str) -> None:
    eni.__dict__["_private_dns_name"] = name


def apply() -> None:
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.ecs.responses import EC2ContainerServiceResponse

    replace(EC2ContainerServiceBackend, "run_task", _run_task(EC2ContainerServiceBackend.run_task))
    if not hasattr(NetworkInterface, "private_dns_name"):
        replace(NetworkInterface, "private_dns_name", property(_get_dns_name, _set_dns_name))
    replace(
        EC2ContainerServiceBackend,
        "_calculate_task_resource_requirements",
        _requirements(EC2ContainerServiceBackend._calculate_task_resource_requirements),
    )
    replace(
        EC2ContainerServiceBackend,
        "describe_task_definition",
        _latest_active(EC2ContainerServiceBackend.describe_task_definition),
    )
    replace(EC2ContainerServiceBackend, "stop_task", _stop_task(EC2ContainerServiceBackend.stop_task))

    replace(EC2ContainerServiceResponse, "create_service", _keep(EC2ContainerServiceResponse.create_service))
    replace(EC2ContainerServiceResponse, "update_service", _keep(EC2ContainerServiceResponse.update_service))
