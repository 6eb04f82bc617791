"""infra/emulator/fixes/rds_managed.py: what RDS decides for you (engine versions, the
managed master secret's rotation), on stock moto 5.2.5 and with our fix."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.emulator import fixes

REGION = "sa-east-1"


@pytest.fixture(autouse=True)
def aws(in_process_aws) -> Iterator[None]:
    """Each test starts on stock moto (in this process); it applies the fix it shows."""
    fixes.undo()
    yield
    fixes.undo()


def rds():
    return boto3.client("rds", region_name=REGION)


def database(version: str = "8.4", *, identifier: str = "db", username: str = "admin") -> dict:
    return rds().create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine="mysql",
        EngineVersion=version,
        DBInstanceClass="db.t3.medium",
        AllocatedStorage=20,
        MasterUsername=username,
        ManageMasterUserPassword=True,
    )["DBInstance"]


def test_stock_moto_cannot_describe_engine_versions():
    with pytest.raises((ClientError, NotImplementedError)):
        rds().describe_db_engine_versions(Engine="mysql")


def test_stock_moto_keeps_the_major_version_and_does_not_rotate_the_managed_secret():
    created = database()
    assert created["EngineVersion"] == "8.4"
    secret = boto3.client("secretsmanager", region_name=REGION).describe_secret(
        SecretId=created["MasterUserSecret"]["SecretArn"]
    )
    assert not secret.get("RotationEnabled")


def test_with_our_fix_engine_versions_are_offered_and_a_major_runs_its_default_minor():
    fixes.apply("rds_managed")
    offered = rds().describe_db_engine_versions(Engine="mysql")["DBEngineVersions"]
    assert {v["DBParameterGroupFamily"] for v in offered} == {"mysql8.0", "mysql8.4"}
    default = rds().describe_db_engine_versions(Engine="mysql", EngineVersion="8.4", DefaultOnly=True)
    [only] = default["DBEngineVersions"]
    created = database("8.4")
    assert created["EngineVersion"] == only["EngineVersion"]
    assert created["EngineVersion"] in {v["EngineVersion"] for v in offered}
    assert rds().describe_db_engine_versions(Engine="postgres")["DBEngineVersions"] == []


def test_with_our_fix_the_managed_master_secret_rotates_every_seven_days():
    fixes.apply("rds_managed")
    created = database()
    secret = boto3.client("secretsmanager", region_name=REGION).describe_secret(
        SecretId=created["MasterUserSecret"]["SecretArn"]
    )
    assert secret["RotationEnabled"] is True
    assert secret["RotationRules"]["AutomaticallyAfterDays"] == 7


def master_secret(created: dict) -> dict:
    value = boto3.client("secretsmanager", region_name=REGION).get_secret_value(
        SecretId=created["MasterUserSecret"]["SecretArn"]
    )
    return json.loads(value["SecretString"])


def test_stock_moto_puts_a_fixed_admin_and_password_in_every_managed_secret():
    assert master_secret(database(username="lmsadmin")) == {"username": "admin", "password": "P@55w0rd!"}


def test_with_our_fix_the_managed_secret_holds_the_master_user_and_a_generated_password():
    fixes.apply("rds_managed")
    first = master_secret(database(username="lmsadmin"))
    second = master_secret(database(identifier="db2", username="lmsadmin"))
    assert first["username"] == second["username"] == "lmsadmin"
    assert len(first["password"]) >= 20 and first["password"] != second["password"]
    assert not set(first["password"]) & set('/@" ')
