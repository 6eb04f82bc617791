"""The Redis data plane of the emulator (infra/emulator/planes/redis.py), through a real
emulator (gunicorn over HTTPS, as `infra up` starts it), boto3 and redis-py over TCP and TLS.

Each group is made as our module makes it: a user group with the `default` user switched
off and an IAM-authenticated application user.
"""

from __future__ import annotations

import datetime
import socket
import uuid
from collections.abc import Iterator

import boto3
import pytest
import redis
from botocore.credentials import Credentials

from infra.emulator import launcher
from infra.emulator.planes.redis import address, verify_iam_token
from tests.post_apply.conftest import elasticache_iam_token

REGION = "sa-east-1"
APP = "app-user"


@pytest.fixture(scope="module")
def ec(emulator):
    client = boto3.client("elasticache", region_name=REGION)
    client.create_user(
        UserId="users-default",
        UserName="default",
        Engine="redis",
        AccessString="off -@all",
        AuthenticationMode={"Type": "no-password-required"},
    )
    client.create_user(
        UserId=APP,
        UserName=APP,
        Engine="redis",
        AccessString="on ~* +@all -@dangerous",
        AuthenticationMode={"Type": "iam"},
    )
    client.create_user_group(UserGroupId="users", Engine="redis", UserIds=["users-default", APP])
    return client


def create(ec, **settings) -> tuple[str, str, int]:
    """A replication group: (its id, its primary endpoint's address and port)."""
    group_id = f"sessions-{uuid.uuid4().hex[:8]}"
    group = ec.create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription="sessions",
        Engine="redis",
        CacheNodeType="cache.t4g.small",
        NumCacheClusters=2,
        Port=6379,
        **settings,
    )["ReplicationGroup"]
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    return group_id, endpoint["Address"], int(endpoint["Port"])


@pytest.fixture
def tls_group(ec) -> Iterator[tuple[str, str, int]]:
    group = create(ec, TransitEncryptionEnabled=True, UserGroupIds=["users"])
    yield group
    ec.delete_replication_group(ReplicationGroupId=group[0])


def client(host: str, port: int, *, tls: bool = True, **auth: str) -> redis.Redis:
    options = {"ssl": True, "ssl_ca_certs": str(launcher.CERT_FILE), "ssl_check_hostname": True} if tls else {}
    return redis.Redis(host=host, port=port, socket_timeout=5, **options, **auth)


def app_login(group_id: str) -> dict[str, str]:
    return {"username": APP, "password": elasticache_iam_token(group_id, APP, REGION)}


def plaintext_ping(host: str, port: int) -> bytes:
    """What a plaintext PING gets back: b'' when the server closes without an answer."""
    with socket.create_connection((host, port), timeout=5) as plain:
        plain.sendall(b"PING\r\n")
        try:
            return plain.recv(64)
        except ConnectionResetError:
            return b""


def test_each_group_is_served_on_its_own_loopback_address_and_port(ec, tls_group):
    group_id, host, port = tls_group
    assert (host, port) == (address(group_id), 6379)
    assert host.startswith("127.") and not host.startswith("127.0.0.")
    group = ec.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]
    node_group = group["NodeGroups"][0]
    assert node_group["ReaderEndpoint"]["Address"] == host
    assert {m["ReadEndpoint"]["Address"] for m in node_group["NodeGroupMembers"]} == {host}


def test_tls_ping_with_an_iam_token_answers_pong_and_the_access_string_holds(tls_group):
    group_id, host, port = tls_group
    cache = client(host, port, **app_login(group_id))
    assert cache.ping() is True
    assert cache.set("session", "42") is True
    assert cache.get("session") == b"42"
    with pytest.raises(redis.exceptions.NoPermissionError):
        cache.flushall()  # -@dangerous


def test_under_required_plaintext_gets_no_answer(tls_group):
    _, host, port = tls_group
    assert plaintext_ping(host, port) == b""


def test_a_wrong_token_an_unknown_user_and_no_auth_are_refused(tls_group):
    group_id, host, port = tls_group
    stolen = Credentials("emulator", "not-the-secret")
    forged = elasticache_iam_token(group_id, APP, REGION, credentials=stolen)
    for auth in (
        {"username": APP, "password": forged},
        {"username": APP, "password": elasticache_iam_token("another-group", APP, REGION)},
        {"username": "nobody", "password": elasticache_iam_token(group_id, "nobody", REGION)},
        {"username": "default", "password": ""},
    ):
        with pytest.raises(redis.exceptions.AuthenticationError):
            client(host, port, **auth).ping()
    with pytest.raises(redis.exceptions.AuthenticationError, match="Authentication required"):
        client(host, port).get("session")


def test_preferred_allows_both_and_required_again_refuses_plaintext(ec, tls_group):
    group_id, host, port = tls_group
    ec.modify_replication_group(ReplicationGroupId=group_id, TransitEncryptionMode="preferred", ApplyImmediately=True)
    assert client(host, port, tls=False, **app_login(group_id)).ping() is True
    assert client(host, port, **app_login(group_id)).ping() is True
    ec.modify_replication_group(ReplicationGroupId=group_id, TransitEncryptionMode="required", ApplyImmediately=True)
    assert plaintext_ping(host, port) == b""
    assert client(host, port, **app_login(group_id)).ping() is True


def test_without_transit_encryption_only_plaintext_and_the_auth_token_are_accepted(ec):
    token = "a-long-enough-auth-token"
    group_id, host, port = create(ec, AuthToken=token)
    try:
        assert client(host, port, tls=False, password=token).ping() is True
        with pytest.raises(redis.exceptions.AuthenticationError):
            client(host, port, tls=False, password="a-wrong-auth-token-here").ping()
        with pytest.raises(redis.exceptions.ConnectionError):
            client(host, port, password=token).ping()  # the TLS handshake is closed
    finally:
        ec.delete_replication_group(ReplicationGroupId=group_id)


def test_after_delete_nothing_listens_on_the_address(ec):
    group_id, host, port = create(ec, TransitEncryptionEnabled=True, UserGroupIds=["users"])
    assert client(host, port, **app_login(group_id)).ping() is True
    ec.delete_replication_group(ReplicationGroupId=group_id)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, port), timeout=5).close()


def test_the_token_check_refuses_what_aws_would():
    """verify_iam_token without a server: each way a token can be wrong, and the reason given."""
    token = elasticache_iam_token("sessions", APP, REGION, credentials=Credentials("emulator", "emulator"))
    good = {
        "group_id": "sessions",
        "user_id": APP,
        "region": REGION,
        "secret": lambda key: "emulator" if key == "emulator" else None,
    }
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=901)
    assert verify_iam_token(token, **good) is None
    assert verify_iam_token(token, **{**good, "now": later}) == "the token has expired"
    assert verify_iam_token(token, **{**good, "region": "us-east-1"}) == (
        "the token's credential scope is not elasticache in this region"
    )
    assert verify_iam_token(token, **{**good, "user_id": "someone"}) == (
        "the token is not a connect request for this user"
    )
    assert verify_iam_token(token, **{**good, "secret": lambda key: None}) == (
        "the token is signed with an unknown access key"
    )
    assert verify_iam_token(token, **{**good, "secret": lambda key: "other"}) == (
        "the token's signature does not match"
    )
