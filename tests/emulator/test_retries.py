"""A retry of a call the emulator already carried out gets the same answer, not a second run.

Requests go through the emulator's WSGI application as the AWS SDK for Go sends them
(form-encoded EC2 query calls with the SDK's attempt headers).
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import pytest
from werkzeug.test import Client

from infra.emulator import fixes

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
