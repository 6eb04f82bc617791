"""The only place physical names and standard tags are made (cloudposse's null-label idea).

Names are `<type>-<environment>-<suffix>`. When a service's limit is shorter than that,
the name is cut and a short hash of the full name keeps it unique and stable. The
configuration goes further: it refuses an environment whose names would need cutting
(`oversized`), so that every name in an environment reads whole.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from modules.common import rules

MANAGED_BY = "cdktf"
_HASH_LENGTH = 6
DEFAULT_MAX_LENGTH = 63

# AWS's limits on the names below 64 characters that we make (each API's reference):
ALB_NAME = 32  # ELBv2 CreateLoadBalancer: Name, at most 32 characters
TARGET_GROUP_NAME = 32  # ELBv2 CreateTargetGroup: Name, at most 32
XRAY_NAME = 32  # X-Ray CreateGroup GroupName and SamplingRule RuleName: 1..32
ELASTICACHE_ID = 40  # ElastiCache CreateReplicationGroup ReplicationGroupId: 1..40 (our user ids keep to it)
RDS_IDENTIFIER = 63  # RDS CreateDBInstance DBInstanceIdentifier: 1..63
S3_BUCKET_NAME = 63  # S3 bucket naming rules: 3..63
IAM_ROLE_NAME = 64  # IAM CreateRole RoleName: 1..64
EFS_CREATION_TOKEN = 64  # EFS CreateFileSystem CreationToken: 1..64
ACCOUNT_ID = "{account_id}"  # in a kind below: the 12 digits of the account id
ACCOUNT_NAMES = "account"  # the account stack's names below (made by `EnvConfig.account_label`)

# Every name a component makes whose limit is tight, kind -> limit. `Label.name` takes its
# limit from here, and the configuration refuses an environment whose names would not fit whole.
TIGHT_NAMES: dict[str, dict[str, int]] = {
    "network": {"role-flow-logs": IAM_ROLE_NAME},
    "storage": {"efs-content": EFS_CREATION_TOKEN},
    "redis": {
        "redis-sessions": ELASTICACHE_ID,
        "redis-default": ELASTICACHE_ID,
        "redis-app": ELASTICACHE_ID,
        "redis-users": ELASTICACHE_ID,
    },
    "database": {"rds-lms": RDS_IDENTIFIER, "role-rds-monitoring": IAM_ROLE_NAME},
    "edge": {"alb": ALB_NAME, f"alb-logs-{ACCOUNT_ID}": S3_BUCKET_NAME},
    "lms": {"tg-lms": TARGET_GROUP_NAME, "role-lms-execution": IAM_ROLE_NAME, "role-lms-task": IAM_ROLE_NAME},
    "web": {"tg-web": TARGET_GROUP_NAME, "role-web-instance": IAM_ROLE_NAME},
    "observability": {"xray": XRAY_NAME, "traces": XRAY_NAME},
    ACCOUNT_NAMES: {
        "role-cloudtrail-logs": IAM_ROLE_NAME,
        f"trail-logs-{ACCOUNT_ID}": S3_BUCKET_NAME,
        f"trail-access-{ACCOUNT_ID}": S3_BUCKET_NAME,
    },
}
_LIMITS = [
    (re.compile(re.escape(kind).replace(re.escape(ACCOUNT_ID), r"\d{12}")), limit)
    for kinds in TIGHT_NAMES.values()
    for kind, limit in kinds.items()
]


def name_limit(kind: str) -> int:
    """AWS's limit on the name of this kind (DEFAULT_MAX_LENGTH unless TIGHT_NAMES has it)."""
    return next((limit for pattern, limit in _LIMITS if pattern.fullmatch(kind)), DEFAULT_MAX_LENGTH)


@dataclass(frozen=True, kw_only=True)
class Label:
    project: str
    owner: str
    environment: str  # short name, used in physical names ("prod")
    environment_tag: str  # the Environment tag's value ("production")
    suffix: str
    component: str

    def __post_init__(self) -> None:
        for key, value in self.tags.items():
            rules.tag_key(key)
            rules.tag_value(value)

    def full_name(self, kind: str) -> str:
        """`<kind>-<environment>-<suffix>`, never cut."""
        if not re.fullmatch(r"[a-z][a-z0-9-]*", kind):
            raise ValueError(f"name kind {kind!r} must be lower-case letters, digits and '-'")
        return f"{kind}-{self.environment}-{self.suffix}"

    def name(self, kind: str, *, max_length: int | None = None) -> str:
        """`<kind>-<environment>-<suffix>`, lower case, at most max_length characters (by
        default AWS's limit for the kind: `name_limit`)."""
        full = self.full_name(kind)
        if max_length is None:
            max_length = name_limit(kind)
        if len(full) <= max_length:
            return full
        digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LENGTH]
        keep = max_length - _HASH_LENGTH - 1
        if keep < 1:
            raise ValueError(f"max_length={max_length} leaves no room for a name")
        return f"{full[:keep].rstrip('-')}-{digest}"

    def oversized(self, component: str, account_id: str) -> list[tuple[str, int]]:
        """The names of `component` (TIGHT_NAMES) longer than AWS allows, with the limit."""
        names = [
            (self.full_name(kind.replace(ACCOUNT_ID, account_id)), limit)
            for kind, limit in TIGHT_NAMES[component].items()
        ]
        return [(name, limit) for name, limit in names if len(name) > limit]

    @property
    def tags(self) -> dict[str, str]:
        """The standard tags, applied once through the provider's default_tags."""
        return {
            "Environment": self.environment_tag,
            "Owner": self.owner,
            "Project": self.project,
            "Component": self.component,
            "ManagedBy": MANAGED_BY,
        }

    def name_tag(self, kind: str, *, max_length: int = 255) -> dict[str, str]:
        """What a resource adds to the default tags: its Name."""
        return {"Name": self.name(kind, max_length=max_length)}
