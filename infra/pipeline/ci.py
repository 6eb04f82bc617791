"""What the workflows need from the engine, and the plan workflow's steps run locally.

`infra ci role ENV PURPOSE` prints the IAM role a workflow assumes (the account comes from
the environment's layers, so no ARN is kept in GitHub settings). `infra ci plan` runs the
steps of .github/workflows/plan.yml in order on the embedded emulator, so a reviewer sees
the comment a pull request would get before pushing.
"""

from __future__ import annotations

import contextlib
import functools
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.config import ConfigError, environment_names, load_environment
from infra.errors import Failed
from infra.paths import REPO, WORK
from infra.pipeline.phases import Loop, PhaseFailed
from infra.synth.accounts import ci_account
from modules.ci_identities.documents import ROLE_NAMES

if TYPE_CHECKING:
    from infra.report.github import GitHub
    from infra.synth.graph import StackGraph

CI_RUNS = WORK / "ci"


def role_arn(env: str, purpose: str) -> str:
    if purpose not in ROLE_NAMES:
        raise ConfigError.single("purpose", "", f"one of {', '.join(sorted(ROLE_NAMES))}, not {purpose!r}")
    return ci_account(env).role_arn(purpose)


def default_base() -> str:
    """Where a branch leaves main (on main itself: the last commit, so local edits show)."""
    proc = subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=REPO, capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else "HEAD"


def head_commit() -> str:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def plan_workflow(
    envs: list[str],
    base: str,
    *,
    deploy_base: bool = True,
    out: Path = CI_RUNS,
    keep: bool = False,
    save_for: str = "",
) -> tuple[Loop, dict[str, Path]]:
    """plan.yml's steps on the emulator: synth, scan (head and base), validate, then per
    environment plan the affected stacks and render the comment. With `deploy_base`, the
    base's version of those stacks (and what they depend on) is applied first, as main has
    it in AWS, so the plan shows the change itself. With `save_for` (a commit), the plans are
    saved in the state bucket as the merge queue's run saves them; with `keep` the emulator
    stays up for `infra ci apply`. Returns the report and each comment."""
    from infra.emulator.seed import emulated
    from infra.policy.scan import scan_and_check
    from infra.report.comment import Context
    from infra.report.publish import marker, report_for
    from infra.runner import affected, operations
    from infra.runner.bootstrap import create_state_bucket
    from infra.synth import synthesize
    from infra.synth.graph import StackGraph
    from infra.synth.tree import synthesize_ref

    loop = Loop(f"infra ci plan (the plan workflow, locally; base {base[:12]})")
    out.mkdir(parents=True, exist_ok=True)
    comments: dict[str, Path] = {}
    cleanup = contextlib.ExitStack()
    graph: StackGraph | None = None
    head_out = Path()

    def do_synth() -> str:
        nonlocal graph, head_out
        result = synthesize(environment_names())
        head_out, graph = result.outdir, result.graph
        return f"{len(result.stacks)} stacks"

    def do_scan() -> str:
        assert graph is not None
        detail, _ = scan_and_check(graph, graph.nodes, out / "checkov.sarif", findings_path=out / "head.json")
        base_graph = StackGraph.from_synth(synthesize_ref(base))
        scan_and_check(base_graph, base_graph.nodes, out / "base.sarif", findings_path=out / "base.json")
        return detail.splitlines()[0]

    def do_validate() -> str:
        assert graph is not None
        return f"{len(operations.validate(graph, graph.nodes))} stacks valid"

    def plan_env(env: str) -> str:
        assert graph is not None
        cfg = load_environment(env).config
        cleanup.enter_context(emulated(cfg, fresh=True, keep=keep))
        create_state_bucket(cfg.account.state_bucket, cfg.region)
        base_out = synthesize_ref(base)
        chosen = affected.compare(base_out, graph, head_out, [env])
        run_dir = out / env
        names = [a.stack for a in chosen]
        deployed = ""
        if names and deploy_base:
            base_graph = StackGraph.from_synth(base_out)
            existing = base_graph.upstream(n for n in names if n in base_graph.nodes)
            operations.apply(base_graph, existing, run_dir=out / f"{env}-base")
            deployed = f"base applied ({len(existing)} stacks); "
        if names:
            downstream = [a.stack for a in chosen if not a.direct]
            operations.plan(graph, names, run_dir=run_dir, only_if_inputs_change=downstream, lock=False)
        else:
            operations.write_outcomes(graph, [], run_dir)
        if save_for:  # the merge queue's step: the plans of this commit, for its apply
            from infra.runner import saved

            saved.save(graph, run_dir, bucket=cfg.account.state_bucket, region=cfg.region, env=env, commit=save_for)
        ctx = Context(target=env, marker=marker("plan", env, None))
        report = report_for([run_dir], ctx, findings=out / "head.json", base_findings=out / "base.json")
        path = run_dir / "comment.md"
        path.write_text(report.text)
        comments[env] = path
        reasons = report.blocked_by
        verdict = f"check would fail: {'; '.join(reasons)}" if reasons else "check would pass"
        why = ", ".join(f"{a.stack} ({a.reason})" for a in chosen) or "no stack affected"
        return f"{deployed}{why}; {verdict}; comment {path}"

    with cleanup:  # stops the emulators the environments' plans started
        try:
            loop.phase("synth", do_synth)
            loop.phase("scan (head and base)", do_scan)
            loop.phase("validate", do_validate)
            for env in envs:
                loop.phase(f"plan {env} + comment", functools.partial(plan_env, env))
        except PhaseFailed:
            loop.report()  # which phase failed, and what ran before it
            raise
    return loop, comments


PLAN_WORKFLOW = "plan.yml"


def replan(github: GitHub, head_sha: str, *, wait: float = 600.0, sleep: Callable[[float], None] = time.sleep) -> str:
    """Re-run the pull request's last plan run for its head commit (the label
    `allow-stateful-changes` was added or removed, or a review was submitted: the gate reads
    both through the API, so the same run, re-run, reaches the new verdict). The required
    checks `check` and `plan` come only from plan runs: a run skipped for an unrelated label
    would report them as passed, over a blocked plan. A run still in progress is cancelled
    first (it may have read the gate before the change)."""
    runs = github.workflow_runs(PLAN_WORKFLOW, head_sha, "pull_request")
    if not runs:
        return f"no plan run for {head_sha[:12]} yet: the one to come reads the gate itself"
    run = runs[0]
    if run["status"] != "completed":
        github.cancel_run(run["id"])
        deadline = time.monotonic() + wait
        while github.workflow_run(run["id"])["status"] != "completed":
            if time.monotonic() > deadline:
                raise Failed(f"plan run {run['id']} did not stop within {wait:.0f} s: re-run it by hand")
            sleep(5)
    github.rerun(run["id"])
    return f"re-ran plan run {run['id']} for {head_sha[:12]}: its checks report the new verdict"


def apply_steps(
    env: str,
    *,
    commit: str,
    graph: StackGraph,
    head_out: Path,
    synth_ref: Callable[[str], Path],
    bucket: str,
    region: str,
    out: Path,
    override: bool = False,
    allow_stateful: bool = False,
    probes: Callable[[], str] | None = None,
    loop: Loop | None = None,
) -> Loop:
    """deploy.yml's steps for one environment, in order: the plan job (read-only: the record,
    the stacks affected since it, the saved plans or a re-plan, the gates; nothing applied),
    then the apply job (the same, applying only plans with the sets the plan job showed),
    the probes when given, and only then the record moves. Raises PhaseFailed at the first
    step that fails (the record stays where it was)."""
    from infra.pipeline.merge import Merged, apply_merge, move_record
    from infra.runner.saved import parse_sets

    loop = loop or Loop(f"infra ci apply {env} (the apply workflow, locally; commit {commit[:12]})")
    shown: dict[str, list[list[str]] | None] = {}

    def run(what: str, **options: Any) -> Merged:
        return apply_merge(
            env,
            commit=commit,
            graph=graph,
            head_out=head_out,
            synth_ref=synth_ref,
            bucket=bucket,
            region=region,
            run_dir=out / f"{env}-{what}",
            override=override,
            allow_stateful=allow_stateful,
            **options,
        )

    def plan_job() -> str:
        merged = run("plan", dry_run=True)
        shown.update(merged.sets)
        return "; ".join([*merged.said, f"sets shown: {len(shown)} stacks"])

    def apply_job() -> str:
        return "; ".join(run("apply", approved=parse_sets(json.dumps(shown))).said)  # JSON, as the job output

    def record() -> str:
        moved = move_record(bucket, region, env, commit)
        return f"{env}: last applied {moved.commit[:12]} ({moved.applied_at})"

    loop.phase(f"plan {env} (read-only, nothing applied)", plan_job)
    loop.phase(f"apply {env} (only the sets shown)", apply_job)
    if probes is not None:
        loop.phase(f"probes {env}", probes)
    loop.phase(f"record {env}", record)
    return loop
