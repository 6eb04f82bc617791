"""Resources tagged as a stack's that its state does not hold (infra/runner/orphans.py), on moto
in this process: an untracked key is named; a key in the state, a key pending deletion, and
a tagged resource of a kind the state does not hold (what AWS creates with our tags) are not."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from infra.runner import orphans
from infra.synth.graph import StackNode

REGION, BUCKET, KEY = "sa-east-1", "state", "dev/kms/terraform.tfstate"
TAGS = {"Environment": "dev", "Component": "kms"}


def _node(tmp_path: Path, tags: dict[str, str]) -> StackNode:
    provider = {"region": REGION, **({"default_tags": [{"tags": tags}]} if tags else {})}
    doc = {
        "terraform": {"backend": {"s3": {"bucket": BUCKET, "key": KEY, "region": REGION}}},
        "provider": {"aws": [provider, {"alias": "global", "region": "us-east-1"}]},
    }
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps(doc))
    return StackNode("dev-kms", "dev", "kms", "environment", "1", REGION, tmp_path, path, ())


def _key(tags: dict[str, str]) -> str:
    kms = boto3.client("kms", region_name=REGION)
    arn: str = kms.create_key(Tags=[{"TagKey": k, "TagValue": v} for k, v in tags.items()])["KeyMetadata"]["Arn"]
    return arn


def _state(*arns: str, key: str = KEY) -> None:
    resources = [
        {"mode": "managed", "type": "aws_kms_key", "name": f"k{i}", "instances": [{"attributes": {"arn": arn}}]}
        for i, arn in enumerate(arns)
    ]
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=key, Body=json.dumps({"resources": resources}))


@pytest.fixture
def bucket(in_process_aws):
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )


def test_an_untracked_key_is_named_and_what_aws_makes_or_deletes_is_not(bucket, tmp_path):
    tracked, untracked, deleted = _key(TAGS), _key(TAGS), _key(TAGS)
    other_stack = _key({**TAGS, "Component": "redis"})
    boto3.client("kms", region_name=REGION).schedule_key_deletion(
        KeyId=deleted.rsplit("/", 1)[1], PendingWindowInDays=7
    )
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/made/by/aws", Value="x", Type="String", Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()]
    )
    _state(tracked)
    node = _node(tmp_path, TAGS)
    assert orphans.untracked(node) == [untracked]
    said = orphans.report(node, "/work/dev-kms")
    assert said.startswith("1 resource(s) tagged as dev-kms's are not in its state")
    assert untracked in said and tracked not in said and other_stack not in said
    assert said.endswith("import each into the state (`terraform import ADDRESS ID` in /work/dev-kms) or delete it")
    _state(tracked, untracked)  # imported
    assert orphans.report(node, "/work/dev-kms") == ""


def test_no_state_or_no_tags_means_nothing_to_compare(bucket, tmp_path):
    _key(TAGS)
    assert orphans.untracked(_node(tmp_path, TAGS)) == []  # never applied: nothing is the stack's yet
    _state()
    assert orphans.untracked(_node(tmp_path, {})) == []


def test_a_check_that_cannot_run_says_why_and_does_not_fail_the_apply(in_process_aws, tmp_path):
    said = orphans.report(_node(tmp_path, TAGS), "/work/dev-kms")  # no state bucket at all
    assert said.startswith("could not look for resources missing from the state (")


def test_kinds_and_task_definition_families():
    assert orphans.kind("arn:aws:kms:sa-east-1:1:key/abc") == ("kms", "key")
    assert orphans.kind("arn:aws:rds:sa-east-1:1:db:main") == ("rds", "db")
    assert orphans.kind("arn:aws:s3:::bucket") == ("s3", "")
    assert orphans.kind("not-an-arn") == ("", "")
    old, new = "arn:aws:ecs:sa-east-1:1:task-definition/lms:3", "arn:aws:ecs:sa-east-1:1:task-definition/lms:4"
    assert orphans._same(old) == orphans._same(new) == "arn:aws:ecs:sa-east-1:1:task-definition/lms"


def test_what_a_copy_of_the_environment_holds_is_not_named(bucket, tmp_path):
    """A copy (`dev` with a suffix) carries the same tags; its state is of the same component."""
    ours, the_copys = _key(TAGS), _key(TAGS)
    _state(ours)
    _state(the_copys, key="dev-pr42/kms/terraform.tfstate")
    _state(_key(TAGS), key="dev/redis/terraform.tfstate")  # another component's state does not count
    node = _node(tmp_path, TAGS)
    assert the_copys not in orphans.untracked(node)
    assert len(orphans.untracked(node)) == 1


def test_task_definitions_are_compared_by_family_in_a_copys_state_too(bucket, tmp_path):
    ecs = boto3.client("ecs", region_name=REGION)
    tags = [{"key": k, "value": v} for k, v in TAGS.items()]

    def revision(family: str) -> str:
        container = [{"name": "app", "image": "app:1", "memory": 512}]
        found = ecs.register_task_definition(family=family, containerDefinitions=container, tags=tags)
        return str(found["taskDefinition"]["taskDefinitionArn"])

    ours, copys_old, copys_new = revision("lms"), revision("lms-pr42"), revision("lms-pr42")
    _state(ours)
    _state(copys_new, key="dev-pr42/kms/terraform.tfstate")  # the copy holds its newest revision
    assert orphans.untracked(_node(tmp_path, TAGS)) == []
    assert copys_old.endswith(":1") and copys_new.endswith(":2")
