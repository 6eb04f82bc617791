"""The ECS RunTask data plane (infra/emulator/planes/tasks.py) and the security-group model
the data planes use (planes/network.py), through a real emulator and boto3.

A Python task runs as a local process: its environment and secrets, its EFS volume through
an access point (a directory, the POSIX user's), its logs in CloudWatch Logs; a mount the
security groups or the TLS policy refuse stops it before it starts; a MySQL plane admits or
drops the task's connections by the groups' rules.
"""

from __future__ import annotations

import json
import textwrap
import time
import uuid

import boto3
import pytest

REGION = "sa-east-1"
# Connect to each of TARGETS, send a plaintext PING, say what came back (or what failed).
PROGRAM_NETWORK = textwrap.dedent(
    """
    import json, os, socket
    for target in filter(None, os.environ.get("TARGETS", "").split(",")):
        host, port = target.split(":")
        try:
            with socket.create_connection((host, int(port)), timeout=3) as s:
                s.settimeout(3)
                s.sendall(b"PING\\r\\n")
                print(json.dumps({"target": target, "answer": len(s.recv(64)), "error": None}))
        except OSError as exc:
            print(json.dumps({"target": target, "answer": 0, "error": type(exc).__name__}))
    """
)
# Write a file on the content volume and say who owns it, with the secret, region and key it got.
PROGRAM = textwrap.dedent(
    """
    import json, os
    path = os.path.join(os.environ["CONTENT"], "probe.txt")
    with open(path, "w") as out:
        out.write(os.environ["GREETING"])
    st = os.stat(path)
    mounted = os.path.ismount(os.environ["CONTENT"])
    print(json.dumps({"uid": os.getuid(), "owner": [st.st_uid, st.st_gid], "mounted": mounted,
                      "secret": os.environ["SECRET_USER"], "region": os.environ["AWS_REGION"],
                      "key": os.environ["AWS_ACCESS_KEY_ID"][:4]}))
    """
)


@pytest.fixture(scope="module")
def vpc(emulator):
    """A VPC with a private subnet, an app group, a store group that admits NFS and MySQL
    from the app group (and the app group's egress to it), and another group with nothing."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc_id = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.8.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"][
        "SubnetId"
    ]

    def group(name: str) -> str:
        group_id = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc_id)["GroupId"]
        ec2.revoke_security_group_egress(
            GroupId=group_id, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        )
        return group_id

    app, store, other = group("app"), group("store"), group("other")
    for port in (2049, 3306, 6379):
        ec2.authorize_security_group_ingress(
            GroupId=store,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": app}]}
            ],
        )
        for source in (app, other):  # egress is allowed for both: the store's ingress decides
            ec2.authorize_security_group_egress(
                GroupId=source,
                IpPermissions=[
                    {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": store}]}
                ],
            )
    return {"subnet": subnet, "app": app, "store": store, "other": other}


@pytest.fixture(scope="module")
def content(emulator, vpc):
    """An EFS file system (TLS-only policy) with a mount target behind the store group and
    an access point for uid 1000."""
    efs = boto3.client("efs", region_name=REGION)
    fs_id = efs.create_file_system(CreationToken=uuid.uuid4().hex, Encrypted=True)["FileSystemId"]
    efs.put_file_system_policy(
        FileSystemId=fs_id,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": "*",
                        "Resource": "*",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
    )
    efs.create_mount_target(FileSystemId=fs_id, SubnetId=vpc["subnet"], SecurityGroups=[vpc["store"]])

    def access_point(uid: int, path: str) -> str:
        return efs.create_access_point(
            FileSystemId=fs_id,
            PosixUser={"Uid": uid, "Gid": uid},
            RootDirectory={"Path": path, "CreationInfo": {"OwnerUid": uid, "OwnerGid": uid, "Permissions": "750"}},
        )["AccessPointId"]

    return {"fs": fs_id, "access_point": access_point}


@pytest.fixture(scope="module")
def ecs(emulator):
    boto3.client("logs", region_name=REGION).create_log_group(logGroupName="/ecs/probe")
    boto3.client("ecs", region_name=REGION).create_cluster(clusterName="probe")
    secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=f"db-{uuid.uuid4().hex[:6]}", SecretString=json.dumps({"username": "lmsadmin", "password": "x" * 20})
    )["ARN"]
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="probe-task", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    return {"client": boto3.client("ecs", region_name=REGION), "secret": secret, "role": role}


def run(
    ecs,
    content,
    vpc,
    *,
    group: str,
    access_point: str | None,
    transit: str = "ENABLED",
    env: dict | None = None,
    program: str = PROGRAM,
) -> dict:
    """Register a task definition like the probe's (without a volume when `access_point` is
    None), run it in `group`, wait: (task, log lines)."""
    client = ecs["client"]
    family = f"probe-{uuid.uuid4().hex[:6]}"
    client.register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        taskRoleArn=ecs["role"],
        volumes=[
            {
                "name": "content",
                "efsVolumeConfiguration": {
                    "fileSystemId": content["fs"],
                    "transitEncryption": transit,
                    "authorizationConfig": {"accessPointId": access_point, "iam": "ENABLED"},
                },
            }
        ]
        if access_point
        else [],
        containerDefinitions=[
            {
                "name": "probe",
                "image": "public.ecr.aws/docker/library/python:3.12-slim",
                "essential": True,
                "command": ["python", "-c", program],
                "environment": [
                    {"name": k, "value": v}
                    for k, v in {"CONTENT": "/mnt/content", "GREETING": "hello", **(env or {})}.items()
                ],
                "secrets": [{"name": "SECRET_USER", "valueFrom": f"{ecs['secret']}:username::"}],
                "mountPoints": [{"sourceVolume": "content", "containerPath": "/mnt/content"}] if access_point else [],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": "/ecs/probe", "awslogs-region": REGION, "awslogs-stream-prefix": "p"},
                },
            }
        ],
    )
    task = client.run_task(
        cluster="probe",
        taskDefinition=family,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [vpc["subnet"]], "securityGroups": [vpc[group]]}},
    )["tasks"][0]
    deadline = time.monotonic() + 60
    while (task := client.describe_tasks(cluster="probe", tasks=[task["taskArn"]])["tasks"][0])[
        "lastStatus"
    ] != "STOPPED":
        assert time.monotonic() < deadline, f"task still {task['lastStatus']} after 60 s"
        time.sleep(0.3)
    lines, output = [], []
    if task["containers"][0].get("exitCode") is not None:
        events = boto3.client("logs", region_name=REGION).get_log_events(
            logGroupName="/ecs/probe", logStreamName=f"p/probe/{task['taskArn'].rsplit('/', 1)[1]}", startFromHead=True
        )["events"]
        lines = [json.loads(e["message"]) for e in events if e["message"].startswith("{")]
        output = [e["message"] for e in events]
    return {"task": task, "lines": lines, "output": output}


def test_a_python_task_runs_with_its_secrets_its_role_and_efs_as_the_access_points_user(ecs, content, vpc):
    result = run(ecs, content, vpc, group="app", access_point=content["access_point"](1000, "/content"))
    task, lines = result["task"], result["lines"]
    assert task["containers"][0]["exitCode"] == 0, "\n".join(result["output"])
    assert task["stoppedReason"] == "Essential container in task exited"
    assert lines[0] == {
        "uid": 1000,
        "owner": [1000, 1000],
        "mounted": True,
        "secret": "lmsadmin",
        "region": REGION,
        "key": "ASIA",  # the task role's session credentials
    }, lines


def test_files_belong_to_the_access_points_posix_user(ecs, content, vpc):
    result = run(ecs, content, vpc, group="app", access_point=content["access_point"](4242, "/other"))
    assert result["lines"][0]["owner"] == [4242, 4242], result


def test_a_group_the_mount_target_does_not_admit_cannot_start_with_the_volume(ecs, content, vpc):
    result = run(ecs, content, vpc, group="other", access_point=content["access_point"](1000, "/content"))
    task = result["task"]
    assert task["containers"][0].get("exitCode") is None, task
    assert task["stoppedReason"].startswith(
        "ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: mount of"
    ), task["stoppedReason"]
    assert "no ingress rule" in task["stoppedReason"] and "tcp/2049" in task["stoppedReason"]


def test_a_tls_only_file_system_refuses_a_volume_without_transit_encryption(ecs, content, vpc):
    result = run(
        ecs, content, vpc, group="app", access_point=content["access_point"](1000, "/content"), transit="DISABLED"
    )
    assert "denies clients without TLS" in result["task"]["stoppedReason"], result["task"]


def test_the_data_planes_admit_the_app_group_and_reset_another(ecs, content, vpc):
    """A MySQL instance and a Redis group (TLS required) behind the store group, which
    admits the app group only: from the app group, MySQL greets and Redis closes a plaintext
    connection; from the other group, both connections are reset before the server speaks
    (a FIN would look like a server that hung up)."""
    rds = boto3.client("rds", region_name=REGION)
    identifier = f"db-{uuid.uuid4().hex[:6]}"
    rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine="mysql",
        EngineVersion="8.4",
        DBInstanceClass="db.t3.medium",
        AllocatedStorage=20,
        MasterUsername="lmsadmin",
        ManageMasterUserPassword=True,
        VpcSecurityGroupIds=[vpc["store"]],
        Port=3306,
    )
    database = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["Endpoint"]
    ec = boto3.client("elasticache", region_name=REGION)
    cache = ec.create_replication_group(
        ReplicationGroupId=f"rg-{uuid.uuid4().hex[:6]}",
        ReplicationGroupDescription="sessions",
        Engine="redis",
        CacheNodeType="cache.t4g.small",
        NumCacheClusters=1,
        Port=6379,
        TransitEncryptionEnabled=True,
        SecurityGroupIds=[vpc["store"]],
    )["ReplicationGroup"]["NodeGroups"][0]["PrimaryEndpoint"]
    mysql, redis = f"{database['Address']}:{database['Port']}", f"{cache['Address']}:{cache['Port']}"
    targets = {"TARGETS": f"{mysql},{redis}"}
    admitted = run(ecs, content, vpc, group="app", access_point=None, env=targets, program=PROGRAM_NETWORK)
    dropped = run(ecs, content, vpc, group="other", access_point=None, env=targets, program=PROGRAM_NETWORK)
    found = {line["target"]: line for line in admitted["lines"]}
    assert found[mysql]["answer"] > 0 and found[redis] == {"target": redis, "answer": 0, "error": None}, admitted
    assert {line["target"]: line["error"] for line in dropped["lines"]} == {
        mysql: "ConnectionResetError",
        redis: "ConnectionResetError",
    }, dropped
    rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)


def test_without_an_access_point_the_task_runs_as_nobody_never_root(ecs, content, vpc):
    program = "import json, os; print(json.dumps({'uid': os.getuid(), 'gid': os.getgid()}))"
    result = run(ecs, content, vpc, group="app", access_point=None, program=program)
    assert result["lines"] == [{"uid": 65534, "gid": 65534}], result


@pytest.mark.parametrize("path", ["/../../../../etc", "/content/../..", "relative"])
def test_an_access_point_path_outside_its_file_system_is_refused(ecs, content, vpc, path):
    efs = boto3.client("efs", region_name=REGION)
    point = efs.create_access_point(
        FileSystemId=content["fs"], PosixUser={"Uid": 1000, "Gid": 1000}, RootDirectory={"Path": path}
    )
    result = run(ecs, content, vpc, group="app", access_point=point["AccessPointId"])
    assert "invalid root directory" in result["task"]["stoppedReason"], result["task"]
