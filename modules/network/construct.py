"""The VPC: public and private subnets per zone, NAT, flow logs, closed default group."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

from modules.common import rules
from modules.common.cdk import Construct, aws
from modules.common.deployment import Deployment
from modules.common.iam import assume_role, document, statement
from modules.common.label import Label


@dataclass(frozen=True, kw_only=True)
class NetworkProps:
    label: Label
    deployment: Deployment
    # Encrypts the flow-log group.
    logs_key: aws.kms_key.KmsKey
    cidr: str = "10.0.0.0/16"
    # One public and one private subnet per zone, in deployment.azs order.
    public_subnets: Sequence[str] = ("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24")
    private_subnets: Sequence[str] = ("10.0.16.0/20", "10.0.32.0/20", "10.0.48.0/20")
    # "single": one NAT gateway for all zones (cheap; a zone outage cuts egress).
    # "per_az": one NAT gateway per zone (each private subnet egresses in its own zone).
    nat_gateways: Literal["single", "per_az"] = "single"
    flow_log_retention_days: int = 365
    # Application tiers that get a security group here, with no rules: each tier's
    # module and each data store it reaches add exactly the rules they need.
    tiers: Sequence[str] = ()

    def __post_init__(self) -> None:
        rules.vpc_cidr(self.cidr)
        for subnet in (*self.public_subnets, *self.private_subnets):
            rules.subnet_cidr(subnet)
        zones = len(self.deployment.azs)
        if len(self.public_subnets) < zones or len(self.private_subnets) < zones:
            raise ValueError(f"give one public and one private subnet per zone ({zones} zones)")


class Network(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: NetworkProps) -> None:
        super().__init__(scope, construct_id)
        label, dep = props.label, props.deployment
        self.vpc = aws.vpc.Vpc(
            self,
            "Vpc",
            cidr_block=props.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=label.name_tag("vpc"),
        )
        # Adopts the VPC's default group and removes all its rules: nothing can use it.
        aws.default_security_group.DefaultSecurityGroup(
            self, "DefaultSecurityGroup", vpc_id=self.vpc.id, tags=label.name_tag("secgroup-default")
        )
        igw = aws.internet_gateway.InternetGateway(
            self, "InternetGateway", vpc_id=self.vpc.id, tags=label.name_tag("igw")
        )

        public_rt = aws.route_table.RouteTable(
            self, "PublicRouteTable", vpc_id=self.vpc.id, tags=label.name_tag("rt-public")
        )
        aws.route.Route(
            self,
            "PublicDefaultRoute",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
        )

        self.public_subnets: list[aws.subnet.Subnet] = []
        self.private_subnets: list[aws.subnet.Subnet] = []
        nats: list[aws.nat_gateway.NatGateway] = []
        for i, az in enumerate(dep.azs):
            n = i + 1
            public = aws.subnet.Subnet(
                self,
                f"PublicSubnet{n}",
                vpc_id=self.vpc.id,
                cidr_block=props.public_subnets[i],
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={**label.name_tag(f"subnet-public-{az[-1]}"), "Tier": "public"},
            )
            aws.route_table_association.RouteTableAssociation(
                self, f"PublicSubnet{n}Routes", subnet_id=public.id, route_table_id=public_rt.id
            )
            self.public_subnets.append(public)
            if props.nat_gateways == "per_az" or i == 0:
                eip = aws.eip.Eip(self, f"NatEip{n}", domain="vpc", tags=label.name_tag(f"eip-nat-{az[-1]}"))
                nats.append(
                    aws.nat_gateway.NatGateway(
                        self,
                        f"NatGateway{n}",
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags=label.name_tag(f"nat-{az[-1]}"),
                        depends_on=[igw],
                    )
                )

        for i, az in enumerate(dep.azs):
            n = i + 1
            private = aws.subnet.Subnet(
                self,
                f"PrivateSubnet{n}",
                vpc_id=self.vpc.id,
                cidr_block=props.private_subnets[i],
                availability_zone=az,
                tags={**label.name_tag(f"subnet-private-{az[-1]}"), "Tier": "private"},
            )
            rt = aws.route_table.RouteTable(
                self, f"PrivateRouteTable{n}", vpc_id=self.vpc.id, tags=label.name_tag(f"rt-private-{az[-1]}")
            )
            aws.route.Route(
                self,
                f"PrivateDefaultRoute{n}",
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[i if props.nat_gateways == "per_az" else 0].id,
            )
            aws.route_table_association.RouteTableAssociation(
                self, f"PrivateSubnet{n}Routes", subnet_id=private.id, route_table_id=rt.id
            )
            self.private_subnets.append(private)
        self.nat_gateway_count = len(nats)

        self._flow_logs(props)
        self.tier_security_groups = {
            tier: aws.security_group.SecurityGroup(
                self,
                f"{tier.capitalize()}TierSecurityGroup",
                name=label.name(f"secgroup-{tier}"),
                description=f"{tier} tier: no rules here; its module and the stores it reaches add them",
                vpc_id=self.vpc.id,
                tags=label.name_tag(f"secgroup-{tier}"),
            )
            for tier in props.tiers
        }

    def _flow_logs(self, props: NetworkProps) -> None:
        label, dep = props.label, props.deployment
        group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "FlowLogGroup",
            name=f"/vpc/{label.name('flow-logs')}",
            retention_in_days=props.flow_log_retention_days,
            kms_key_id=props.logs_key.arn,
            tags=label.name_tag("flow-logs"),
        )
        role = aws.iam_role.IamRole(
            self,
            "FlowLogRole",
            name=label.name("role-flow-logs"),
            assume_role_policy=assume_role("vpc-flow-logs.amazonaws.com", source_account=dep.account_id),
            tags=label.name_tag("role-flow-logs"),
        )
        aws.iam_role_policy.IamRolePolicy(
            self,
            "FlowLogWrite",
            name=label.name("policy-flow-logs", max_length=128),
            role=role.id,
            policy=document(
                statement(
                    "WriteFlowLogGroup",
                    ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    [group.arn, f"{group.arn}:*"],
                )
            ),
        )
        aws.flow_log.FlowLog(
            self,
            "FlowLog",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            tags=label.name_tag("flow-log"),
        )

    # --- read-only attributes ----------------------------------------------------------
    # The AWS bindings are not analysed by mypy (pyproject), so their attributes are cast.

    @property
    def vpc_id(self) -> str:
        return cast(str, self.vpc.id)

    @property
    def vpc_cidr(self) -> str:
        return cast(str, self.vpc.cidr_block)

    @property
    def public_subnet_ids(self) -> list[str]:
        return [s.id for s in self.public_subnets]

    @property
    def private_subnet_ids(self) -> list[str]:
        return [s.id for s in self.private_subnets]

    def tier_security_group(self, tier: str) -> aws.security_group.SecurityGroup:
        if tier not in self.tier_security_groups:
            raise KeyError(f"no security group for tier {tier!r}; add it to NetworkProps.tiers")
        return self.tier_security_groups[tier]
