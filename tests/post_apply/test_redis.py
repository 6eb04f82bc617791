"""Redis: TLS only, encrypted at rest with our key, failover across zones; and on the wire,
TLS with a certificate that verifies, no plaintext, IAM sign-in for the application user.

The network probes connect to the primary endpoint. On AWS it is reachable only from inside
the VPC: from elsewhere (a GitHub runner) they are skipped saying so. On the emulator the
endpoint is its Redis data plane (infra/emulator/planes/redis.py), and an endpoint that
does not answer there is a failure, not a skip.
"""

from __future__ import annotations

import socket
import ssl

import boto3
import pytest
import redis
from botocore.credentials import Credentials

from tests.post_apply.conftest import ca_bundle, elasticache_iam_token, expect, reachable

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def group(aws, outputs):
    return aws("elasticache").describe_replication_groups(ReplicationGroupId=outputs["redis_replication_group_id"])[
        "ReplicationGroups"
    ][0]


def test_transit_encryption_is_required(group):
    expect(group.get("TransitEncryptionEnabled"), True, "Redis transit encryption")


def test_encrypted_at_rest_with_the_data_key(group, outputs):
    expect(group.get("AtRestEncryptionEnabled"), True, "Redis at-rest encryption")
    expect(group.get("KmsKeyId"), outputs["data_key_arn"], "Redis KMS key")


def test_fails_over_automatically_across_zones(group, aws, cfg):
    expect(group.get("AutomaticFailover"), "enabled", "Redis automatic failover")
    expect(group.get("MultiAZ"), "enabled", "Redis Multi-AZ")
    members = group["MemberClusters"]
    expect(len(members), cfg.components.redis.num_cache_clusters, "Redis member clusters")
    zones = [
        aws("elasticache").describe_cache_clusters(CacheClusterId=m)["CacheClusters"][0]["PreferredAvailabilityZone"]
        for m in members
    ]
    expect(len(set(zones)), len(zones), f"distinct zones of the members {zones}")


# --- on the wire ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def endpoint(group) -> tuple[str, int]:
    """The primary endpoint, if this machine can reach it."""
    address = group["NodeGroups"][0]["PrimaryEndpoint"]
    host, port = address["Address"], int(address["Port"])
    reachable(
        "Redis primary endpoint",
        host,
        port,
        timeout=TIMEOUT,
        log_hint=f"redis {group['ReplicationGroupId']}",
        unreachable="ElastiCache answers only inside its VPC. Run `infra probe` from a host in the VPC whose security "
        "group the cache admits (as it admits the LMS) to probe TLS and sign-in.",
    )
    return host, port


def _client(host: str, port: int, username: str, password: str) -> redis.Redis:
    return redis.Redis(
        host=host,
        port=port,
        ssl=True,
        ssl_ca_certs=ca_bundle(),
        ssl_check_hostname=True,
        username=username,
        password=password,
        socket_timeout=TIMEOUT,
        socket_connect_timeout=TIMEOUT,
    )


def test_a_tls_handshake_succeeds_and_the_certificate_verifies(endpoint):
    host, port = endpoint
    context = ssl.create_default_context(cafile=ca_bundle())
    try:
        with (
            socket.create_connection((host, port), timeout=TIMEOUT) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            version = tls.version()
    except (ssl.SSLError, OSError) as exc:
        pytest.fail(
            f"Redis {host}:{port}: expected a TLS handshake with a certificate valid for {host} "
            f"(trusting {ca_bundle() or 'the system store'}), found: {exc}"
        )
    assert version in ("TLSv1.2", "TLSv1.3"), f"Redis {host}:{port}: expected TLS 1.2 or newer, found {version}"


def test_a_plaintext_connection_is_refused_or_gets_no_answer(endpoint):
    host, port = endpoint
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT) as plain:
            plain.sendall(b"PING\r\n")
            answer = plain.recv(64)
    except (TimeoutError, ConnectionError):
        return  # refused, reset, or silent: no plaintext service
    assert answer == b"", (
        f"Redis {host}:{port}: expected a plaintext PING to be refused or get no answer, found {answer!r} "
        "(transit encryption is not required: its mode is preferred or it is off)"
    )


def test_the_app_user_signs_in_with_an_iam_token_and_ping_answers_pong(endpoint, group, outputs, cfg):
    host, port = endpoint
    user = outputs["redis_app_user"]
    token = elasticache_iam_token(group["ReplicationGroupId"], user, cfg.region)
    try:
        answered = _client(host, port, user, token).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis {host}:{port}: expected AUTH {user} <IAM token> then PING to answer PONG, found: {exc!r}")
    expect(answered, True, f"Redis {host}:{port}: PING after AUTH {user} <IAM token> answered PONG")


def test_a_wrong_token_is_refused(endpoint, group, outputs, cfg):
    host, port = endpoint
    user = outputs["redis_app_user"]
    credentials = boto3.Session().get_credentials()
    assert credentials is not None, "no AWS credentials to sign a token with"
    forged = Credentials(credentials.access_key, "not-" + credentials.secret_key, credentials.token)
    token = elasticache_iam_token(group["ReplicationGroupId"], user, cfg.region, credentials=forged)
    try:
        answered = _client(host, port, user, token).ping()
    except redis.AuthenticationError:
        return
    except redis.RedisError as exc:
        pytest.fail(f"Redis {host}:{port}: expected AUTH with a forged token to be refused (WRONGPASS), found {exc!r}")
    pytest.fail(f"Redis {host}:{port}: expected AUTH with a forged token to be refused, found PING answered {answered}")
