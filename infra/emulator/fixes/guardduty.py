"""GuardDuty: detector features as stock moto 5.2.5 keeps them, and as AWS does.

- UpdateDetector with Features replaces the whole list, so with one
  aws_guardduty_detector_feature per feature (the provider sends one feature per call) only
  the last one survives, and the others show a diff. On AWS, UpdateDetector changes only
  the features it names, and in a feature only the additional configurations it names.
  Ours merges by name.
- GetDetector returns features as they were sent, without `updatedAt`; AWS stamps each
  feature and additional configuration. Ours does.
- GetDetector's dataSources ignore the features (S3 protection reads DISABLED with
  S3_DATA_EVENTS on) and lack malwareProtection; the foundational sources (CloudTrail, DNS
  and flow logs, which cannot be turned off) read DISABLED. On AWS dataSources is the older
  view of the same settings, which Prowler reads for S3 and EC2 malware protection. Ours
  derives it from the features, and turns dataSources sent by a caller into features.

Not modelled: AWS lists every feature, also those never set; ours lists those set.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from infra.emulator.fixes import replace

MALWARE_ROLE = (
    "role/aws-service-role/malware-protection.guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDutyMalwareProtection"
)


def status(enabled: Any) -> str:
    return "ENABLED" if enabled else "DISABLED"


def features_of(data_sources: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The features a CreateDetector/UpdateDetector `dataSources` argument sets."""
    data_sources = data_sources or {}
    found = []
    s3 = data_sources.get("s3Logs") or {}
    if "enable" in s3:
        found.append({"name": "S3_DATA_EVENTS", "status": status(s3["enable"])})
    audit = (data_sources.get("kubernetes") or {}).get("auditLogs") or {}
    if "enable" in audit:
        found.append({"name": "EKS_AUDIT_LOGS", "status": status(audit["enable"])})
    ebs = ((data_sources.get("malwareProtection") or {}).get("scanEc2InstanceWithFindings") or {}).get("ebsVolumes")
    if ebs is not None:
        found.append({"name": "EBS_MALWARE_PROTECTION", "status": status(ebs)})
    return found


def merge(kept: list[dict[str, Any]], sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The features after `sent` is applied to `kept`: by name, the rest unchanged."""
    now = time.time()
    features = {f["name"]: f for f in kept}
    for feature in sent:
        current = features.setdefault(feature["name"], {"name": feature["name"]})
        current.update(status=feature["status"], updatedAt=now)
        if "additionalConfiguration" in feature:
            extra = {c["name"]: c for c in current.get("additionalConfiguration", [])}
            for config in feature["additionalConfiguration"]:
                extra[config["name"]] = {"name": config["name"], "status": config["status"], "updatedAt": now}
            current["additionalConfiguration"] = list(extra.values())
    return list(features.values())


def data_sources(detector: Any) -> dict[str, Any]:
    """GetDetector's dataSources, the older view of the features."""
    on = {f["name"]: f["status"] for f in detector.features}

    def of(name: str) -> dict[str, str]:
        return {"status": on.get(name, "DISABLED")}

    foundational = {"status": status(detector.enabled)}
    role = detector.service_role.split(":role/")[0] + ":" + MALWARE_ROLE
    return {
        "cloudTrail": foundational,
        "dnsLogs": foundational,
        "flowLogs": foundational,
        "s3Logs": of("S3_DATA_EVENTS"),
        "kubernetes": {"auditLogs": of("EKS_AUDIT_LOGS")},
        "malwareProtection": {
            "scanEc2InstanceWithFindings": {"ebsVolumes": of("EBS_MALWARE_PROTECTION")},
            "serviceRole": role,
        },
    }


def _init(stock: Any) -> Any:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        stock(self, *args, **kwargs)
        self.features = merge([], features_of(self.datasources) + self.features)

    return __init__


def update(
    self: Any,
    enable: bool | None,
    finding_publishing_frequency: str | None,
    data_sources: dict[str, Any] | None,
    features: list[dict[str, Any]] | None,
) -> None:
    if enable is not None:
        self.enabled = enable
    if finding_publishing_frequency is not None:
        self.finding_publish_freq = finding_publishing_frequency
    self.features = merge(self.features, features_of(data_sources) + (features or []))
    self.updated_at = datetime.now()


def _to_json(stock: Any) -> Any:
    def to_json(self: Any) -> dict[str, Any]:
        answer: dict[str, Any] = stock(self)
        answer["dataSources"] = data_sources(self)
        return answer

    return to_json


def apply() -> None:
    from moto.guardduty.models import Detector

    replace(Detector, "__init__", _init(Detector.__init__))
    replace(Detector, "update", update)
    replace(Detector, "to_json", _to_json(Detector.to_json))
