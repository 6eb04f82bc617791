"""A Terraform failure that is AWS refusing the caller, said in one line: who was refused what.

Terraform (its S3 backend and the AWS provider alike) reports an AWS error as
`operation error <service>: <operation>, https response error StatusCode: <n>, ..., api error
<code>: <message>`, wrapped over several lines and inside its diagnostic box. When the code is
an authorisation refusal, the run names the caller (STS GetCallerIdentity, which AWS answers
for anyone) and the IAM action, e.g. `access denied: arn:aws:sts::123456789012:assumed-role/
infra-github-plan/gha-42 may not s3:PutObject`: under the read-only plan role an apply is
that, and not a page of Terraform output to read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFUSALS = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError")
_CALL = re.compile(
    r"operation error (?P<service>[A-Za-z0-9][A-Za-z0-9 ]*?): (?P<operation>\w+), https response error"
    r"(?:(?!operation error).)*?api error (?P<code>\w+)"
)
_WRAPPING = re.compile(r"[\s│]+")  # Terraform's line wrapping and diagnostic box, as one space
# the SDK's service names whose IAM prefix is not the name in lower case without spaces
_PREFIXES = {
    "CloudWatch Logs": "logs",
    "Elastic Load Balancing v2": "elasticloadbalancing",
    "Auto Scaling": "autoscaling",
    "Application Auto Scaling": "application-autoscaling",
    "Resource Groups Tagging API": "tag",
}


def refused_action(output: str) -> str | None:
    """The IAM action of the first call AWS refused for lack of permission, or None."""
    for call in _CALL.finditer(_WRAPPING.sub(" ", output)):
        if call["code"] in _REFUSALS:
            service = call["service"]
            prefix = _PREFIXES.get(service, service.lower().replace(" ", ""))
            return f"{prefix}:{call['operation']}"
    return None


def caller(env: Mapping[str, str]) -> str:
    """Who the credentials in `env` are (the ARN), or a description when that cannot be asked."""
    import boto3

    session = boto3.Session(
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
        region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
    )
    try:
        return str(session.client("sts").get_caller_identity()["Arn"])
    except Exception as exc:  # noqa: BLE001 - the refusal is what is being reported
        return f"these credentials (not identified: {type(exc).__name__})"


def one_line(output: str, env: Mapping[str, str]) -> str | None:
    """`access denied: <caller> may not <action>` when the output is such a refusal."""
    action = refused_action(output)
    return f"access denied: {caller(env)} may not {action}" if action else None
