"""The MySQL data plane of the emulator (infra/emulator/planes/mysql.py), through a real
emulator (gunicorn over HTTPS, as `infra up` starts it), boto3 and PyMySQL over TCP and TLS.

Each instance is made as our module makes it: MySQL 8.4, the master password managed by
RDS, a DB parameter group that sets `require_secure_transport`.
"""

from __future__ import annotations

import json
import socket
import ssl
import uuid
from collections.abc import Iterator

import boto3
import pymysql
import pytest

from infra.emulator import launcher
from infra.emulator.planes.mysql import address, scramble

REGION = "sa-east-1"


@pytest.fixture(scope="module")
def rds(emulator):
    client = boto3.client("rds", region_name=REGION)
    for name, value in (("tls-only", "1"), ("tls-optional", "0")):
        client.create_db_parameter_group(
            DBParameterGroupName=name,
            DBParameterGroupFamily="mysql8.4",
            Description=f"require_secure_transport={value}",
        )
        transport(client, name, value)
    return client


def transport(rds, group: str, value: str) -> None:
    rds.modify_db_parameter_group(
        DBParameterGroupName=group,
        Parameters=[{"ParameterName": "require_secure_transport", "ParameterValue": value, "ApplyMethod": "immediate"}],
    )


def create(rds, group: str) -> tuple[str, str, int, dict[str, str]]:
    """A MySQL instance: (its id, its endpoint's address and port, its managed secret)."""
    identifier = f"lms-{uuid.uuid4().hex[:8]}"
    created = rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine="mysql",
        EngineVersion="8.4",
        DBInstanceClass="db.t3.medium",
        AllocatedStorage=20,
        MasterUsername="lmsadmin",
        ManageMasterUserPassword=True,
        DBParameterGroupName=group,
        Port=3306,
    )["DBInstance"]
    endpoint = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["Endpoint"]
    value = boto3.client("secretsmanager", region_name=REGION).get_secret_value(
        SecretId=created["MasterUserSecret"]["SecretArn"]
    )
    return identifier, endpoint["Address"], int(endpoint["Port"]), json.loads(value["SecretString"])


@pytest.fixture
def tls_only(rds) -> Iterator[tuple[str, str, int, dict[str, str]]]:
    instance = create(rds, "tls-only")
    yield instance
    rds.delete_db_instance(DBInstanceIdentifier=instance[0], SkipFinalSnapshot=True)


def connect(host: str, port: int, user: str, password: str, *, tls: bool = True) -> pymysql.Connection:
    options: dict = (
        {"ssl": ssl.create_default_context(cafile=str(launcher.CERT_FILE))} if tls else {"ssl_disabled": True}
    )
    return pymysql.connect(host=host, port=port, user=user, password=password, connect_timeout=5, **options)


def select_one(connection: pymysql.Connection) -> tuple:
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchall()


def test_each_instance_is_served_on_its_own_loopback_address_at_its_port(tls_only):
    identifier, host, port, _ = tls_only
    assert (host, port) == (address(identifier), 3306)
    assert host.startswith("127.") and not host.startswith("127.0.0.")


def test_a_tls_login_with_the_managed_secret_answers_select_1(tls_only):
    _, host, port, secret = tls_only
    assert secret["username"] == "lmsadmin"
    connection = connect(host, port, secret["username"], secret["password"])
    assert connection._sock.version() in ("TLSv1.2", "TLSv1.3")  # the socket PyMySQL upgraded
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@version, @@require_secure_transport")
        assert cursor.fetchall() == (("8.4.7", 1),)
    assert select_one(connection) == ((1,),)


def test_a_wrong_password_and_an_unknown_user_are_refused(tls_only):
    _, host, port, secret = tls_only
    for user, password in ((secret["username"], "not-" + secret["password"]), ("root", secret["password"])):
        with pytest.raises(pymysql.err.OperationalError) as refused:
            connect(host, port, user, password)
        assert refused.value.args[0] == 1045


def test_a_new_password_in_the_secret_applies_to_the_next_login(tls_only):
    identifier, host, port, secret = tls_only
    arn = boto3.client("rds", region_name=REGION).describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][
        0
    ]["MasterUserSecret"]["SecretArn"]
    rotated = {**secret, "password": "rotated-" + secret["password"]}
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(SecretId=arn, SecretString=json.dumps(rotated))
    assert select_one(connect(host, port, rotated["username"], rotated["password"])) == ((1,),)
    with pytest.raises(pymysql.err.OperationalError):
        connect(host, port, secret["username"], secret["password"])


def test_without_tls_a_login_is_refused_with_3159_while_require_secure_transport_is_on(tls_only):
    _, host, port, secret = tls_only
    with pytest.raises(pymysql.err.OperationalError) as refused:
        connect(host, port, secret["username"], secret["password"], tls=False)
    assert refused.value.args == (
        3159,
        "Connections using insecure transport are prohibited while --require_secure_transport=ON.",
    )


def test_without_tls_a_login_is_allowed_once_the_parameter_group_turns_it_off(rds):
    identifier, host, port, secret = create(rds, "tls-optional")
    try:
        assert select_one(connect(host, port, secret["username"], secret["password"], tls=False)) == ((1,),)
        transport(rds, "tls-optional", "ON")  # read at each login: no reboot, as on RDS
        with pytest.raises(pymysql.err.OperationalError, match="insecure transport"):
            connect(host, port, secret["username"], secret["password"], tls=False)
        assert select_one(connect(host, port, secret["username"], secret["password"])) == ((1,),)
    finally:
        transport(rds, "tls-optional", "0")
        rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)


def test_after_delete_nothing_listens_on_the_address(rds):
    identifier, host, port, secret = create(rds, "tls-only")
    assert select_one(connect(host, port, secret["username"], secret["password"])) == ((1,),)
    rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, port), timeout=5).close()


def test_the_scramble_is_caching_sha2_passwords_as_pymysql_computes_it():
    from pymysql._auth import scramble_caching_sha2

    nonce = b"0123456789abcdefghij"
    assert scramble(b"secret", nonce) == scramble_caching_sha2(b"secret", nonce)
