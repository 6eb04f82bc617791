"""RDS: Multi-AZ, encrypted with our key, private, backed up, password managed by RDS; and
on the wire, a TLS login with the managed master secret answers, a login without TLS is
refused (require_secure_transport).

The network probes connect to the instance's endpoint. On AWS it is reachable only from
inside the VPC: from elsewhere (a GitHub runner) they are skipped saying so. On the emulator
the endpoint is its MySQL data plane (infra/emulator/planes/mysql.py), and an endpoint that
does not answer there is a failure, not a skip.
"""

from __future__ import annotations

import json
import ssl
from typing import Any

import pymysql
import pytest

from tests.post_apply.conftest import ca_bundle, expect, reachable

SECURE_TRANSPORT_REQUIRED = 3159  # MySQL's ER_SECURE_TRANSPORT_REQUIRED


@pytest.fixture(scope="module")
def instance(aws, outputs):
    return aws("rds").describe_db_instances(DBInstanceIdentifier=outputs["db_instance_identifier"])["DBInstances"][0]


def test_multi_az_as_configured(instance, cfg):
    expect(instance["MultiAZ"], cfg.components.database.multi_az, "RDS Multi-AZ")


def test_the_standby_runs_in_another_zone_than_the_primary(instance, cfg):
    """Multi-AZ is a standby somewhere else, not a flag: the zone RDS placed it in."""
    if not cfg.components.database.multi_az:
        pytest.skip("this environment's database is Single-AZ (components.database.multi_az): no standby")
    primary, standby = instance.get("AvailabilityZone"), instance.get("SecondaryAvailabilityZone")
    assert standby, f"no standby zone reported (MultiAZ {instance['MultiAZ']}, primary in {primary})"
    assert standby != primary, f"the standby is in the primary's zone {primary}"


def test_encrypted_with_the_data_key(instance, outputs):
    expect(instance["StorageEncrypted"], True, "RDS storage encryption")
    expect(instance["KmsKeyId"], outputs["data_key_arn"], "RDS KMS key")


def test_private_in_private_subnets(instance, outputs):
    expect(instance["PubliclyAccessible"], False, "RDS publicly accessible")
    subnets = sorted(s["SubnetIdentifier"] for s in instance["DBSubnetGroup"]["Subnets"])
    expect(subnets, sorted(outputs["private_subnet_ids"]), "RDS subnets")


def test_backups_kept_at_least_7_days_as_configured(instance, cfg):
    assert instance["BackupRetentionPeriod"] >= 7, f"RDS keeps backups {instance['BackupRetentionPeriod']} days"
    expect(instance["BackupRetentionPeriod"], cfg.components.database.backup_retention_days, "RDS retention")


def test_the_master_password_is_managed_by_rds(instance):
    secret = instance.get("MasterUserSecret") or {}
    assert secret.get("SecretArn"), f"no RDS-managed master secret (MasterUserSecret: {secret})"


# --- on the wire ---------------------------------------------------------------------------------

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def endpoint(instance) -> tuple[str, int]:
    """The instance's endpoint, if this machine can reach it."""
    host, port = instance["Endpoint"]["Address"], int(instance["Endpoint"]["Port"])
    reachable(
        "MySQL endpoint",
        host,
        port,
        timeout=TIMEOUT,
        log_hint=f"mysql {instance['DBInstanceIdentifier']}",
        unreachable="RDS answers only inside its VPC. Run `infra probe` from a host in the VPC whose security group "
        "the database admits (as it admits the LMS) to probe TLS and sign-in.",
    )
    return host, port


@pytest.fixture(scope="module")
def master(aws, outputs) -> tuple[str, str]:
    """The RDS-managed master secret's current username and password."""
    value = aws("secretsmanager").get_secret_value(SecretId=outputs["db_master_secret_arn"])
    fields = json.loads(value["SecretString"])
    return fields["username"], fields["password"]


def _select_1(host: str, port: int, user: str, password: str, *, tls: bool) -> Any:
    """Log in (with TLS verified, or without TLS) and answer `SELECT 1`."""
    options: dict[str, Any] = {"ssl": ssl.create_default_context(cafile=ca_bundle())} if tls else {"ssl_disabled": True}
    with (
        pymysql.connect(
            host=host, port=port, user=user, password=password, connect_timeout=TIMEOUT, read_timeout=TIMEOUT, **options
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT 1")
        return cursor.fetchall()


def test_a_tls_login_with_the_managed_master_secret_answers_select_1(endpoint, master):
    host, port = endpoint
    user, password = master
    try:
        answer = _select_1(host, port, user, password, tls=True)
    except pymysql.MySQLError as exc:
        pytest.fail(
            f"MySQL {host}:{port}: expected a TLS login as {user} (the RDS-managed secret's current password, "
            f"certificate verified against {ca_bundle() or 'the system store'}) then SELECT 1 to answer 1, "
            f"found: {exc!r}"
        )
    expect(answer, ((1,),), f"MySQL {host}:{port}: SELECT 1 after a TLS login as {user}")


def test_a_login_without_tls_is_refused(endpoint, master):
    host, port = endpoint
    user, password = master
    try:
        answer = _select_1(host, port, user, password, tls=False)
    except pymysql.OperationalError as exc:
        assert exc.args[0] == SECURE_TRANSPORT_REQUIRED, (
            f"MySQL {host}:{port}: expected a login without TLS to be refused with error "
            f"{SECURE_TRANSPORT_REQUIRED} (require_secure_transport), found: {exc.args}"
        )
        return
    pytest.fail(
        f"MySQL {host}:{port}: expected a login without TLS to be refused with error {SECURE_TRANSPORT_REQUIRED} "
        f"(require_secure_transport ON), found it logged in and SELECT 1 answered {answer}"
    )
