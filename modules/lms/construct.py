"""The LMS (seed 003) on ECS Fargate, behind the edge, with sessions in Redis and content on EFS."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from modules.common import rules
from modules.common.cdk import Construct, aws
from modules.common.deployment import Deployment
from modules.common.iam import assume_role, document, statement
from modules.common.label import Label
from modules.common.security import allow_out, reach
from modules.database import Database
from modules.edge import Edge
from modules.lms.probe import ProbeTask
from modules.network import Network
from modules.redis import Redis
from modules.storage import Storage

XRAY_IMAGE = "public.ecr.aws/xray/aws-xray-daemon:3.3.13"
CONTENT_PATH = "/mnt/content"
LOG_BUFFER = "25m"  # the awslogs driver's buffer in non-blocking mode (per container)
# GuardDuty Runtime Monitoring (the account stack) adds its agent as a sidecar to new tasks,
# pulled with the task execution role from GuardDuty's repository in each region.
GUARDDUTY_AGENT_REPOSITORY = "aws-guardduty-agent-fargate"


@dataclass(frozen=True, kw_only=True)
class LmsProps:
    label: Label
    deployment: Deployment
    network: Network
    edge: Edge
    storage: Storage
    redis: Redis
    database: Database
    logs_key: aws.kms_key.KmsKey
    image: str
    # The existing Secrets Manager secret (JSON with username and password): read, never created.
    db_secret_name: str
    container_port: int = 8080
    health_check_path: str = "/health"
    cpu: int = 1024
    memory_mib: int = 2048
    desired_count: int = 2
    min_count: int = 2
    max_count: int = 4
    cpu_target_percent: int = 60
    memory_target_percent: int = 70
    requests_per_target: int = 1000
    log_retention_days: int = 365
    # Listener rule priority on the shared HTTPS listener.
    route_priority: int = 10

    def __post_init__(self) -> None:
        rules.fargate_size(self.cpu, self.memory_mib)
        rules.task_counts(self.min_count, self.desired_count, self.max_count)
        rules.health_check_path(self.health_check_path)


class Lms(Construct):
    """The LMS service: Fargate tasks in private subnets, auto scaled on CPU, memory and requests.

    - Database credentials come from the existing secret `db_secret_name` (a data source)
      and reach the container as ECS `secrets`: their values never enter Terraform.
    - Course content is the EFS access point, mounted with TLS and IAM authorisation.
    - Sessions live in Redis over TLS, signed in with the task role (IAM authentication).
    - An X-Ray daemon runs beside the application; logs go to a KMS-encrypted group,
      non-blocking (a slow CloudWatch Logs drops lines from a buffer, never stalls the app).
    - The execution role can read only that secret, write only that log group and pull only
      GuardDuty's agent; the task role can only mount that file system, connect to that
      cache and send traces.
    """

    def __init__(self, scope: Construct, construct_id: str, props: LmsProps) -> None:
        super().__init__(scope, construct_id)
        label, dep = props.label, props.deployment
        self._props = props
        self.security_group = props.network.tier_security_group("lms")
        secret = aws.data_aws_secretsmanager_secret.DataAwsSecretsmanagerSecret(
            self, "DbCredentials", name=props.db_secret_name
        )
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "Logs",
            name=f"/ecs/{label.name('lms')}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.logs_key.arn,
            tags=label.name_tag("lms-logs"),
        )
        self.cluster = aws.ecs_cluster.EcsCluster(
            self,
            "Cluster",
            name=label.name("ecs-lms"),
            setting=[aws.ecs_cluster.EcsClusterSetting(name="containerInsights", value="enabled")],
            tags=label.name_tag("ecs-lms"),
        )

        execution = aws.iam_role.IamRole(
            self,
            "ExecutionRole",
            name=label.name("role-lms-execution"),
            assume_role_policy=assume_role("ecs-tasks.amazonaws.com", source_account=dep.account_id),
            tags=label.name_tag("role-lms-execution"),
        )
        aws.iam_role_policy.IamRolePolicy(
            self,
            "ExecutionPolicy",
            role=execution.id,
            name=label.name("policy-lms-execution", max_length=128),
            policy=document(
                statement("ReadDbCredentials", ["secretsmanager:GetSecretValue"], [secret.arn]),
                statement("WriteTaskLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{self.log_group.arn}:*"]),
                # Our images come from public registries and need no ECR permission. The
                # GuardDuty agent does: a token (no resource-level permission exists for it)
                # and pulls from GuardDuty's own repository only (an AWS-owned account per region).
                statement("GuardDutyAgentToken", ["ecr:GetAuthorizationToken"], "*"),
                statement(
                    "PullGuardDutyAgent",
                    ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                    [f"arn:{dep.partition}:ecr:{dep.region}:*:repository/{GUARDDUTY_AGENT_REPOSITORY}"],
                ),
            ),
        )
        self.task_role = aws.iam_role.IamRole(
            self,
            "TaskRole",
            name=label.name("role-lms-task"),
            assume_role_policy=assume_role("ecs-tasks.amazonaws.com", source_account=dep.account_id),
            tags=label.name_tag("role-lms-task"),
        )
        aws.iam_role_policy.IamRolePolicy(
            self,
            "TracePolicy",
            role=self.task_role.id,
            name=label.name("policy-lms-xray", max_length=128),
            # X-Ray's write actions do not support resource-level permissions.
            policy=document(
                statement(
                    "SendTraces",
                    [
                        "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords",
                        "xray:GetSamplingRules",
                        "xray:GetSamplingTargets",
                    ],
                    "*",
                )
            ),
        )
        props.storage.grant_read_write(self.task_role, "Lms")
        props.redis.grant_connect(self.task_role, "Lms")

        self.task_definition = aws.ecs_task_definition.EcsTaskDefinition(
            self,
            "TaskDefinition",
            family=label.name("lms"),
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(props.cpu),
            memory=str(props.memory_mib),
            execution_role_arn=execution.arn,
            task_role_arn=self.task_role.arn,
            runtime_platform=aws.ecs_task_definition.EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture="X86_64"
            ),
            volume=[self.content_volume()],
            container_definitions=self._containers(props, secret.arn),
            tags=label.name_tag("lms-task"),
        )

        self.target_group = aws.lb_target_group.LbTargetGroup(
            self,
            "TargetGroup",
            name=label.name("tg-lms"),
            port=props.container_port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=props.network.vpc_id,
            deregistration_delay="30",
            health_check=aws.lb_target_group.LbTargetGroupHealthCheck(
                path=props.health_check_path, matcher="200", healthy_threshold=2, unhealthy_threshold=3, interval=15
            ),
            stickiness=aws.lb_target_group.LbTargetGroupStickiness(type="lb_cookie", enabled=False),
            tags=label.name_tag("tg-lms"),
        )
        props.edge.route(
            self,
            "Lms",
            host="lms",
            priority=props.route_priority,
            target_group=self.target_group,
            target_group_security=self.security_group,
            port=props.container_port,
        )
        for name, store in (("Redis", props.redis), ("Database", props.database), ("Efs", props.storage)):
            reach(self, name, label=label, group=self.security_group, store=store, description=f"LMS to {name}")
        allow_out(
            self,
            "ToAwsApis",
            label=label,
            group=self.security_group,
            cidr="0.0.0.0/0",
            port=443,
            description="HTTPS to AWS APIs and the image registry (through NAT)",
        )

        self.service = aws.ecs_service.EcsService(
            self,
            "Service",
            name=label.name("svc-lms"),
            cluster=self.cluster.arn,
            task_definition=self.task_definition.arn,
            desired_count=props.desired_count,
            launch_type="FARGATE",
            platform_version="LATEST",
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            health_check_grace_period_seconds=60,
            network_configuration=aws.ecs_service.EcsServiceNetworkConfiguration(
                subnets=props.network.private_subnet_ids,
                security_groups=[self.security_group.id],
                assign_public_ip=False,
            ),
            load_balancer=[
                aws.ecs_service.EcsServiceLoadBalancer(
                    target_group_arn=self.target_group.arn, container_name="lms", container_port=props.container_port
                )
            ],
            deployment_circuit_breaker=aws.ecs_service.EcsServiceDeploymentCircuitBreaker(enable=True, rollback=True),
            lifecycle={"ignore_changes": ["desired_count"]},  # auto scaling owns it after creation
            tags=label.name_tag("svc-lms"),
        )
        self._scaling(props)
        self.probe = ProbeTask(self, "Probe", lms=self, props=props, content_path=CONTENT_PATH)

    def content_volume(self) -> aws.ecs_task_definition.EcsTaskDefinitionVolume:
        """Course content: the EFS access point, mounted with TLS and IAM authorisation."""
        storage = self._props.storage
        return aws.ecs_task_definition.EcsTaskDefinitionVolume(
            name="content",
            efs_volume_configuration=aws.ecs_task_definition.EcsTaskDefinitionVolumeEfsVolumeConfiguration(
                file_system_id=storage.file_system_id,
                transit_encryption="ENABLED",
                authorization_config=aws.ecs_task_definition.EcsTaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfig(
                    access_point_id=storage.access_point_id, iam="ENABLED"
                ),
            ),
        )

    def _containers(self, props: LmsProps, secret_arn: str) -> str:
        options = {
            "awslogs-group": self.log_group.name,
            "awslogs-region": props.deployment.region,
            "awslogs-stream-prefix": "lms",
            # A slow or throttled CloudWatch Logs must not stall the application: writes go to
            # a buffer of this size, and what overflows it is dropped instead of blocking stdout.
            "mode": "non-blocking",
            "max-buffer-size": LOG_BUFFER,
        }
        logging: dict[str, Any] = {
            "logDriver": "awslogs",
            "options": options,
        }
        app = {
            "name": "lms",
            "image": props.image,
            "essential": True,
            "readonlyRootFilesystem": True,
            "portMappings": [{"containerPort": props.container_port, "protocol": "tcp"}],
            "secrets": [
                {"name": "DB_USERNAME", "valueFrom": f"{secret_arn}:username::"},
                {"name": "DB_PASSWORD", "valueFrom": f"{secret_arn}:password::"},
            ],
            "environment": [
                {"name": "DB_HOST", "value": props.database.db_instance_endpoint},
                {"name": "DB_TLS", "value": "required"},
                {"name": "REDIS_HOST", "value": props.redis.primary_endpoint},
                {"name": "REDIS_USER", "value": props.redis.app_user_name},
                {"name": "REDIS_TLS", "value": "true"},
                {"name": "CONTENT_PATH", "value": CONTENT_PATH},
                {"name": "AWS_XRAY_DAEMON_ADDRESS", "value": "127.0.0.1:2000"},
            ],
            "mountPoints": [{"sourceVolume": "content", "containerPath": CONTENT_PATH, "readOnly": False}],
            "logConfiguration": logging,
        }
        xray = {
            "name": "xray-daemon",
            "image": XRAY_IMAGE,
            "essential": False,
            "readonlyRootFilesystem": True,
            "cpu": 32,
            "memoryReservation": 256,
            "portMappings": [{"containerPort": 2000, "protocol": "udp"}],
            "logConfiguration": {**logging, "options": {**options, "awslogs-stream-prefix": "xray"}},
        }
        return json.dumps([app, xray])

    def _scaling(self, props: LmsProps) -> None:
        resource_id = f"service/{self.cluster.name}/{self.service.name}"
        target = aws.appautoscaling_target.AppautoscalingTarget(
            self,
            "ScalingTarget",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=resource_id,
            min_capacity=props.min_count,
            max_capacity=props.max_count,
            tags=props.label.name_tag("lms-scaling"),
        )
        request_label = f"{props.edge.load_balancer_arn_suffix}/{self.target_group_arn_suffix}"
        policies = {
            "Cpu": ("ECSServiceAverageCPUUtilization", props.cpu_target_percent, None),
            "Memory": ("ECSServiceAverageMemoryUtilization", props.memory_target_percent, None),
            "Requests": ("ALBRequestCountPerTarget", props.requests_per_target, request_label),
        }
        for name, (metric, value, resource_label) in policies.items():
            scaling = aws.appautoscaling_policy
            spec = scaling.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification
            aws.appautoscaling_policy.AppautoscalingPolicy(
                self,
                f"Scale{name}",
                name=props.label.name(f"scale-lms-{name.lower()}"),
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration=aws.appautoscaling_policy.AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                    target_value=value,
                    scale_in_cooldown=300,
                    scale_out_cooldown=60,
                    predefined_metric_specification=spec(predefined_metric_type=metric, resource_label=resource_label),
                ),
            )

    # --- read-only attributes ----------------------------------------------------------
    # The AWS bindings are not analysed by mypy (pyproject), so their attributes are cast.

    @property
    def cluster_name(self) -> str:
        return cast(str, self.cluster.name)

    @property
    def service_name(self) -> str:
        return cast(str, self.service.name)

    @property
    def task_definition_arn(self) -> str:
        return cast(str, self.task_definition.arn)

    @property
    def log_group_name(self) -> str:
        return cast(str, self.log_group.name)

    @property
    def security_group_id(self) -> str:
        return cast(str, self.security_group.id)

    @property
    def target_group_arn_suffix(self) -> str:
        """The target group's CloudWatch dimension value (`TargetGroup`)."""
        return cast(str, self.target_group.arn_suffix)
