"""What a run's plans say, resource by resource, read from `terraform show -json`.

Everything the reviewer sees is built from the JSON plan, not from Terraform's text: the
text has refresh noise ("Refreshing state...", "Reading...") and cannot be masked reliably.
Sensitive values (marked in `before_sensitive`/`after_sensitive`) never leave this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.errors import Failed

# Resources whose replacement or deletion loses data (or makes data unreadable): a plan
# that deletes or replaces one fails the check unless explicitly allowed.
STATEFUL_TYPES = {
    "aws_db_instance": "RDS",
    "aws_rds_cluster": "RDS",
    "aws_efs_file_system": "EFS",
    "aws_elasticache_replication_group": "Redis",
    "aws_elasticache_cluster": "Redis",
    "aws_kms_key": "KMS",
    "aws_s3_bucket": "S3",
    "aws_dynamodb_table": "DynamoDB",
    "aws_secretsmanager_secret": "Secrets Manager",
}
MASK = "(sensitive)"
UNKNOWN = "(known after apply)"
VALUE_WIDTH = 160
ACTIONS = ("delete", "replace", "update", "create")  # priority: what a reviewer must see first
SIGNS = {"create": "+", "update": "~", "replace": "±", "delete": "-"}
OUTCOMES_FILE = "outcomes.json"  # written in the run folder: each stack's status, environment, component


@dataclass(frozen=True)
class ResourceChange:
    address: str
    type: str
    action: str  # create, update, replace, delete
    reason: str  # "forces replacement: name", or ""
    lines: tuple[str, ...]  # the diff, one "+ key = value" per line, sensitive values masked

    @property
    def stateful(self) -> str | None:
        """The kind of data this resource holds, when it holds any."""
        return STATEFUL_TYPES.get(self.type)


@dataclass(frozen=True)
class StackPlan:
    stack: str
    environment: str
    component: str
    changes: tuple[ResourceChange, ...] = ()
    outside: tuple[ResourceChange, ...] = ()  # changed outside Terraform since the last apply
    status: str = "ok"  # ok, failed, skipped, deferred
    detail: str = ""
    new_findings: tuple[str, ...] = field(default=())  # checkov, new versus the base branch

    def count(self, action: str) -> int:
        return sum(c.action == action for c in self.changes)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def destructive(self) -> list[ResourceChange]:
        return [c for c in self.changes if c.action in ("delete", "replace")]

    def totals(self) -> str:
        return " ".join(f"{SIGNS[a]}{self.count(a)}" for a in reversed(ACTIONS) if self.count(a)) or "no changes"

    @property
    def priority(self) -> int:
        """0 for a stack that deletes, 1 replaces, 2 updates, 3 creates, 4 only drifted."""
        return next((i for i, a in enumerate(ACTIONS) if self.count(a)), len(ACTIONS))


def action_of(actions: list[str]) -> str:
    """Terraform's action list as one word: create, update, replace, delete, read, no-op."""
    if actions == ["no-op"] or actions == ["read"]:
        return actions[0]
    if "delete" in actions and "create" in actions:
        return "replace"
    return actions[0]


def _sensitive(marks: Any) -> bool:
    if isinstance(marks, dict):
        return any(_sensitive(v) for v in marks.values())
    if isinstance(marks, list):
        return any(_sensitive(v) for v in marks)
    return marks is True


def _show(value: Any, sensitive: bool) -> str:
    if sensitive:
        return MASK
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def _lines(change: dict[str, Any], action: str) -> list[str]:
    """The attributes that change, as diff lines, masked where Terraform marks them sensitive."""
    c = change["change"]
    before = c.get("before") if isinstance(c.get("before"), dict) else {}
    after = c.get("after") if isinstance(c.get("after"), dict) else {}
    unknown = c.get("after_unknown") if isinstance(c.get("after_unknown"), dict) else {}
    before_marks = c.get("before_sensitive") if isinstance(c.get("before_sensitive"), dict) else {}
    after_marks = c.get("after_sensitive") if isinstance(c.get("after_sensitive"), dict) else {}
    if action == "delete":
        return []
    lines = []
    for key in sorted(set(before) | set(after) | set(unknown)):
        if key == "tags_all":  # the provider's merge of tags and default tags: tags say it
            continue
        old, new, later = before.get(key), after.get(key), _sensitive(unknown.get(key)) or unknown.get(key) is True
        if action == "create":
            if later:
                lines.append(f"+ {key} = {UNKNOWN}")
            elif not _empty(new):
                lines.append(f"+ {key} = {_show(new, _sensitive(after_marks.get(key)))}")
            continue
        if (None if _empty(old) else old) == (None if _empty(new) else new) and not later:
            continue  # null and empty are the same to a reader (the provider mixes them)
        if not _empty(old):
            lines.append(f"- {key} = {_show(old, _sensitive(before_marks.get(key)))}")
        if later:
            lines.append(f"+ {key} = {UNKNOWN}")
        elif not _empty(new):
            lines.append(f"+ {key} = {_show(new, _sensitive(after_marks.get(key)))}")
    return lines


def resource_change(change: dict[str, Any]) -> ResourceChange | None:
    action = action_of(change["change"]["actions"])
    if action in ("no-op", "read"):  # data sources read at plan time: refresh noise
        return None
    paths = change["change"].get("replace_paths") or []
    forced = sorted({str(p[0]) for p in paths if p})
    reason = f"forces replacement: {', '.join(forced)}" if action == "replace" and forced else ""
    if action == "delete" and change.get("action_reason") == "delete_because_no_resource_config":
        reason = "removed from the code"
    return ResourceChange(
        address=change["address"],
        type=change.get("type", change["address"].split(".")[0]),
        action=action,
        reason=reason,
        lines=tuple(_lines(change, action)),
    )


def _news(drift: ResourceChange, doc: dict[str, Any], changes: list[ResourceChange]) -> bool:
    """Whether a change outside Terraform matters to this plan, as Terraform's own output
    decides: a resource gone, one the plan acts on, or one whose attributes the plan reads
    (`relevant_attributes`). The rest is refresh noise: values the provider filled in after
    apply (a role's inline policies, a target group's load balancers), or null that became
    empty; nothing will change because of them."""
    if drift.action == "delete":
        return True
    if not drift.lines:
        return False
    relevant = {r.get("resource") for r in doc.get("relevant_attributes", [])}
    return drift.address in relevant or any(c.address == drift.address for c in changes)


def from_plan(stack: str, environment: str, component: str, doc: dict[str, Any]) -> StackPlan:
    changes = [r for c in doc.get("resource_changes", []) if (r := resource_change(c))]
    outside = [r for c in doc.get("resource_drift", []) if (r := resource_change(c)) and _news(r, doc, changes)]
    order = {a: i for i, a in enumerate(ACTIONS)}
    return StackPlan(
        stack=stack,
        environment=environment,
        component=component,
        changes=tuple(sorted(changes, key=lambda r: (order[r.action], r.address))),
        outside=tuple(sorted(outside, key=lambda r: r.address)),
    )


class PlanReadError(Failed):
    """A run folder or a plan in it cannot be read."""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanReadError(f"{path}: cannot be read as JSON ({exc})") from None


def load_run(run_dir: Path) -> list[StackPlan]:
    """Every stack of a run, from its outcomes: the plan of each that planned, else its status."""
    path = run_dir / OUTCOMES_FILE
    if not path.is_file():
        raise PlanReadError(f"{run_dir} is not a run folder (no {OUTCOMES_FILE}): did the plan step run?")
    outcomes = _read_json(path)
    plans = []
    for name, o in sorted(outcomes.items()):
        plan_file = run_dir / name / "plan.json"
        if o["status"] == "ok" and plan_file.is_file():
            plans.append(from_plan(name, o["environment"], o["component"], _read_json(plan_file)))
        else:
            plans.append(StackPlan(name, o["environment"], o["component"], status=o["status"], detail=o["detail"]))
    return plans
