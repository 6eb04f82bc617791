"""A merge's apply for one environment: what changed since the last applied commit, from
the plans that were reviewed, under the gates; then the record moves.

The stacks come from the environment's record (infra/runner/record.py), not from the push's
previous head, so a cancelled or failed run is caught up by the next one. The plans come
from the merge queue's saved plans for this commit (infra/runner/saved.py); without them,
each stack is re-planned and must match the plan reviewed on the pull request, or a person
re-runs with an explicit override.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from infra.report.github import GitHub
from infra.runner import affected, operations, saved
from infra.runner.executor import Listener
from infra.runner.record import Record, read_record, write_record
from infra.synth.graph import StackGraph


@dataclass(frozen=True)
class Merged:
    run_dir: Path
    stacks: list[str]
    said: list[str] = field(default_factory=list)
    sets: dict[str, list[list[str]] | None] = field(default_factory=dict)  # a plan-only run's, for the approver


def stacks_since_record(
    env: str,
    *,
    bucket: str,
    region: str,
    commit: str,
    graph: StackGraph,
    head_out: Path,
    synth_ref: Callable[[str], Path],
) -> tuple[list[str], list[str], list[str]]:
    """(stacks, of those the downstream-only ones, what was said): the environment's stacks a
    change since its last applied commit affects; every stack when nothing was recorded."""
    record = read_record(bucket, region, env)
    if record is None:
        names = _owned(graph, graph.for_environments([env]), env)
        return names, [], [f"{env}: no commit recorded as applied: every stack ({len(names)})"]
    if record.commit == commit:
        return [], [], [f"{env}: {commit[:12]} is already applied ({record.applied_at})"]
    if is_ancestor(record.commit, commit) is False:  # a re-run of an older commit, or history rewritten
        raise Superseded(
            f"{env}: the last applied commit {record.commit[:12]} ({record.applied_at}) is not an ancestor of "
            f"{commit[:12]}: applying it would undo a newer merge or history was rewritten; nothing applied "
            "(a person decides: re-run the newest commit's apply)"
        )
    base_out = synth_ref(record.commit)
    found = affected.compare(base_out, graph, head_out, [env])
    owned = set(_owned(graph, [a.stack for a in found], env))
    chosen = [a for a in found if a.stack in owned]
    said = [f"{env}: last applied {record.commit[:12]} ({record.applied_at}); applying what changed since"]
    said += [f"affected: {a.stack} ({a.reason})" for a in chosen]
    said += [
        f"removed: {n} is gone from the code; its resources stay" for n in affected.removed(base_out, graph, [env])
    ]
    return [a.stack for a in chosen], [a.stack for a in chosen if not a.direct], said


class Superseded(saved.Refused):
    """The commit to apply is older than (or unrelated to) the one already applied."""


def is_ancestor(older: str, newer: str) -> bool | None:
    """Whether `older` is in `newer`'s history (git, in this repository's clone); None when
    git does not know one of them (then the synth of the older one says what it can)."""
    from infra.paths import REPO

    proc = subprocess.run(["git", "merge-base", "--is-ancestor", older, newer], cwd=REPO, capture_output=True)
    return {0: True, 1: False}.get(proc.returncode)


def move_record(bucket: str, region: str, env: str, commit: str, run: str = "") -> Record:
    """Move the environment's last-applied record to `commit`, forward only: over the record
    as read here, and only when that record's commit is in `commit`'s history (a late re-run
    of an older merge's job must not move it back over a newer one)."""
    current = read_record(bucket, region, env)
    if current is not None and current.commit == commit:
        return current
    if current is not None and is_ancestor(current.commit, commit) is False:
        raise Superseded(
            f"{env}: the record stays at {current.describe()}: it is not an ancestor of {commit[:12]}, "
            "so moving it would go back over a newer merge"
        )
    return write_record(bucket, region, env, commit, run, over=current)


def _owned(graph: StackGraph, names: list[str], env: str) -> list[str]:
    """Of these stacks, those this environment applies: an account-wide stack (one state for
    the account's environments) is applied by the first of them in promotion order; the
    others would apply the same plan again, against a state it already moved."""
    if not any(graph.nodes[n].scope == "account" for n in names):
        return names
    from infra.config.layers import account_leads

    leads = env in account_leads()
    return [n for n in names if graph.nodes[n].scope != "account" or leads]


class NothingReviewed(saved.Refused):
    """No saved plan and no reviewed plan: only a person's explicit override applies."""


def apply_merge(
    env: str,
    *,
    commit: str,
    graph: StackGraph,
    head_out: Path,
    synth_ref: Callable[[str], Path],
    bucket: str,
    region: str,
    run_dir: Path,
    allow_stateful: bool = False,
    reviewed: Mapping[str, saved.Actions | None] | None = None,
    unreviewed: str = "",
    override: bool = False,
    approved: Mapping[str, saved.Actions | None] | None = None,
    dry_run: bool = False,
    workers: int | None = None,
    listener: Listener | None = None,
) -> Merged:
    """Apply the environment's stacks affected since its record, from the reviewed plans.
    The record is not moved here: the caller does, after the probes passed. `unreviewed`
    says why there is no reviewed plan, when there is none. `dry_run` and `approved`: see
    saved.apply_reviewed (the plan job before an approval, and the approved job)."""
    names, downstream, said = stacks_since_record(
        env, bucket=bucket, region=region, commit=commit, graph=graph, head_out=head_out, synth_ref=synth_ref
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    if not names:
        operations.write_outcomes(graph, [], run_dir)
        return Merged(run_dir, [], [*said, f"no stack of {env} to apply"])
    plans = None
    if not override:  # the override is a person's re-plan: saved plans (maybe stale) are not used
        plans = saved.load(
            bucket=bucket, region=region, env=env, commit=commit, dest=run_dir.with_name(run_dir.name + "-saved")
        )
    if plans is not None:
        said.append(f"the merge queue's plans for {commit[:12]}: {len(plans.stacks)} stacks")
    elif override:
        said.append("no saved plans; override: re-planned and applied without comparing with a reviewed plan")
    elif reviewed is None:
        operations.write_outcomes(graph, [], run_dir)
        raise NothingReviewed(
            f"{env}: no plan saved by the merge queue for {commit[:12]}, and no plan reviewed on its pull request"
            + (f" ({unreviewed})" if unreviewed else "")
            + ": nothing applied (re-run with the override to re-plan and apply)"
        )
    else:
        said.append(f"no saved plans: re-planned and compared with the reviewed plan ({len(reviewed)} stacks)")
    saved.apply_reviewed(
        graph,
        names,
        run_dir=run_dir,
        saved=plans,
        reviewed=None if override else reviewed,
        allow_stateful=allow_stateful,
        approved=approved,
        dry_run=dry_run,
        only_if_inputs_change=downstream,
        workers=workers,
        listener=listener,
    )
    return Merged(run_dir, names, said, saved.approved_sets(run_dir, graph) if dry_run else {})


@dataclass(frozen=True)
class FromPull:
    """What the merged pull request says: the stateful gate, and the plan reviewed on it."""

    pr: int | None
    allow_stateful: bool = False
    reviewed: Mapping[str, saved.Actions | None] | None = None
    unreviewed: str = ""  # why there is no reviewed plan
    said: list[str] = field(default_factory=list)


def from_pull_request(github: GitHub, env: str, commit: str, pr: int | None = None) -> FromPull:
    """Read the merged pull request of `commit` through the API: whether it may delete or
    replace stateful resources, and its plan for `env` as reviewed (the hidden block of the
    plan comment written by this token's identity, made for the PR's last commit)."""
    from infra.report.approval import stateful_approval
    from infra.report.publish import marker
    from infra.report.reviewed import NotReviewed, reviewed_plan

    pr = pr or github.pull_for_commit(commit)
    if pr is None:
        return FromPull(None, unreviewed=f"no pull request contains {commit[:12]}")
    approval = stateful_approval(github, pr)
    said = [f"stateful deletes/replaces {'allowed' if approval.allowed else 'blocked'}: {approval.why}"]
    try:
        found = reviewed_plan(github, pr, env, marker("plan", env, pr))
    except NotReviewed as exc:
        return FromPull(pr, approval.allowed, None, str(exc), [*said, str(exc)])
    said.append(f"PR #{pr}: the plan reviewed at {found.commit[:12]} ({len(found.stacks)} stacks) {found.comment_url}")
    return FromPull(pr, approval.allowed, found.stacks, "", said)


def merge_apply(
    env: str,
    *,
    commit: str,
    run_dir: Path,
    override: bool = False,
    approved: Mapping[str, saved.Actions | None] | None = None,
    dry_run: bool = False,
    emulator: bool = False,
    pr: int | None = None,
    workers: int | None = None,
    listener: Listener | None = None,
) -> Merged:
    """`infra ci apply-merge`: the push-to-main job's apply of one environment.

    The stateful gate and the reviewed plan are read from the merged pull request through
    GitHub's API (GITHUB_TOKEN); without GitHub (locally) stateful deletes/replaces are
    refused, and without saved plans only the override applies. With `dry_run` (the
    environment's plan job, read-only): nothing applied, the plan in the job summary."""
    from infra.config import environment_names, load_environment
    from infra.console import err
    from infra.pipeline.deploy import target
    from infra.runner.bootstrap import require_state_bucket
    from infra.synth import synthesize
    from infra.synth.tree import synthesize_ref

    cfg = load_environment(env).config
    err.print(f"target: {target(env, emulator)}", markup=False)
    err.print(require_state_bucket(cfg.account.state_bucket, cfg.region, env), markup=False)
    pulled = FromPull(pr, unreviewed="no GitHub token: no pull request read")
    if os.environ.get("GITHUB_TOKEN"):
        pulled = from_pull_request(GitHub.from_env(), env, commit, pr)
    head = synthesize(environment_names())
    merged = apply_merge(
        env,
        commit=commit,
        graph=head.graph,
        head_out=head.outdir,
        synth_ref=synthesize_ref,
        bucket=cfg.account.state_bucket,
        region=cfg.region,
        run_dir=run_dir,
        allow_stateful=pulled.allow_stateful,
        reviewed=pulled.reviewed,
        unreviewed=pulled.unreviewed,
        override=override,
        approved=approved,
        dry_run=dry_run,
        workers=workers,
        listener=listener,
    )
    if dry_run:  # the plan job: its plan in the job summary, for the approver
        from infra.report.comment import Context
        from infra.report.publish import report_for, write_summary

        ctx = Context(kind="plan", target=env, sha=commit, allow_stateful=pulled.allow_stateful)
        write_summary(report_for([merged.run_dir], ctx).plans, ctx)
    return Merged(merged.run_dir, merged.stacks, pulled.said + merged.said, merged.sets)
