"""EC2: two values stock moto 5.2.5 gets wrong on read.

- A security group rule that references another group loses its description (moto reads
  it only from CIDR ranges): every such rule shows a diff after apply.
- CreateLaunchTemplate's own tags (resource type "launch-template") are copied into the
  template data's TagSpecifications, which are meant for instances and volumes: the
  provider sees a tag specification it never sent.
"""

from __future__ import annotations

from typing import Any

from infra.emulator.fixes import replace


def _description(self: Any) -> str | None:
    description: str | None = self.ip_range.get("Description") or self.source_group.get("Description")
    return description


def _create_template(stock: Any) -> Any:
    def create_launch_template(self: Any) -> Any:
        answer = stock(self)
        template = self.ec2_backend.get_launch_template(answer.result["LaunchTemplate"]["LaunchTemplateId"])
        for version in template.versions:
            specs = version.data.get("TagSpecifications")
            if specs:
                version.data["TagSpecifications"] = [s for s in specs if s.get("ResourceType") != "launch-template"]
        return answer

    return create_launch_template


def apply() -> None:
    from moto.ec2.models.security_groups import SecurityGroupRule
    from moto.ec2.responses.launch_templates import LaunchTemplates

    replace(SecurityGroupRule, "description", property(_description))
    replace(LaunchTemplates, "create_launch_template", _create_template(LaunchTemplates.create_launch_template))
