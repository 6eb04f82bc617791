"""The deploy verbs (plan, apply, destroy, output, unlock) for one environment, as the CLI
runs them: choose the target (AWS or the emulator), synthesize, select the stacks, run.

Against AWS, apply and destroy first show what they will do and go on only when `confirm`
says so (the CLI asks, unless --yes); destroy refuses a protected environment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from infra.config import ConfigError, environment_names, load_environment
from infra.config.errors import display_path
from infra.console import err
from infra.errors import BadInput, Failed
from infra.report.plan import load_run
from infra.runner import affected, locks, operations, saved
from infra.runner.bootstrap import ADOPTIONS, adoptions, create_state_bucket, require_state_bucket, state_exists
from infra.runner.executor import OK, Listener, Outcome
from infra.runner.terraform import Workspace
from infra.synth import synthesize
from infra.synth.graph import StackGraph, StackNode
from infra.synth.tree import synthesize_ref
from modules.ci_identities.documents import ROLE_NAMES

VERBS = ("plan", "apply", "destroy")
# Shown what is about to happen (a question, then one line per stack); True to go on.
Confirm = Callable[[str, Sequence[str]], bool]


class Cancelled(Failed):
    """The person asked said no: nothing was changed (exit 1, as Terraform's own "no")."""


def target(env: str, emulator: bool) -> str:
    """Point this process (boto3, and Terraform through it) at the emulator when asked; say where.

    On the emulator this process is also the account's administrator: the state bucket is
    bootstrapped there (on AWS that is `infra bootstrap`'s job alone)."""
    if not emulator:
        return "AWS (credentials from the environment)"
    from infra.emulator.seed import emulate

    cfg = load_environment(env).config
    running, _ = emulate(cfg)
    create_state_bucket(cfg.account.state_bucket, cfg.region)
    return f"emulator {running.endpoint} (account {running.account_id})"


def _matching(graph: StackGraph, env: str, names: list[str], wanted: Sequence[str], option: str) -> list[str]:
    found = [n for n in names if n in wanted or graph.nodes[n].component in wanted]
    unknown = set(wanted) - set(found) - {graph.nodes[n].component for n in found}
    if unknown:
        raise ConfigError.single(option, "", f"no stack {sorted(unknown)} in {env}; stacks: {', '.join(names)}")
    return found


def select(
    graph: StackGraph, env: str, stacks: Sequence[str] | None, exclude: Sequence[str] | None = None
) -> list[str]:
    """The environment's stacks, or those named (by stack name or component), less those
    excluded (matched the same way)."""
    names = graph.for_environments([env])
    chosen = _matching(graph, env, names, stacks, "--stack") if stacks else names
    dropped = set(_matching(graph, env, names, exclude, "--exclude")) if exclude else set()
    return [n for n in chosen if n not in dropped]


@dataclass(frozen=True)
class Affected:
    stacks: list[str]
    downstream: list[str]  # of those, planned only if an upstream plan changes an output they read
    said: list[str]  # why each was chosen, and stacks removed from the code


def affected_since(env: str, ref: str) -> Affected:
    """The stacks of env that a change since ref affects, each with why."""
    load_environment(env)
    base_out = synthesize_ref(ref)
    head = synthesize(environment_names())
    chosen = affected.compare(base_out, head.graph, head.outdir, [env])
    said = [f"affected: {item.stack} ({item.reason})" for item in chosen]
    said += [
        f"removed: {name} is gone from the code; its resources stay until destroyed"
        for name in affected.removed(base_out, head.graph, [env])
    ]
    return Affected([item.stack for item in chosen], [item.stack for item in chosen if not item.direct], said)


def _refuse_protected(env: str) -> None:
    loaded = load_environment(env)
    if loaded.config.environment.protected:
        where = display_path(loaded.provenance.get(("environment", "protected"), loaded.directory))
        raise BadInput(
            f"{env} is protected ({where}: environment.protected): destroy refuses it; "
            "pass --force-protected if you really mean to destroy it"
        )


def _deployed(graph: StackGraph, names: list[str]) -> list[str]:
    return [n for n in names if state_exists(*locks.state_location(graph.nodes[n]))]


def _preview_lines(outcomes: list[Outcome]) -> list[str]:
    width = max((len(o.stack) for o in outcomes), default=0)
    return [f"{o.stack:<{width}}  {o.detail if o.status == OK else f'{o.status}: {o.detail}'}" for o in outcomes]


def _confirmed(
    verb: str,
    env: str,
    graph: StackGraph,
    names: list[str],
    workers: int | None,
    listener: Listener | None,
    confirm: Confirm,
) -> Path:
    """Plan (for destroy: a destroy plan), show each stack's diff and counts, ask; Cancelled
    on no. Returns the preview's run folder: what runs next is exactly what was shown (its
    destroy plans are applied; an apply re-plans each stack after its upstream and stops a
    stack whose changes differ from those shown). Nothing is asked when nothing would change."""
    cfg = load_environment(env).config
    preview = operations.new_run_dir(f"{verb}-preview")
    outcomes = operations.plan(
        graph, names, run_dir=preview, workers=workers, listener=listener, destroy=verb == "destroy"
    )
    if all(o.status == OK for o in outcomes) and not any(p.has_changes for p in load_run(preview)):
        return preview
    question = f"{verb.capitalize()} {env} in AWS account {cfg.account.id} ({cfg.region})? (plans: {preview})"
    diffs = [line for stack, text in plan_texts(preview) for line in (f"─ {stack} ─", *text.splitlines())]
    if not confirm(question, [*diffs, *_preview_lines(outcomes)]):
        raise Cancelled(f"{verb} cancelled: nothing was changed")
    return preview


def _apply_confirmed(
    env: str,
    graph: StackGraph,
    names: list[str],
    run_dir: Path,
    workers: int | None,
    listener: Listener | None,
    confirm: Confirm,
    downstream: Sequence[str] = (),
    verb: str = "apply",
) -> None:
    """Plan, show, ask; then apply, stopping a stack whose changes differ from those shown."""
    shown = _confirmed(verb, env, graph, names, workers, listener, confirm)
    sets = {p.stack: None if p.status != OK else saved.actions_of(p) for p in load_run(shown)}
    saved.apply_reviewed(
        graph,
        names,
        run_dir=run_dir,
        reviewed=sets,
        allow_stateful=True,  # a person saw the plan and said yes
        only_if_inputs_change=downstream,
        workers=workers,
        listener=listener,
    )


def bootstrap(
    env: str, *, emulator: bool = False, confirm: Confirm | None = None, listener: Listener | None = None
) -> str:
    """`infra bootstrap ENV`, with an administrator's credentials, once per account: apply the
    account's bootstrap stack (its state bucket and CI identities, modules/ci_identities).
    Against AWS it shows the plan and asks first, as apply does."""
    load_environment(env)
    err.print(f"target: {target(env, emulator)}", markup=False)
    return apply_bootstrap(env, confirm=confirm, listener=listener)


def apply_bootstrap(
    env: str, *, run_dir: Path | None = None, confirm: Confirm | None = None, listener: Listener | None = None
) -> str:
    """Apply ENV's account bootstrap stack where this process points. The stack keeps its state
    in the bucket it manages, so the bucket is made bare first when missing; the stack
    imports it and applies every setting. Returns what it did, one line."""
    cfg = load_environment(env).config
    result = synthesize([env])
    name = result.graph.bootstrap_of(cfg.account.name)
    caller = boto3.client("sts", region_name=cfg.region).get_caller_identity()
    if caller["Account"] != cfg.account.id:  # before anything is made in the wrong account
        raise BadInput(
            f"these credentials ({caller['Arn']}) are for account {caller['Account']}; "
            f"{env}'s account {cfg.account.name} is {cfg.account.id}: nothing was changed"
        )
    made = create_state_bucket(cfg.account.state_bucket, cfg.region)
    node = result.graph.nodes[name]
    adopted = adoptions(json.loads(node.json_path.read_text()), cfg.account.id, cfg.region)
    adopt = Workspace(node).dir / ADOPTIONS
    adopt.unlink(missing_ok=True)  # what an earlier run adopted is in the state now
    if adopted:
        adopt.parent.mkdir(parents=True, exist_ok=True)
        adopt.write_text(json.dumps({"import": adopted}, indent=1))
        made += f"; adopting {len(adopted)} that exist: {', '.join(a['id'] for a in adopted)}"
    run_dir = run_dir or operations.new_run_dir("bootstrap")
    if confirm is not None:
        _apply_confirmed(env, result.graph, [name], run_dir, None, listener, confirm, verb="bootstrap")
    else:
        operations.apply(result.graph, [name], run_dir=run_dir, listener=listener)
    [plan] = load_run(run_dir)
    outputs = operations.outputs(result.graph, [name])[name]
    roles = ", ".join(outputs[f"{purpose}_role_arn"].rsplit("/", 1)[-1] for purpose in ROLE_NAMES)
    return f"{made}; {name}: {plan.totals()} (CI roles {roles})"


def deploy(
    verb: str,
    env: str,
    *,
    emulator: bool = False,
    stacks: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    workers: int | None = None,
    run_dir: Path | None = None,
    since: str | None = None,
    listener: Listener | None = None,
    single: bool = False,
    confirm: Confirm | None = None,
    force_protected: bool = False,
) -> Path | None:
    """plan, apply or destroy the environment's stacks (all, those named, or those a change
    since a git ref affects; less those excluded) in dependency order; returns the run
    folder of plans and logs.

    `single`: the selection must be one stack (--verbose streams one stack's output).
    `confirm`: apply and destroy plan first and go on only if it agrees (AWS without --yes).
    Against AWS, a protected environment is not destroyed unless `force_protected`.
    """
    if verb not in VERBS:
        raise ConfigError.single("verb", "", f"one of {', '.join(VERBS)}, not {verb!r}")
    cfg = load_environment(env).config
    downstream: list[str] = []
    if verb == "destroy" and not emulator and not force_protected:
        _refuse_protected(env)
    if since:
        found = affected_since(env, since)
        for line in found.said:
            err.print(line, markup=False)
        if not found.stacks:
            err.print(f"no stack of {env} differs from {since}: nothing to {verb}", markup=False)
            if run_dir:  # an empty run: its report says "no changes"
                operations.write_outcomes(StackGraph({}), [], run_dir)
            return run_dir
        stacks, downstream = found.stacks, found.downstream
    result = synthesize([env])
    names = select(result.graph, env, stacks, exclude)
    if single and len(names) != 1:
        raise BadInput(
            f"--verbose streams one stack's output; {len(names)} are chosen ({', '.join(names) or 'none'}): "
            "choose one with --stack"
        )
    err.print(f"target: {target(env, emulator)}", markup=False)  # bad input is refused before AWS is asked
    err.print(require_state_bucket(cfg.account.state_bucket, cfg.region, env), markup=False)
    if verb == "destroy":
        if confirm is not None:
            names = _deployed(result.graph, names)
            if not names:
                err.print(f"nothing of {env} is deployed: nothing to destroy", markup=False)
                return None
            shown = _confirmed(verb, env, result.graph, names, workers, listener, confirm)
            operations.destroy(result.graph, names, workers=workers, listener=listener, plans=shown)
            return None
        operations.destroy(result.graph, names, workers=workers, listener=listener)
        return None
    run_dir = run_dir or operations.new_run_dir(verb)
    if verb == "apply" and confirm is not None:
        _apply_confirmed(env, result.graph, names, run_dir, workers, listener, confirm, downstream)
        return run_dir
    if verb == "plan":  # read-only: no lock file, nothing written to the state bucket
        operations.plan(
            result.graph,
            names,
            run_dir=run_dir,
            workers=workers,
            listener=listener,
            only_if_inputs_change=downstream,
            lock=False,
        )
    else:
        operations.apply(
            result.graph, names, run_dir=run_dir, workers=workers, listener=listener, only_if_inputs_change=downstream
        )
    return run_dir


def plan_texts(run_dir: Path) -> list[tuple[str, str]]:
    """(stack, Terraform's own text of its plan) for every stack of a run whose plan changes
    something, by stack name."""
    texts = []
    for plan in load_run(run_dir):
        if plan.has_changes:
            path = run_dir / plan.stack / "plan.txt"
            texts.append((plan.stack, path.read_text() if path.is_file() else f"(no plan text: {path} is missing)"))
    return texts


def unlock(env: str, stack: str, *, emulator: bool = False, confirm: Confirm) -> str:
    """Release the lock on one stack's state, after showing who holds it and `confirm` agrees."""
    err.print(f"target: {target(env, emulator)}", markup=False)
    graph = synthesize([env]).graph
    names = select(graph, env, [stack])
    if len(names) != 1:
        raise BadInput(f"{stack!r} names {len(names)} stacks of {env} ({', '.join(names)}): name one stack")
    node = graph.nodes[names[0]]
    bucket, key, _ = locks.lock_location(node)
    lock = locks.held(node)
    if lock is None:
        return f"{node.name} is not locked (no s3://{bucket}/{key})"
    age = lock.age()
    lines = [
        f"held by    {lock.who}",
        f"since      {lock.created}" + (f" ({age})" if age else ""),
        f"operation  {lock.verb}",
        f"lock ID    {lock.id}",
        f"lock file  s3://{bucket}/{key}",
    ]
    question = f"Release the lock on {node.name}'s state? Only if that run is over: a running one would write over"
    if not confirm(question, lines):
        raise Cancelled(f"{node.name} stays locked")
    return release(node, lock)


def release(node: StackNode, lock: locks.LockInfo) -> str:
    """`terraform force-unlock` of this lock on the stack's state (someone agreed first)."""
    ws = Workspace(node)
    ws.prepare()
    ws.init(backend=True)
    ws.run("force-unlock", "-force", lock.id)
    return f"{node.name}: released the lock of {lock.who} ({lock.verb}, ID {lock.id})"


def outputs(env: str) -> dict[str, dict[str, Any]]:
    """Every stack's outputs of the environment (what the probes read)."""
    result = synthesize([env])
    return operations.outputs(result.graph, result.stacks_of([env]))
