"""The schema of the merged configuration. Every model forbids unknown keys and is frozen.

`strict=True`: TOML already has types, so "yes" for a bool or "3" for an int is a
mistake to report, not a value to coerce.
"""

from __future__ import annotations

import ipaddress
import re
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

from infra.deployment import Deployment
from infra.label import Label


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid IPv4 CIDR ({exc})") from None
    return str(net)


Cidr = Annotated[str, AfterValidator(_cidr)]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]


# --- account, region, environment -------------------------------------------------------


class Account(Strict):
    name: Name
    id: Annotated[str, Field(pattern=r"^\d{12}$")]
    state_bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]


SUFFIX_PATTERN = r"^[a-z0-9]{1,8}$"


class Environment(Strict):
    name: Name
    # The value of the Environment tag (prod's is "production").
    tag: str
    # Physical names are <type>-<environment>-<suffix>; ENVIRONMENT_SUFFIX overrides it.
    suffix: Annotated[str, Field(pattern=SUFFIX_PATTERN)]


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

    @field_validator("public_subnets", "private_subnets")
    @classmethod
    def _inside_vpc_and_disjoint(cls, subnets: list[str], info: ValidationInfo) -> list[str]:
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
    deletion_window_days: Annotated[int, Field(ge=7, le=30)]
    rotation_period_days: Annotated[int, Field(ge=90, le=2560)]


class Components(Strict):
    network: NetworkConfig
    kms: KmsConfig


# --- the whole environment ----------------------------------------------------------------


class EnvConfig(Strict):
    project: Name
    owner: Annotated[str, Field(min_length=1)]
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
    availability_zones: list[str]
    account: Account
    environment: Environment
    deletion_protection: bool
    workloads: Workloads = Workloads()
    components: Components

    @field_validator("availability_zones")
    @classmethod
    def _zones_in_region(cls, zones: list[str], info: ValidationInfo) -> list[str]:
        region = info.data.get("region")
        bad = [z for z in zones if region and not re.fullmatch(re.escape(region) + r"[a-z]", z)]
        if bad:
            raise ValueError(f"{', '.join(bad)} not in region {region}")
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

    def label(self, component: str) -> Label:
        return Label(
            project=self.project,
            owner=self.owner,
            environment=self.environment.name,
            environment_tag=self.environment.tag,
            suffix=self.environment.suffix,
            component=component,
        )
