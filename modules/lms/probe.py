"""The in-VPC probe task: a one-off Fargate task in the LMS's place that `infra probe` runs.

Two task definitions run `probe_program.py` (this folder) as the command of a public
Python image, with the LMS's task role, in the subnets and security group the caller
gives to RunTask:
- `<lms>-probe` mounts the content file system as the LMS does (the access point, TLS, IAM)
  and checks EFS, Redis and MySQL from the LMS's group;
- `<lms>-probe-network` has no EFS volume (a task whose group the mount targets do not
  admit could not start with one), so it can run in the outsider group and show that the
  stores admit no one they were not told to.
The outsider group (`secgroup-probe-outside`) is a workload that no store admits: its own
egress lets it try every store's port (and 443, for the image and PyPI), so what stops it
is the stores' ingress rules alone. Only the probe tasks use it.
Their own execution role reads only the RDS-managed master secret (and decrypts it) and
writes only the LMS's log group, under the `probe` stream prefix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from modules.common.cdk import Construct, aws
from modules.common.iam import assume_role, document, statement
from modules.common.security import allow_out, reach
from modules.lms.probe_program import CONTAINER, STREAM_PREFIX
from modules.storage.construct import CONTENT_UID

PROGRAM = (Path(__file__).parent / "probe_program.py").read_text()
PROBE_IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"
SCRATCH = "/tmp"  # the root file system is read-only; pip and the RDS CA bundle write here


class ProbeTask(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        lms: Any,  # the Lms construct (its roles, log group, volume and stores)
        props: Any,  # its LmsProps
        content_path: str,
    ) -> None:
        super().__init__(scope, construct_id)
        label, dep = props.label, props.deployment
        execution = aws.iam_role.IamRole(
            self,
            "ExecutionRole",
            name=label.name("role-lms-probe-execution"),
            assume_role_policy=assume_role("ecs-tasks.amazonaws.com", source_account=dep.account_id),
            tags=label.name_tag("role-lms-probe-execution"),
        )
        aws.iam_role_policy.IamRolePolicy(
            self,
            "ExecutionPolicy",
            role=execution.id,
            name=label.name("policy-lms-probe-execution", max_length=128),
            policy=document(
                statement("ReadMasterSecret", ["secretsmanager:GetSecretValue"], [props.database.master_secret_arn]),
                statement(
                    "DecryptMasterSecret",
                    ["kms:Decrypt"],
                    [props.database.master_secret_key_arn],
                    condition={"StringEquals": {"kms:ViaService": f"secretsmanager.{dep.region}.amazonaws.com"}},
                ),
                statement(
                    "WriteProbeLogs",
                    ["logs:CreateLogStream", "logs:PutLogEvents"],
                    [f"{lms.log_group.arn}:log-stream:{STREAM_PREFIX}/*"],
                ),
            ),
        )
        self.outside = aws.security_group.SecurityGroup(
            self,
            "OutsideGroup",
            name=label.name("secgroup-probe-outside"),
            vpc_id=props.network.vpc_id,
            description="Probe tasks only: a workload no data store admits (its egress tries them all)",
            tags=label.name_tag("secgroup-probe-outside"),
        )
        for name, store in (("Redis", props.redis), ("Database", props.database), ("Efs", props.storage)):
            reach(
                self, f"Outside{name}", label=label, group=self.outside, store=store, description=f"Outsider to {name}"
            )
        allow_out(
            self,
            "OutsideToAwsApis",
            label=label,
            group=self.outside,
            cidr="0.0.0.0/0",
            port=443,
            description="HTTPS to the image registry and PyPI (through NAT)",
        )
        common = {
            "requires_compatibilities": ["FARGATE"],
            "network_mode": "awsvpc",
            "cpu": "256",
            "memory": "512",
            "execution_role_arn": execution.arn,
            "task_role_arn": lms.task_role.arn,
            "runtime_platform": aws.ecs_task_definition.EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture="X86_64"
            ),
        }
        scratch = aws.ecs_task_definition.EcsTaskDefinitionVolume(name="scratch")
        self.task_definition = aws.ecs_task_definition.EcsTaskDefinition(
            self,
            "TaskDefinition",
            family=label.name("lms-probe"),
            volume=[lms.content_volume(), scratch],
            container_definitions=self._container(lms, props, content_path),
            tags=label.name_tag("lms-probe-task"),
            **common,
        )
        self.network_task_definition = aws.ecs_task_definition.EcsTaskDefinition(
            self,
            "NetworkTaskDefinition",
            family=label.name("lms-probe-network"),
            volume=[scratch],
            container_definitions=self._container(lms, props, None),
            tags=label.name_tag("lms-probe-network-task"),
            **common,
        )

    @staticmethod
    def _container(lms: Any, props: Any, content_path: str | None) -> str:
        environment = {
            "REDIS_HOST": props.redis.primary_endpoint,
            "REDIS_PORT": str(props.redis.port),
            "REDIS_GROUP_ID": props.redis.replication_group_id,
            "REDIS_USER": props.redis.app_user_name,
            "DB_HOST": props.database.db_instance_endpoint,
            "DB_PORT": str(props.database.port),
        }
        mounts = [{"sourceVolume": "scratch", "containerPath": SCRATCH, "readOnly": False}]
        if content_path:
            environment |= {"CONTENT_PATH": content_path, "EXPECTED_OWNER": f"{CONTENT_UID}:{CONTENT_UID}"}
            mounts.append({"sourceVolume": "content", "containerPath": content_path, "readOnly": False})
        secret = props.database.master_secret_arn
        container = {
            "name": CONTAINER,
            "image": PROBE_IMAGE,
            "essential": True,
            "readonlyRootFilesystem": True,
            "command": ["python", "-c", PROGRAM],
            "environment": [{"name": k, "value": v} for k, v in environment.items()],
            "secrets": [
                {"name": "MASTER_USERNAME", "valueFrom": f"{secret}:username::"},
                {"name": "MASTER_PASSWORD", "valueFrom": f"{secret}:password::"},
            ],
            "mountPoints": mounts,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": lms.log_group.name,
                    "awslogs-region": props.deployment.region,
                    "awslogs-stream-prefix": STREAM_PREFIX,
                },
            },
        }
        return json.dumps([container])

    @property
    def family(self) -> str:
        return cast(str, self.task_definition.family)

    @property
    def outside_group_id(self) -> str:
        return cast(str, self.outside.id)

    @property
    def network_family(self) -> str:
        return cast(str, self.network_task_definition.family)
