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

Stock moto also passes no request context to an identity policy's conditions (only
aws:SecureTransport above), and knows no StringNotEquals. So "deny iam:CreateRole unless
iam:PermissionsBoundary is the boundary" denied nothing. Ours evaluates StringNotEquals and
gives CreateRole and PutRolePermissionsBoundary the key iam:PermissionsBoundary when the
request names one. A key the request lacks makes a negated operator hold, as in AWS.
"""

from __future__ import annotations

from typing import Any

from infra.emulator.fixes import replace

BOUNDARY_KEY = "iam:PermissionsBoundary"
BOUNDED_ACTIONS = {"iam:CreateRole", "iam:PutRolePermissionsBoundary"}


def _bool(expected: list[str] | str, actual: str) -> bool:
    wanted = [expected] if isinstance(expected, str) else expected
    return actual.lower() in [str(w).lower() for w in wanted]


def _string_not_equals(expected: list[str] | str, actual: str) -> bool:
    return actual not in ([expected] if isinstance(expected, str) else expected)


def request_context(action: str, data: dict[str, Any]) -> dict[str, str]:
    """The condition keys a request brings with it (beyond aws:SecureTransport)."""
    value = data.get("PermissionsBoundary") if action in BOUNDED_ACTIONS else None
    value = value[0] if isinstance(value, list) else value
    return {BOUNDARY_KEY: str(value)} if value else {}


def apply() -> None:
    from moto.iam import policy_conditions
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    operations = {**policy_conditions.CONDITION_OPERATIONS, "Bool": _bool, "StringNotEquals": _string_not_equals}
    replace(policy_conditions, "CONDITION_OPERATIONS", operations)

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

    from moto.iam.access_control import IAMPolicy, IAMRequestBase

    def check_action_permitted(self: Any, resource: str) -> None:
        """Stock's check, with the request's condition keys given to every policy."""
        if self._action == "sts:GetCallerIdentity":  # always allowed, as stock and AWS
            return
        context = request_context(self._action, self._data)
        permitted = False
        for policy in self._access_key.collect_policies():
            result = IAMPolicy(policy).is_action_permitted(self._action, resource, None, context)
            if result == PermissionResult.DENIED:
                self._raise_access_denied()
            permitted = permitted or result == PermissionResult.PERMITTED
        if self._is_assuming_role_operation(resource):
            permitted = permitted and self._check_role_trust_relationship(resource)
        if not permitted:
            self._raise_access_denied()

    replace(IAMRequestBase, "check_action_permitted", check_action_permitted)
