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
from infra.report.values import MASK, UNKNOWN, change_lines, natural_key

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
# a stack downstream of a change whose plan changes no output it reads (infra/runner/affected.py)
NOT_PLANNED = "not planned: no output it reads changes"
OUTCOMES_FILE = "outcomes.json"  # written in the run folder: each stack's status, environment, component

# What a reviewer must see first comes first. A resource is in one of these groups: its
# action, or for a change that does nothing else, "import" (an `import` block) or "move" (a
# `moved` block); a data source is "read" only when it is read during apply.
ACTIONS = ("delete", "replace", "forget", "update", "create", "import", "move", "read")
MAIN = ("create", "update", "replace", "delete")  # the table's and the totals' columns
SIGNS = {"create": "+", "update": "~", "replace": "±", "delete": "-"}
DESTRUCTIVE = ("delete", "replace")

# Terraform's action_reason, as its own plan text says it.
REASONS = {
    "replace_because_tainted": "tainted",
    "replace_because_cannot_update": "",  # replace_paths say which attributes
    "replace_by_request": "replacement requested (-replace)",
    "replace_by_triggers": "replace_triggered_by",
    "delete_because_no_resource_config": "removed from the code",
    "delete_because_no_module": "its module was removed from the code",
    "delete_because_wrong_repetition": "count or for_each changed how it repeats",
    "delete_because_count_index": "its count index is out of range",
    "delete_because_each_key": "its for_each key is gone",
    "delete_because_no_move_target": "the target of its moved block is not in the code",
    "read_because_config_unknown": "its configuration depends on values known after apply",
    "read_because_dependency_pending": "it depends on a resource with changes pending",
    "read_because_check_nested": "a check block reads it",
}
# How each kind of replace happens (Terraform's symbols: -/+ and +/-).
REPLACE_ORDER = {
    ("delete", "create"): "destroy, then create the replacement",
    ("create", "delete"): "create the replacement, then destroy",
    ("create", "forget"): "create the replacement; the existing object is not destroyed (destroy = false)",
    ("forget", "create"): "forget the existing object (not destroyed), then create the replacement",
}


@dataclass(frozen=True)
class ResourceChange:
    address: str
    type: str
    action: str  # create, update, replace, delete, forget, read, no-op (or Terraform's own word)
    reason: str  # "forces replacement: name", or ""
    lines: tuple[str, ...]  # the diff, one "+ key = value" per line, sensitive values masked
    replace_order: str = ""  # for a replace: which happens first (REPLACE_ORDER)
    moved_from: str = ""  # the previous address (a `moved` block)
    import_id: str = ""  # the id this resource is imported from (an `import` block)

    @property
    def stateful(self) -> str | None:
        """The kind of data this resource holds, when it holds any."""
        return STATEFUL_TYPES.get(self.type)

    @property
    def destroys(self) -> bool:
        """Whether an object is destroyed (a replace that forgets the old object keeps it)."""
        kept = (REPLACE_ORDER["create", "forget"], REPLACE_ORDER["forget", "create"])
        return self.action == "delete" or (self.action == "replace" and self.replace_order not in kept)

    @property
    def group(self) -> str:
        """Where the comment lists it: its action, or import/move for a change that only
        imports or moves."""
        if self.action != "no-op":
            return self.action
        return "import" if self.import_id else "move" if self.moved_from else "no-op"

    def count_as(self, action: str) -> bool:
        if action == "import":  # Terraform counts an import that also updates in both
            return bool(self.import_id)
        if action == "move":
            return bool(self.moved_from)
        return self.group == action


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
    outputs: tuple[ResourceChange, ...] = ()  # the stack's output changes (address "output.<name>")

    def count(self, action: str) -> int:
        return sum(c.count_as(action) for c in self.changes)

    @property
    def has_changes(self) -> bool:
        """Whether applying this plan does anything (an output change counts, as for Terraform)."""
        return bool(self.changes or self.outputs)

    @property
    def destructive(self) -> list[ResourceChange]:
        return [c for c in self.changes if c.action in DESTRUCTIVE]

    @property
    def forgotten(self) -> list[ResourceChange]:
        """Resources Terraform stops managing (`removed` with destroy = false); they stay in AWS."""
        return [c for c in self.changes if c.action == "forget" or (c.action == "replace" and not c.destroys)]

    def others(self) -> str:
        """The counts beyond add/change/replace/destroy: "1 forget, 2 import, 1 output"."""
        counts = [(self.count(a), a) for a in ACTIONS if a not in MAIN]
        counts.append((len(self.outputs), "output"))
        words = {"output": "outputs", "import": "imports", "move": "moves", "read": "reads", "forget": "forgets"}
        return ", ".join(f"{n} {a if n == 1 else words[a]}" for n, a in counts if n)

    def totals(self) -> str:
        main = " ".join(f"{SIGNS[a]}{self.count(a)}" for a in MAIN if self.count(a))
        return " · ".join(part for part in (main, self.others()) if part) or "no changes"

    @property
    def priority(self) -> int:
        """0 for a stack that deletes, 1 replaces, 2 forgets, 3 updates, ...; last: only outputs or drift."""
        return next((i for i, a in enumerate(ACTIONS) if self.count(a)), len(ACTIONS))


def action_of(actions: list[str]) -> str:
    """Terraform's action list as one word: create, update, replace, delete, forget, read,
    no-op; an action list this code does not know is kept as Terraform's words."""
    if tuple(actions) in REPLACE_ORDER:
        return "replace"
    if len(actions) == 1:
        return actions[0]
    return "+".join(actions)


def _sensitive(marks: Any) -> bool:
    if isinstance(marks, dict):
        return any(_sensitive(v) for v in marks.values())
    if isinstance(marks, list):
        return any(_sensitive(v) for v in marks)
    return marks is True


def _masked(value: Any, marks: Any) -> Any:
    """The value with what Terraform marks sensitive replaced by MASK; where the marks do
    not match the value's shape, the whole value is masked."""
    if marks is True:
        return MASK
    if not _sensitive(marks):
        return value
    if isinstance(marks, dict) and isinstance(value, dict):
        return {k: _masked(v, marks.get(k)) for k, v in value.items()}
    if isinstance(marks, list) and isinstance(value, list) and len(marks) == len(value):
        return [_masked(v, m) for v, m in zip(value, marks, strict=True)]
    return MASK


def _known(value: Any, marks: Any) -> Any:
    """The value with what is known only after apply shown as such (partly known values)."""
    if marks is True:
        return UNKNOWN
    if isinstance(marks, dict) and isinstance(value, dict | None):
        known = dict(value or {})
        known.update({k: _known(known.get(k), m) for k, m in marks.items() if _sensitive(m)})
        return known
    if isinstance(marks, list) and isinstance(value, list | None):
        items = list(value or [])
        return [_known(items[i] if i < len(items) else None, m) for i, m in enumerate(marks)] + items[len(marks) :]
    return value


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _union(a: Any, b: Any) -> Any:
    """Sensitivity marks of both sides, merged: a value sensitive on either side is masked on
    both (as Terraform masks it), or the other side would show what it was."""
    if a is True or b is True:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _union(a.get(k), b.get(k)) for k in set(a) | set(b)}
    if isinstance(a, list) and isinstance(b, list):
        size = max(len(a), len(b))
        return [_union(x, y) for x, y in zip(a + [None] * (size - len(a)), b + [None] * (size - len(b)), strict=True)]
    return a if a not in (None, False, {}, []) else b


def _lines(change: dict[str, Any], action: str, forced: set[str]) -> list[str]:
    """The attributes that change, as diff lines, masked where Terraform marks them sensitive."""
    c = change["change"]
    if action == "forget":
        return []  # nothing changes in AWS; Terraform only drops it from the state
    before = _as_dict(c.get("before")) if action != "create" else {}
    after = _as_dict(c.get("after")) if action != "delete" else {}
    unknown = _as_dict(c.get("after_unknown")) if action != "delete" else {}
    before_marks, after_marks = _as_dict(c.get("before_sensitive")), _as_dict(c.get("after_sensitive"))
    lines: list[str] = []
    tags_change = (None if _empty(before.get("tags")) else before.get("tags")) != (
        None if _empty(after.get("tags")) else after.get("tags")
    )
    for key in sorted(set(before) | set(after) | set(unknown), key=natural_key):
        if key == "tags_all" and tags_change:  # the merge of tags and default tags: tags say it
            continue
        later = unknown.get(key) is True
        old, new = before.get(key), after.get(key) if later else _known(after.get(key), unknown.get(key))
        old, new = (None if _empty(old) else old), (None if _empty(new) else new)
        if old == new and not later:
            continue  # null and empty are the same to a reader (the provider mixes them)
        marks = _union(before_marks.get(key), after_marks.get(key))
        shown_old, shown_new = _masked(old, marks), _masked(new, marks)
        hidden = shown_old == shown_new and not later  # what changed is all sensitive
        lines += change_lines(
            key,
            shown_old,
            None if later else shown_new,
            old_sensitive=shown_old == MASK or (hidden and old is not None),
            new_sensitive=shown_new == MASK or (hidden and new is not None),
            unknown=later,
            note="forces replacement" if key in forced else "",
        )
    return lines


def resource_change(change: dict[str, Any]) -> ResourceChange | None:
    """One entry of `resource_changes`, or None when a reviewer has nothing to see in it (a
    no-op that neither imports nor moves, a data source read while planning)."""
    c = change["change"]
    action = action_of(c["actions"])
    why = change.get("action_reason", "")
    moved_from = change.get("previous_address", "") or ""
    moved_from = moved_from if moved_from != change["address"] else ""
    importing = c.get("importing") or {}
    import_id = str(importing.get("id") or importing.get("identity") or "") if importing else ""
    if importing and not import_id:
        import_id = "(known after apply)"
    if action == "no-op" and not (moved_from or import_id):
        return None
    if action == "read" and not why:  # data sources read while planning: refresh noise
        return None
    paths = c.get("replace_paths") or []
    forced = {str(p[0]) for p in paths if p}
    reason = REASONS.get(why, why.replace("_", " "))
    if action == "replace" and forced and not reason:
        reason = f"forces replacement: {', '.join(sorted(forced, key=natural_key))}"
    elif action == "replace" and why == "replace_by_triggers":
        reason = "replaced by replace_triggered_by"
    elif action == "forget":
        reason = "removed block with destroy = false"
    address = change["address"] + (f" (deposed object {change['deposed']})" if change.get("deposed") else "")
    return ResourceChange(
        address=address,
        type=change.get("type", change["address"].split(".")[0]),
        action=action,
        reason=reason,
        lines=tuple(_lines(change, action, forced)),
        replace_order=REPLACE_ORDER.get(tuple(c["actions"]), "") if action == "replace" else "",
        moved_from=moved_from,
        import_id=import_id,
    )


def output_change(name: str, change: dict[str, Any]) -> ResourceChange | None:
    """One entry of `output_changes`, masked when the output is sensitive."""
    action = action_of(change.get("actions", []))
    if action == "no-op":
        return None
    sensitive = _sensitive(change.get("before_sensitive")) or _sensitive(change.get("after_sensitive"))
    before = None if action == "create" else change.get("before")
    after = None if action == "delete" else change.get("after")
    unknown = action != "delete" and _sensitive(change.get("after_unknown"))
    lines = change_lines(
        name,
        before,
        None if unknown else after,
        old_sensitive=sensitive,
        new_sensitive=sensitive,
        unknown=unknown,
    )
    if sensitive and not lines:
        lines = [f"~ {name} = {MASK}"]
    return ResourceChange(f"output.{name}", "output", action, "", tuple(lines))


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


def _order(change: ResourceChange) -> tuple[int, tuple[Any, ...]]:
    group = change.group
    return (ACTIONS.index(group) if group in ACTIONS else -1, natural_key(change.address))  # unknown first


def from_plan(stack: str, environment: str, component: str, doc: dict[str, Any]) -> StackPlan:
    changes = [r for c in doc.get("resource_changes", []) if (r := resource_change(c))]
    outside = [r for c in doc.get("resource_drift", []) if (r := resource_change(c)) and _news(r, doc, changes)]
    outputs = [r for name, c in (doc.get("output_changes") or {}).items() if (r := output_change(name, c))]
    return StackPlan(
        stack=stack,
        environment=environment,
        component=component,
        changes=tuple(sorted(changes, key=_order)),
        outside=tuple(sorted(outside, key=lambda r: natural_key(r.address))),
        outputs=tuple(sorted(outputs, key=lambda r: natural_key(r.address))),
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
    for name, o in sorted(outcomes.items(), key=lambda item: natural_key(item[0])):
        plan_file = run_dir / name / "plan.json"
        if o["status"] == "ok" and plan_file.is_file():
            plans.append(from_plan(name, o["environment"], o["component"], _read_json(plan_file)))
        else:
            plans.append(StackPlan(name, o["environment"], o["component"], status=o["status"], detail=o["detail"]))
    return plans
