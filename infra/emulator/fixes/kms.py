"""KMS: EnableKeyRotation's RotationPeriodInDays is dropped, so the provider reads 0 and a
plan right after apply wants to set it again. Ours keeps it and returns it."""

from __future__ import annotations

import json
from typing import Any

from infra.emulator.fixes import replace


def _enable(stock: Any) -> Any:
    def enable_key_rotation(self: Any) -> str:
        answer: str = stock(self)
        key = self.kms_backend.keys[self.kms_backend.get_key_id(self._get_param("KeyId"))]
        key.rotation_period_in_days = self._get_param("RotationPeriodInDays") or 365
        return answer

    return enable_key_rotation


def _status(stock: Any) -> Any:
    def get_key_rotation_status(self: Any) -> str:
        answer = json.loads(stock(self))
        key = self.kms_backend.keys[self.kms_backend.get_key_id(self._get_param("KeyId"))]
        if answer.get("KeyRotationEnabled"):
            answer["RotationPeriodInDays"] = getattr(key, "rotation_period_in_days", 365)
        return json.dumps(answer)

    return get_key_rotation_status


def apply() -> None:
    from moto.kms.responses import KmsResponse

    replace(KmsResponse, "enable_key_rotation", _enable(KmsResponse.enable_key_rotation))
    replace(KmsResponse, "get_key_rotation_status", _status(KmsResponse.get_key_rotation_status))
