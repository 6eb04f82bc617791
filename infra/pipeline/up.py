"""`infra up ENV`: the whole loop on the embedded emulator, one environment at a time."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import boto3

from infra.config import load_environment
from infra.config.layers import PROTECTION_VARIABLE
from infra.console import err
from infra.emulator import identities
from infra.emulator.launcher import Emulator
from infra.emulator.seed import emulated
from infra.paths import SYNTH_OUT
from infra.pipeline import compliance
from infra.pipeline.deploy import apply_bootstrap
from infra.pipeline.phases import Loop, PhaseFailed, write
from infra.pipeline.probe import run_probes
from infra.policy.scan import scan_and_check
from infra.report.comment import Context
from infra.report.plan import load_run
from infra.report.publish import report_for
from infra.runner import operations
from infra.runner.executor import Listener, default_workers
from infra.synth import synthesize
from infra.synth.accounts import ci_account
from infra.synth.graph import StackGraph

# On the emulator a stack spends most of its apply in the provider's pollers (10-30 s even
# when the answer is immediate): overlapping four of them costs little CPU and saves minutes.
EMULATOR_WORKERS = 4


def up(
    env: str,
    *,
    keep: bool = False,
    workers: int | None = None,
    listener: Listener | None = None,
    as_ci_roles: bool = False,
) -> Loop:
    """Run the loop; raises PhaseFailed (with the report filled in) when a phase fails.

    The administrator's set-up comes first: the account's bootstrap stack (the state bucket
    and the CI identities), applied as `infra bootstrap` applies it. `as_ci_roles`: after
    it, IAM is enforced and each phase runs as the role its GitHub job assumes: the plans,
    the compliance scan and the re-plan as the read-only plan role, the apply, the probes
    and the destroy as the apply role."""
    workers = workers or max(EMULATOR_WORKERS, default_workers())
    cfg = load_environment(env).config
    loop = Loop(f"infra up {env} (embedded emulator" + (", IAM enforced, as the CI roles)" if as_ci_roles else ")"))
    graph: StackGraph | None = None
    names: list[str] = []
    run_dir = operations.new_run_dir(f"up-{env}")
    cleanup = contextlib.ExitStack()
    roles: dict[str, dict[str, str]] = {}  # purpose -> the assumed role's credentials
    emulator: Emulator | None = None

    def start() -> str:
        nonlocal emulator
        emulator, created = cleanup.enter_context(emulated(cfg, fresh=True, keep=keep))
        return f"{emulator.endpoint} account {emulator.account_id}; seeded {', '.join(created) or 'nothing new'}"

    def bootstrap() -> str:
        said = apply_bootstrap(env)  # the administrator's: the state bucket and the CI identities
        if not as_ci_roles:
            return said
        assert emulator is not None
        emulator.enforce_iam()
        if keep:  # a kept emulator is left as it was found: open to any caller
            cleanup.callback(emulator.enforce_iam, False)
        account = ci_account(env)
        roles.update({purpose: identities.assume(account, purpose) for purpose in ("plan", "apply")})
        return f"{said}; IAM enforced from here on"

    def acting(purpose: str, action: Callable[[], str]) -> Callable[[], str]:
        """The phase as the role its GitHub job assumes (as_ci_roles), else as it is."""
        if not as_ci_roles:
            return action

        def run() -> str:
            with identities.acting_as(roles[purpose]):
                caller = boto3.client("sts", region_name=cfg.region).get_caller_identity()["Arn"]
                return f"{action()} (as {caller})"

        return run

    def do_synth() -> str:
        nonlocal graph, names
        result = synthesize([env])
        graph, names = result.graph, result.stacks_of([env])
        return f"{len(names)} stacks" + (
            " (reused)" if result.reused else f", loading CDKTF {result.load_seconds:.1f} s"
        )

    def do_scan() -> str:
        assert graph is not None
        detail, ok = scan_and_check(graph, graph.checked([env]), run_dir / "scan.sarif")  # the bootstrap's too
        if not ok:
            raise RuntimeError(detail)
        return detail.splitlines()[0]

    def do_plan() -> str:
        assert graph is not None
        # read-only, as a pull request's plan is (no lock file)
        outcomes = operations.plan(
            graph, names, run_dir=run_dir / "plan", workers=workers, listener=listener, lock=False
        )
        report = report_for([run_dir / "plan"], Context(target=env))  # what a pull request would show
        path = write(run_dir / "plan.md", report.text)
        deferred = sum(o.status == "deferred" for o in outcomes)
        return f"{len(outcomes) - deferred} planned, {deferred} wait for upstream applies; summary {path}"

    def do_apply() -> str:
        assert graph is not None
        outcomes = operations.apply(graph, names, run_dir=run_dir / "apply", workers=workers, listener=listener)
        return f"{len(outcomes)} stacks applied"

    def do_probe() -> str:
        assert graph is not None
        # --slow: the WAF rate burst too (on the emulator it takes a second and blocks no one else)
        result = run_probes(env, operations.outputs(graph, names), run_dir, ["--slow"])
        if not result.ok:
            raise RuntimeError(f"{result.summary} (log: {run_dir / 'probes.log'})\n{result.output[-3000:]}")
        return result.summary

    def do_compliance() -> str:
        assert graph is not None
        scan = compliance.check(env, run_dir / "compliance", graph=graph, names=names)
        if scan.gating:
            raise RuntimeError(f"{compliance.gate_message(scan)}\n(report: {scan.report})")
        return scan.summary()

    def do_replan() -> str:
        assert graph is not None
        operations.plan(graph, names, run_dir=run_dir / "replan", workers=workers, listener=listener, lock=False)
        changed = [p for p in load_run(run_dir / "replan") if p.has_changes]
        if changed:
            lines = [f"{p.stack}: {p.totals()} {sorted(c.address for c in p.changes)}" for p in changed]
            raise RuntimeError("a plan right after apply is not empty:\n" + "\n".join(lines))
        return f"{len(names)} stacks, no changes"

    def do_destroy() -> str:
        assert graph is not None
        target, lifted = graph, ""
        if cfg.deletion_protection:
            target = _unprotected(env, run_dir, workers, listener)
            lifted = f" (deletion protection lifted first: {PROTECTION_VARIABLE}=false, applied)"
        operations.destroy(target, names, workers=workers, listener=listener)
        return f"{len(names)} stacks destroyed{lifted}"

    with cleanup:
        loop.phase("emulator", start)
        loop.phase("bootstrap", bootstrap)
        loop.phase("synth", do_synth)
        loop.phase("scan", do_scan)
        loop.phase("plan", acting("plan", do_plan))
        loop.phase("apply", acting("apply", do_apply))
        loop.phase("probe", acting("apply", do_probe))
        loop.phase("compliance", acting("plan", do_compliance))
        loop.phase("re-plan", acting("plan", do_replan))
        if not keep:
            loop.phase("destroy", acting("apply", do_destroy))
    return loop


def up_all(
    envs: Sequence[str],
    *,
    keep: bool = False,
    workers: int | None = None,
    listener: Listener | None = None,
    as_ci_roles: bool = False,
) -> list[Loop]:
    """`infra up ENV...`: each environment's loop in turn (a failed one does not stop the
    next); every report is printed. Raises PhaseFailed naming the environments that failed."""
    for env in envs:
        load_environment(env)  # bad input: exit 2 before anything starts
    loops, failed = [], []
    for env in envs:
        try:
            loop = up(env, keep=keep, workers=workers, listener=listener, as_ci_roles=as_ci_roles)
        except PhaseFailed as exc:
            err.print(f"up {env} failed in {exc}", markup=False)
            failed.append(env)
            loop = exc.loop
        loop.report()
        loops.append(loop)
    if failed:
        raise PhaseFailed(f"infra up failed for {', '.join(failed)} (the reports above name the phase)", loops[-1])
    return loops


def _unprotected(env: str, run_dir: Path, workers: int | None, listener: Listener | None) -> StackGraph:
    """The environment re-synthesized with deletion protection off, and that applied.

    What an operator does before tearing down a protected environment; the override is
    explicit (INFRA_DELETION_PROTECTION) and lasts only for this step.
    """
    os.environ[PROTECTION_VARIABLE] = "false"
    try:
        result = synthesize([env], outdir=SYNTH_OUT.with_name("synth-unprotected"))
    finally:
        del os.environ[PROTECTION_VARIABLE]
    graph, names = result.graph, result.stacks_of([env])
    operations.apply(graph, names, run_dir=run_dir / "unprotect", workers=workers, listener=listener)
    return graph
