"""IAM enforcement (INITIAL_NO_AUTH_ACTION_COUNT reached): what stock moto 5.2.5 gets wrong.

- AssumeRoleWithWebIdentity and AssumeRoleWithSAML are not signed (the SDKs send them
  without credentials: the token is the proof). Stock moto authenticates every query-protocol
  call and fails on the missing Authorization header (a KeyError, HTTP 500), so no GitHub
  OIDC role can be assumed with enforcement on. Ours lets those two through unsigned, as AWS.
- Every action outside S3 is authorised against the resource "*" (an existing role's
  excepted), which a Deny naming a policy, a user or an OIDC provider does not match: "the
  apply role may not change its boundary" did not hold. Ours authorises IAM actions against
  the resource their request names: the role
  (RoleName), user (UserName), policy (PolicyArn) or OIDC provider
  (OpenIDConnectProviderArn) ARN; other services still against "*".

Not evaluated here, with or without this fix: permissions boundaries, trust policies'
conditions for web identities (the token is not read), session policies, SCPs.
"""

from __future__ import annotations

from typing import Any

from infra.emulator.fixes import replace

UNSIGNED = {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"}


def iam_resource(response: Any) -> str:
    """The ARN an IAM request acts on, from its parameters ("*" when it names none)."""
    account, partition = response.current_account, "aws"
    for param, kind in (("RoleName", "role"), ("UserName", "user")):
        name = response._get_param(param)
        if name:
            return f"arn:{partition}:iam::{account}:{kind}/{name}"
    for param in ("PolicyArn", "OpenIDConnectProviderArn"):
        arn = response._get_param(param)
        if arn:
            return str(arn)
    return "*"


def apply() -> None:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    stock = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authenticate_and_authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        if ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT:
            if self._get_action() in UNSIGNED:
                return
            if resource == "*" and getattr(self, "service_name", None) == "iam":
                resource = iam_resource(self)
        stock(self, iam_request_cls, resource)

    replace(ActionAuthenticatorMixin, "_authenticate_and_authorize_action", authenticate_and_authorize)
