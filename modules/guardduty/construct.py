"""GuardDuty: one detector per account and region, so it lives in the account stack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from modules.common.cdk import Construct, aws
from modules.common.label import Label


@dataclass(frozen=True, kw_only=True)
class ThreatDetectionProps:
    label: Label
    # How often GuardDuty publishes updated findings to EventBridge.
    finding_publishing_frequency: Literal["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"] = "FIFTEEN_MINUTES"


class ThreatDetection(Construct):
    """An enabled GuardDuty detector with S3 and EKS audit-log protection on by default."""

    def __init__(self, scope: Construct, construct_id: str, props: ThreatDetectionProps) -> None:
        super().__init__(scope, construct_id)
        self.detector = aws.guardduty_detector.GuarddutyDetector(
            self,
            "Detector",
            enable=True,
            finding_publishing_frequency=props.finding_publishing_frequency,
            tags=props.label.name_tag("guardduty"),
        )

    @property
    def detector_id(self) -> str:
        return cast(str, self.detector.id)  # the AWS bindings are not analysed by mypy (pyproject)
