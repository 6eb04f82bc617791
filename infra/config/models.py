"""The schema of the merged configuration. Every model forbids unknown keys and is frozen.

`strict=True`: TOML already has types, so "yes" for a bool or "3" for an int is a
mistake to report, not a value to coerce. `allow_inf_nan=False`: TOML has `inf` and `nan`,
and no setting of ours means either.

What AWS would refuse is refused here, by the rules the modules apply to their props
(modules/common/rules.py) and Label's name limits: a bad value stops `infra config`, not a
Terraform apply.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from modules.common import rules
from modules.common.deployment import Deployment
from modules.common.label import ACCOUNT_NAMES, TIGHT_NAMES, Label


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid IPv4 CIDR ({exc})") from None
    return str(net)


def _tag_value(value: str) -> str:
    rules.tag_value(value)
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
# Lower-case words joined by single hyphens, at most 31 characters: names are built from it,
# and RDS identifiers and S3 buckets refuse "--" and a trailing "-".
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=31)]
# The value of a tag (Owner, Environment): what AWS accepts in every service.
TagValue = Annotated[str, Field(min_length=1), AfterValidator(_tag_value)]


# --- account, region, environment -------------------------------------------------------


class GuardDutyConfig(Strict):
    """The protection plans of the account's detector (modules/guardduty)."""

    s3_data_events: bool
    rds_login_events: bool
    ebs_malware_protection: bool
    runtime_monitoring: bool
    eks_audit_logs: bool
    lambda_network_logs: bool


class AuditConfig(Strict):
    """The account's CloudTrail trail and its CIS alarms (modules/audit)."""

    log_retention_days: Annotated[int, Field(ge=1)]
    noncurrent_version_days: Annotated[int, Field(ge=1)]
    alarm_email: str | None = None


class Account(Strict):
    """One AWS account, and what its account stack builds (one per account and region).

    The account stack is built from its account's first environment, so every key here
    must mean the same for all of them: the loader refuses [account] in an env.toml.
    """

    name: Name
    id: Annotated[str, Field(pattern=r"^\d{12}$")]
    # 51 characters at most, so that its access-log bucket `<state_bucket>-access-logs`
    # (modules/ci_identities/construct.py) fits S3's 63.
    state_bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,49}[a-z0-9]$")]
    guardduty: GuardDutyConfig
    audit: AuditConfig


SUFFIX_PATTERN = r"^[a-z0-9]{1,8}$"


class GitHub(Strict):
    """Where this repository lives: the CI roles trust only its workflows (OIDC subjects)."""

    organization: Annotated[str, Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$")]
    repository: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,100}$")]


class Environment(Strict):
    name: Name
    # The value of the Environment tag (prod's is "production").
    tag: TagValue
    # Physical names are <type>-<environment>-<suffix>; ENVIRONMENT_SUFFIX overrides it.
    suffix: Annotated[str, Field(pattern=SUFFIX_PATTERN)]
    # Promotion: a merge applies environments in ascending order (dev 1, staging 2, prod 3);
    # one with `approval` waits for its GitHub environment's reviewers before applying.
    order: Annotated[int, Field(ge=1)]
    approval: bool = False
    # `infra destroy` against AWS refuses a protected environment unless --force-protected.
    protected: bool = False


class Workloads(Strict):
    """Which of the two seed workloads this environment runs (both by default)."""

    lms: bool = True
    web: bool = True


# --- components ---------------------------------------------------------------------------


class NetworkConfig(Strict):
    cidr: Cidr
    az_count: Annotated[int, Field(ge=2, le=6)]
    public_subnets: list[Cidr]
    private_subnets: list[Cidr]
    nat_gateways: Literal["single", "per_az"]
    flow_log_retention_days: Annotated[int, Field(ge=1)]

    @field_validator("cidr")
    @classmethod
    def _vpc_size(cls, cidr: str) -> str:
        rules.vpc_cidr(cidr)
        return cidr

    @field_validator("public_subnets", "private_subnets")
    @classmethod
    def _inside_vpc_and_disjoint(cls, subnets: list[str], info: ValidationInfo) -> list[str]:
        for subnet in subnets:
            rules.subnet_cidr(subnet)
        vpc = info.data.get("cidr")
        nets = [ipaddress.IPv4Network(s) for s in subnets]
        if vpc is not None:
            outside = [str(n) for n in nets if not n.subnet_of(ipaddress.IPv4Network(vpc))]
            if outside:
                raise ValueError(f"{', '.join(outside)} not inside the VPC CIDR {vpc}")
        taken = [ipaddress.IPv4Network(s) for s in info.data.get("public_subnets", [])]
        for i, net in enumerate(nets):
            for other in nets[:i] + taken:
                if net.overlaps(other):
                    raise ValueError(f"{net} overlaps {other}")
        return subnets

    @model_validator(mode="after")
    def _one_subnet_per_az(self) -> NetworkConfig:
        for field in ("public_subnets", "private_subnets"):
            if len(getattr(self, field)) < self.az_count:
                raise ValueError(
                    f"{field}: {len(getattr(self, field))} subnets for az_count={self.az_count}; "
                    "give at least one subnet per availability zone"
                )
        return self


class KmsConfig(Strict):
    deletion_window_days: int
    rotation_period_days: int

    @field_validator("deletion_window_days")
    @classmethod
    def _deletion_window(cls, days: int) -> int:
        rules.kms_deletion_window(days)
        return days

    @field_validator("rotation_period_days")
    @classmethod
    def _rotation_period(cls, days: int) -> int:
        rules.kms_rotation_period(days)
        return days


class RedisConfig(Strict):
    node_type: str
    engine_version: str
    # Two or more: with one node there is nothing to fail over to, so no environment runs one.
    num_cache_clusters: Annotated[int, Field(le=6)]
    snapshot_retention_days: Annotated[int, Field(ge=1, le=35)]
    log_retention_days: Annotated[int, Field(ge=1)]

    @field_validator("node_type")
    @classmethod
    def _node_type(cls, node_type: str) -> str:
        rules.cache_node_type(node_type)
        return node_type

    @field_validator("engine_version")
    @classmethod
    def _engine_version(cls, version: str) -> str:
        rules.redis_engine_version(version)
        return version

    @field_validator("num_cache_clusters")
    @classmethod
    def _cache_clusters(cls, count: int) -> int:
        rules.cache_clusters(count)
        return count


class DatabaseConfig(Strict):
    engine_version: str
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    multi_az: bool
    backup_retention_days: int
    monitoring_interval_seconds: Literal[1, 5, 10, 15, 30, 60]
    master_username: Annotated[str, Field(pattern=r"^[a-zA-Z][a-zA-Z0-9_]{0,15}$")]

    @field_validator("engine_version")
    @classmethod
    def _engine_version(cls, version: str) -> str:
        rules.mysql_engine_version(version)
        return version

    @field_validator("instance_class")
    @classmethod
    def _instance_class(cls, instance_class: str) -> str:
        rules.db_instance_class(instance_class)
        return instance_class

    @field_validator("allocated_storage_gb", "max_allocated_storage_gb")
    @classmethod
    def _storage_size(cls, gib: int) -> int:
        rules.storage_size(gib)
        return gib

    @field_validator("backup_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        rules.backup_retention(days)
        return days

    @field_validator("max_allocated_storage_gb")
    @classmethod
    def _autoscaling_ceiling(cls, ceiling: int, info: ValidationInfo) -> int:
        floor = info.data.get("allocated_storage_gb")
        if floor is not None:
            rules.storage_ceiling(floor, ceiling)
        return ceiling


class StorageConfig(Strict):
    performance_mode: Literal["generalPurpose", "maxIO"]
    throughput_mode: Literal["elastic", "bursting"]
    transition_to_ia: Literal["AFTER_7_DAYS", "AFTER_14_DAYS", "AFTER_30_DAYS", "AFTER_60_DAYS", "AFTER_90_DAYS"]


class EdgeConfig(Strict):
    domain: Annotated[str, Field(pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")]
    # "existing": use the issued ACM certificate for *.<domain> (or certificate_arn when set).
    # "request": request one and validate it in the Route 53 zone hosted_zone_id.
    certificate: Literal["existing", "request"]
    certificate_arn: str | None = None
    hosted_zone_id: str | None = None
    ssl_policy: str
    rate_limit_per_5_minutes: Annotated[int, Field(ge=100)]
    log_retention_days: Annotated[int, Field(ge=1)]

    @field_validator("ssl_policy")
    @classmethod
    def _modern_tls(cls, policy: str) -> str:
        rules.ssl_policy(policy)
        return policy

    @model_validator(mode="after")
    def _zone_for_requests(self) -> EdgeConfig:
        rules.certificate_zone(self.certificate, self.hosted_zone_id)
        return self


class LmsConfig(Strict):
    image: str
    container_port: Annotated[int, Field(ge=1, le=65535)]
    # A Fargate size: the pair is checked below.
    cpu: int
    memory_mib: int
    desired_count: Annotated[int, Field(ge=1)]
    min_count: Annotated[int, Field(ge=1)]
    max_count: Annotated[int, Field(ge=1)]
    cpu_target_percent: Annotated[int, Field(ge=10, le=90)]
    memory_target_percent: Annotated[int, Field(ge=10, le=90)]
    requests_per_target: Annotated[int, Field(ge=1)]
    # The existing Secrets Manager secret with the database credentials (never created here).
    db_secret_name: str
    log_retention_days: Annotated[int, Field(ge=1)]
    health_check_path: str

    @field_validator("health_check_path")
    @classmethod
    def _health_check_path(cls, path: str) -> str:
        rules.health_check_path(path)
        return path

    @model_validator(mode="after")
    def _fargate_size(self) -> LmsConfig:
        rules.fargate_size(self.cpu, self.memory_mib)
        return self

    @model_validator(mode="after")
    def _counts(self) -> LmsConfig:
        rules.task_counts(self.min_count, self.desired_count, self.max_count)
        return self


class WebConfig(Strict):
    instance_type: str
    # Public SSM parameter that names the current AMI (Amazon Linux 2023 by default).
    ami_parameter: str
    min_size: Annotated[int, Field(ge=1)]
    max_size: Annotated[int, Field(ge=1)]
    desired_capacity: Annotated[int, Field(ge=1)]
    app_port: Annotated[int, Field(ge=1, le=65535)]
    cpu_target_percent: Annotated[int, Field(ge=10, le=90)]
    cpu_high_percent: Annotated[int, Field(ge=10, le=100)]
    memory_high_percent: Annotated[int, Field(ge=10, le=100)]
    latency_high_seconds: Annotated[float, Field(gt=0)]
    root_volume_gb: Annotated[int, Field(ge=8)]
    health_check_path: str

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, instance_type: str) -> str:
        rules.ec2_instance_type(instance_type)
        return instance_type

    @field_validator("health_check_path")
    @classmethod
    def _health_check_path(cls, path: str) -> str:
        rules.health_check_path(path)
        return path

    @model_validator(mode="after")
    def _image_for_the_type(self) -> WebConfig:
        rules.instance_fits_ami(self.instance_type, self.ami_parameter)
        return self

    @model_validator(mode="after")
    def _sizes(self) -> WebConfig:
        rules.group_sizes(self.min_size, self.desired_capacity, self.max_size)
        return self


class ObservabilityConfig(Strict):
    alarm_email: str | None = None
    xray_sampling_rate: Annotated[float, Field(ge=0, le=1)]
    rds_cpu_percent: Annotated[int, Field(ge=1, le=100)]
    rds_free_storage_gb: Annotated[int, Field(ge=1)]
    redis_cpu_percent: Annotated[int, Field(ge=1, le=100)]
    ecs_cpu_percent: Annotated[int, Field(ge=1, le=100)]
    ecs_memory_percent: Annotated[int, Field(ge=1, le=100)]
    alb_5xx_per_minute: Annotated[int, Field(ge=1)]


class Components(Strict):
    kms: KmsConfig
    network: NetworkConfig
    storage: StorageConfig
    redis: RedisConfig
    database: DatabaseConfig
    edge: EdgeConfig
    lms: LmsConfig
    web: WebConfig
    observability: ObservabilityConfig


# --- the whole environment ----------------------------------------------------------------


class EnvConfig(Strict):
    project: Name
    owner: TagValue
    github: GitHub
    region: str
    availability_zones: list[str]
    account: Account
    environment: Environment
    deletion_protection: bool
    workloads: Workloads = Workloads()
    components: Components

    @field_validator("region")
    @classmethod
    def _region(cls, region: str) -> str:
        rules.aws_region(region)
        rules.elb_log_account(region)  # the edge's access logs need it
        return region

    @field_validator("availability_zones")
    @classmethod
    def _zones_in_region(cls, zones: list[str], info: ValidationInfo) -> list[str]:
        region = info.data.get("region")
        if region:
            for zone in zones:
                rules.availability_zone(zone, region)
        if len(set(zones)) != len(zones):
            raise ValueError("availability zones repeat")
        return zones

    @model_validator(mode="after")
    def _enough_zones(self) -> EnvConfig:
        if len(self.availability_zones) < self.components.network.az_count:
            raise ValueError(
                f"components.network.az_count={self.components.network.az_count} but only "
                f"{len(self.availability_zones)} availability_zones are listed"
            )
        return self

    @model_validator(mode="after")
    def _names_fit(self) -> EnvConfig:
        """Every name the components make (Label, TIGHT_NAMES) fits AWS's limit whole; every
        component counts, built or not, so that turning a workload on cannot break names."""
        for component in TIGHT_NAMES:
            if component == ACCOUNT_NAMES:
                label, key = self.account_label(component), "account.name"
                made_by, change = f"{label.environment!r} (in {label.suffix})", "the account name"
            else:
                label, key = self.label(component), "environment.name"
                made_by = f"{label.environment!r} with the suffix {label.suffix!r}"
                change = "the environment name or its suffix"
            for name, limit in label.oversized(component, self.account.id):
                raise ValueError(
                    f"{key}: {made_by} makes the {component} name {name!r}, {len(name)} characters; "
                    f"AWS allows {limit}: shorten {change}"
                )
        return self

    @property
    def azs(self) -> tuple[str, ...]:
        """The zones this environment uses (the first az_count of the region's list)."""
        return tuple(self.availability_zones[: self.components.network.az_count])

    @property
    def tiers(self) -> tuple[str, ...]:
        """The application tiers this environment runs."""
        return tuple(name for name, on in self.workloads.model_dump().items() if on)

    @property
    def deployment(self) -> Deployment:
        return Deployment(account_id=self.account.id, region=self.region, azs=self.azs)

    def account_label(self, component: str) -> Label:
        """The account stack's names and tags: `<kind>-<account>-<region>`.

        Never the building environment's: the stack is shared by the account's environments,
        so its names must not depend on which of them is synthesized (staging alone, or a
        copy under ENVIRONMENT_SUFFIX) — a renamed trail or bucket would be replaced.
        """
        return Label(
            project=self.project,
            owner=self.owner,
            environment=self.account.name,
            environment_tag=self.account.name,
            suffix=self.region,
            component=component,
        )

    def label(self, component: str) -> Label:
        return Label(
            project=self.project,
            owner=self.owner,
            environment=self.environment.name,
            environment_tag=self.environment.tag,
            suffix=self.environment.suffix,
            component=component,
        )
