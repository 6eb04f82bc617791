"""A retry of a call the emulator already carried out gets the same answer, not a second run;
what moto does not implement is answered 501, which no SDK retries.

Requests go through the emulator's WSGI application as the AWS SDK for Go sends them
(form-encoded EC2 query calls with the SDK's attempt headers).
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from werkzeug.test import Client

from infra.emulator import fixes, launcher

AUTH = "AWS4-HMAC-SHA256 Credential=test/20261123/sa-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0"


@pytest.fixture(scope="module")
def client():
    from infra.emulator import wsgi

    yield Client(wsgi.app)
    fixes.undo()


def ec2(client: Client, action: str, *, call: str | None = None, attempt: int = 1, **params: str) -> tuple[int, str]:
    headers = {
        "Authorization": AUTH,
        "amz-sdk-invocation-id": call or str(uuid.uuid4()),
        "amz-sdk-request": f"attempt={attempt}; max=25",
    }
    form = urlencode({"Action": action, "Version": "2016-11-15", **params})
    response = client.post("/", data=form, headers=headers, content_type="application/x-www-form-urlencoded")
    return response.status_code, response.get_data(as_text=True)


def between(text: str, tag: str) -> str:
    return text.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0]


DEFAULT_EGRESS = {
    "IpPermissions.1.IpProtocol": "-1",
    "IpPermissions.1.FromPort": "0",
    "IpPermissions.1.ToPort": "0",
    "IpPermissions.1.IpRanges.1.CidrIp": "0.0.0.0/0",
}


@pytest.fixture
def group(client) -> str:
    _, vpc = ec2(client, "CreateVpc", CidrBlock="10.9.0.0/16")
    _, created = ec2(
        client,
        "CreateSecurityGroup",
        GroupName=f"g-{uuid.uuid4().hex[:8]}",
        GroupDescription="d",
        VpcId=between(vpc, "vpcId"),
    )
    return between(created, "groupId")


def test_a_retry_of_a_revoke_that_was_carried_out_gets_the_same_success(client, group):
    call = str(uuid.uuid4())
    first = ec2(client, "RevokeSecurityGroupEgress", call=call, GroupId=group, **DEFAULT_EGRESS)
    again = ec2(client, "RevokeSecurityGroupEgress", call=call, attempt=2, GroupId=group, **DEFAULT_EGRESS)
    assert first[0] == 200
    assert again == first


def test_a_second_call_is_still_refused_as_on_aws(client, group):
    assert ec2(client, "RevokeSecurityGroupEgress", GroupId=group, **DEFAULT_EGRESS)[0] == 200
    status, text = ec2(client, "RevokeSecurityGroupEgress", attempt=2, GroupId=group, **DEFAULT_EGRESS)
    assert status == 400
    assert "InvalidPermission.NotFound" in text


def test_a_retry_after_an_error_runs_again(client):
    call = str(uuid.uuid4())
    assert ec2(client, "DescribeSecurityGroups", call=call, **{"GroupId.1": "sg-0000000000000000"})[0] == 400
    _, vpc = ec2(client, "CreateVpc", CidrBlock="10.8.0.0/16")
    assert ec2(client, "DescribeVpcs", call=call, attempt=2, **{"VpcId.1": between(vpc, "vpcId")})[0] == 200


def test_an_action_moto_does_not_implement_is_answered_501_naming_it(client):
    status, body = ec2(client, "GetSnapshotBlockPublicAccessState")
    assert status == 501, body
    assert "<Code>NotImplemented</Code>" in body and "get_snapshot_block_public_access_state" in body
    assert ec2(client, "DescribeVpcs")[0] == 200  # what it implements is answered as before


def test_a_service_moto_has_no_backend_for_is_answered_501(client):
    """WAF Classic (`waf-regional`, which Prowler reads): no backend in moto."""
    headers = {
        "Authorization": AUTH.replace("/ec2/", "/waf-regional/"),
        "X-Amz-Target": "AWSWAF_Regional_20161128.ListRules",
    }
    response = client.post("/", data="{}", headers=headers, content_type="application/x-amz-json-1.1")
    assert response.status_code == 501, response.get_data(as_text=True)
    assert json.loads(response.get_data())["__type"] == "NotImplemented"


def test_an_sdk_gets_the_501_at_its_first_attempt_and_the_emulator_keeps_serving():
    """boto3 with retries on (standard mode, 5 attempts), over HTTPS to a real emulator: the
    unimplemented call fails at once with the 501 (a 500 is retried with back-off), and the
    next call on the same client is answered."""
    with launcher.running("123456789012", "sa-east-1", fresh=True):
        retrying = Config(retries={"mode": "standard", "max_attempts": 5})
        cloudtrail = boto3.client("cloudtrail", region_name="sa-east-1", config=retrying)
        with pytest.raises(ClientError) as caught:
            cloudtrail.lookup_events()
        trails = cloudtrail.describe_trails()["trailList"]
    error, meta = caught.value.response["Error"], caught.value.response["ResponseMetadata"]
    assert (meta["HTTPStatusCode"], meta["RetryAttempts"], error["Code"]) == (501, 0, "NotImplemented"), meta
    assert "lookup_events" in error["Message"]
    assert trails == []
