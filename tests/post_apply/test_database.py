"""RDS: Multi-AZ, encrypted with our key, private, backed up, password managed by RDS."""

from __future__ import annotations

import pytest

from tests.post_apply.conftest import expect


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
