"""Terraform operations over many stacks, along the dependency graph."""

from __future__ import annotations

import datetime
import json
import re
import shutil
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.errors import Failed
from infra.paths import WORK
from infra.report.plan import NOT_PLANNED, OUTCOMES_FILE, StackPlan, from_plan
from infra.runner import orphans
from infra.runner.affected import changed_inputs
from infra.runner.bootstrap import state_exists
from infra.runner.executor import DEFERRED, FAILED, OK, Deferred, Listener, Outcome, Progress, run_graph
from infra.runner.locks import state_location
from infra.runner.terraform import (
    ERRORED_STATE,
    VALIDATE_WORKSPACES,
    WORKSPACES,
    Result,
    TerraformError,
    Workspace,
)
from infra.synth.graph import StackGraph, StackNode
from infra.toolchain import terraform_env

RUNS = WORK / "runs"


class OperationFailed(Failed):
    def __init__(self, verb: str, outcomes: list[Outcome], allowed: tuple[str, ...] = (OK,)) -> None:
        self.outcomes = outcomes
        bad = [o for o in outcomes if o.status not in allowed]
        super().__init__(
            f"{verb}: {len(bad)} of {len(outcomes)} stacks did not succeed: "
            + ", ".join(f"{o.stack} ({o.status})" for o in bad)
            + "".join(f"\n{o.stack}: {_indented(o.detail)}" for o in bad if o.status == FAILED)
        )


def _indented(detail: str) -> str:
    """A failure's whole detail (a Terraform failure is already cut to its errors and last
    lines: see `error_report`), indented under the stack's name."""
    return "\n  ".join(line for line in detail.strip().splitlines() if line.strip())


def _check(verb: str, outcomes: list[Outcome], allowed: tuple[str, ...] = (OK,)) -> list[Outcome]:
    if any(o.status not in allowed for o in outcomes):
        raise OperationFailed(verb, outcomes, allowed)
    return outcomes


VALIDATE_ROOT = "all-stacks"


def validate(
    graph: StackGraph, names: Iterable[str], *, workers: int | None = None, listener: Listener | None = None
) -> list[Outcome]:
    """`terraform validate` of every chosen stack in one Terraform run (no AWS needed).

    Each stack becomes a module of one root (its backend block is ignored there, with a
    warning), so the 675 MB provider starts once, not once per stack; each error is put on
    the stack whose file it names. `workers` is accepted for the CLI's sake: one run needs none.
    """
    chosen = graph.order(names)
    root = VALIDATE_WORKSPACES / VALIDATE_ROOT
    providers: dict[str, Any] = {}
    for name in chosen:
        doc = json.loads(graph.nodes[name].json_path.read_text())
        doc.pop("import", None)  # import blocks are for a root module only; they import, not validate
        providers.update(doc.get("terraform", {}).get("required_providers", {}))
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "cdk.tf.json").write_text(json.dumps(doc))
    # the root names the providers too: its init must run again when a stack's providers change
    root_doc = {"terraform": {"required_providers": providers}, "module": {n: {"source": f"./{n}"} for n in chosen}}
    (root / "cdk.tf.json").write_text(json.dumps(root_doc, indent=1))  # the root: no copy to prepare
    node = StackNode(VALIDATE_ROOT, "", "", "", "", "", root, root / "cdk.tf.json", ())
    ws = Workspace(node, root=VALIDATE_WORKSPACES)
    if isinstance(listener, Progress):
        for name in chosen:
            listener.started(name)
    started = time.monotonic()
    ws.init(backend=False)
    result = ws.run("validate", "-json", "-no-color", check=False)
    errors: dict[str, list[str]] = {}
    for diagnostic in _diagnostics(node.name, result.output, ws):
        if diagnostic.get("severity") != "error":
            continue
        where = diagnostic.get("range", {}).get("filename", "")
        stack = where.split("/")[0] if "/" in where else ""
        said = f"{diagnostic.get('summary', '')}: {diagnostic.get('detail', '')}"
        for owner in [stack] if stack in chosen else chosen:  # in no stack's file: it is every stack's
            errors.setdefault(owner, []).append(said)
    seconds = time.monotonic() - started
    outcomes = []
    for name in chosen:
        found = errors.get(name)
        outcome = Outcome(name, FAILED, seconds, "\n".join(found)) if found else Outcome(name, OK, seconds, "valid")
        if listener:
            listener(outcome)
        outcomes.append(outcome)
    return _check("validate", outcomes)


def _diagnostics(stack: str, output: str, ws: Workspace) -> list[dict[str, Any]]:
    try:
        found: list[dict[str, Any]] = json.loads(output)["diagnostics"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise TerraformError(stack, "validate", output, ws.log) from None
    return found


# --- against an AWS endpoint (real, or the emulator through the environment) ----------------

LOCK_TIMEOUT = "-lock-timeout=120s"


def new_run_dir(verb: str) -> Path:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S.%f")
    path = RUNS / f"{stamp}-{verb}"
    path.mkdir(parents=True)
    return path


def _ready(node: StackNode) -> Workspace:
    """A stack's workspace, initialised with its backend (AWS settings from the process env)."""
    ws = Workspace(node, env=terraform_env())
    ws.prepare()
    ws.init(backend=True)
    if (ws.dir / ERRORED_STATE).is_file():  # an earlier run could not save its state: that first
        said = ws.push_errored_state()
        if (ws.dir / ERRORED_STATE).is_file():
            raise Failed(f"{node.name}: {said}")
    return ws


def _check_upstream_applied(graph: StackGraph, node: StackNode) -> None:
    for dep in node.depends_on:
        if not state_exists(*state_location(graph.nodes[dep])):
            raise Deferred(f"waits for {dep} to be applied (its outputs do not exist yet)")


_NOISE = re.compile(
    r"^(\S.*: (Refreshing state|Reading|Read complete after|Still reading)|(Acquiring|Releasing) state lock\.)"
)
_SAVED = "\nSaved the plan to: "


def plan_text(output: str) -> str:
    """What `terraform show PLANFILE` prints, taken from the plan's own output: without the
    refresh lines before it and the "Saved the plan to" advice after it (a second `show`
    would start the provider again only to print the same diff)."""
    lines = [line for line in output.splitlines() if not _NOISE.match(line)]
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    text = "\n".join(lines[start:])
    if _SAVED in text:
        text = text[: text.rindex(_SAVED)].rstrip().removesuffix("─" * 77).rstrip()
    return "\n" + text + "\n"


def apply_plan(ws: Workspace, plan_file: Path, *, check: bool = True) -> Result:
    """Apply a saved plan file exactly as it is (Terraform refuses one whose state moved since)."""
    return ws.run("apply", "-input=false", "-no-color", LOCK_TIMEOUT, str(plan_file), check=check)


def _not_planned(run_dir: Path, node: StackNode) -> str:
    shutil.rmtree(run_dir / node.name, ignore_errors=True)  # nothing of an earlier run may stay
    return NOT_PLANNED


@dataclass(frozen=True)
class Planned:
    summary: StackPlan
    changed: bool  # Terraform's -detailed-exitcode said 2: resources or outputs change


def _save_plan(ws: Workspace, run_dir: Path, *extra: str) -> Planned:
    """Plan one stack into run_dir/<stack>/: the plan file, its text, and (only when something
    changes) its JSON. `-detailed-exitcode` decides: `show -json` starts the provider again to
    load its schema, which costs as much as the plan itself and says nothing when nothing changes."""
    node = ws.node
    out = run_dir / node.name
    shutil.rmtree(out, ignore_errors=True)  # a reused run folder: no plan of an earlier run may stay
    out.mkdir(parents=True)
    plan_file = out / "plan.tfplan"
    args = ("plan", "-input=false", "-no-color", "-detailed-exitcode", LOCK_TIMEOUT, f"-out={plan_file}", *extra)
    result = ws.run(*args, check=False)
    if result.returncode not in (0, 2):  # 0 no changes, 2 changes present, 1 an error
        raise ws.failure("plan", result)
    (out / "plan.txt").write_text(plan_text(result.output))
    if result.returncode == 0:
        return Planned(StackPlan(node.name, node.environment, node.component), changed=False)
    shown = ws.run("show", "-json", "-no-color", str(plan_file))
    (out / "plan.json").write_text(shown.output)
    return Planned(from_plan(node.name, node.environment, node.component, json.loads(shown.output)), changed=True)


def eager_plans(graph: StackGraph, names: Collection[str], only_if_inputs_change: Collection[str]) -> set[str]:
    """The stacks whose plan may start before their upstream's: a plan reads its upstream's
    applied state, never its plan. Two wait: one planned only if an upstream plan changes its
    inputs (it reads that plan), and one whose upstream first pushes a state an earlier run
    could not save (`_ready`; it reads that state)."""
    pushes = {n for n in names if (WORKSPACES / n / ERRORED_STATE).is_file()}
    return {n for n in names if n not in only_if_inputs_change and not pushes.intersection(graph.nodes[n].depends_on)}


def plan(
    graph: StackGraph,
    names: Iterable[str],
    *,
    run_dir: Path,
    workers: int | None = None,
    listener: Listener | None = None,
    refresh_only: bool = False,
    destroy: bool = False,
    only_if_inputs_change: Collection[str] = (),
    lock: bool = True,
) -> list[Outcome]:
    """Plan each stack (saved: binary, JSON and text under run_dir/<stack>/).

    A stack whose upstream was never applied cannot read its outputs: it is deferred, not
    failed (Terragrunt would need mock outputs; here the order of apply settles it).
    `lock=False` writes nothing at all to the state bucket (no lock file): a read-only plan,
    as pull requests and drift checks make under the read-only role.
    """
    names = list(names)
    extra = ["-refresh-only"] if refresh_only else []
    extra += ["-destroy"] if destroy else []
    extra += [] if lock else ["-lock=false"]

    def action(node: StackNode) -> str:
        if node.name in only_if_inputs_change and not changed_inputs(graph, node, run_dir):
            return _not_planned(run_dir, node)
        if not destroy:
            _check_upstream_applied(graph, node)
        ws = _ready(node)
        return _save_plan(ws, run_dir, *extra).summary.totals()

    eager = eager_plans(graph, names, only_if_inputs_change)
    outcomes = run_graph(
        graph,
        names,
        action,
        workers=workers,
        listener=listener,
        reverse=destroy,
        eager=eager,
        drop=lambda node: _not_planned(run_dir, node),
    )
    write_outcomes(graph, outcomes, run_dir)
    return _check("plan", outcomes, allowed=(OK, DEFERRED))


def write_outcomes(graph: StackGraph, outcomes: list[Outcome], run_dir: Path) -> Path:
    """Each stack's status in the run folder, for the report (a failed stack has no plan)."""
    doc = {
        o.stack: {
            "status": o.status,
            "detail": o.detail,
            "environment": graph.nodes[o.stack].environment,
            "component": graph.nodes[o.stack].component,
        }
        for o in outcomes
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / OUTCOMES_FILE
    path.write_text(json.dumps(doc, indent=1))
    return path


def drift(
    graph: StackGraph,
    names: Iterable[str],
    *,
    run_dir: Path,
    workers: int | None = None,
    listener: Listener | None = None,
) -> list[Outcome]:
    """Plan with no code change: any change means the world moved (read-only: no lock)."""
    return plan(graph, names, run_dir=run_dir, workers=workers, listener=listener, lock=False)


def apply(
    graph: StackGraph,
    names: Iterable[str],
    *,
    run_dir: Path,
    workers: int | None = None,
    listener: Listener | None = None,
    only_if_inputs_change: Collection[str] = (),
) -> list[Outcome]:
    """Plan and apply each stack's saved plan, in dependency order.

    A stack in `only_if_inputs_change` is applied only when a stack applied before it in this
    run changed an output it reads (see `changed_inputs`)."""

    def action(node: StackNode) -> str:
        if node.name in only_if_inputs_change and not changed_inputs(graph, node, run_dir):
            return _not_planned(run_dir, node)
        ws = _ready(node)
        planned = _save_plan(ws, run_dir)
        if planned.changed:  # resources, or only outputs: both are saved by applying
            apply_plan(ws, run_dir / node.name / "plan.tfplan")
        untracked = orphans.report(node, str(ws.dir))
        return f"applied {planned.summary.totals()}" + (f"; {untracked}" if untracked else "")

    outcomes = run_graph(graph, names, action, workers=workers, listener=listener)
    write_outcomes(graph, outcomes, run_dir)  # the apply report shows failed and skipped stacks too
    return _check("apply", outcomes)


def destroy(
    graph: StackGraph,
    names: Iterable[str],
    *,
    workers: int | None = None,
    listener: Listener | None = None,
    plans: Path | None = None,
) -> list[Outcome]:
    """Destroy each stack, consumers before producers. With `plans` (a run folder of destroy
    plans a person saw): each stack's saved plan is applied, and Terraform refuses one whose
    state moved since; a stack with no saved plan there is left alone."""

    def action(node: StackNode) -> str:
        if plans is not None:
            saved_plan = plans / node.name / "plan.tfplan"
            if not saved_plan.is_file():
                return "not in the plans shown: left alone"
            apply_plan(_ready(node), saved_plan)
            return "destroyed (the plan shown)"
        if not state_exists(*state_location(node)):
            return "nothing deployed"
        ws = _ready(node)
        ws.run("destroy", "-auto-approve", "-input=false", "-no-color", LOCK_TIMEOUT)
        return "destroyed"

    return _check("destroy", run_graph(graph, names, action, workers=workers, listener=listener, reverse=True))


def outputs(graph: StackGraph, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Every stack's outputs, {stack: {output: value}} (what the probes read)."""
    found: dict[str, dict[str, Any]] = {}
    for name in graph.order(names):
        ws = _ready(graph.nodes[name])
        raw = json.loads(ws.run("output", "-json", "-no-color").output or "{}")
        found[name] = {key: item["value"] for key, item in raw.items() if not key.startswith("cross-stack-output-")}
    return found
