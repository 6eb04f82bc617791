"""Reading `terraform show -json` plans: what each stack would do."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def action_of(actions: list[str]) -> str:
    """Terraform's action list as one word: create, update, replace, delete, read, no-op."""
    if actions == ["no-op"] or actions == ["read"]:
        return actions[0]
    if "delete" in actions and "create" in actions:
        return "replace"
    return actions[0]


@dataclass
class PlanSummary:
    stack: str
    changes: dict[str, list[str]] = field(default_factory=dict)  # action -> resource addresses
    drift: list[str] = field(default_factory=list)  # resources changed outside Terraform
    doc: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, stack: str, doc: dict[str, Any]) -> PlanSummary:
        summary = cls(stack=stack, doc=doc)
        for change in doc.get("resource_changes", []):
            action = action_of(change["change"]["actions"])
            if action not in ("no-op", "read"):
                summary.changes.setdefault(action, []).append(change["address"])
        summary.drift = [
            c["address"] for c in doc.get("resource_drift", []) if action_of(c["change"]["actions"]) != "no-op"
        ]
        return summary

    @classmethod
    def load(cls, stack: str, path: Path) -> PlanSummary:
        return cls.from_json(stack, json.loads(path.read_text()))

    def count(self, action: str) -> int:
        return len(self.changes.get(action, []))

    @property
    def has_changes(self) -> bool:
        return any(self.changes.values())

    def line(self) -> str:
        if not self.has_changes:
            return "no changes"
        return " ".join(
            f"{sign}{self.count(a)}"
            for sign, a in (("+", "create"), ("~", "update"), ("±", "replace"), ("-", "delete"))
            if self.count(a)
        )
