"""Auto Scaling policies: stock moto 5.2.5 returns no `Enabled` (the provider reads false)
and an empty PredictiveScalingConfiguration for every policy (the provider reads a block
that was never configured). Ours keeps Enabled (true unless given) and no empty block."""

from __future__ import annotations

from typing import Any

from infra.emulator.fixes import replace


def _put(stock: Any) -> Any:
    def put_scaling_policy(self: Any) -> Any:
        answer = stock(self)
        name = self._get_param("PolicyName")
        for policy in self.autoscaling_backend.policies.values():
            if policy.name == name:
                enabled = self._get_param("Enabled")
                policy.enabled = True if enabled is None else str(enabled).lower() == "true"
                if not policy.predictive_scaling_configuration:
                    policy.predictive_scaling_configuration = None
        return answer

    return put_scaling_policy


def apply() -> None:
    from moto.autoscaling.responses import AutoScalingResponse

    replace(AutoScalingResponse, "put_scaling_policy", _put(AutoScalingResponse.put_scaling_policy))
