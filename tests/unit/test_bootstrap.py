"""`infra bootstrap`'s state bucket, in process on stock moto: every setting, its access-log
bucket, and that a second run (or a bucket made by hand) is brought into line."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from infra.runner.bootstrap import access_log_bucket, ensure_state_bucket

REGION = "sa-east-1"
BUCKET = "edutech-tfstate-123456789012"
LOGS = f"{BUCKET}-access-logs"
ACCOUNT = "123456789012"  # moto's default account
pytestmark = pytest.mark.usefixtures("in_process_aws")


@pytest.fixture
def s3():
    return boto3.client("s3", region_name=REGION)


@pytest.fixture
def sent() -> Iterator[dict[tuple[str, str], dict]]:
    """The parameters of each S3 call bootstrap makes, by (operation, bucket): what stock moto
    does not keep (NewerNoncurrentVersions of an expiration) is checked as sent."""
    calls: dict[tuple[str, str], dict] = {}

    def record(params, model, **_):
        calls[model.name, params.get("Bucket", "")] = params

    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("provide-client-params.s3.*", record)  # type: ignore[union-attr]
    yield calls
    boto3.DEFAULT_SESSION = None


def rule_of(s3, bucket: str) -> dict:
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    return rule


def statements(s3, bucket: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]}


def test_the_access_log_bucket_is_named_after_the_state_bucket():
    assert access_log_bucket(BUCKET) == LOGS


def test_old_state_versions_expire_keeping_the_newest_and_uploads_are_aborted(s3, sent):
    assert ensure_state_bucket(BUCKET, REGION).startswith(f"created s3://{BUCKET}")
    rule = rule_of(s3, BUCKET)
    assert rule["Status"] == "Enabled" and rule["Filter"] == {"Prefix": ""}
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert "Expiration" not in rule  # current states never expire
    [asked] = sent["PutBucketLifecycleConfiguration", BUCKET]["LifecycleConfiguration"]["Rules"]
    assert asked["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90, "NewerNoncurrentVersions": 10}


def test_the_state_bucket_stays_versioned_kms_encrypted_private_and_tls_only(s3):
    ensure_state_bucket(BUCKET, REGION)
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    [sse] = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert all(s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"].values())
    assert statements(s3, BUCKET)["TlsOnly"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_state_bucket_access_is_logged_to_its_own_bucket(s3):
    ensure_state_bucket(BUCKET, REGION)
    logging = s3.get_bucket_logging(Bucket=BUCKET)["LoggingEnabled"]
    assert logging == {"TargetBucket": LOGS, "TargetPrefix": f"{BUCKET}/"}


def test_the_access_log_bucket_is_sse_s3_private_and_written_only_by_s3_logging_for_this_bucket(s3):
    ensure_state_bucket(BUCKET, REGION)
    [sse] = s3.get_bucket_encryption(Bucket=LOGS)["ServerSideEncryptionConfiguration"]["Rules"]
    assert sse["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}  # no SSE-KMS for log delivery
    assert all(s3.get_public_access_block(Bucket=LOGS)["PublicAccessBlockConfiguration"].values())
    assert s3.get_bucket_ownership_controls(Bucket=LOGS)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]
    policy = statements(s3, LOGS)
    write = policy["S3ServerAccessLogs"]
    assert write["Principal"] == {"Service": "logging.s3.amazonaws.com"} and write["Action"] == ["s3:PutObject"]
    assert write["Resource"] == f"arn:aws:s3:::{LOGS}/*"
    assert write["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{BUCKET}"},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }
    assert policy["TlsOnly"]["Effect"] == "Deny"
    rule = rule_of(s3, LOGS)
    assert rule["Expiration"] == {"Days": 365} and rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_a_second_run_checks_and_a_bucket_made_by_hand_is_brought_into_line(s3):
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    assert ensure_state_bucket(BUCKET, REGION).startswith(f"checked s3://{BUCKET}")
    assert ensure_state_bucket(BUCKET, REGION).startswith(f"checked s3://{BUCKET}")
    assert rule_of(s3, BUCKET)["ID"] == "expire-old-state-versions"
    assert s3.get_bucket_logging(Bucket=BUCKET)["LoggingEnabled"]["TargetBucket"] == LOGS
