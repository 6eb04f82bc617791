"""How each component's stack instantiates its modules and what it exports.

Builders run in COMPONENTS order, and each receives the modules built before it in the
same environment. That order is only construction order: the dependency graph that plan
and apply follow is read back from the synthesized output (infra/graph.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra.config import EnvConfig
from infra.stack import InfraStack
from modules.database import Database, DatabaseProps
from modules.edge import Edge, EdgeProps
from modules.guardduty import ThreatDetection, ThreatDetectionProps
from modules.kms import Kms, KmsProps
from modules.lms import Lms, LmsProps
from modules.network import Network, NetworkProps
from modules.observability import Observability, ObservabilityProps
from modules.redis import Redis, RedisProps
from modules.storage import Storage, StorageProps
from modules.web import Web, WebProps

Built = dict[str, Any]


def build_account(stack: InfraStack, cfg: EnvConfig) -> ThreatDetection:
    guardduty = ThreatDetection(stack, "ThreatDetection", ThreatDetectionProps(label=stack.label))
    stack.export("guardduty_detector_id", guardduty.detector_id, "GuardDuty detector of this account and region")
    return guardduty


def build_kms(stack: InfraStack, cfg: EnvConfig, built: Built) -> Kms:
    c = cfg.components.kms
    kms = Kms(
        stack,
        "Kms",
        KmsProps(
            label=stack.label,
            deployment=cfg.deployment,
            deletion_window_days=c.deletion_window_days,
            rotation_period_days=c.rotation_period_days,
        ),
    )
    stack.export("data_key_arn", kms.data_key.arn, "KMS key for data stores")
    stack.export("logs_key_arn", kms.logs_key.arn, "KMS key for logs and alarms")
    return kms


def build_network(stack: InfraStack, cfg: EnvConfig, built: Built) -> Network:
    c = cfg.components.network
    network = Network(
        stack,
        "Network",
        NetworkProps(
            label=stack.label,
            deployment=cfg.deployment,
            logs_key=built["kms"].logs_key,
            cidr=c.cidr,
            public_subnets=tuple(c.public_subnets),
            private_subnets=tuple(c.private_subnets),
            nat_gateways=c.nat_gateways,
            flow_log_retention_days=c.flow_log_retention_days,
            tiers=cfg.tiers,
        ),
    )
    stack.export("vpc_id", network.vpc_id, "VPC id")
    stack.export("private_subnet_ids", network.private_subnet_ids, "Private subnets, one per zone")
    stack.export("public_subnet_ids", network.public_subnet_ids, "Public subnets, one per zone")
    return network


def _tiers(cfg: EnvConfig, network: Network) -> dict[str, object]:
    return {tier.capitalize(): network.tier_security_group(tier) for tier in cfg.tiers}


def build_storage(stack: InfraStack, cfg: EnvConfig, built: Built) -> Storage:
    c = cfg.components.storage
    storage = Storage(
        stack,
        "Storage",
        StorageProps(
            label=stack.label,
            deployment=cfg.deployment,
            network=built["network"],
            key=built["kms"].data_key,
            performance_mode=c.performance_mode,
            throughput_mode=c.throughput_mode,
            transition_to_ia=c.transition_to_ia,
        ),
    )
    if cfg.workloads.lms:  # only the LMS tasks mount course content
        storage.allow_from(built["network"].tier_security_group("lms"), "Lms")
    stack.export("efs_file_system_id", storage.file_system_id, "Course content file system")
    stack.export("efs_access_point_id", storage.access_point_id, "Access point the LMS mounts")
    return storage


def build_redis(stack: InfraStack, cfg: EnvConfig, built: Built) -> Redis:
    c = cfg.components.redis
    redis = Redis(
        stack,
        "Redis",
        RedisProps(
            label=stack.label,
            deployment=cfg.deployment,
            network=built["network"],
            key=built["kms"].data_key,
            logs_key=built["kms"].logs_key,
            node_type=c.node_type,
            engine_version=c.engine_version,
            num_cache_clusters=c.num_cache_clusters,
            snapshot_retention_days=c.snapshot_retention_days,
            log_retention_days=c.log_retention_days,
        ),
    )
    for name, group in _tiers(cfg, built["network"]).items():
        redis.allow_from(group, name)
    stack.export("redis_replication_group_id", redis.replication_group_id, "Session cache replication group")
    stack.export("redis_primary_endpoint", redis.primary_endpoint, "Session cache primary endpoint (TLS)")
    stack.export("redis_app_user", redis.app_user_name, "IAM-authenticated cache user")
    return redis


def build_database(stack: InfraStack, cfg: EnvConfig, built: Built) -> Database:
    c = cfg.components.database
    database = Database(
        stack,
        "Database",
        DatabaseProps(
            label=stack.label,
            deployment=cfg.deployment,
            network=built["network"],
            key=built["kms"].data_key,
            engine_version=c.engine_version,
            instance_class=c.instance_class,
            allocated_storage_gb=c.allocated_storage_gb,
            max_allocated_storage_gb=c.max_allocated_storage_gb,
            multi_az=c.multi_az,
            backup_retention_days=c.backup_retention_days,
            monitoring_interval_seconds=c.monitoring_interval_seconds,
            master_username=c.master_username,
            deletion_protection=cfg.deletion_protection,
        ),
    )
    for name, group in _tiers(cfg, built["network"]).items():
        database.allow_from(group, name)
    stack.export("db_instance_identifier", database.db_instance_identifier, "LMS database instance")
    stack.export("db_instance_endpoint", database.db_instance_endpoint, "LMS database address")
    stack.export("db_master_secret_arn", database.master_secret_arn, "RDS-managed master secret (ARN only)")
    return database


def build_edge(stack: InfraStack, cfg: EnvConfig, built: Built) -> Edge:
    c = cfg.components.edge
    edge = Edge(
        stack,
        "Edge",
        EdgeProps(
            label=stack.label,
            deployment=cfg.deployment,
            network=built["network"],
            logs_key=built["kms"].logs_key,
            domain=c.domain,
            certificate=c.certificate,
            certificate_arn=c.certificate_arn,
            hosted_zone_id=c.hosted_zone_id,
            ssl_policy=c.ssl_policy,
            rate_limit_per_5_minutes=c.rate_limit_per_5_minutes,
            log_retention_days=c.log_retention_days,
            deletion_protection=cfg.deletion_protection,
        ),
    )
    stack.export("alb_arn", edge.load_balancer_arn, "Public application load balancer")
    stack.export("alb_dns_name", edge.load_balancer_dns_name, "Where DNS for the workloads points")
    stack.export("web_acl_arn", edge.web_acl_arn, "WAF web ACL on the ALB")
    return edge


def build_lms(stack: InfraStack, cfg: EnvConfig, built: Built) -> Lms:
    c = cfg.components.lms
    lms = Lms(
        stack,
        "Lms",
        LmsProps(
            label=stack.label,
            deployment=cfg.deployment,
            network=built["network"],
            edge=built["edge"],
            storage=built["storage"],
            redis=built["redis"],
            database=built["database"],
            logs_key=built["kms"].logs_key,
            image=c.image,
            db_secret_name=c.db_secret_name,
            container_port=c.container_port,
            health_check_path=c.health_check_path,
            cpu=c.cpu,
            memory_mib=c.memory_mib,
            desired_count=c.desired_count,
            min_count=c.min_count,
            max_count=c.max_count,
            cpu_target_percent=c.cpu_target_percent,
            memory_target_percent=c.memory_target_percent,
            requests_per_target=c.requests_per_target,
            log_retention_days=c.log_retention_days,
        ),
    )
    stack.export("ecs_cluster_name", lms.cluster_name, "LMS cluster")
    stack.export("ecs_service_name", lms.service_name, "LMS service")
    stack.export("lms_task_definition_arn", lms.task_definition_arn, "LMS task definition")
    return lms


def build_web(stack: InfraStack, cfg: EnvConfig, built: Built) -> Web:
    c = cfg.components.web
    web = Web(
        stack,
        "Web",
        WebProps(
            label=stack.label,
            deployment=cfg.deployment,
            network=built["network"],
            edge=built["edge"],
            redis=built["redis"],
            database=built["database"],
            instance_type=c.instance_type,
            ami_parameter=c.ami_parameter,
            min_size=c.min_size,
            max_size=c.max_size,
            desired_capacity=c.desired_capacity,
            app_port=c.app_port,
            health_check_path=c.health_check_path,
            cpu_target_percent=c.cpu_target_percent,
            cpu_high_percent=c.cpu_high_percent,
            memory_high_percent=c.memory_high_percent,
            latency_high_seconds=c.latency_high_seconds,
            root_volume_gb=c.root_volume_gb,
        ),
    )
    stack.export("web_autoscaling_group_name", web.autoscaling_group_name, "Web tier Auto Scaling Group")
    return web


def build_observability(stack: InfraStack, cfg: EnvConfig, built: Built) -> Observability:
    c = cfg.components.observability
    observability = Observability(
        stack,
        "Observability",
        ObservabilityProps(
            label=stack.label,
            deployment=cfg.deployment,
            logs_key=built["kms"].logs_key,
            edge=built["edge"],
            database=built["database"],
            redis=built["redis"],
            lms=built.get("lms"),
            web=built.get("web"),
            alarm_email=c.alarm_email,
            xray_sampling_rate=c.xray_sampling_rate,
            rds_cpu_percent=c.rds_cpu_percent,
            rds_free_storage_gb=c.rds_free_storage_gb,
            redis_cpu_percent=c.redis_cpu_percent,
            ecs_cpu_percent=c.ecs_cpu_percent,
            ecs_memory_percent=c.ecs_memory_percent,
            alb_5xx_per_minute=c.alb_5xx_per_minute,
        ),
    )
    stack.export("alarm_topic_arn", observability.topic.arn, "Where alarms are sent")
    stack.export("xray_group_name", observability.trace_group.group_name, "X-Ray group of this environment")
    return observability


Builder = Callable[[InfraStack, EnvConfig, Built], Any]

# Construction order. A component whose builder is missing here is not deployed.
COMPONENTS: dict[str, Builder] = {
    "kms": build_kms,
    "network": build_network,
    "storage": build_storage,
    "redis": build_redis,
    "database": build_database,
    "edge": build_edge,
    "lms": build_lms,
    "web": build_web,
    "observability": build_observability,
}
# Components that belong to one workload, and are left out where it is switched off.
WORKLOAD_OF = {"lms": "lms", "storage": "lms", "web": "web"}


def enabled(cfg: EnvConfig, component: str) -> bool:
    workload = WORKLOAD_OF.get(component)
    return workload is None or bool(getattr(cfg.workloads, workload))
