"""The deploy verbs (plan, apply, destroy, output) for one environment, as the CLI runs them:
choose the target (AWS or the emulator), synthesize, select the stacks, run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.config import ConfigError, environment_names, load_environment
from infra.console import err
from infra.runner import affected, operations
from infra.runner.bootstrap import ensure_state_bucket, require_state_bucket
from infra.runner.executor import Listener
from infra.synth import synthesize
from infra.synth.graph import StackGraph
from infra.synth.tree import synthesize_ref

VERBS = ("plan", "apply", "destroy")


def target(env: str, emulator: bool) -> str:
    """Point this process (boto3, and Terraform through it) at the emulator when asked; say where.

    On the emulator this process is also the account's administrator: the state bucket is
    bootstrapped there (on AWS that is `infra bootstrap`'s job alone)."""
    if not emulator:
        return "AWS (credentials from the environment)"
    from infra.emulator.seed import emulate

    cfg = load_environment(env).config
    running, _ = emulate(cfg)
    ensure_state_bucket(cfg.account.state_bucket, cfg.region)
    return f"emulator {running.endpoint} (account {running.account_id})"


def select(graph: StackGraph, env: str, stacks: Sequence[str] | None) -> list[str]:
    """The environment's stacks, or those named (by stack name or component)."""
    names = graph.for_environments([env])
    if not stacks:
        return names
    chosen = [n for n in names if n in stacks or graph.nodes[n].component in stacks]
    unknown = set(stacks) - set(chosen) - {graph.nodes[n].component for n in chosen}
    if unknown:
        raise ConfigError.single("--stack", "", f"no stack {sorted(unknown)} in {env}; stacks: {', '.join(names)}")
    return chosen


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


def deploy(
    verb: str,
    env: str,
    *,
    emulator: bool = False,
    stacks: Sequence[str] | None = None,
    workers: int | None = None,
    run_dir: Path | None = None,
    since: str | None = None,
    listener: Listener | None = None,
) -> Path | None:
    """plan, apply or destroy the environment's stacks (all, those named, or those a change
    since a git ref affects) in dependency order; returns the run folder of plans and logs."""
    if verb not in VERBS:
        raise ConfigError.single("verb", "", f"one of {', '.join(VERBS)}, not {verb!r}")
    cfg = load_environment(env).config
    downstream: list[str] = []
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
    err.print(f"target: {target(env, emulator)}", markup=False)
    err.print(require_state_bucket(cfg.account.state_bucket, cfg.region, env), markup=False)
    result = synthesize([env])
    names = select(result.graph, env, stacks)
    if verb == "destroy":
        operations.destroy(result.graph, names, workers=workers, listener=listener)
        return None
    run_dir = run_dir or operations.new_run_dir(verb)
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


def outputs(env: str) -> dict[str, dict[str, Any]]:
    """Every stack's outputs of the environment (what the probes read)."""
    result = synthesize([env])
    return operations.outputs(result.graph, result.stacks_of([env]))
