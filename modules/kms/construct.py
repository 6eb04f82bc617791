"""Customer-managed KMS keys: one for data stores, one for logs and alarms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from modules.common import rules
from modules.common.cdk import Construct, aws
from modules.common.deployment import Deployment
from modules.common.iam import Statement, document, statement
from modules.common.label import Label

KEY_ADMIN_ACTIONS = ["kms:*"]
KEY_USE_ACTIONS = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]


@dataclass(frozen=True, kw_only=True)
class KmsProps:
    label: Label
    deployment: Deployment
    # Days a scheduled deletion waits; the key can be recovered until then.
    deletion_window_days: int = 30
    # Automatic rotation is always on; this sets how often.
    rotation_period_days: int = 365

    def __post_init__(self) -> None:
        rules.kms_deletion_window(self.deletion_window_days)
        rules.kms_rotation_period(self.rotation_period_days)


class Kms(Construct):
    """Two rotating customer keys with explicit key policies and aliases.

    - `data_key` encrypts data stores (RDS, ElastiCache, EFS, EBS, S3). Only principals of
      this account can use it, through their IAM policies.
    - `logs_key` encrypts CloudWatch Logs groups and the alarm topic; its policy lets the
      CloudWatch Logs service use it for this account's log groups only, and CloudWatch
      alarms publish to the encrypted topic.
    """

    def __init__(self, scope: Construct, construct_id: str, props: KmsProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        dep = props.deployment
        admin = statement("AccountAdministers", KEY_ADMIN_ACTIONS, "*", principal={"AWS": dep.root_principal})
        self.data_key = self._key("Data", "kms-data", "Data stores (RDS, ElastiCache, EFS, EBS, S3)", [admin])
        self.logs_key = self._key(
            "Logs",
            "kms-logs",
            "CloudWatch Logs and alarm notifications",
            [
                admin,
                statement(
                    "CloudWatchLogsUse",
                    KEY_USE_ACTIONS,
                    "*",
                    principal={"Service": dep.service_principal("logs")},
                    condition={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": dep.arn("logs", "log-group:*")}},
                ),
                statement(
                    "CloudWatchAlarmsPublish",
                    ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "*",
                    principal={"Service": "cloudwatch.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceAccount": dep.account_id}},
                ),
            ],
        )

    def _key(self, construct_id: str, kind: str, description: str, statements: list[Statement]) -> aws.kms_key.KmsKey:
        p = self._props
        key = aws.kms_key.KmsKey(
            self,
            f"{construct_id}Key",
            description=f"{description} - {p.label.environment}",
            enable_key_rotation=True,
            rotation_period_in_days=p.rotation_period_days,
            deletion_window_in_days=p.deletion_window_days,
            policy=document(*statements),
            tags=p.label.name_tag(kind),
        )
        aws.kms_alias.KmsAlias(
            self, f"{construct_id}Alias", name=f"alias/{p.label.name(kind, max_length=250)}", target_key_id=key.key_id
        )
        return key

    # --- read-only attributes ----------------------------------------------------------
    # The AWS bindings are not analysed by mypy (pyproject), so their attributes are cast.

    @property
    def data_key_arn(self) -> str:
        return cast(str, self.data_key.arn)

    @property
    def logs_key_arn(self) -> str:
        return cast(str, self.logs_key.arn)
