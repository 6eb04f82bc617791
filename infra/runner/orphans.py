"""Resources a stack created that its state does not hold: what an interrupted apply leaves.

Terraform records a resource in the state when it saves the state. A Terraform killed (a
SIGKILL, a lost runner) after AWS created a resource and before the next save leaves that
resource in the account, unknown to the state, and the next apply creates it again. Every
resource of ours carries its stack's tags (the provider's `default_tags`: Environment,
Component, ...), so the Resource Groups Tagging API finds what carries them; what it finds
that the state does not hold is listed after each apply of the stack, with what to do.

What AWS itself creates with our tags must stay out of the list (instances an Auto Scaling
group launches, ECS tasks, snapshots, the old revisions of a task definition, keys pending
deletion): only the kinds of resources the state manages are compared (service and resource
type, read from the ARN), a task definition by its family, and a KMS key pending deletion is
not listed. The tags name an environment's kind, not its copy (`dev` and a `dev` copy with a
suffix tag alike), so what any state of the same component in the bucket holds is not
listed either. The API lists only what supports tagging through it, and lists a deleted
resource for a while after its delete: the message says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import boto3.session
from botocore.exceptions import ClientError

from infra.runner.locks import state_location
from infra.synth.graph import StackNode

_REVISION = re.compile(r"^(arn:[^:]+:ecs:[^:]*:[^:]*:task-definition/[^:]+):\d+$")
_GONE_KEY_STATES = {"PendingDeletion", "PendingReplicaDeletion"}


def stack_tags(doc: dict[str, Any]) -> dict[str, str]:
    """The default tags of the stack's AWS provider (the one without an alias)."""
    providers = doc.get("provider", {}).get("aws", [])
    for provider in providers if isinstance(providers, list) else [providers]:
        if "alias" not in provider:
            default = provider.get("default_tags") or [{}]
            tags: dict[str, str] = (default[0] if isinstance(default, list) else default).get("tags") or {}
            return tags
    return {}


def kind(arn: str) -> tuple[str, str]:
    """(service, resource type) of an ARN: ("kms", "key"), ("ecs", "task-definition"); an
    ARN whose resource has no type (an S3 bucket) has the type ""."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return ("", "")
    resource = parts[5]
    return (parts[2], re.split(r"[/:]", resource, maxsplit=1)[0] if re.search(r"[/:]", resource) else "")


def _same(arn: str) -> str:
    """What an ARN is compared by: a task definition's family, not its revision."""
    return _REVISION.sub(r"\1", arn)


def _arns(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value.startswith("arn:"):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _arns(item)
    elif isinstance(value, list):
        for item in value:
            yield from _arns(item)


def _state(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    state: dict[str, Any] = json.loads(body)
    return state


def _instances(state: dict[str, Any], *, managed_only: bool = False) -> list[dict[str, Any]]:
    return [
        i.get("attributes", {})
        for r in state.get("resources", [])
        if not managed_only or r.get("mode") == "managed"
        for i in r.get("instances", [])
    ]


def _siblings(s3: Any, bucket: str, key: str) -> list[str]:
    """The state keys of the same component in the bucket (`*/<component>/terraform.tfstate`)."""
    tail = "/" + key.split("/", 1)[1] if "/" in key else key
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"].endswith(tail) and o["Key"] != key]


def untracked(node: StackNode) -> list[str]:
    """ARNs tagged as this stack's resources, of a kind its state manages, that neither it
    nor any state of the same component holds."""
    tags = stack_tags(json.loads(node.json_path.read_text()))
    if not tags:
        return []
    bucket, key, region = state_location(node)
    session = boto3.session.Session(region_name=region)  # a session per call: run from many threads
    s3 = session.client("s3")
    state = _state(s3, bucket, key)
    if state is None:
        return []
    kinds = {kind(a["arn"]) for a in _instances(state, managed_only=True) if str(a.get("arn", "")).startswith("arn:")}
    held = {_same(arn) for arn in _arns(_instances(state))}
    pages = session.client("resourcegroupstaggingapi").get_paginator("get_resources")
    filters = [{"Key": name, "Values": [value]} for name, value in sorted(tags.items())]
    found = [r["ResourceARN"] for page in pages.paginate(TagFilters=filters) for r in page["ResourceTagMappingList"]]
    candidates = {arn for arn in found if kind(arn) in kinds and _same(arn) not in held}
    if candidates:
        for sibling in _siblings(s3, bucket, key):
            held |= {_same(arn) for arn in _arns(_instances(_state(s3, bucket, sibling) or {}))}
    return sorted(arn for arn in candidates if _same(arn) not in held and not _key_gone(session, arn))


def _key_gone(session: Any, arn: str) -> bool:
    if kind(arn) != ("kms", "key"):
        return False
    metadata = session.client("kms").describe_key(KeyId=arn)["KeyMetadata"]
    return metadata.get("KeyState") in _GONE_KEY_STATES


def report(node: StackNode, folder: str) -> str:
    """One line for the apply's outcome: "" when nothing is untracked; what is, and what to
    do; or why the check could not run (an apply that succeeded does not fail on it)."""
    try:
        arns = untracked(node)
    except Exception as exc:  # noqa: BLE001 - a check after a successful apply must not fail it
        return f"could not look for resources missing from the state ({type(exc).__name__}: {exc})"
    if not arns:
        return ""
    return (
        f"{len(arns)} resource(s) tagged as {node.name}'s are not in its state (left by an interrupted apply? "
        "the tagging API also lists a resource for a while after its delete): "
        + ", ".join(arns)
        + f"; import each into the state (`terraform import ADDRESS ID` in {folder}) or delete it"
    )
