"""From a run's files to what people read: the comment, the job summary, the drift issues."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from infra.report.comment import SUMMARY_LIMIT, Context, render
from infra.report.plan import StackPlan, load_run

FindingKey = tuple[str, str, str]  # stack, resource, check id


def marker(workflow: str, target: str, number: int | None) -> str:
    """The hidden line that finds this report again: one comment per (PR, workflow, target)."""
    return f"<!-- infra:{workflow}:{target}:pr-{number if number is not None else 'none'} -->"


def run_url() -> str:
    """This workflow run's page (its job summary holds the full report), when in Actions."""
    parts = [os.environ.get(v, "") for v in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else ""


def load_findings(path: Path | None) -> dict[FindingKey, str]:
    if path is None or not path.is_file():
        return {}
    return {(f["stack"], f["resource"], f["check_id"]): f["check_name"] for f in json.loads(path.read_text())}


def with_new_findings(plans: list[StackPlan], head: Path | None, base: Path | None) -> list[StackPlan]:
    """Attach the checkov failures the base branch does not have to their stacks."""
    known = load_findings(base)
    fresh = {k: v for k, v in load_findings(head).items() if k not in known}
    by_stack: dict[str, list[str]] = {}
    for (stack, resource, check_id), name in sorted(fresh.items()):
        by_stack.setdefault(stack, []).append(f"{check_id} `{resource}`: {name}")
    found = {p.stack for p in plans}
    result = [dataclasses.replace(p, new_findings=tuple(by_stack.get(p.stack, ()))) for p in plans]
    result += [StackPlan(s, "-", "-", new_findings=tuple(items)) for s, items in by_stack.items() if s not in found]
    return result


def load_runs(run_dirs: Iterable[Path]) -> list[StackPlan]:
    plans: dict[str, StackPlan] = {}
    for run_dir in run_dirs:
        for plan in load_run(run_dir):
            plans[plan.stack] = plan
    return sorted(plans.values(), key=lambda p: p.stack)


def write_summary(plans: Sequence[StackPlan], ctx: Context) -> Path | None:
    """Append the report to $GITHUB_STEP_SUMMARY (when in Actions), within its 1 MiB."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    used = path.stat().st_size if path.is_file() else 0
    text = render(plans, dataclasses.replace(ctx, marker="", report_url=""), limit=SUMMARY_LIMIT - used - 1)
    with path.open("a") as handle:
        handle.write(text + "\n")
    return path
