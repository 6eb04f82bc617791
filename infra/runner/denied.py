"""A Terraform failure that is AWS refusing the caller, said in one line: who was refused what.

Terraform (its S3 backend and the AWS provider alike) reports an AWS error as
`operation error <service>: <operation>, https response error StatusCode: <n>, ..., api error
<code>: <message>`, wrapped over several lines and inside its diagnostic box. When the code is
an authorisation refusal, the run names the caller (STS GetCallerIdentity, which AWS answers
for anyone) and what was refused, e.g. `access denied: arn:aws:sts::123456789012:assumed-role/
infra-github-plan/gha-42 may not s3:PutObject`: under the read-only plan role an apply is
that, and not a page of Terraform output to read.

What was refused is the IAM action AWS's message names (`... is not authorized to perform:
ssm:PutParameter ...`); without one (S3 says only "Access Denied", a HEAD not even that),
the action the API call needs: for S3 from a table where the two differ (HeadBucket needs
s3:ListBucket), for other services the call's own name under the service's IAM prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFUSALS = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
_CALL = re.compile(r"(?P<service>[A-Za-z0-9][A-Za-z0-9 ]*?): (?P<operation>\w+), https response error ")
_STATUS = re.compile(r"StatusCode: (?P<status>\d+)")
_CODE = re.compile(r"api error (?P<code>\w+)")
_NAMED = re.compile(r"not authorized to perform: (?P<action>[\w-]+:\w+)")
_WRAPPING = re.compile(r"[\s│]+")  # Terraform's line wrapping and diagnostic box, as one space
# the SDK's service names whose IAM prefix is not the name in lower case without spaces
_PREFIXES = {
    "CloudWatch Logs": "logs",
    "EFS": "elasticfilesystem",
    "Elastic Load Balancing v2": "elasticloadbalancing",
    "Auto Scaling": "autoscaling",
    "Application Auto Scaling": "application-autoscaling",
    "Resource Groups Tagging API": "tag",
}
# S3 calls whose IAM action is not s3:<operation>; the others' is
_S3_ACTIONS = {
    "HeadBucket": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "HeadObject": "s3:GetObject",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
}


def refused(errors: str) -> str | None:
    """The IAM action of the first call AWS refused for lack of permission, or None. `errors`
    is Terraform's Error blocks (`terraform.error_report`): not its warnings, nor a debug log
    around them, so a long output costs no more than its errors."""
    text = _WRAPPING.sub(" ", errors)
    for part in text.split("operation error ")[1:]:  # one AWS call's error each
        call, status, code = _CALL.match(part), _STATUS.search(part), _CODE.search(part)
        if not call or not code:
            continue
        if code["code"] not in _REFUSALS and not (code["code"] == "Forbidden" and status and status["status"] == "403"):
            continue  # a HEAD refused has no body: the SDK says only Forbidden, with the 403
        named = _NAMED.search(part)
        if named:
            return named["action"]
        service, operation = call["service"], call["operation"]
        if service == "S3":
            return _S3_ACTIONS.get(operation, f"s3:{operation}")
        return f"{_PREFIXES.get(service, service.lower().replace(' ', ''))}:{operation}"
    return None


def caller(env: Mapping[str, str]) -> str:
    """Who the credentials in `env` are (the ARN), or a description when that cannot be asked.
    Asked of the same endpoint and CA as Terraform's, once, without retries."""
    import boto3
    from botocore.config import Config

    session = boto3.Session(
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
        region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
    )
    config = Config(connect_timeout=5, read_timeout=5, retries={"max_attempts": 1})
    try:
        sts = session.client(
            "sts", endpoint_url=env.get("AWS_ENDPOINT_URL"), verify=env.get("AWS_CA_BUNDLE"), config=config
        )
        return str(sts.get_caller_identity()["Arn"])
    except Exception as exc:  # noqa: BLE001 - the refusal is what is being reported
        return f"these credentials (not identified: {type(exc).__name__})"


def one_line(errors: str, env: Mapping[str, str]) -> str | None:
    """`access denied: <caller> may not <action>` when the errors are such a refusal."""
    action = refused(errors)
    return f"access denied: {caller(env)} may not {action}" if action else None
