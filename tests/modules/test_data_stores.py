"""Redis, the database and EFS: encryption, availability, retention, who may connect."""

from __future__ import annotations

import pytest

from modules.database import DatabaseProps
from modules.redis import RedisProps
from tests.modules.helpers import DEPLOYMENT, label, named, platform, policy, rules_of


@pytest.fixture(scope="module")
def doc():
    return platform()


# --- redis ------------------------------------------------------------------------------


def test_redis_is_tls_only_and_encrypted_with_our_key(doc):
    group = named(doc, "aws_elasticache_replication_group", "Redis_")
    assert group["transit_encryption_enabled"] is True and group["transit_encryption_mode"] == "required"
    assert group["at_rest_encryption_enabled"] == "true"
    assert group["kms_key_id"].startswith("${aws_kms_key.Kms_DataKey") and group["kms_key_id"].endswith(".arn}")


def test_redis_fails_over_across_zones(doc):
    group = named(doc, "aws_elasticache_replication_group", "Redis_")
    assert group["automatic_failover_enabled"] is True and group["multi_az_enabled"] is True
    assert group["num_cache_clusters"] == 2
    assert group["preferred_cache_cluster_azs"] == ["sa-east-1a", "sa-east-1b"]


def test_redis_has_no_password_anywhere(doc):
    group = named(doc, "aws_elasticache_replication_group", "Redis_")
    assert "auth_token" not in group
    users = doc["resource"]["aws_elasticache_user"].values()
    modes = sorted((u["user_name"].split("-")[0], u["authentication_mode"]["type"], u["access_string"]) for u in users)
    assert modes == [("default", "no-password-required", "off -@all"), ("redis", "iam", "on ~* +@all -@dangerous")]


def test_redis_admits_6379_only_from_the_app_tiers(doc):
    rules = rules_of(doc, "aws_vpc_security_group_ingress_rule", "Redis_")
    assert {(r["from_port"], r["to_port"]) for r in rules} == {(6379, 6379)}
    assert all("referenced_security_group_id" in r and "cidr_ipv4" not in r for r in rules)
    assert len(rules) == 2


def test_redis_logs_go_to_encrypted_groups(doc):
    group = named(doc, "aws_elasticache_replication_group", "Redis_")
    assert sorted(c["log_type"] for c in group["log_delivery_configuration"]) == ["engine-log", "slow-log"]


def test_fails_when_redis_has_a_single_node():
    with pytest.raises(ValueError, match="automatic failover needs a replica"):
        RedisProps(label=label(), deployment=DEPLOYMENT, network=None, key=None, logs_key=None, num_cache_clusters=1)  # type: ignore[arg-type]


def test_fails_when_redis_is_older_than_7():
    with pytest.raises(ValueError, match="IAM authentication"):
        RedisProps(label=label(), deployment=DEPLOYMENT, network=None, key=None, logs_key=None, engine_version="6.2")  # type: ignore[arg-type]


# --- database ---------------------------------------------------------------------------


def test_database_is_multi_az_encrypted_private_and_backed_up(doc):
    db = named(doc, "aws_db_instance", "Database_")
    assert db["multi_az"] is True
    assert db["storage_encrypted"] is True and "Kms_DataKey" in db["kms_key_id"]
    assert db["publicly_accessible"] is False
    assert db["backup_retention_period"] >= 7


def test_database_runs_mysql_8_4_with_a_parameter_group_of_its_family(doc):
    db = named(doc, "aws_db_instance", "Database_")
    assert db["engine"] == "mysql" and db["engine_version"] == "8.4"
    params = named(doc, "aws_db_parameter_group", "Database_")
    assert params["family"] == "mysql8.4"
    # a new major is a new group, made before the old one goes, and RDS is allowed to upgrade
    assert params["name"] == "rds-params-mysql8-4-dev-t1"
    assert params["lifecycle"] == {"create_before_destroy": True}
    assert db["parameter_group_name"].startswith("${aws_db_parameter_group.Database_Parameters")
    assert db["allow_major_version_upgrade"] is True and db["apply_immediately"] is True


def test_a_patch_version_keeps_its_family():
    params = named(platform(database={"engine_version": "8.4.5"}), "aws_db_parameter_group", "Database_")
    assert params["family"] == "mysql8.4"


@pytest.mark.parametrize("version", ["8.0", "8.0.39", "5.7"])
def test_fails_when_mysql_is_out_of_standard_support(version):
    with pytest.raises(ValueError, match="out of RDS standard support.*engine_version must be 8.4"):
        DatabaseProps(label=label(), deployment=DEPLOYMENT, network=None, key=None, engine_version=version)  # type: ignore[arg-type]


def test_fails_when_the_mysql_version_is_malformed():
    with pytest.raises(ValueError, match="not a MySQL version"):
        DatabaseProps(label=label(), deployment=DEPLOYMENT, network=None, key=None, engine_version="8")  # type: ignore[arg-type]


def test_database_password_is_managed_by_rds(doc):
    db = named(doc, "aws_db_instance", "Database_")
    assert db["manage_master_user_password"] is True
    assert "password" not in db
    assert "Kms_DataKey" in db["master_user_secret_kms_key_id"]


def test_database_requires_tls_and_is_observable(doc):
    params = named(doc, "aws_db_parameter_group", "Database_")
    assert {"name": "require_secure_transport", "value": "1"} in params["parameter"]
    db = named(doc, "aws_db_instance", "Database_")
    assert db["performance_insights_enabled"] is True and db["monitoring_interval"] == 60
    assert db["enabled_cloudwatch_logs_exports"] == ["error", "general", "slowquery"]


def test_database_deletion_protection_is_configuration():
    off = named(platform(), "aws_db_instance", "Database_")
    assert off["deletion_protection"] is False and off["skip_final_snapshot"] is True
    on = named(platform(database={"deletion_protection": True}), "aws_db_instance", "Database_")
    assert on["deletion_protection"] is True and on["skip_final_snapshot"] is False
    assert on["final_snapshot_identifier"].endswith("-final")


def test_database_admits_3306_only_from_the_app_tiers(doc):
    rules = rules_of(doc, "aws_vpc_security_group_ingress_rule", "Database_")
    assert {(r["from_port"], r["to_port"]) for r in rules} == {(3306, 3306)} and len(rules) == 2


@pytest.mark.parametrize("days", [0, 6, 36])
def test_fails_when_backup_retention_is_outside_7_to_35_days(days):
    with pytest.raises(ValueError, match="backup_retention_days must be 7..35"):
        DatabaseProps(label=label(), deployment=DEPLOYMENT, network=None, key=None, backup_retention_days=days)  # type: ignore[arg-type]


def test_fails_when_the_storage_ceiling_is_below_the_floor():
    with pytest.raises(ValueError, match="max_allocated_storage_gb must be at least"):
        DatabaseProps(
            label=label(),
            deployment=DEPLOYMENT,
            network=None,
            key=None,  # type: ignore[arg-type]
            allocated_storage_gb=100,
            max_allocated_storage_gb=50,
        )


# --- storage (EFS) ------------------------------------------------------------------------


def test_efs_is_encrypted_with_our_key_and_backed_up(doc):
    fs = named(doc, "aws_efs_file_system", "Storage_")
    assert fs["encrypted"] is True and "Kms_DataKey" in fs["kms_key_id"]
    assert fs["performance_mode"] == "generalPurpose" and fs["throughput_mode"] == "elastic"
    assert named(doc, "aws_efs_backup_policy", "Storage_")["backup_policy"]["status"] == "ENABLED"


def test_efs_has_a_mount_target_per_private_subnet(doc):
    targets = rules_of(doc, "aws_efs_mount_target", "Storage_")
    assert len(targets) == len(DEPLOYMENT.azs)
    assert all("aws_subnet.Network_PrivateSubnet" in t["subnet_id"] for t in targets)


def test_efs_refuses_clients_without_tls(doc):
    statement = policy(named(doc, "aws_efs_file_system_policy", "Storage_"))["Statement"][0]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_efs_admits_nfs_only_from_the_lms(doc):
    rules = rules_of(doc, "aws_vpc_security_group_ingress_rule", "Storage_")
    assert len(rules) == 1 and rules[0]["from_port"] == 2049
    assert "Network_LmsTierSecurityGroup" in rules[0]["referenced_security_group_id"]


def test_efs_grant_is_limited_to_the_file_system_through_the_access_point(doc):
    grant = policy(named(doc, "aws_iam_role_policy", "Lms_LmsEfsReadWrite"))["Statement"][0]
    assert grant["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    [resource] = grant["Resource"]
    assert resource.startswith("${aws_efs_file_system.Storage_FileSystem_") and resource.endswith(".arn}")
    assert "elasticfilesystem:AccessPointArn" in grant["Condition"]["StringEquals"]
