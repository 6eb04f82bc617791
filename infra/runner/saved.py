"""Saved plans: the merge queue plans the exact commit that will land, and its apply uses
exactly those plan files.

The queue's run stores each stack's plan file, its JSON and text, and the stack's synth
fingerprint in the state bucket under `plans/<env>/<commit>/` (KMS-encrypted: a plan file
carries the whole state, so it is never a workflow artifact). The push-to-main run loads
them for its commit and applies each one only when the stack's synthesized JSON still has
the saved fingerprint; Terraform itself refuses a plan whose state moved since ("Saved plan
is stale"), which is reported as "stale, re-plan needed", never as a crash.

A stack without a saved plan (deferred at plan time: its upstream was never applied; or a
downstream stack that was not planned) is planned at apply, after its upstream, under the
same gates, and its plan is in the run's report.

Without saved plans (no merge queue), the apply re-plans and compares each stack's set of
(address, action) with the plan reviewed on the pull request: anything else stops before
applying, naming what differs, unless a person re-runs with an explicit override.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.errors import Failed
from infra.report.plan import NOT_PLANNED, OUTCOMES_FILE, StackPlan, from_plan
from infra.runner import operations, orphans
from infra.runner.affected import changed_inputs
from infra.runner.executor import DEFERRED, OK, Listener, Outcome, run_graph
from infra.synth.graph import StackGraph, StackNode
from infra.synth.manifest import normalized

PREFIX = "plans"
INDEX = "saved.json"
FILES = ("plan.tfplan", "plan.json", "plan.txt")
STALE = "stale, re-plan needed"
AFTER_UPSTREAM = "planned at apply, after its upstream"  # a plan-only run's stack whose inputs change
Actions = frozenset[tuple[str, str]]  # (address, action) of every change a plan makes


class Refused(Failed):
    """A stack's apply stopped before it began (a plan that does not match, a gate)."""


def fingerprint(node: StackNode) -> str:
    """The stack's synthesized JSON without CDKTF's volatile metadata, hashed."""
    doc = normalized(json.loads(node.json_path.read_text()))
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def prefix(env: str, commit: str) -> str:
    return f"{PREFIX}/{env}/{commit}/"


@dataclass(frozen=True)
class SavedPlans:
    environment: str
    commit: str
    stacks: dict[str, dict[str, Any]]  # stack -> {fingerprint, status, detail, changed}
    folder: Path  # where the files were downloaded (stack/plan.tfplan ...)


def save(graph: StackGraph, run_dir: Path, *, bucket: str, region: str, env: str, commit: str) -> str:
    """Store a plan run's files under plans/<env>/<commit>/ (the merge queue's run only)."""
    s3 = boto3.client("s3", region_name=region)
    outcomes = json.loads((run_dir / OUTCOMES_FILE).read_text())
    stacks: dict[str, dict[str, Any]] = {}
    for name, outcome in outcomes.items():
        folder = run_dir / name
        files = [f for f in FILES if (folder / f).is_file()]
        for file in files:
            s3.put_object(
                Bucket=bucket,
                Key=prefix(env, commit) + f"{name}/{file}",
                Body=(folder / file).read_bytes(),
                ServerSideEncryption="aws:kms",
            )
        stacks[name] = {
            "fingerprint": fingerprint(graph.nodes[name]),
            "status": outcome["status"],
            "detail": outcome["detail"],
            "saved": "plan.tfplan" in files,
            "changed": "plan.json" in files,
        }
    index = {"environment": env, "commit": commit, "stacks": stacks}
    s3.put_object(
        Bucket=bucket,
        Key=prefix(env, commit) + INDEX,
        Body=json.dumps(index, indent=1).encode(),
        ServerSideEncryption="aws:kms",
    )
    saved = sum(s["saved"] for s in stacks.values())
    return f"saved {saved} plans of {env} for {commit[:12]} in s3://{bucket}/{prefix(env, commit)}"


def load(*, bucket: str, region: str, env: str, commit: str, dest: Path) -> SavedPlans | None:
    """The plans the merge queue saved for this commit (downloaded into dest), or None."""
    s3 = boto3.client("s3", region_name=region)
    try:
        index = json.loads(s3.get_object(Bucket=bucket, Key=prefix(env, commit) + INDEX)["Body"].read())
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    if index.get("commit") != commit or index.get("environment") != env:
        raise Refused(f"saved plans under {prefix(env, commit)} say {index.get('environment')}@{index.get('commit')}")
    for name, entry in index["stacks"].items():
        if not entry["saved"]:
            continue
        (dest / name).mkdir(parents=True, exist_ok=True)
        for file in FILES:
            try:
                body = s3.get_object(Bucket=bucket, Key=prefix(env, commit) + f"{name}/{file}")["Body"].read()
            except ClientError:
                continue
            (dest / name / file).write_bytes(body)
    return SavedPlans(env, commit, index["stacks"], dest)


def actions_of(plan: StackPlan) -> Actions:
    return frozenset((c.address, c.action) for c in plan.changes)


def _stateful_destroys(plan: StackPlan) -> list[str]:
    return [f"{c.action} {c.address} ({c.stateful})" for c in plan.destructive if c.stateful and c.destroys]


def _plan_of(node: StackNode, folder: Path) -> StackPlan:
    plan_json = folder / "plan.json"
    if not plan_json.is_file():
        return StackPlan(node.name, node.environment, node.component)
    return from_plan(node.name, node.environment, node.component, json.loads(plan_json.read_text()))


def _apply_file(node: StackNode, plan_file: Path) -> str:
    """Apply a saved plan; "" or, after it, what is tagged as the stack's and not in its state."""
    ws = operations._ready(node)
    result = operations.apply_plan(ws, plan_file, check=False)
    if result.returncode == 0:
        untracked = orphans.report(node, str(ws.dir))
        return f"; {untracked}" if untracked else ""
    if "Saved plan is stale" in result.output:
        raise Refused(f"{STALE}: the state changed after the merge queue planned it (Terraform refused the plan)")
    raise ws.failure("apply", result)


def apply_reviewed(
    graph: StackGraph,
    names: Iterable[str],
    *,
    run_dir: Path,
    saved: SavedPlans | None = None,
    reviewed: Mapping[str, Actions | None] | None = None,
    allow_stateful: bool = False,
    approved: Mapping[str, Actions | None] | None = None,
    dry_run: bool = False,
    only_if_inputs_change: Iterable[str] = (),
    workers: int | None = None,
    listener: Listener | None = None,
) -> list[Outcome]:
    """Apply what was reviewed, stack by stack in dependency order.

    With `saved` (the merge queue's plans for this commit): each stack's saved plan, when its
    synth fingerprint matches; a stack saved without a plan (deferred) is planned now, after
    its upstream. With `reviewed` instead ({stack: (address, action) set} of the pull
    request's last plan): each stack is re-planned and applied only when its set is the same
    (a stack deferred when reviewed, None, is planned now under the same gates).
    With neither (an explicit override): re-planned and applied. Every path keeps the
    stateful gate: a stateful delete/replace is applied only when `allow_stateful`.

    `dry_run` (the read-only plan job before an environment's approval): the same steps, with
    no lock and nothing applied; `approved_sets` of its run folder is what the approver saw.
    `approved` (that job's sets, in the approved job): every stack's plan, saved or fresh,
    must have the same set, or it stops before applying (a stack whose upstream changed in
    this run, or that was deferred then, cannot be shown before: it is planned after its
    upstream, in the run's report, under the same gates).
    """
    downstream = set(only_if_inputs_change)

    def gate(plan: StackPlan) -> None:
        stateful = _stateful_destroys(plan)
        if stateful and not allow_stateful:
            raise Refused(
                f"stateful delete/replace not approved: {'; '.join(stateful)} "
                "(needs the label `allow-stateful-changes` and an approving review by a member or "
                "collaborator other than the author)"
            )

    def action(node: StackNode) -> str:
        folder = run_dir / node.name
        entry = saved.stacks.get(node.name) if saved else None
        moved = changed_inputs(graph, node, run_dir)  # an upstream applied here changes what it reads
        if dry_run and moved:  # no plan made now could show what it will read
            return f"{AFTER_UPSTREAM} (reads {', '.join(moved)}, which this run changes)"
        if entry and entry["saved"] and not moved:
            assert saved is not None
            if fingerprint(node) != entry["fingerprint"]:
                raise Refused("the synthesized stack differs from the one the merge queue planned: re-plan needed")
            shutil.copytree(saved.folder / node.name, folder, dirs_exist_ok=True)
            plan = _plan_of(node, folder)
            shown(node, plan, moved)
            gate(plan)
            if dry_run:
                return f"the saved plan {plan.totals()} (not applied: plan only)"
            if not entry["changed"]:
                return "no changes (saved plan)"
            untracked = _apply_file(node, folder / "plan.tfplan")
            return f"applied the saved plan {plan.totals()}{untracked}"
        if node.name in downstream and not moved and not (entry and entry["saved"]):
            return NOT_PLANNED
        operations._check_upstream_applied(graph, node)
        planned = operations._save_plan(operations._ready(node), run_dir, *(["-lock=false"] if dry_run else []))
        why = f"reads {', '.join(moved)}, changed in this run" if moved else entry["status"] if entry else ""
        how = "planned at apply" + (f" ({why})" if why else "")
        if reviewed is not None and saved is None and not moved:  # inputs moved: no plan could show it
            want, got = reviewed.get(node.name, frozenset()), actions_of(planned.summary)
            if want is None:  # deferred when reviewed (its upstream was not applied): planned now
                how = "planned at apply (deferred when the pull request was planned)"
            elif want != got:
                raise Refused(_differs(want, got))
            else:
                how = "re-planned, same as reviewed"
        shown(node, planned.summary, moved)
        gate(planned.summary)
        if dry_run:
            return f"{how}: {planned.summary.totals()} (not applied: plan only)"
        untracked = _apply_file(node, folder / "plan.tfplan") if planned.changed else ""
        return f"{how}: applied {planned.summary.totals()}{untracked}"

    def shown(node: StackNode, plan: StackPlan, moved: list[str]) -> None:
        """The plan must be the one the approver saw in the plan job's summary."""
        if approved is None or moved:
            return
        want = approved.get(node.name, frozenset())
        if want is not None and want != actions_of(plan):
            raise Refused(_differs(want, actions_of(plan), APPROVED_HEAD))

    outcomes = run_graph(graph, names, action, workers=workers, listener=listener)
    operations.write_outcomes(graph, outcomes, run_dir)
    allowed = (OK, DEFERRED) if dry_run else (OK,)  # a plan job shows a deferred stack; the apply plans it later
    if any(o.status not in allowed for o in outcomes):
        raise operations.OperationFailed("plan" if dry_run else "apply", outcomes)
    return outcomes


def approved_sets(run_dir: Path, graph: StackGraph) -> dict[str, list[list[str]] | None]:
    """A plan-only run's (address, action) sets, as JSON (None: deferred, nothing shown):
    what the plan job publishes for the approved job to compare with. Sets only, never plans."""
    outcomes = json.loads((run_dir / OUTCOMES_FILE).read_text())
    sets: dict[str, list[list[str]] | None] = {}
    for name, outcome in sorted(outcomes.items()):
        ok = outcome["status"] == OK and outcome["detail"] != NOT_PLANNED
        ok = ok and not outcome["detail"].startswith(AFTER_UPSTREAM)
        plan = _plan_of(graph.nodes[name], run_dir / name) if ok else None
        sets[name] = sorted([a, b] for a, b in actions_of(plan)) if plan is not None else None
    return sets


def parse_sets(text: str) -> dict[str, Actions | None]:
    """approved_sets' JSON read back (the approved job's --approved)."""
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise Refused(f"the approved sets are not a JSON object: {text[:80]}")
    return {str(k): None if v is None else frozenset((str(a), str(b)) for a, b in v) for k, v in doc.items()}


REVIEWED_HEAD = "the plan now differs from the plan reviewed on the pull request (re-plan and review, or override):"
APPROVED_HEAD = "the plan now differs from the one the plan job showed the approver (re-run the workflow):"


def _differs(want: Actions, got: Actions, head: str = REVIEWED_HEAD) -> str:
    lines = [head]
    lines += [f"  only reviewed: {action} {address}" for address, action in sorted(want - got)]
    lines += [f"  only now: {action} {address}" for address, action in sorted(got - want)]
    return "\n".join(lines)
