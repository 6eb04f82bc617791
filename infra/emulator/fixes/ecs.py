"""ECS services: stock moto 5.2.5 drops healthCheckGracePeriodSeconds,
enableECSManagedTags and availabilityZoneRebalancing, so a plan after apply wants to set
them again. Ours keeps them from create and update."""

from __future__ import annotations

from typing import Any

from infra.emulator.fixes import replace

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


def apply() -> None:
    from moto.ecs.responses import EC2ContainerServiceResponse

    replace(EC2ContainerServiceResponse, "create_service", _keep(EC2ContainerServiceResponse.create_service))
    replace(EC2ContainerServiceResponse, "update_service", _keep(EC2ContainerServiceResponse.update_service))
