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
from modules.guardduty import ThreatDetection, ThreatDetectionProps
from modules.kms import Kms, KmsProps
from modules.network import Network, NetworkProps

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


Builder = Callable[[InfraStack, EnvConfig, Built], Any]

# Construction order. A component whose builder is missing here is not deployed.
COMPONENTS: dict[str, Builder] = {
    "kms": build_kms,
    "network": build_network,
}
