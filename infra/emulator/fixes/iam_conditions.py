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
aws:SecureTransport above), and knows no StringNotEquals, so its conditions count as holding:
"deny iam:CreateRole unless iam:PermissionsBoundary is the boundary" denied every role, the
right boundary included. Ours evaluates StringNotEquals and gives CreateRole and
PutRolePermissionsBoundary the key iam:PermissionsBoundary when the request names one, and a
role's policy changes (Attach/Detach/Put/DeleteRolePolicy) the boundary that role carries, as
AWS does. A key the request lacks makes a negated operator hold, as in AWS.

Still as stock: a key the request lacks makes a *positive* operator (StringEquals) hold too,
where AWS says it does not, and a condition block with several keys compares values by
position among the keys present; so the two kms: keys of the CI roles' decrypt-through-S3
statements are not checked here.
"""

from __future__ import annotations

from typing import Any

from infra.emulator.fixes import replace

BOUNDARY_KEY = "iam:PermissionsBoundary"
BOUNDARY_REQUESTED = {"iam:CreateRole", "iam:PutRolePermissionsBoundary"}  # the request names it
BOUNDARY_OF_THE_ROLE = {"iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"}


def _bool(expected: list[str] | str, actual: str) -> bool:
    wanted = [expected] if isinstance(expected, str) else expected
    return actual.lower() in [str(w).lower() for w in wanted]


def _string_not_equals(expected: list[str] | str, actual: str) -> bool:
    return actual not in ([expected] if isinstance(expected, str) else expected)


def _param(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return str(value[0] if isinstance(value, list) else value) if value else None


def request_context(action: str, data: dict[str, Any], backend: Any) -> dict[str, str]:
    """The condition keys a request brings with it (beyond aws:SecureTransport):
    iam:PermissionsBoundary is the boundary the request names (making or re-bounding a
    role), or the boundary the role it changes carries (its policies)."""
    value = None
    if action in BOUNDARY_REQUESTED:
        value = _param(data, "PermissionsBoundary")
    elif action in BOUNDARY_OF_THE_ROLE and (name := _param(data, "RoleName")):
        role = next((r for r in backend.roles.values() if r.name == name), None)
        value = role.permissions_boundary_arn if role else None
    return {BOUNDARY_KEY: value} if value else {}


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
        context = request_context(self._action, self._data, self.backend)
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
