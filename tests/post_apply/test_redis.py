"""Redis: TLS only, encrypted at rest with our key, failover across zones."""

from __future__ import annotations

import socket
import ssl

import pytest

from tests.post_apply.conftest import expect


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


def test_a_tls_connection_succeeds_and_plaintext_is_refused(group):
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    host, port = endpoint["Address"], int(endpoint["Port"])
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.skip(
            f"{host}:{port} is not reachable from here ({exc}); the emulator has no data plane, "
            "and real Redis is reachable only from inside the VPC"
        )
    context = ssl.create_default_context()
    with socket.create_connection((host, port), timeout=5) as raw, context.wrap_socket(raw, server_hostname=host):
        pass  # the handshake is the test
    with socket.create_connection((host, port), timeout=5) as plain:
        plain.sendall(b"PING\r\n")
        answer = plain.recv(64)
    assert not answer.startswith(b"+PONG"), "a plaintext PING was answered: TLS is not enforced"
