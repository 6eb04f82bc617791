"""The only place physical names and standard tags are made (cloudposse's null-label idea).

Names are `<type>-<environment>-<suffix>`. When a service's limit is shorter than that,
the name is cut and a short hash of the full name keeps it unique and stable.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MANAGED_BY = "cdktf"
_HASH_LENGTH = 6


@dataclass(frozen=True, kw_only=True)
class Label:
    project: str
    owner: str
    environment: str  # short name, used in physical names ("prod")
    environment_tag: str  # the Environment tag's value ("production")
    suffix: str
    component: str

    def name(self, kind: str, *, max_length: int = 63) -> str:
        """`<kind>-<environment>-<suffix>`, lower case, at most max_length characters."""
        if not re.fullmatch(r"[a-z][a-z0-9-]*", kind):
            raise ValueError(f"name kind {kind!r} must be lower-case letters, digits and '-'")
        full = f"{kind}-{self.environment}-{self.suffix}"
        if len(full) <= max_length:
            return full
        digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LENGTH]
        keep = max_length - _HASH_LENGTH - 1
        if keep < 1:
            raise ValueError(f"max_length={max_length} leaves no room for a name")
        return f"{full[:keep].rstrip('-')}-{digest}"

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
