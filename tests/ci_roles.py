"""What the tests that prove the CI roles add to infra/emulator/identities.py: an
administrator to check the account with once IAM is enforced, and the state bucket's writes."""

from __future__ import annotations

from typing import Any

import boto3

from modules.ci_identities import documents
from modules.ci_identities.documents import CiAccount


def bucket_writes(s3: Any, bucket: str) -> list[str]:
    """Every object version and delete marker in a (versioned) bucket: what was ever written
    to it, a lock file that Terraform wrote and deleted at once included."""
    found = s3.list_object_versions(Bucket=bucket)
    return sorted(f"{v['Key']}@{v['VersionId']}" for v in found.get("Versions", []) + found.get("DeleteMarkers", []))


def administrator(iam: Any, account: CiAccount) -> boto3.Session:
    """An IAM user with AdministratorAccess, and its session: who checks the account once IAM
    is enforced (the emulator's default credentials then belong to no one)."""
    iam.create_user(UserName="administrator")
    iam.attach_user_policy(UserName="administrator", PolicyArn=account.managed(documents.ADMIN_MANAGED))
    key = iam.create_access_key(UserName="administrator")["AccessKey"]
    return boto3.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=account.region
    )
