"""GuardDuty: one detector per account and region, so it lives in the account stack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from modules.common.cdk import Construct, aws
from modules.common.label import Label

# Each switchable protection plan: its prop, the GuardDuty feature, and the feature's
# additional configurations (switched with it). The one place these names are written.
FEATURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "s3_data_events": ("S3_DATA_EVENTS", ()),
    "rds_login_events": ("RDS_LOGIN_EVENTS", ()),
    "ebs_malware_protection": ("EBS_MALWARE_PROTECTION", ()),
    # GuardDuty deploys and updates its security agent itself: as a sidecar in new Fargate
    # tasks (the LMS) and through SSM on EC2 instances (the web tier).
    "runtime_monitoring": ("RUNTIME_MONITORING", ("ECS_FARGATE_AGENT_MANAGEMENT", "EC2_AGENT_MANAGEMENT")),
    # No EKS cluster or Lambda function is ours today: these bill nothing until one exists,
    # and then it is watched from its first day.
    "eks_audit_logs": ("EKS_AUDIT_LOGS", ()),
    "lambda_network_logs": ("LAMBDA_NETWORK_LOGS", ()),
}


@dataclass(frozen=True, kw_only=True)
class ThreatDetectionProps:
    label: Label
    # How often GuardDuty publishes updated findings to EventBridge.
    finding_publishing_frequency: Literal["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"] = "FIFTEEN_MINUTES"
    # Protection plans (each billed on its own volume); off means explicitly DISABLED.
    s3_data_events: bool = True
    rds_login_events: bool = True
    ebs_malware_protection: bool = True
    runtime_monitoring: bool = True
    eks_audit_logs: bool = True
    lambda_network_logs: bool = True


class ThreatDetection(Construct):
    """An enabled GuardDuty detector and one `aws_guardduty_detector_feature` per protection
    plan in FEATURES, ENABLED or DISABLED as the props say (never left to the account's
    defaults, so a plan switched on by hand shows up as drift)."""

    def __init__(self, scope: Construct, construct_id: str, props: ThreatDetectionProps) -> None:
        super().__init__(scope, construct_id)
        self.detector = aws.guardduty_detector.GuarddutyDetector(
            self,
            "Detector",
            enable=True,
            finding_publishing_frequency=props.finding_publishing_frequency,
            tags=props.label.name_tag("guardduty"),
        )
        for prop, (feature, additional) in FEATURES.items():
            status = "ENABLED" if getattr(props, prop) else "DISABLED"
            aws.guardduty_detector_feature.GuarddutyDetectorFeature(
                self,
                "".join(part.capitalize() for part in feature.split("_")),
                detector_id=self.detector.id,
                name=feature,
                status=status,
                additional_configuration=[
                    aws.guardduty_detector_feature.GuarddutyDetectorFeatureAdditionalConfiguration(
                        name=name, status=status
                    )
                    for name in additional
                ]
                or None,
            )

    @property
    def detector_id(self) -> str:
        return cast(str, self.detector.id)  # the AWS bindings are not analysed by mypy (pyproject)
