"""Create the state bucket when it is missing, as Terragrunt's backend bootstrap does.

Versioned (state history), encrypted, public access blocked, owner-enforced, TLS-only;
old state versions expire (the newest few are always kept) and unfinished uploads are
aborted; its server access logs go to a bucket of their own, `<state bucket>-access-logs`
(SSE-S3, since S3 server access logging cannot deliver to an SSE-KMS bucket; private,
TLS-only, writable only by S3's logging service for this bucket, logs expire).
Settings are (re)applied every time, so a bucket created by hand is brought into line.
Only `infra bootstrap` (an administrator, once per account) writes them: plan and apply
check that the bucket is there (`require_state_bucket`) and write nothing to it but states.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.errors import Failed
from modules.common.iam import deny_insecure_transport, document, statement

# State versions: each apply writes one; old ones expire, the newest are always kept.
NONCURRENT_STATE_DAYS = 90
NEWER_STATE_VERSIONS_KEPT = 10
ABORT_UPLOADS_AFTER_DAYS = 7
ACCESS_LOG_DAYS = 365
NONCURRENT_LOG_DAYS = 30
ACCESS_LOGS_SUFFIX = "-access-logs"  # the account layer's state_bucket leaves room for it


class NoStateBucket(Failed):
    """The state bucket is missing or unreadable: bootstrap is an administrator's step, not plan's."""


def access_log_bucket(bucket: str) -> str:
    return f"{bucket}{ACCESS_LOGS_SUFFIX}"


def _ensure_bucket(s3: Any, bucket: str, region: str) -> bool:
    """Create the bucket when missing; whether it was created."""
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"404", "NoSuchBucket", "NotFound"}:
            raise
        config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **config)
        return True
    return False


def _private(s3: Any, bucket: str, sse: dict[str, Any]) -> None:
    """Versioned, encrypted by default, public access blocked, ACLs off."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [sse]})
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )


def _lifecycle(s3: Any, bucket: str, rule: dict[str, Any]) -> None:
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_UPLOADS_AFTER_DAYS},
                    **rule,
                }
            ]
        },
    )


def _arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def ensure_state_bucket(bucket: str, region: str) -> str:
    s3 = boto3.client("s3", region_name=region)
    created = _ensure_bucket(s3, bucket, region)
    _private(s3, bucket, {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True})
    _lifecycle(
        s3,
        bucket,
        {
            "ID": "expire-old-state-versions",
            "NoncurrentVersionExpiration": {
                "NoncurrentDays": NONCURRENT_STATE_DAYS,
                "NewerNoncurrentVersions": NEWER_STATE_VERSIONS_KEPT,
            },
        },
    )
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=document(deny_insecure_transport("s3:*", [_arn(bucket), f"{_arn(bucket)}/*"])),
    )

    # Its server access logs: the log bucket and its policy first, then logging is switched on.
    logs = access_log_bucket(bucket)
    account = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    _ensure_bucket(s3, logs, region)
    _private(s3, logs, {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}})
    _lifecycle(
        s3,
        logs,
        {
            "ID": "expire-access-logs",
            "Expiration": {"Days": ACCESS_LOG_DAYS},
            "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_LOG_DAYS},
        },
    )
    s3.put_bucket_policy(
        Bucket=logs,
        Policy=document(
            statement(
                "S3ServerAccessLogs",
                ["s3:PutObject"],
                f"{_arn(logs)}/*",
                principal={"Service": "logging.s3.amazonaws.com"},
                condition={"ArnLike": {"aws:SourceArn": _arn(bucket)}, "StringEquals": {"aws:SourceAccount": account}},
            ),
            deny_insecure_transport("s3:*", [_arn(logs), f"{_arn(logs)}/*"]),
        ),
    )
    s3.put_bucket_logging(
        Bucket=bucket,
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": logs, "TargetPrefix": f"{bucket}/"}},
    )
    return (
        f"{'created' if created else 'checked'} s3://{bucket} (versioned, KMS-encrypted, private, TLS-only, "
        f"old versions expire, access logged to s3://{logs})"
    )


def state_exists(bucket: str, key: str, region: str) -> bool:
    s3 = boto3.client("s3", region_name=region)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    return True


def require_state_bucket(bucket: str, region: str, env: str) -> str:
    """Check, read-only, that the state bucket exists and can be read (plan and apply never
    create or change it: under the read-only plan role that would be AccessDenied)."""
    s3 = boto3.client("s3", region_name=region)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in {"404", "NoSuchBucket", "NotFound"}:
            raise NoStateBucket(
                f"state bucket s3://{bucket} does not exist: an administrator runs `infra bootstrap {env}` once"
            ) from None
        if code in {"403", "AccessDenied"}:
            raise NoStateBucket(f"state bucket s3://{bucket}: access denied (the role cannot list it)") from None
        raise
    return f"state bucket s3://{bucket} (read only; `infra bootstrap {env}` creates and hardens it)"
