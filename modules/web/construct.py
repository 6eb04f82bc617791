"""The web tier (seed 000): t3.medium Auto Scaling Group in private subnets behind the edge."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from modules.common import rules
from modules.common.cdk import Construct, aws
from modules.common.deployment import Deployment
from modules.common.iam import assume_role
from modules.common.label import Label
from modules.common.security import allow_out, reach
from modules.database import Database
from modules.edge import Edge
from modules.network import Network
from modules.redis import Redis

USER_DATA = Path(__file__).with_name("user_data.sh")
# SSM agent, CloudWatch agent, X-Ray writes: the instance profile has these and nothing else.
INSTANCE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
)


@dataclass(frozen=True, kw_only=True)
class WebProps:
    label: Label
    deployment: Deployment
    network: Network
    edge: Edge
    redis: Redis
    database: Database
    instance_type: str = "t3.medium"
    # Public SSM parameter naming the current AMI, resolved at plan time.
    ami_parameter: str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    min_size: int = 2
    max_size: int = 4
    desired_capacity: int = 2
    app_port: int = 8080
    health_check_path: str = "/health"
    # Target tracking keeps average CPU here; the alarms below add steps on top of it.
    cpu_target_percent: int = 50
    cpu_high_percent: int = 75
    memory_high_percent: int = 80
    latency_high_seconds: float = 1.0
    root_volume_gb: int = 20
    route_priority: int = 20

    def __post_init__(self) -> None:
        rules.ec2_instance_type(self.instance_type)
        rules.instance_fits_ami(self.instance_type, self.ami_parameter)
        rules.group_sizes(self.min_size, self.desired_capacity, self.max_size)
        rules.health_check_path(self.health_check_path)


class Web(Construct):
    """Instances that require IMDSv2, boot from encrypted volumes and scale on three alarms.

    Step scaling adds an instance when CPU, memory (CloudWatch agent) or ALB target
    response time stays high; target tracking on CPU handles the steady state and scale-in.
    """

    def __init__(self, scope: Construct, construct_id: str, props: WebProps) -> None:
        super().__init__(scope, construct_id)
        label, dep = props.label, props.deployment
        self.security_group = props.network.tier_security_group("web")
        role = aws.iam_role.IamRole(
            self,
            "InstanceRole",
            name=label.name("role-web-instance"),
            assume_role_policy=assume_role("ec2.amazonaws.com", source_account=dep.account_id),
            tags=label.name_tag("role-web-instance"),
        )
        for i, arn in enumerate(INSTANCE_POLICIES):
            aws.iam_role_policy_attachment.IamRolePolicyAttachment(
                self, f"InstancePolicy{i + 1}", role=role.name, policy_arn=arn
            )
        profile = aws.iam_instance_profile.IamInstanceProfile(
            self,
            "InstanceProfile",
            name=label.name("profile-web", max_length=128),
            role=role.name,
            tags=label.name_tag("profile-web"),
        )
        ami = aws.data_aws_ssm_parameter.DataAwsSsmParameter(self, "Ami", name=props.ami_parameter)
        tag_specs = [
            aws.launch_template.LaunchTemplateTagSpecifications(
                resource_type=kind, tags={**label.tags, **label.name_tag(f"web-{kind}")}
            )
            for kind in ("instance", "volume")
        ]
        self.launch_template = aws.launch_template.LaunchTemplate(
            self,
            "LaunchTemplate",
            name=label.name("lt-web"),
            image_id=ami.insecure_value,
            instance_type=props.instance_type,
            update_default_version=True,
            iam_instance_profile=aws.launch_template.LaunchTemplateIamInstanceProfile(arn=profile.arn),
            vpc_security_group_ids=[self.security_group.id],
            metadata_options=aws.launch_template.LaunchTemplateMetadataOptions(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            monitoring=aws.launch_template.LaunchTemplateMonitoring(enabled=True),
            block_device_mappings=[
                aws.launch_template.LaunchTemplateBlockDeviceMappings(
                    device_name="/dev/xvda",
                    # Encrypted with the account's EBS key: a customer key would need a key-policy
                    # grant to the Auto Scaling service-linked role, which may not exist yet.
                    ebs=aws.launch_template.LaunchTemplateBlockDeviceMappingsEbs(
                        volume_size=props.root_volume_gb,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            user_data=base64.b64encode(USER_DATA.read_bytes()).decode(),
            tag_specifications=tag_specs,
            tags=label.name_tag("lt-web"),
        )
        self.target_group = aws.lb_target_group.LbTargetGroup(
            self,
            "TargetGroup",
            name=label.name("tg-web"),
            port=props.app_port,
            protocol="HTTP",
            target_type="instance",
            vpc_id=props.network.vpc_id,
            deregistration_delay="30",
            health_check=aws.lb_target_group.LbTargetGroupHealthCheck(
                path=props.health_check_path, matcher="200", healthy_threshold=2, unhealthy_threshold=3, interval=15
            ),
            tags=label.name_tag("tg-web"),
        )
        props.edge.route(
            self,
            "Web",
            host="www",
            priority=props.route_priority,
            target_group=self.target_group,
            target_group_security=self.security_group,
            port=props.app_port,
        )
        for name, store in (("Redis", props.redis), ("Database", props.database)):
            reach(self, name, label=label, group=self.security_group, store=store, description=f"Web tier to {name}")
        allow_out(
            self,
            "ToAwsApis",
            label=label,
            group=self.security_group,
            cidr="0.0.0.0/0",
            port=443,
            description="HTTPS to AWS APIs and package repositories (through NAT)",
        )

        self.group = aws.autoscaling_group.AutoscalingGroup(
            self,
            "Group",
            name=label.name("asg-web"),
            min_size=props.min_size,
            max_size=props.max_size,
            desired_capacity=props.desired_capacity,
            vpc_zone_identifier=props.network.private_subnet_ids,
            health_check_type="ELB",
            health_check_grace_period=300,
            target_group_arns=[self.target_group.arn],
            launch_template=aws.autoscaling_group.AutoscalingGroupLaunchTemplate(
                id=self.launch_template.id, version="$Latest"
            ),
            enabled_metrics=["GroupInServiceInstances", "GroupDesiredCapacity", "GroupTotalInstances"],
            # Default tags do not reach instances through an ASG: propagate them explicitly.
            tag=[
                aws.autoscaling_group.AutoscalingGroupTag(key=k, value=v, propagate_at_launch=True)
                for k, v in {**label.tags, **label.name_tag("web")}.items()
            ],
            lifecycle={"ignore_changes": ["desired_capacity"]},
        )
        self._scaling(props)

    def _scaling(self, props: WebProps) -> None:
        label = props.label
        asg = {"AutoScalingGroupName": self.group.name}
        aws.autoscaling_policy.AutoscalingPolicy(
            self,
            "TargetCpu",
            name=label.name("scale-web-cpu-target"),
            autoscaling_group_name=self.group.name,
            policy_type="TargetTrackingScaling",
            target_tracking_configuration=aws.autoscaling_policy.AutoscalingPolicyTargetTrackingConfiguration(
                target_value=props.cpu_target_percent,
                predefined_metric_specification=aws.autoscaling_policy.AutoscalingPolicyTargetTrackingConfigurationPredefinedMetricSpecification(
                    predefined_metric_type="ASGAverageCPUUtilization"
                ),
            ),
        )
        step_up = aws.autoscaling_policy.AutoscalingPolicy(
            self,
            "StepUp",
            name=label.name("scale-web-step-up"),
            autoscaling_group_name=self.group.name,
            policy_type="StepScaling",
            adjustment_type="ChangeInCapacity",
            estimated_instance_warmup=180,
            step_adjustment=[
                aws.autoscaling_policy.AutoscalingPolicyStepAdjustment(
                    scaling_adjustment=1, metric_interval_lower_bound="0"
                )
            ],
        )
        target_dims = {"TargetGroup": self.target_group_arn_suffix, "LoadBalancer": props.edge.load_balancer_arn_suffix}
        alarms = {
            "Cpu": ("AWS/EC2", "CPUUtilization", asg, props.cpu_high_percent, "Average"),
            "Memory": ("CWAgent", "mem_used_percent", asg, props.memory_high_percent, "Average"),
            "Latency": ("AWS/ApplicationELB", "TargetResponseTime", target_dims, props.latency_high_seconds, "Average"),
        }
        self.alarms = {}
        for name, (namespace, metric, dims, threshold, stat) in alarms.items():
            self.alarms[name] = aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
                self,
                f"{name}High",
                alarm_name=label.name(f"web-{name.lower()}-high"),
                alarm_description=f"Web tier {metric} above {threshold}: add an instance",
                namespace=namespace,
                metric_name=metric,
                dimensions=dims,
                statistic=stat,
                period=60,
                evaluation_periods=3,
                threshold=threshold,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[step_up.arn],
                tags=label.name_tag(f"web-{name.lower()}-high"),
            )

    # --- read-only attributes ----------------------------------------------------------
    # The AWS bindings are not analysed by mypy (pyproject), so their attributes are cast.

    @property
    def autoscaling_group_name(self) -> str:
        return cast(str, self.group.name)

    @property
    def target_group_arn_suffix(self) -> str:
        """The target group's CloudWatch dimension value (`TargetGroup`)."""
        return cast(str, self.target_group.arn_suffix)
