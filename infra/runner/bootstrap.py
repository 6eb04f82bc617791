"""Create the state bucket when it is missing, as Terragrunt's backend bootstrap does.

Versioned (state history), encrypted, public access blocked, owner-enforced, TLS-only.
Settings are (re)applied every time, so a bucket created by hand is brought into line.
Only `infra bootstrap` (an administrator, once per account) writes them: plan and apply
check that the bucket is there (`require_state_bucket`) and write nothing to it but states.
"""

from __future__ import annotations

import boto3
from botocore.exceptions import ClientError

from infra.errors import Failed
from modules.common.iam import deny_insecure_transport, document


class NoStateBucket(Failed):
    """The state bucket is missing or unreadable: bootstrap is an administrator's step, not plan's."""


def ensure_state_bucket(bucket: str, region: str) -> str:
    s3 = boto3.client("s3", region_name=region)
    created = False
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"404", "NoSuchBucket", "NotFound"}:
            raise
        config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **config)
        created = True
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]
        },
    )
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
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=document(deny_insecure_transport("s3:*", [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"])),
    )
    return f"{'created' if created else 'checked'} s3://{bucket} (versioned, KMS-encrypted, private, TLS-only)"


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
