"""Private S3 buckets as the modules make them: public access blocked, ACLs off, versioned,
encrypted by default; old versions expire; server access logs in a bucket of their own.

The audit trail's log buckets and the account bootstrap's state bucket are both built here,
so what "a private bucket" means is written once.
"""

from __future__ import annotations

from modules.common.cdk import Construct, aws
from modules.common.iam import deny_insecure_transport, document, statement

ABORT_UPLOADS_AFTER_DAYS = 7
NONCURRENT_LOG_DAYS = 30  # an access-log bucket's overwritten objects


def private_bucket(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    sse: str,
    key_arn: str | None = None,
    force_destroy: bool = False,
    tags: dict[str, str] | None = None,
) -> aws.s3_bucket.S3Bucket:
    """A bucket with public access blocked, ACLs off, versioning and default encryption
    (`sse` "aws:kms" with the bucket key on, or "AES256")."""
    bucket = aws.s3_bucket.S3Bucket(scope, construct_id, bucket=name, force_destroy=force_destroy, tags=tags)
    aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock(
        scope,
        f"{construct_id}Private",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    aws.s3_bucket_ownership_controls.S3BucketOwnershipControls(
        scope,
        f"{construct_id}Ownership",
        bucket=bucket.id,
        rule=aws.s3_bucket_ownership_controls.S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
    )
    aws.s3_bucket_versioning.S3BucketVersioningA(
        scope,
        f"{construct_id}Versioning",
        bucket=bucket.id,
        versioning_configuration=aws.s3_bucket_versioning.S3BucketVersioningVersioningConfiguration(status="Enabled"),
    )
    sse_module = aws.s3_bucket_server_side_encryption_configuration
    sse_module.S3BucketServerSideEncryptionConfigurationA(
        scope,
        f"{construct_id}Encryption",
        bucket=bucket.id,
        rule=[
            sse_module.S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=sse_module.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                    sse_algorithm=sse, kms_master_key_id=key_arn
                ),
                bucket_key_enabled=True if sse == "aws:kms" else None,  # fewer KMS calls (and costs)
            )
        ],
    )
    return bucket


def lifecycle(
    scope: Construct,
    construct_id: str,
    bucket: aws.s3_bucket.S3Bucket,
    *,
    noncurrent_days: int,
    expire_days: int | None,
    newer_versions_kept: int | None = None,
    rule_id: str = "old-versions",
) -> None:
    """Old versions expire after `noncurrent_days` (the newest `newer_versions_kept` of them
    never do); current objects after `expire_days` (None: never, and stray delete markers go);
    unfinished uploads are aborted."""
    lc = aws.s3_bucket_lifecycle_configuration
    lc.S3BucketLifecycleConfiguration(
        scope,
        f"{construct_id}Lifecycle",
        bucket=bucket.id,
        rule=[
            lc.S3BucketLifecycleConfigurationRule(
                id=rule_id,
                status="Enabled",
                filter=[lc.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                expiration=[
                    lc.S3BucketLifecycleConfigurationRuleExpiration(days=expire_days)
                    if expire_days
                    else lc.S3BucketLifecycleConfigurationRuleExpiration(expired_object_delete_marker=True)
                ],
                noncurrent_version_expiration=[
                    lc.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                        noncurrent_days=noncurrent_days, newer_noncurrent_versions=newer_versions_kept
                    )
                ],
                abort_incomplete_multipart_upload=[
                    lc.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                        days_after_initiation=ABORT_UPLOADS_AFTER_DAYS
                    )
                ],
            )
        ],
    )


def access_logs(
    scope: Construct,
    bucket: aws.s3_bucket.S3Bucket,
    *,
    construct_id: str,
    logging_id: str,
    name: str,
    account_id: str,
    expire_days: int,
    prefix: str,
    force_destroy: bool = False,
    tags: dict[str, str] | None = None,
) -> aws.s3_bucket.S3Bucket:
    """`bucket`'s server access logs, in a private bucket of their own (SSE-S3: S3 server
    access logging cannot deliver to a bucket whose default encryption is SSE-KMS), writable
    only by S3's logging service for `bucket` in this account, TLS-only; logs expire."""
    logs = private_bucket(scope, construct_id, name=name, sse="AES256", force_destroy=force_destroy, tags=tags)
    lifecycle(scope, construct_id, logs, noncurrent_days=NONCURRENT_LOG_DAYS, expire_days=expire_days)
    policy = aws.s3_bucket_policy.S3BucketPolicy(
        scope,
        f"{construct_id}Policy",
        bucket=logs.id,
        policy=document(
            statement(
                "S3ServerAccessLogs",
                ["s3:PutObject"],
                f"{logs.arn}/*",
                principal={"Service": "logging.s3.amazonaws.com"},
                condition={"ArnLike": {"aws:SourceArn": bucket.arn}, "StringEquals": {"aws:SourceAccount": account_id}},
            ),
            deny_insecure_transport("s3:*", [logs.arn, f"{logs.arn}/*"]),
        ),
    )
    aws.s3_bucket_logging.S3BucketLoggingA(
        scope,
        logging_id,
        bucket=bucket.id,
        target_bucket=logs.id,
        target_prefix=prefix,
        depends_on=[policy],
    )
    return logs
