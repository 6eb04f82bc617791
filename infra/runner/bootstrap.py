"""The state bucket from outside Terraform: made bare when missing, and checked read-only.

The bucket and every setting it keeps (versioned, KMS-encrypted, private, TLS-only, old
versions expiring, access logged) are the account bootstrap stack's
(modules/ci_identities/construct.py), applied by `infra bootstrap` alone. That stack keeps
its own state in the bucket, so the bucket must exist before its first apply:
`create_state_bucket` makes it, versioned from the first state on, and the stack imports
it. On the emulator the same call is the quick set-up of an account for plans and tests.
Plan and apply only check that it is there (`require_state_bucket`) and write nothing to it
but states.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.errors import Failed


class NoStateBucket(Failed):
    """The state bucket is missing or unreadable: bootstrap is an administrator's step, not plan's."""


# What AWS answers for a bucket, object or IAM entity that is not there (a HEAD has no body:
# its code is the status).
MISSING = {"404", "NotFound", "NoSuchBucket", "NoSuchKey", "NoSuchEntity"}


def _exists(read: Callable[[], object]) -> bool:
    """Whether the read finds what it reads; any other error is raised."""
    try:
        read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in MISSING:
            return False
        raise
    return True


def create_state_bucket(bucket: str, region: str) -> str:
    """Create the bucket, versioned, when it is missing; say which."""
    s3 = boto3.client("s3", region_name=region)
    if _exists(partial(s3.head_bucket, Bucket=bucket)):
        return f"found s3://{bucket}"
    config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **config)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return f"created s3://{bucket} (versioned; the bootstrap stack applies the rest)"


def state_exists(bucket: str, key: str, region: str) -> bool:
    s3 = boto3.client("s3", region_name=region)
    return _exists(partial(s3.head_object, Bucket=bucket, Key=key))


def require_state_bucket(bucket: str, region: str, env: str) -> str:
    """Check, read-only, that the state bucket exists and can be read (plan and apply never
    create or change it: under the read-only plan role that would be AccessDenied)."""
    s3 = boto3.client("s3", region_name=region)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in MISSING:
            raise NoStateBucket(
                f"state bucket s3://{bucket} does not exist: an administrator runs `infra bootstrap {env}` once"
            ) from None
        if code in {"403", "AccessDenied"}:
            raise NoStateBucket(f"state bucket s3://{bucket}: access denied (the role cannot list it)") from None
        raise
    return f"state bucket s3://{bucket} (read only; `infra bootstrap {env}` creates and hardens it)"


ADOPTIONS = "adopt.tf.json"  # beside the stack's JSON in its workspace


def adoptions(doc: dict[str, Any], account: str, region: str) -> list[dict[str, str]]:
    """`import` blocks for the bootstrap stack's IAM objects and buckets that already exist in
    the account: an account set up by hand (the README's steps before this stack), GitHub's
    OIDC provider made for another use, or a lost bootstrap state. Those in the stack's state
    already are left out, and so is one that does not exist (the stack creates it). Written
    beside the stack's JSON (ADOPTIONS) for its apply, so the synthesized stack stays the
    same in every account. `account`: the account's id, which the caller has checked."""
    iam, s3 = boto3.client("iam", region_name=region), boto3.client("s3", region_name=region)
    resources = doc.get("resource", {})

    def each(kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(f"{kind}.{address}", props) for address, props in resources.get(kind, {}).items()]

    role_of = {f"${{{address}.id}}": props["name"] for address, props in each("aws_iam_role")}
    candidates: list[tuple[str, str, Callable[[], object]]] = []  # (address, import ID, a read)
    for address, props in each("aws_iam_openid_connect_provider"):
        arn = f"arn:aws:iam::{account}:oidc-provider/{props['url'].removeprefix('https://')}"
        candidates.append((address, arn, partial(iam.get_open_id_connect_provider, OpenIDConnectProviderArn=arn)))
    for address, props in each("aws_iam_policy"):
        arn = f"arn:aws:iam::{account}:policy/{props['name']}"
        candidates.append((address, arn, partial(iam.get_policy, PolicyArn=arn)))
    for address, props in each("aws_iam_role"):
        candidates.append((address, props["name"], partial(iam.get_role, RoleName=props["name"])))
    for address, props in each("aws_iam_role_policy"):
        role, name = role_of[props["role"]], props["name"]
        candidates.append((address, f"{role}:{name}", partial(iam.get_role_policy, RoleName=role, PolicyName=name)))
    for address, props in each("aws_s3_bucket"):
        candidates.append((address, props["bucket"], partial(s3.head_bucket, Bucket=props["bucket"])))
    found = [{"to": address, "id": ident} for address, ident, read in candidates if _exists(read)]
    attached = {  # the managed policies of each role found above
        block["id"]: {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=block["id"])["AttachedPolicies"]}
        for block in found
        if block["to"].startswith("aws_iam_role.")
    }
    for address, props in each("aws_iam_role_policy_attachment"):
        role = role_of[props["role"]]
        if props["policy_arn"] in attached.get(role, ()):
            found.append({"to": address, "id": f"{role}/{props['policy_arn']}"})
    covered = {block["to"] for block in doc.get("import", [])}  # the state bucket's, in the stack itself
    managed = _in_state(s3, doc["terraform"]["backend"]["s3"])
    return [block for block in found if block["to"] not in covered | managed]


def _in_state(s3: Any, backend: dict[str, Any]) -> set[str]:
    """The addresses of the resources in the stack's state (none before its first apply)."""
    try:
        state = json.loads(s3.get_object(Bucket=backend["bucket"], Key=backend["key"])["Body"].read())
    except ClientError as exc:
        if exc.response["Error"]["Code"] in MISSING:
            return set()
        raise
    return {f"{r['type']}.{r['name']}" for r in state.get("resources", []) if r.get("mode") == "managed"}
