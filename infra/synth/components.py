"""How each component's stack instantiates its modules and what it exports.

Builders run in COMPONENTS order, and each receives the modules built before it in the
same environment. That order is only construction order: the dependency graph that plan
and apply follow is read back from the synthesized output (infra/synth/graph.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from infra.config import EnvConfig
from infra.synth.stack import InfraStack
from modules.audit import Audit, AuditProps
from modules.ci_identities.construct import AccountBootstrap, AccountBootstrapProps
from modules.ci_identities.documents import ROLE_NAMES, CiAccount
from modules.common.cdk import Construct
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

T = TypeVar("T")


@dataclass
class Built:
    """The modules built so far in one environment's stacks, in construction order."""

    kms: Kms | None = None
    network: Network | None = None
    storage: Storage | None = None
    redis: Redis | None = None
    database: Database | None = None
    edge: Edge | None = None
    lms: Lms | None = None
    web: Web | None = None
    observability: Observability | None = None

    def need(self, component: str, kind: type[T]) -> T:
        """A module built earlier; a component's builder that runs too early is a bug to name."""
        module = getattr(self, component)
        if not isinstance(module, kind):
            raise TypeError(f"{component} is not built yet: COMPONENTS lists it after a component that needs it")
        return module

    @property
    def keys(self) -> Kms:
        return self.need("kms", Kms)

    @property
    def net(self) -> Network:
        return self.need("network", Network)


def build_bootstrap(stack: InfraStack, account: CiAccount) -> AccountBootstrap:
    """The account's bootstrap stack: its state bucket and CI identities (`infra bootstrap`)."""
    bootstrap = AccountBootstrap(stack, "Bootstrap", AccountBootstrapProps(account=account))
    stack.export("state_bucket", bootstrap.state_bucket.bucket, "Where every stack of the account keeps its state")
    for purpose in ROLE_NAMES:
        role = bootstrap.roles[purpose]
        stack.export(f"{purpose}_role_arn", role.arn, f"The CI {purpose} role (docs/trust-model.md)")
    return bootstrap


def build_account(stack: InfraStack, cfg: EnvConfig) -> tuple[ThreatDetection, Audit]:
    """The account stack (one per account and region), from the [account] layers only: cfg is
    the account's first environment's, and the loader keeps [account] out of env files."""
    guardduty = ThreatDetection(
        stack, "ThreatDetection", ThreatDetectionProps(label=stack.label, **cfg.account.guardduty.model_dump())
    )
    stack.export("guardduty_detector_id", guardduty.detector_id, "GuardDuty detector of this account and region")
    audit = Audit(
        stack,
        "Audit",
        AuditProps(
            label=stack.label,
            deployment=cfg.deployment,
            # The account's first environment decides, as it owns the stack (prod: true).
            deletion_protection=cfg.deletion_protection,
            **cfg.account.audit.model_dump(),
        ),
    )
    stack.export("cloudtrail_arn", audit.trail_arn, "The account's CloudTrail trail (all regions)")
    stack.export("cloudtrail_bucket", audit.bucket_name, "Where the trail delivers its log files")
    stack.export("cloudtrail_log_group", audit.log_group_name, "The trail's CloudWatch Logs group (CIS filters)")
    stack.export("security_alarm_topic_arn", audit.alarm_topic_arn, "Where the CIS alarms are sent")
    return guardduty, audit


def build_kms(stack: InfraStack, cfg: EnvConfig, built: Built) -> Kms:
    kms = Kms(stack, "Kms", KmsProps(**_common(stack, cfg), **cfg.components.kms.model_dump()))
    stack.export("data_key_arn", kms.data_key_arn, "KMS key for data stores")
    stack.export("logs_key_arn", kms.logs_key_arn, "KMS key for logs and alarms")
    return kms


def build_network(stack: InfraStack, cfg: EnvConfig, built: Built) -> Network:
    # az_count is not a prop: it chose the zones in cfg.deployment.
    settings = cfg.components.network.model_dump(exclude={"az_count"})
    network = Network(
        stack,
        "Network",
        NetworkProps(**_common(stack, cfg), logs_key=built.keys.logs_key, tiers=cfg.tiers, **settings),
    )
    stack.export("vpc_id", network.vpc_id, "VPC id")
    stack.export("private_subnet_ids", network.private_subnet_ids, "Private subnets, one per zone")
    stack.export("public_subnet_ids", network.public_subnet_ids, "Public subnets, one per zone")
    return network


def _tiers(cfg: EnvConfig, network: Network) -> dict[str, object]:
    return {tier.capitalize(): network.tier_security_group(tier) for tier in cfg.tiers}


def build_storage(stack: InfraStack, cfg: EnvConfig, built: Built) -> Storage:
    storage = Storage(
        stack,
        "Storage",
        StorageProps(
            **_common(stack, cfg),
            network=built.net,
            key=built.keys.data_key,
            **cfg.components.storage.model_dump(),
        ),
    )
    if cfg.workloads.lms:  # only the LMS tasks mount course content
        storage.allow_from(built.net.tier_security_group("lms"), "Lms")
    stack.export("efs_file_system_id", storage.file_system_id, "Course content file system")
    stack.export("efs_access_point_id", storage.access_point_id, "Access point the LMS mounts")
    return storage


def build_redis(stack: InfraStack, cfg: EnvConfig, built: Built) -> Redis:
    redis = Redis(
        stack,
        "Redis",
        RedisProps(
            **_common(stack, cfg),
            network=built.net,
            key=built.keys.data_key,
            logs_key=built.keys.logs_key,
            **cfg.components.redis.model_dump(),
        ),
    )
    for name, group in _tiers(cfg, built.net).items():
        redis.allow_from(group, name)
    stack.export("redis_replication_group_id", redis.replication_group_id, "Session cache replication group")
    stack.export("redis_primary_endpoint", redis.primary_endpoint, "Session cache primary endpoint (TLS)")
    stack.export("redis_app_user", redis.app_user_name, "IAM-authenticated cache user")
    return redis


def build_database(stack: InfraStack, cfg: EnvConfig, built: Built) -> Database:
    database = Database(
        stack,
        "Database",
        DatabaseProps(
            **_common(stack, cfg),
            network=built.net,
            key=built.keys.data_key,
            deletion_protection=cfg.deletion_protection,
            **cfg.components.database.model_dump(),
        ),
    )
    for name, group in _tiers(cfg, built.net).items():
        database.allow_from(group, name)
    stack.export("db_instance_identifier", database.db_instance_identifier, "LMS database instance")
    stack.export("db_instance_endpoint", database.db_instance_endpoint, "LMS database address")
    stack.export("db_master_secret_arn", database.master_secret_arn, "RDS-managed master secret (ARN only)")
    return database


def build_edge(stack: InfraStack, cfg: EnvConfig, built: Built) -> Edge:
    edge = Edge(
        stack,
        "Edge",
        EdgeProps(
            **_common(stack, cfg),
            network=built.net,
            logs_key=built.keys.logs_key,
            deletion_protection=cfg.deletion_protection,
            **cfg.components.edge.model_dump(),
        ),
    )
    stack.export("alb_arn", edge.load_balancer_arn, "Public application load balancer")
    stack.export("alb_dns_name", edge.load_balancer_dns_name, "Where DNS for the workloads points")
    stack.export("web_acl_arn", edge.web_acl_arn, "WAF web ACL on the ALB")
    return edge


def build_lms(stack: InfraStack, cfg: EnvConfig, built: Built) -> Lms:
    lms = Lms(
        stack,
        "Lms",
        LmsProps(
            **_common(stack, cfg),
            network=built.net,
            edge=built.need("edge", Edge),
            storage=built.need("storage", Storage),
            redis=built.need("redis", Redis),
            database=built.need("database", Database),
            logs_key=built.keys.logs_key,
            **cfg.components.lms.model_dump(),
        ),
    )
    stack.export("ecs_cluster_name", lms.cluster_name, "LMS cluster")
    stack.export("ecs_service_name", lms.service_name, "LMS service")
    stack.export("lms_task_definition_arn", lms.task_definition_arn, "LMS task definition")
    stack.export("lms_security_group_id", lms.security_group_id, "The LMS tasks' security group")
    stack.export("lms_log_group", lms.log_group_name, "The LMS's log group (the probe task logs there too)")
    stack.export("probe_task_family", lms.probe.family, "In-VPC probe task, in the LMS's place (infra probe)")
    stack.export("probe_network_task_family", lms.probe.network_family, "In-VPC probe task without EFS")
    stack.export("probe_outside_group_id", lms.probe.outside_group_id, "A security group no data store admits")
    return lms


def build_web(stack: InfraStack, cfg: EnvConfig, built: Built) -> Web:
    web = Web(
        stack,
        "Web",
        WebProps(
            **_common(stack, cfg),
            network=built.net,
            edge=built.need("edge", Edge),
            redis=built.need("redis", Redis),
            database=built.need("database", Database),
            **cfg.components.web.model_dump(),
        ),
    )
    stack.export("web_autoscaling_group_name", web.autoscaling_group_name, "Web tier Auto Scaling Group")
    return web


def build_observability(stack: InfraStack, cfg: EnvConfig, built: Built) -> Observability:
    observability = Observability(
        stack,
        "Observability",
        ObservabilityProps(
            **_common(stack, cfg),
            logs_key=built.keys.logs_key,
            edge=built.need("edge", Edge),
            database=built.need("database", Database),
            redis=built.need("redis", Redis),
            lms=built.lms,
            web=built.web,
            **cfg.components.observability.model_dump(),
        ),
    )
    stack.export("alarm_topic_arn", observability.alarm_topic_arn, "Where alarms are sent")
    stack.export("xray_group_name", observability.trace_group_name, "X-Ray group of this environment")
    return observability


def _common(stack: InfraStack, cfg: EnvConfig) -> dict[str, Any]:
    """What every module's props start with. Each component's configuration keys have the
    names of its props (tests/modules/test_config_contract.py holds that)."""
    return {"label": stack.label, "deployment": cfg.deployment}


Builder = Callable[[InfraStack, EnvConfig, Built], Construct]

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
