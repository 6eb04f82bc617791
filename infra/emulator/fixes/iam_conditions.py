"""IAM/S3 policies: a statement whose Condition does not hold must not apply.

Stock moto evaluates only StringEquals (any other operator, Bool included, counts as
holding), has no value for `aws:SecureTransport`, and returns DENIED for a statement whose
conditions fail instead of skipping it. Together, the usual `Deny s3:* if
aws:SecureTransport is false` makes a bucket refuse every request (HeadObject answers
403). Ours evaluates Bool, sets aws:SecureTransport to true (the emulator serves HTTPS
only) and skips statements whose conditions do not hold, as AWS does.
"""

from __future__ import annotations

from typing import Any

from infra.emulator.fixes import replace


def _bool(expected: list[str] | str, actual: str) -> bool:
    wanted = [expected] if isinstance(expected, str) else expected
    return actual.lower() in [str(w).lower() for w in wanted]


def apply() -> None:
    from moto.iam import policy_conditions
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    replace(policy_conditions, "CONDITION_OPERATIONS", {**policy_conditions.CONDITION_OPERATIONS, "Bool": _bool})

    stock = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: Any,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        context = {"aws:SecureTransport": "true", **(incoming_condition_values or {})}
        if self._statement.get("Condition") and not self._check_conditions(context):
            return PermissionResult.NEUTRAL
        return stock(self, action, resource, principal, context)

    replace(IAMPolicyStatement, "is_action_permitted", is_action_permitted)
