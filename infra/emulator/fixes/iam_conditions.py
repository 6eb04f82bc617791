"""IAM/S3 policies: a statement whose Condition does not hold must not apply.

Stock moto evaluates only StringEquals (any other operator, Bool included, counts as
holding), has no value for `aws:SecureTransport`, and returns DENIED for a statement whose
conditions fail instead of skipping it. Together, the usual `Deny s3:* if
aws:SecureTransport is false` makes a bucket refuse every request (HeadObject answers
403). Ours evaluates Bool, sets aws:SecureTransport to true (the emulator serves HTTPS
only) and skips statements whose conditions do not hold, as AWS does.

Stock moto also reads a statement with `NotResource` (and no `Resource`) as a trust policy's
statement: it applies to every resource, and a Deny with NotResource comes out *permitted*.
So "deny reading any object outside the state prefixes" allowed everything. Ours applies
such a statement only to resources that none of its NotResource patterns match, with its
own effect, as AWS does.
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
        if "NotResource" in self._statement and "Resource" not in self._statement:
            if self._check_element_matches("NotResource", resource):
                return PermissionResult.NEUTRAL  # an excepted resource: the statement does not apply
            everywhere = IAMPolicyStatement({**self._statement, "Resource": "*"})
            everywhere._statement.pop("NotResource")
            return stock(everywhere, action, resource, principal, context)
        return stock(self, action, resource, principal, context)

    replace(IAMPolicyStatement, "is_action_permitted", is_action_permitted)
