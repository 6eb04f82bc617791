"""Where a stack deploys: the account, region and zones, and the ARNs built from them."""

from __future__ import annotations

from dataclasses import dataclass

from modules.common import rules


@dataclass(frozen=True, kw_only=True)
class Deployment:
    account_id: str
    region: str
    azs: tuple[str, ...]
    partition: str = "aws"

    def __post_init__(self) -> None:
        rules.aws_region(self.region)
        for zone in self.azs:
            rules.availability_zone(zone, self.region)

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    @property
    def root_principal(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def service_principal(self, service: str) -> str:
        """A regional service principal, e.g. logs.sa-east-1.amazonaws.com."""
        return f"{service}.{self.region}.amazonaws.com"
