"""A refusal in Terraform's errors, found and named as an IAM action (infra/runner/denied.py).
The end-to-end case (an apply as the plan role) is tests/pipeline/test_read_only_plan.py."""

from __future__ import annotations

from infra.runner.denied import one_line, refused

# what Terraform 1.11 printed for an apply as the plan role (the lock file is its first write)
LOCK_REFUSED = """\
╷
│ Error: Error acquiring the state lock
│
│ Error message: operation error S3: PutObject, https response error
│ StatusCode: 403, RequestID:
│ Rn4fGhSA8f6Ub56gGRNFDf1SZfzNdOyn8TUFsWiRKRsNwz6HgXJu, HostID:
│ 9Gjjt1m+cjU4OPvX9O9/8RuvnG41MRb/18Oux2o5H5MY7ISNTlXN+Dz9IG62/ILVxhAGI0qyPfg=,
│ api error AccessDenied: Access Denied
│ unable to retrieve file from S3 bucket 'tiny-state' with key
│ 't/producer/terraform.tfstate.tflock': operation error S3: GetObject, https
│ response error StatusCode: 404, RequestID:
│ jyLGe1g2cogKYZMMHCKKA3bQzPucYCEWPS5TGoYKVth5lyBxs4iT, HostID:
│ 9Gjjt1m+cjU4OPvX9O9/8RuvnG41MRb/18Oux2o5H5MY7ISNTlXN+Dz9IG62/ILVxhAGI0qyPfg=,
│ NoSuchKey:
╵
"""
PROVIDER_REFUSED = """\
│ Error: creating ELBv2 Listener: operation error Elastic Load Balancing v2: CreateListener,
│ https response error StatusCode: 400, RequestID: 1f2e, api error
│ AccessDenied: User: arn:aws:sts::111111111111:assumed-role/r/s is not authorized
"""
NAMED_IN_THE_MESSAGE = """\
│ Error: creating EFS Access Point: operation error EFS: CreateAccessPoint, https response
│ error StatusCode: 403, RequestID: 9, api error AccessDeniedException: User:
│ arn:aws:sts::111111111111:assumed-role/r/s is not authorized to perform:
│ elasticfilesystem:CreateAccessPoint on resource: arn:aws:elasticfilesystem:sa-east-1:1:file-system/fs-1
"""
HEAD_REFUSED = """\
│ Error: reading S3 Bucket (tiny-data): operation error S3: HeadBucket, https response error
│ StatusCode: 403, RequestID: 5, HostID: 6, api error Forbidden: Forbidden
"""
EFS_UNNAMED = """\
│ Error: operation error EFS: DescribeMountTargets, https response error StatusCode: 403,
│ api error AccessDeniedException: Access Denied
"""
NOT_A_REFUSAL = """\
│ Error: reading SSM Parameter (/t/source): operation error SSM: GetParameter, https response
│ error StatusCode: 400, RequestID: 77, api error ParameterNotFound: not found
│ Error: operation error S3: HeadObject, https response error StatusCode: 404, api error NotFound
"""


def test_the_first_refused_call_is_named_as_its_iam_action():
    assert refused(LOCK_REFUSED) == "s3:PutObject"  # not the lock read's 404 after it
    assert refused(PROVIDER_REFUSED) == "elasticloadbalancing:CreateListener"
    assert refused(NAMED_IN_THE_MESSAGE) == "elasticfilesystem:CreateAccessPoint"  # as AWS names it
    assert refused(EFS_UNNAMED) == "elasticfilesystem:DescribeMountTargets"  # the SDK's EFS is IAM's elasticfilesystem


def test_an_s3_call_is_named_by_the_action_it_needs_and_a_bodyless_403_counts():
    """A HEAD refused has no body (the SDK says `Forbidden`), and HeadBucket needs s3:ListBucket."""
    assert refused(HEAD_REFUSED) == "s3:ListBucket"
    assert refused(HEAD_REFUSED.replace("StatusCode: 403", "StatusCode: 404")) is None


def test_errors_that_are_not_refusals_are_not_called_denied():
    assert refused(NOT_A_REFUSAL) is None
    assert one_line(NOT_A_REFUSAL, {}) is None
    assert refused("Error: Invalid reference\n  on cdk.tf.json line 4") is None
