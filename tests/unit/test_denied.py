"""A refusal in Terraform's output, found and named as an IAM action (infra/runner/denied.py).
The end-to-end case (an apply as the plan role) is tests/pipeline/test_as_ci_roles.py."""

from __future__ import annotations

from infra.runner.denied import one_line, refused_action

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
NOT_A_REFUSAL = """\
│ Error: reading SSM Parameter (/t/source): operation error SSM: GetParameter, https response
│ error StatusCode: 400, RequestID: 77, api error ParameterNotFound: not found
│ Error: operation error S3: HeadObject, https response error StatusCode: 404, api error NotFound
"""


def test_the_first_refused_call_is_named_as_its_iam_action():
    assert refused_action(LOCK_REFUSED) == "s3:PutObject"  # not the lock read's 404 after it
    assert refused_action(PROVIDER_REFUSED) == "elasticloadbalancing:CreateListener"


def test_errors_that_are_not_refusals_are_not_called_denied():
    assert refused_action(NOT_A_REFUSAL) is None
    assert one_line(NOT_A_REFUSAL, {}) is None
    assert refused_action("Error: Invalid reference\n  on cdk.tf.json line 4") is None
