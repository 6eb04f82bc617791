"""RDS MySQL: Multi-AZ, KMS-encrypted, private, with its password managed by RDS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from modules.common import rules
from modules.common.cdk import Construct, aws
from modules.common.deployment import Deployment
from modules.common.iam import assume_role
from modules.common.label import Label
from modules.common.security import DataStore
from modules.network import Network

MYSQL_PORT = 3306
ENHANCED_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
LOG_EXPORTS = ["error", "general", "slowquery"]


@dataclass(frozen=True, kw_only=True)
class DatabaseProps:
    label: Label
    deployment: Deployment
    network: Network
    key: aws.kms_key.KmsKey
    # MySQL 8.4 (the LTS) or later: the parameter group family follows it (mysql8.4).
    engine_version: str = "8.4"
    instance_class: str = "db.t3.medium"
    allocated_storage_gb: int = 50
    # Storage grows by itself up to this ceiling.
    max_allocated_storage_gb: int = 200
    # A standby in another zone, promoted automatically on failure.
    multi_az: bool = True
    backup_retention_days: int = 7
    monitoring_interval_seconds: int = 60
    master_username: str = "lmsadmin"
    # When true the instance cannot be deleted and a final snapshot is kept on destroy.
    deletion_protection: bool = False

    def __post_init__(self) -> None:
        rules.mysql_engine_version(self.engine_version)
        rules.db_instance_class(self.instance_class)
        rules.backup_retention(self.backup_retention_days)
        rules.storage_size(self.allocated_storage_gb)
        rules.storage_size(self.max_allocated_storage_gb)
        rules.storage_ceiling(self.allocated_storage_gb, self.max_allocated_storage_gb)


class Database(DataStore):
    """A private MySQL instance whose master password never leaves Secrets Manager.

    RDS creates and rotates the master password in a secret encrypted with `key`
    (`manage_master_user_password`): no password is in configuration, state or plans.
    Connections must use TLS (`require_secure_transport`). Creates a security group that
    admits nothing; `allow_from(group)` opens 3306.
    """

    port = MYSQL_PORT
    protocol = "MySQL"
    rule_prefix = "Mysql"

    def __init__(self, scope: Construct, construct_id: str, props: DatabaseProps) -> None:
        super().__init__(scope, construct_id, label=props.label)
        label = props.label
        self._key_arn = props.key.arn
        major, minor = rules.mysql_engine_version(props.engine_version)
        family = f"mysql{major}.{minor}"
        subnets = aws.db_subnet_group.DbSubnetGroup(
            self,
            "SubnetGroup",
            name=label.name("rds-subnets"),
            subnet_ids=props.network.private_subnet_ids,
            description="Private subnets for the LMS database",
            tags=label.name_tag("rds-subnets"),
        )
        # A family is fixed for a group's life: a new major version is a new group, named for
        # its family and made before the old one goes (the old is deleted once the instance
        # has left it). require_secure_transport exists in every family since 5.7; nothing
        # set here was removed in 8.4 (default_authentication_plugin was, and is not set:
        # 8.4 authenticates with caching_sha2_password, and IAM tokens, by default).
        params = aws.db_parameter_group.DbParameterGroup(
            self,
            "Parameters",
            name=label.name(f"rds-params-mysql{major}-{minor}"),
            family=family,
            description="TLS-only connections",
            parameter=[aws.db_parameter_group.DbParameterGroupParameter(name="require_secure_transport", value="1")],
            lifecycle={"create_before_destroy": True},
            tags=label.name_tag(f"rds-params-mysql{major}-{minor}"),
        )
        self.security_group = aws.security_group.SecurityGroup(
            self,
            "SecurityGroup",
            name=label.name("secgroup-rds"),
            vpc_id=props.network.vpc_id,
            description="LMS database: 3306 only from the groups allowed by allow_from",
            tags=label.name_tag("secgroup-rds"),
        )
        monitoring = aws.iam_role.IamRole(
            self,
            "MonitoringRole",
            name=label.name("role-rds-monitoring"),
            assume_role_policy=assume_role("monitoring.rds.amazonaws.com", source_account=props.deployment.account_id),
            tags=label.name_tag("role-rds-monitoring"),
        )
        aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self, "MonitoringPolicy", role=monitoring.name, policy_arn=ENHANCED_MONITORING_POLICY
        )
        identifier = label.name("rds-lms")
        self.instance = aws.db_instance.DbInstance(
            self,
            "Instance",
            identifier=identifier,
            engine="mysql",
            engine_version=props.engine_version,
            # A major upgrade (8.0 -> 8.4) is a reviewed change of engine_version: RDS refuses
            # it without this flag. Applied at once, not in the maintenance window: a pending
            # change would keep the old parameter group attached (its delete fails) and show
            # in every plan until then; prod's apply already waits for its reviewers.
            allow_major_version_upgrade=True,
            apply_immediately=True,
            instance_class=props.instance_class,
            allocated_storage=props.allocated_storage_gb,
            max_allocated_storage=props.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=props.key.arn,
            multi_az=props.multi_az,
            db_subnet_group_name=subnets.name,
            parameter_group_name=params.name,
            vpc_security_group_ids=[self.security_group.id],
            publicly_accessible=False,
            port=MYSQL_PORT,
            username=props.master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=props.key.arn,
            iam_database_authentication_enabled=True,
            backup_retention_period=props.backup_retention_days,
            backup_window="03:00-04:00",
            maintenance_window="sun:05:00-sun:06:00",
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            deletion_protection=props.deletion_protection,
            skip_final_snapshot=not props.deletion_protection,
            final_snapshot_identifier=f"{identifier}-final" if props.deletion_protection else None,
            monitoring_interval=props.monitoring_interval_seconds,
            monitoring_role_arn=monitoring.arn,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=props.key.arn,
            performance_insights_retention_period=7,
            enabled_cloudwatch_logs_exports=LOG_EXPORTS,
            tags=label.name_tag("rds-lms"),
        )

    # --- read-only attributes ----------------------------------------------------------
    # The AWS bindings are not analysed by mypy (pyproject), so their attributes are cast.

    @property
    def db_instance_identifier(self) -> str:
        return cast(str, self.instance.identifier)

    @property
    def db_instance_endpoint(self) -> str:
        return cast(str, self.instance.address)

    @property
    def master_secret_arn(self) -> str:
        return cast(str, self.instance.master_user_secret.get(0).secret_arn)

    @property
    def master_secret_key_arn(self) -> str:
        """The KMS key the master secret is encrypted with (a reader needs kms:Decrypt on it)."""
        return cast(str, self._key_arn)
