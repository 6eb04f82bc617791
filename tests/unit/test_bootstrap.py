"""The state bucket from outside Terraform, on in-process moto: made bare and versioned when
missing (the bootstrap stack keeps its own state there), found when it is there, and
required, read-only, by plan and apply."""

from __future__ import annotations

import boto3
import pytest

from infra.runner.bootstrap import NoStateBucket, create_state_bucket, require_state_bucket

REGION = "sa-east-1"
BUCKET = "edutech-tfstate-123456789012"
pytestmark = pytest.mark.usefixtures("in_process_aws")


def test_a_missing_bucket_is_created_versioned_and_an_existing_one_is_left_as_it_is():
    s3 = boto3.client("s3", region_name=REGION)
    assert create_state_bucket(BUCKET, REGION).startswith(f"created s3://{BUCKET} (versioned;")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    assert create_state_bucket(BUCKET, REGION) == f"found s3://{BUCKET}"
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Suspended"  # the stack's to set, not this


def test_plan_and_apply_require_the_bucket_and_name_the_command_that_makes_it():
    with pytest.raises(NoStateBucket, match=r"does not exist: an administrator runs `infra bootstrap dev` once"):
        require_state_bucket(BUCKET, REGION, "dev")
    create_state_bucket(BUCKET, REGION)
    assert require_state_bucket(BUCKET, REGION, "dev").startswith(f"state bucket s3://{BUCKET} (read only;")
