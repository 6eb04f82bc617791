"""Alarms to an encrypted topic, X-Ray sampling and a group, one dashboard per environment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from modules.common.cdk import Construct, aws
from modules.common.deployment import Deployment
from modules.common.label import Label
from modules.database import Database
from modules.edge import Edge
from modules.lms import Lms
from modules.redis import Redis
from modules.web import Web


@dataclass(frozen=True, kw_only=True)
class ObservabilityProps:
    label: Label
    deployment: Deployment
    logs_key: aws.kms_key.KmsKey
    edge: Edge
    database: Database
    redis: Redis
    # Either workload may be switched off in an environment.
    lms: Lms | None = None
    web: Web | None = None
    # Subscribed to the alarm topic when set (confirmation mail goes to it).
    alarm_email: str | None = None
    xray_sampling_rate: float = 0.05
    rds_cpu_percent: int = 80
    rds_free_storage_gb: int = 10
    redis_cpu_percent: int = 75
    ecs_cpu_percent: int = 85
    ecs_memory_percent: int = 85
    alb_5xx_per_minute: int = 10


class Observability(Construct):
    """Alarms on what users would notice, traced requests, and one place to look."""

    def __init__(self, scope: Construct, construct_id: str, props: ObservabilityProps) -> None:
        super().__init__(scope, construct_id)
        label = props.label
        self._label = label
        self.topic = aws.sns_topic.SnsTopic(
            self,
            "Alarms",
            name=label.name("alarms"),
            kms_master_key_id=props.logs_key.arn,
            tags=label.name_tag("alarms"),
        )
        if props.alarm_email:
            aws.sns_topic_subscription.SnsTopicSubscription(
                self, "AlarmMail", topic_arn=self.topic.arn, protocol="email", endpoint=props.alarm_email
            )
        alb = {"LoadBalancer": props.edge.load_balancer_arn_suffix}
        self._alarm(
            "Alb5xx",
            "AWS/ApplicationELB",
            "HTTPCode_Target_5XX_Count",
            alb,
            props.alb_5xx_per_minute,
            "Sum",
            "targets answer with server errors",
        )
        self._alarm(
            "AlbElb5xx",
            "AWS/ApplicationELB",
            "HTTPCode_ELB_5XX_Count",
            alb,
            props.alb_5xx_per_minute,
            "Sum",
            "the load balancer answers with server errors",
        )
        workloads: tuple[tuple[str, Lms | Web | None], ...] = (("Lms", props.lms), ("Web", props.web))
        for name, workload in workloads:
            if workload is not None:
                self._alarm(
                    f"{name}Unhealthy",
                    "AWS/ApplicationELB",
                    "UnHealthyHostCount",
                    {**alb, "TargetGroup": workload.target_group_arn_suffix},
                    0,
                    "Maximum",
                    f"{name} targets fail health checks",
                )
        db = {"DBInstanceIdentifier": props.database.db_instance_identifier}
        self._alarm("RdsCpu", "AWS/RDS", "CPUUtilization", db, props.rds_cpu_percent, "Average", "database CPU high")
        self._alarm(
            "RdsStorage",
            "AWS/RDS",
            "FreeStorageSpace",
            db,
            props.rds_free_storage_gb * 1024**3,
            "Minimum",
            "database storage low",
            comparison="LessThanThreshold",
        )
        cache = {"ReplicationGroupId": props.redis.replication_group_id}
        self._alarm(
            "RedisCpu",
            "AWS/ElastiCache",
            "EngineCPUUtilization",
            cache,
            props.redis_cpu_percent,
            "Average",
            "session cache CPU high",
        )
        self._alarm(
            "RedisEvictions", "AWS/ElastiCache", "Evictions", cache, 0, "Sum", "session cache evicts live sessions"
        )
        if props.lms is not None:
            ecs = {"ClusterName": props.lms.cluster_name, "ServiceName": props.lms.service_name}
            self._alarm(
                "EcsCpu", "AWS/ECS", "CPUUtilization", ecs, props.ecs_cpu_percent, "Average", "LMS tasks CPU high"
            )
            self._alarm(
                "EcsMemory",
                "AWS/ECS",
                "MemoryUtilization",
                ecs,
                props.ecs_memory_percent,
                "Average",
                "LMS tasks memory high",
            )

        self.sampling_rule = aws.xray_sampling_rule.XraySamplingRule(
            self,
            "Sampling",
            rule_name=label.name("xray"),
            priority=1000,
            version=1,
            reservoir_size=1,
            fixed_rate=props.xray_sampling_rate,
            host="*",
            http_method="*",
            url_path="*",
            service_name="*",
            service_type="*",
            resource_arn="*",
            tags=label.name_tag("xray-sampling"),
        )
        self.trace_group = aws.xray_group.XrayGroup(
            self,
            "TraceGroup",
            group_name=label.name("traces"),
            filter_expression=f'annotation.environment = "{label.environment}" OR fault = true',
            insights_configuration=aws.xray_group.XrayGroupInsightsConfiguration(insights_enabled=True),
            tags=label.name_tag("traces"),
        )
        self.dashboard = aws.cloudwatch_dashboard.CloudwatchDashboard(
            self,
            "Dashboard",
            dashboard_name=label.name("platform"),
            dashboard_body=json.dumps({"widgets": self._widgets(props, alb, db, cache)}),
        )

    # --- read-only attributes ----------------------------------------------------------
    # The AWS bindings are not analysed by mypy (pyproject), so their attributes are cast.

    @property
    def alarm_topic_arn(self) -> str:
        """The encrypted SNS topic every alarm notifies."""
        return cast(str, self.topic.arn)

    @property
    def trace_group_name(self) -> str:
        return cast(str, self.trace_group.group_name)

    # --- parts ---------------------------------------------------------------------------

    def _alarm(
        self,
        name: str,
        namespace: str,
        metric: str,
        dims: dict[str, Any],
        threshold: float,
        stat: str,
        what: str,
        comparison: str = "GreaterThanThreshold",
    ) -> None:
        kind = "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")
        aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
            self,
            name,
            alarm_name=self._label.name(f"alarm-{kind}"),
            alarm_description=f"{what} ({metric})",
            namespace=namespace,
            metric_name=metric,
            dimensions=dims,
            statistic=stat,
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            threshold=threshold,
            comparison_operator=comparison,
            treat_missing_data="notBreaching",
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            tags=self._label.name_tag(f"alarm-{kind}"),
        )

    def _widgets(
        self, props: ObservabilityProps, alb: dict[str, Any], db: dict[str, Any], cache: dict[str, Any]
    ) -> list[dict[str, Any]]:
        def graph(
            title: str, namespace: str, metric: str, dims: dict[str, Any], stat: str = "Average"
        ) -> dict[str, Any]:
            flat = [x for kv in dims.items() for x in kv]
            return {
                "type": "metric",
                "width": 12,
                "height": 6,
                "properties": {
                    "title": title,
                    "region": props.deployment.region,
                    "stat": stat,
                    "period": 60,
                    "metrics": [[namespace, metric, *flat]],
                },
            }

        widgets = [
            graph("ALB requests", "AWS/ApplicationELB", "RequestCount", alb, "Sum"),
            graph("ALB target response time", "AWS/ApplicationELB", "TargetResponseTime", alb),
            graph("RDS CPU", "AWS/RDS", "CPUUtilization", db),
            graph("Redis engine CPU", "AWS/ElastiCache", "EngineCPUUtilization", cache),
        ]
        if props.lms is not None:
            ecs = {"ClusterName": props.lms.cluster_name, "ServiceName": props.lms.service_name}
            widgets.append(graph("LMS CPU", "AWS/ECS", "CPUUtilization", ecs))
            widgets.append(graph("LMS memory", "AWS/ECS", "MemoryUtilization", ecs))
        if props.web is not None:
            widgets.append(
                graph(
                    "Web CPU", "AWS/EC2", "CPUUtilization", {"AutoScalingGroupName": props.web.autoscaling_group_name}
                )
            )
        return widgets
