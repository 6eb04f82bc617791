"""Security group rules as verbs: one rule per (group, peer, port), each with a reason.

Groups start empty (deny by default). The module that owns a target writes the rules that
let others reach it; these helpers are how it writes them.
"""

from __future__ import annotations

import re
from typing import ClassVar, TypeAlias

from modules.common.cdk import Construct, aws
from modules.common.label import Label

SecurityGroup: TypeAlias = aws.security_group.SecurityGroup


def _rule_tags(label: Label, construct_id: str) -> dict[str, str]:
    return label.name_tag("sgr-" + re.sub(r"(?<!^)(?=[A-Z])", "-", construct_id).lower())


def allow_in(
    scope: Construct,
    construct_id: str,
    *,
    label: Label,
    group: SecurityGroup,
    source: SecurityGroup,
    port: int,
    description: str,
) -> None:
    aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
        scope,
        construct_id,
        security_group_id=group.id,
        referenced_security_group_id=source.id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=description,
        tags=_rule_tags(label, construct_id),
    )


def allow_out(
    scope: Construct,
    construct_id: str,
    *,
    label: Label,
    group: SecurityGroup,
    port: int,
    description: str,
    destination: SecurityGroup | None = None,
    cidr: str | None = None,
) -> None:
    if (destination is None) == (cidr is None):
        raise ValueError("give exactly one of destination (a security group) or cidr")
    aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule(
        scope,
        construct_id,
        security_group_id=group.id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=description,
        tags=_rule_tags(label, construct_id),
        **({"referenced_security_group_id": destination.id} if destination is not None else {"cidr_ipv4": cidr}),
    )


class DataStore(Construct):
    """A store behind its own security group, which admits nothing until `allow_from`.

    A store states its `port`, the `protocol` its rules describe and the `rule_prefix` of
    their construct ids (a contract: "MysqlFromLms"), and creates `security_group`.
    """

    port: ClassVar[int]
    protocol: ClassVar[str]
    rule_prefix: ClassVar[str]
    security_group: SecurityGroup

    def __init__(self, scope: Construct, construct_id: str, *, label: Label) -> None:
        super().__init__(scope, construct_id)
        self._label = label

    def allow_from(self, group: SecurityGroup, name: str) -> None:
        """Open the store's port from `group`, the `name` tier's (its egress is its owner's to write)."""
        allow_in(
            self,
            f"{self.rule_prefix}From{name}",
            label=self._label,
            group=self.security_group,
            source=group,
            port=self.port,
            description=f"{self.protocol} from the {name} tier",
        )


def reach(
    scope: Construct, name: str, *, label: Label, group: SecurityGroup, store: DataStore, description: str
) -> None:
    """Egress from a tier's group to a store's group, written by the tier's own module."""
    allow_out(
        scope,
        f"To{name}",
        label=label,
        group=group,
        destination=store.security_group,
        port=store.port,
        description=description,
    )


def owner_scope(resource: Construct) -> Construct:
    """Where a grant to `resource` is written: beside it, in its own stack (no cycles)."""
    return resource.node.scope  # type: ignore[return-value]
