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
- A request without a body (a REST API's GET, HEAD or DELETE: EFS's DescribeFileSystems,
  GuardDuty's GetDetector) is checked against a signature computed over its query
  parameters as if they were the body, so every such call fails with SignatureDoesNotMatch.
  Ours computes it over the empty body that was signed.
- Two actions are named for IAM by what no policy grants: CloudWatch's by its signing name
  (`monitoring:DescribeAlarms`; ReadOnlyAccess grants `cloudwatch:Describe*`), and S3's
  HeadBucket as `s3:HeadBucket` (AWS authorises it as `s3:ListBucket`), so a read-only
  role's refresh of any bucket was refused. Ours names the actions AWS authorises.

Not evaluated here, with or without this fix: permissions boundaries, trust policies'
conditions for web identities (the token is not read), session policies, SCPs.
"""

from __future__ import annotations

from typing import Any

from infra.emulator.fixes import replace

UNSIGNED = {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"}
IAM_PREFIXES = {"monitoring": "cloudwatch"}  # signing name -> the IAM actions' prefix, where they differ
IAM_ACTIONS = {"s3:HeadBucket": "s3:ListBucket"}  # moto's name -> the action AWS authorises
BODYLESS = {"GET", "HEAD", "DELETE"}


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

    from moto.iam.access_control import IAMRequest, IAMRequestBase

    stock_init, stock_request = IAMRequestBase.__init__, IAMRequest._create_aws_request

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        stock_init(self, *args, **kwargs)
        prefix, _, action = self._action.partition(":")
        named = f"{IAM_PREFIXES.get(prefix, prefix)}:{action}"
        self._action = IAM_ACTIONS.get(named, named)

    def create_aws_request(self: Any) -> Any:
        request = stock_request(self)
        if not self._body and self._method in BODYLESS:
            request.data = b""
        return request

    replace(IAMRequestBase, "__init__", init)
    replace(IAMRequest, "_create_aws_request", create_aws_request)
