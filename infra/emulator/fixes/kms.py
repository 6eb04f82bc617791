"""KMS: two gaps of stock moto 5.2.5.

- EnableKeyRotation's RotationPeriodInDays is dropped, so the provider reads 0 and a plan
  right after apply wants to set it again. Ours keeps it and returns it.
- The keys behind `alias/aws/...` aliases (aws/ebs, aws/rds, ...: moto creates them on
  first use, as AWS does) are reported with KeyManager CUSTOMER and rotation off. On AWS
  they are AWS managed keys: KeyManager AWS, rotated by AWS every year. A compliance
  scanner otherwise counts them as customer keys without rotation. Ours marks a key AWS
  managed when such an alias is put on it: only the AWS service that uses the key does
  that (AWS refuses `alias/aws/` names to callers).
"""

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


AWS_MANAGED_ALIAS = "alias/aws/"


def _alias(stock: Any) -> Any:
    def create_alias(self: Any, target_key_id: str, alias_name: str) -> Any:
        alias = stock(self, target_key_id, alias_name)
        if alias_name.startswith(AWS_MANAGED_ALIAS):
            key = self.keys[self.get_key_id(target_key_id)]
            key.key_manager = "AWS"
            key.key_rotation_status = True
            key.rotation_period_in_days = 365
        return alias

    return create_alias


def apply() -> None:
    from moto.kms.models import KmsBackend
    from moto.kms.responses import KmsResponse

    replace(KmsBackend, "create_alias", _alias(KmsBackend.create_alias))
    replace(KmsResponse, "enable_key_rotation", _enable(KmsResponse.enable_key_rotation))
    replace(KmsResponse, "get_key_rotation_status", _status(KmsResponse.get_key_rotation_status))
