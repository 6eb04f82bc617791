"""ElastiCache Redis for sessions: TLS only, KMS at rest, Multi-AZ with automatic failover."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from modules.common import rules
from modules.common.cdk import Construct, aws
from modules.common.deployment import Deployment
from modules.common.iam import document, statement
from modules.common.label import Label
from modules.common.security import DataStore, owner_scope
from modules.network import Network

REDIS_PORT = 6379


@dataclass(frozen=True, kw_only=True)
class RedisProps:
    label: Label
    deployment: Deployment
    network: Network
    key: aws.kms_key.KmsKey
    logs_key: aws.kms_key.KmsKey
    node_type: str = "cache.t4g.small"
    engine_version: str = "7.1"
    # One primary and replicas, each in its own zone (round robin over the network's zones).
    num_cache_clusters: int = 2
    snapshot_retention_days: int = 7
    log_retention_days: int = 365

    def __post_init__(self) -> None:
        rules.cache_node_type(self.node_type)
        rules.cache_clusters(self.num_cache_clusters)
        rules.redis_engine_version(self.engine_version)


class Redis(DataStore):
    """A replication group that only TLS clients authenticated through IAM can use.

    No password exists: clients sign in as the IAM-authenticated user `app_user_name`
    with a token from their role (`grant_connect(role)`), so no secret can reach state,
    plans or logs. The built-in `default` user is replaced by one that is switched off.
    Creates a security group that admits nothing; `allow_from(group)` opens 6379.
    """

    port = REDIS_PORT
    protocol = "Redis"
    rule_prefix = "Redis"

    def __init__(self, scope: Construct, construct_id: str, props: RedisProps) -> None:
        super().__init__(scope, construct_id, label=props.label)
        label = props.label
        self._props = props
        self.group_id = label.name("redis-sessions")
        subnets = aws.elasticache_subnet_group.ElasticacheSubnetGroup(
            self,
            "SubnetGroup",
            name=label.name("redis-subnets"),
            subnet_ids=props.network.private_subnet_ids,
            description="Private subnets for the session cache",
            tags=label.name_tag("redis-subnets"),
        )
        params = aws.elasticache_parameter_group.ElasticacheParameterGroup(
            self,
            "Parameters",
            name=label.name("redis-params"),
            family=f"redis{props.engine_version.split('.')[0]}",
            description="Session cache: evict only keys with a TTL",
            parameter=[
                aws.elasticache_parameter_group.ElasticacheParameterGroupParameter(
                    name="maxmemory-policy", value="volatile-lru"
                )
            ],
            tags=label.name_tag("redis-params"),
        )
        self.security_group = aws.security_group.SecurityGroup(
            self,
            "SecurityGroup",
            name=label.name("secgroup-redis"),
            vpc_id=props.network.vpc_id,
            description="Session cache: 6379 only from the groups allowed by allow_from",
            tags=label.name_tag("secgroup-redis"),
        )
        disabled_default = aws.elasticache_user.ElasticacheUser(
            self,
            "DefaultUserOff",
            user_id=label.name("redis-default"),
            user_name="default",
            engine="REDIS",
            access_string="off -@all",
            authentication_mode=aws.elasticache_user.ElasticacheUserAuthenticationMode(type="no-password-required"),
            tags=label.name_tag("redis-default"),
        )
        self.app_user_name = label.name("redis-app")
        self.app_user = aws.elasticache_user.ElasticacheUser(
            self,
            "AppUser",
            user_id=self.app_user_name,
            user_name=self.app_user_name,
            engine="REDIS",
            access_string="on ~* +@all -@dangerous",
            authentication_mode=aws.elasticache_user.ElasticacheUserAuthenticationMode(type="iam"),
            tags=label.name_tag("redis-app"),
        )
        users = aws.elasticache_user_group.ElasticacheUserGroup(
            self,
            "Users",
            user_group_id=label.name("redis-users"),
            engine="REDIS",
            user_ids=[disabled_default.user_id, self.app_user.user_id],
            tags=label.name_tag("redis-users"),
        )
        logs = {
            kind: aws.cloudwatch_log_group.CloudwatchLogGroup(
                self,
                f"{kind.capitalize()}Log",
                name=f"/elasticache/{label.name(f'redis-{kind}-log')}",
                retention_in_days=props.log_retention_days,
                kms_key_id=props.logs_key.arn,
                tags=label.name_tag(f"redis-{kind}-log"),
            )
            for kind in ("slow", "engine")
        }
        zones = props.deployment.azs
        self.replication_group = aws.elasticache_replication_group.ElasticacheReplicationGroup(
            self,
            "ReplicationGroup",
            replication_group_id=self.group_id,
            description="LMS and web sessions",
            engine="redis",
            engine_version=props.engine_version,
            node_type=props.node_type,
            port=REDIS_PORT,
            num_cache_clusters=props.num_cache_clusters,
            preferred_cache_cluster_azs=[zones[i % len(zones)] for i in range(props.num_cache_clusters)],
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            at_rest_encryption_enabled="true",
            kms_key_id=props.key.arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            user_group_ids=[users.user_group_id],
            subnet_group_name=subnets.name,
            parameter_group_name=params.name,
            security_group_ids=[self.security_group.id],
            snapshot_retention_limit=props.snapshot_retention_days,
            snapshot_window="03:00-04:00",
            maintenance_window="sun:05:00-sun:06:00",
            auto_minor_version_upgrade="true",
            log_delivery_configuration=[
                aws.elasticache_replication_group.ElasticacheReplicationGroupLogDeliveryConfiguration(
                    destination=logs[kind].name,
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type=f"{kind}-log",
                )
                for kind in ("slow", "engine")
            ],
            tags=label.name_tag("redis-sessions"),
        )

    def grant_connect(self, role: aws.iam_role.IamRole, name: str) -> None:
        """Let `role` sign in to the cache as the application user (IAM authentication)."""
        aws.iam_role_policy.IamRolePolicy(
            owner_scope(role),
            f"{name}RedisConnect",
            role=role.id,
            name=self._props.label.name(f"policy-redis-{name.lower()}", max_length=128),
            policy=document(
                statement("ConnectAsAppUser", ["elasticache:Connect"], [self.replication_group.arn, self.app_user.arn])
            ),
        )

    # --- read-only attributes ----------------------------------------------------------
    # The AWS bindings are not analysed by mypy (pyproject), so their attributes are cast.

    @property
    def replication_group_id(self) -> str:
        return cast(str, self.replication_group.id)

    @property
    def primary_endpoint(self) -> str:
        return cast(str, self.replication_group.primary_endpoint_address)
