"""`infra`: the one command line for this repository (workflows call it too).

Each command parses its arguments, makes one call into the engine, and prints what came
back. Failures are mapped to exit codes and messages in one place (infra/errors.py): 0 ok,
1 a step failed, 2 bad input, 3 drift; only a bug prints a traceback. Commands that only
read configuration never load CDKTF.
"""

from __future__ import annotations

import json
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from typer._click.exceptions import ClickException  # typer 0.29 ships its own click

from infra.config import ConfigError, environment_names, load_environment, promotion
from infra.console import err, out
from infra.errors import EXIT_FAILED, BadInput, DriftFound, Failed, classify

if TYPE_CHECKING:
    from infra.runner.live import RunView

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
emulator_app = typer.Typer(no_args_is_help=True, help="The local AWS emulator (moto server, with our fixes).")
app.add_typer(emulator_app, name="emulator")
ci_app = typer.Typer(no_args_is_help=True, help="What the GitHub workflows need, and their steps run locally.")
app.add_typer(ci_app, name="ci")

Envs = Annotated[list[str] | None, typer.Argument(help="Environments (default: all).", show_default=False)]
Workers = Annotated[int | None, typer.Option(help="Parallel stacks (default: cores).")]
UseEmulator = Annotated[bool, typer.Option("--emulator", help="Target the local emulator (started if needed).")]
Stack = Annotated[list[str] | None, typer.Option("--stack", help="Only these stacks (names or components).")]
Exclude = Annotated[
    list[str] | None, typer.Option("--exclude", help="Not these stacks (names or components, as --stack).")
]
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Stream Terraform's output as it comes (one stack: see --stack).")
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before changing AWS (workflows pass it).")]
AffectedSince = Annotated[
    str | None, typer.Option(help="Only stacks whose synthesized JSON differs from this git ref's, and consumers.")
]
RunDir = Annotated[Path | None, typer.Option(help="Write plans here (default: a new .infra/runs/ folder).")]


def _envs(envs: list[str] | None) -> list[str]:
    return envs or environment_names()


def _said(lines: list[str]) -> None:
    for line in lines:
        err.print(line, markup=False)


def _view(verbose: bool = False) -> RunView:
    """The live view of a run (plain lines in CI); it also hears Terraform's lines."""
    from infra.runner.live import RunView

    return RunView(out, verbose=verbose)


def _ask(question: str, lines: Sequence[str]) -> bool:
    """Show what is about to happen and ask; no answer at all (stdin closed) is bad input."""
    for line in lines:
        out.print(f"  {line}", markup=False)
    try:
        return typer.confirm(question, default=False, err=True)
    except typer.Abort:
        raise BadInput("nothing answered the confirmation: answer it, or pass --yes (workflows do)") from None


# --- configuration and synthesis ----------------------------------------------------------


@app.command()
def config(
    env: str,
    explain: Annotated[bool, typer.Option(help="Show the layer each value came from.")] = False,
) -> None:
    """Print an environment's merged configuration."""
    from infra.config.explain import explain as explained

    loaded = load_environment(env)
    if explain:
        out.print("\n".join(explained(loaded)), markup=False)
    else:
        out.print_json(json.dumps(loaded.config.model_dump(mode="json")))


@app.command()
def synth(envs: Envs = None, force: Annotated[bool, typer.Option(help="Ignore the cached output.")] = False) -> None:
    """Synthesize every stack of the environments, in one process."""
    from infra.synth import synthesize

    result = synthesize(_envs(envs), force=force)
    names = ", ".join(result.environments)
    if result.reused:
        out.print(f"{len(result.stacks)} stacks for {names}: unchanged since the last synth, reused {result.outdir}")
    else:
        total = result.load_seconds + result.synth_seconds
        out.print(
            f"synthesized {len(result.stacks)} stacks for {names} in {total:.1f} s "
            f"(loading CDKTF {result.load_seconds:.1f} s, synth {result.synth_seconds:.1f} s) -> {result.outdir}"
        )


@app.command()
def stacks(envs: Envs = None) -> None:
    """List the stacks of the environments in dependency order."""
    from infra.synth import synthesize

    result = synthesize(_envs(envs))
    table = Table("stack", "environment", "component", "depends on")
    for name in result.stacks_of(_envs(envs)):
        node = result.graph.nodes[name]
        table.add_row(name, node.environment, node.component, ", ".join(node.depends_on) or "-")
    out.print(table)


@app.command()
def graph(
    env: str,
    mermaid: Annotated[bool, typer.Option(help="Print a mermaid flowchart.")] = False,
) -> None:
    """Show the stack dependency graph of an environment, read from the synthesized output."""
    from infra.synth import synthesize

    result = synthesize([env])
    g, names = result.graph, result.stacks_of([env])
    if mermaid:
        out.print(g.mermaid(names), markup=False)
        return
    for i, level in enumerate(g.levels(names), 1):
        steps = [f"{n} (after {', '.join(g.nodes[n].depends_on)})" if g.nodes[n].depends_on else n for n in level]
        out.print(f"level {i}: " + ", ".join(steps), markup=False)


@app.command()
def validate(envs: Envs = None, workers: Workers = None) -> None:
    """`terraform validate` of every stack (their accounts' bootstrap stacks too), in one Terraform run."""
    from infra.runner import operations
    from infra.synth import synthesize

    result = synthesize(_envs(envs))
    with _view() as view:
        outcomes = operations.validate(result.graph, result.graph.checked(_envs(envs)), workers=workers, listener=view)
    out.print(f"{len(outcomes)} stacks valid")


@app.command()
def scan(
    envs: Envs = None,
    sarif: Annotated[Path | None, typer.Option(help="Also write SARIF here.")] = None,
    markdown: Annotated[Path | None, typer.Option(help="Also write a markdown report here.")] = None,
    findings: Annotated[Path | None, typer.Option(help="Also write the failed checks as JSON (for comment).")] = None,
    no_fail: Annotated[bool, typer.Option(help="Exit 0 even with failures (when a later step judges).")] = False,
    at_ref: Annotated[
        str | None, typer.Option(help="Scan this git ref's synthesized stacks instead (the base of a PR).")
    ] = None,
) -> None:
    """checkov (with the suppressions of infra/policy) and our own rules, on every stack."""
    from infra.policy.scan import scan_environments

    detail, ok = scan_environments(_envs(envs), at_ref, sarif, markdown_path=markdown, findings_path=findings)
    (out if ok else err).print(detail, markup=False)
    if not ok and not no_fail:
        raise typer.Exit(EXIT_FAILED)


# --- the main job ---------------------------------------------------------------------------


@app.command()
def up(
    envs: Annotated[
        list[str] | None, typer.Argument(help="Environments (default: the first to promote).", show_default=False)
    ] = None,
    keep: Annotated[bool, typer.Option(help="Leave the deployment and the emulator running.")] = False,
    workers: Annotated[int | None, typer.Option(help="Parallel stacks (default: 4, or cores if more).")] = None,
    as_ci_roles: Annotated[
        bool,
        typer.Option(help="IAM enforced after the set-up; each phase as the CI role its GitHub job assumes."),
    ] = False,
) -> None:
    """The main job: the whole loop on the embedded emulator.

    Emulator, seed, bootstrap, synth, scan, plan, apply, probes, Prowler (no unmuted
    critical or high finding), a plan that must be empty, destroy, emulator stopped; a
    report of each phase with its time.
    """
    from infra.pipeline.up import up_all

    with _view() as view:
        up_all(envs or [promotion().first], keep=keep, workers=workers, listener=view, as_ci_roles=as_ci_roles)


# --- deploying ------------------------------------------------------------------------------


def _deploy(
    verb: str,
    env: str,
    emulator: bool,
    stack: list[str] | None,
    exclude: list[str] | None,
    workers: int | None,
    *,
    verbose: bool = False,
    yes: bool = False,
    run_dir: Path | None = None,
    since: str | None = None,
    force_protected: bool = False,
) -> Path | None:
    from infra.pipeline.deploy import deploy

    with _view(verbose) as view:
        run_dir = deploy(
            verb,
            env,
            emulator=emulator,
            stacks=stack,
            exclude=exclude,
            workers=workers,
            run_dir=run_dir,
            since=since,
            listener=view,
            single=verbose,
            confirm=None if emulator or yes else _ask,
            force_protected=force_protected,
        )
    if run_dir:
        out.print(f"plans and logs: {run_dir}", markup=False)
    return run_dir


@app.command()
def bootstrap(env: str, emulator: UseEmulator = False, yes: Yes = False) -> None:
    """Once per account, as its administrator: apply the account's bootstrap stack (the state
    bucket, GitHub's OIDC provider, the CI roles and the apply role's boundary).

    Against AWS (no --emulator) it shows the plan and asks first, unless --yes.
    """
    from infra.pipeline.deploy import bootstrap as bootstrap_account

    out.print(bootstrap_account(env, emulator=emulator, confirm=None if emulator or yes else _ask), markup=False)


@app.command()
def plan(
    env: str,
    emulator: UseEmulator = False,
    stack: Stack = None,
    exclude: Exclude = None,
    workers: Workers = None,
    affected_since: AffectedSince = None,
    run_dir: RunDir = None,
    verbose: Verbose = False,
    summary: Annotated[bool, typer.Option(help="Only each stack's counts, not the diff.")] = False,
) -> None:
    """Plan the environment's stacks in dependency order and print each changed stack's diff
    (saved under .infra/runs/)."""
    from infra.pipeline.deploy import plan_texts

    done = _deploy(
        "plan", env, emulator, stack, exclude, workers, verbose=verbose, run_dir=run_dir, since=affected_since
    )
    if done is None or summary:
        return
    for name, text in plan_texts(done):
        out.rule(name)
        out.print(text.rstrip(), markup=False, highlight=False)


@app.command()
def apply(
    env: str,
    emulator: UseEmulator = False,
    stack: Stack = None,
    exclude: Exclude = None,
    workers: Workers = None,
    affected_since: AffectedSince = None,
    run_dir: RunDir = None,
    verbose: Verbose = False,
    yes: Yes = False,
) -> None:
    """Plan and apply the environment's stacks in dependency order.

    Against AWS (no --emulator) it plans first, shows each stack's changes and asks, unless --yes.
    """
    _deploy(
        "apply", env, emulator, stack, exclude, workers, verbose=verbose, yes=yes, run_dir=run_dir, since=affected_since
    )


@app.command()
def destroy(
    env: str,
    emulator: UseEmulator = False,
    stack: Stack = None,
    exclude: Exclude = None,
    workers: Workers = None,
    verbose: Verbose = False,
    yes: Yes = False,
    force_protected: Annotated[
        bool, typer.Option(help="Destroy even an environment whose layer says `protected = true`.")
    ] = False,
) -> None:
    """Destroy the environment's stacks, consumers first.

    Against AWS it shows what each stack would lose and asks, unless --yes; a protected
    environment (prod) is refused unless --force-protected.
    """
    _deploy(
        "destroy", env, emulator, stack, exclude, workers, verbose=verbose, yes=yes, force_protected=force_protected
    )


@app.command()
def unlock(
    env: str,
    stack: Annotated[str, typer.Argument(help="The stack (name or component) whose state lock to release.")],
    emulator: UseEmulator = False,
    yes: Yes = False,
) -> None:
    """Show who holds a stack's state lock, and release it (terraform force-unlock) once you agree.

    For a lock a killed or cancelled run left behind: releasing a live run's lock lets two
    runs write the same state.
    """
    from infra.pipeline.deploy import unlock as release

    out.print(release(env, stack, emulator=emulator, confirm=(lambda q, lines: True) if yes else _ask), markup=False)


@app.command()
def output(env: str, emulator: UseEmulator = False) -> None:
    """Every stack's outputs as one JSON document (what the probes read)."""
    from infra.pipeline.deploy import outputs, target

    err.print(f"target: {target(env, emulator)}", markup=False)
    out.print_json(json.dumps(outputs(env)))


@app.command()
def probe(
    env: str,
    emulator: UseEmulator = False,
    report: Annotated[Path | None, typer.Option(help="Also write the result as markdown here.")] = None,
    slow: Annotated[
        bool,
        typer.Option(help="Also run the slow probes: the WAF rate rule's burst (blocks this machine for minutes)."),
    ] = False,
) -> None:
    """Run the post-apply probe suite (tests/post_apply) against the deployed environment."""
    from infra.pipeline.probe import probe_environment

    result = probe_environment(env, emulator=emulator, report=report, args=["--slow"] if slow else [])
    out.print(result.output, markup=False)
    if not result.ok:
        raise Failed(f"probes for {env}: {result.summary}")


# --- reports --------------------------------------------------------------------------------


@app.command()
def comment(
    run_dirs: Annotated[list[Path], typer.Argument(help="Plan run folders (one per environment).")],
    kind: Annotated[str, typer.Option(help="plan (pull request) or apply (after merge).")] = "plan",
    findings: Annotated[Path | None, typer.Option(help="This branch's checkov findings (scan --findings).")] = None,
    base_findings: Annotated[Path | None, typer.Option(help="The base branch's: only new ones show.")] = None,
    allow_stateful: Annotated[
        bool, typer.Option(envvar="INFRA_ALLOW_STATEFUL", help="Stateful deletes/replaces do not fail the check.")
    ] = False,
    target: Annotated[str, typer.Option(help="What the plans cover, e.g. dev.")] = "",
    sha: Annotated[str, typer.Option(envvar="GITHUB_SHA", help="The commit the plans are for.")] = "",
    extra: Annotated[Path | None, typer.Option(help="Markdown to show after the summary (probe results).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the markdown here.")] = None,
    post: Annotated[bool, typer.Option(help="Create or update the pull request's comment.")] = False,
    pr: Annotated[int | None, typer.Option(help="Pull request number (for --post; default: the PR of --sha).")] = None,
    queue: Annotated[
        bool, typer.Option(help="The merge queue's plan: a comment of its own, beside the reviewed plan's.")
    ] = False,
) -> None:
    """Render the plan report (comment and job summary); exit 1 when the check must fail."""
    from infra.report.comment import KINDS
    from infra.report.publish import publish

    if kind not in ("plan", "apply"):
        raise ConfigError.single("--kind", "", f"--kind is plan or apply, not {kind!r} ({KINDS[2]} has its command)")
    published = publish(
        run_dirs,
        kind=kind,
        target=target,
        sha=sha,
        allow_stateful=allow_stateful,
        findings=findings,
        base_findings=base_findings,
        extra=extra.read_text() if extra and extra.is_file() else "",
        out_file=out_file,
        post=post,
        pr=pr,
        queue=queue,
        show=lambda text: out.print(text, markup=False, highlight=False),
    )
    _said(published.said)
    if published.report.blocked_by:
        raise Failed("check fails: " + "; ".join(published.report.blocked_by))


@app.command()
def drift(
    env: str,
    emulator: UseEmulator = False,
    stack: Stack = None,
    exclude: Exclude = None,
    workers: Workers = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the markdown report here.")] = None,
    issues: Annotated[bool, typer.Option(help="Open/update/close one GitHub issue per drifted stack.")] = False,
    fail_on_drift: Annotated[bool, typer.Option(help="Exit 3 when any stack drifted.")] = False,
) -> None:
    """Plan with no code change and report what moved outside Terraform (same renderer)."""
    from infra.pipeline.drift import check_drift

    with _view() as view:
        checked = check_drift(
            env,
            emulator=emulator,
            stacks=stack,
            exclude=exclude,
            workers=workers,
            out_file=out_file,
            issues=issues,
            listener=view,
            show=lambda text: out.print(text, markup=False, highlight=False),
        )
    _said(checked.said)
    if checked.report.drifted and fail_on_drift:
        raise DriftFound(f"{len(checked.report.drifted)} stacks of {env} drifted (report: {checked.path})")


@app.command()
def compliance(
    env: str,
    emulator: UseEmulator = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write the reports here (default: a run folder).")
    ] = None,
    previous: Annotated[
        Path | None, typer.Option(help="The previous run's OCSF report, for 'new' (default: the last local run).")
    ] = None,
    markdown: Annotated[Path | None, typer.Option(help="Also write the summary here.")] = None,
    sarif: Annotated[Path | None, typer.Option(help="Also write SARIF (findings on our resources) here.")] = None,
) -> None:
    """Prowler against the environment's account: summary, SARIF, OCSF JSON; exit 1 on
    any unmuted critical or high finding (mutes: infra/policy/prowler-mutelist.yaml)."""
    from infra.pipeline.compliance import compliance as scan_account
    from infra.pipeline.compliance import gate_message
    from infra.policy.prowler import ComplianceError

    scan, summary = scan_account(env, emulator=emulator, out=out_dir, previous=previous, markdown=markdown, sarif=sarif)
    out.print(summary.read_text(), markup=False, highlight=False)
    out.print(f"report: {scan.report}", markup=False, highlight=False)
    if scan.gating:
        raise ComplianceError(gate_message(scan))


# --- the emulator ---------------------------------------------------------------------------


@emulator_app.command("start")
def emulator_start(
    env: Annotated[str | None, typer.Argument(help="Environment whose account to emulate.")] = None,
) -> None:
    """Start the emulator for an environment's account and seed what must pre-exist."""
    from infra.emulator.seed import emulate

    running, _ = emulate(load_environment(env or promotion().first).config)
    exports = " ".join(f"{k}={v}" for k, v in running.client_env().items())
    out.print(f"emulator {running.endpoint} (account {running.account_id})\nexport {exports}", markup=False)


@emulator_app.command("stop")
def emulator_stop() -> None:
    """Stop the emulator this working copy started."""
    from infra.emulator import launcher

    out.print("stopped" if launcher.stop() else "no emulator was running")


@emulator_app.command("status")
def emulator_status() -> None:
    """Whether the emulator runs, where, and for which account."""
    from infra.emulator import launcher

    running = launcher.current()
    if not running:
        raise Failed("not running")
    out.print(f"running: {running.endpoint} pid {running.pid} account {running.account_id}")


# --- CI -------------------------------------------------------------------------------------


@ci_app.command("role")
def ci_role(
    env: str, purpose: Annotated[str, typer.Argument(help="plan (read-only), queue or apply.")] = "plan"
) -> None:
    """The IAM role ARN a workflow assumes for this environment and purpose."""
    from infra.pipeline.ci import role_arn

    out.print(role_arn(env, purpose), markup=False, highlight=False)


@ci_app.command("documents")
def ci_documents(env: str) -> None:
    """The CI roles of ENV's account as JSON: each role's trust policy and policies, the
    boundary, and the OIDC provider (what `infra bootstrap` applies; docs/trust-model.md)."""
    import json

    from infra.synth.accounts import ci_account
    from modules.ci_identities import documents

    account = ci_account(env)
    roles = {}
    own = documents.own_policies(account)
    for purpose, name in documents.ROLE_NAMES.items():
        policy_name, policy = own[purpose]
        roles[name] = {
            "trust": documents.trust(account, purpose),
            "policies": {policy_name: policy},
            "managed": [account.managed(m) for m in documents.MANAGED_POLICIES[purpose]],
            **({"boundary": account.boundary_arn} if purpose == "apply" else {}),
        }
    result = {
        "oidc_provider": {"url": account.provider_url, "audience": documents.AUDIENCE},
        "boundary": {"name": documents.BOUNDARY_NAME, "policy": documents.boundary_policy(account)},
        "roles": roles,
    }
    out.print(json.dumps(result, indent=2), markup=False, highlight=False)


@ci_app.command("plan")
def ci_plan(
    envs: Annotated[
        list[str] | None, typer.Argument(help="Environments (default: the first to promote).", show_default=False)
    ] = None,
    base: Annotated[str | None, typer.Option(help="Compare with this ref (default: where HEAD left main).")] = None,
    deploy_base: Annotated[
        bool, typer.Option(help="Apply the base's stacks first (as main has them), so the plan shows the change.")
    ] = True,
    keep: Annotated[bool, typer.Option(help="Leave the emulator running (for `infra ci apply`).")] = False,
    save: Annotated[
        bool, typer.Option(help="Save the plans for HEAD in the state bucket, as the merge queue does.")
    ] = False,
) -> None:
    """Run the plan workflow's steps locally on the emulator, and show each comment."""
    from infra.pipeline.ci import default_base, head_commit, plan_workflow

    loop, comments = plan_workflow(
        envs or [promotion().first],
        base or default_base(),
        deploy_base=deploy_base,
        keep=keep or save,
        save_for=head_commit() if save else "",
    )
    for env, path in comments.items():
        out.rule(f"comment for {env} ({path})")
        out.print(path.read_text(), markup=False, highlight=False)
    loop.report()


@ci_app.command("apply")
def ci_apply(
    env: Annotated[str | None, typer.Argument(help="Environment (default: the first to promote).")] = None,
    commit: Annotated[str | None, typer.Option(help="The merged commit (default: HEAD).")] = None,
    probes: Annotated[bool, typer.Option(help="Run the post-apply probes before the record moves.")] = False,
    override: Annotated[bool, typer.Option(help="No saved or reviewed plan: re-plan and apply anyway.")] = False,
) -> None:
    """Run the apply workflow's steps locally on the emulator (after `infra ci plan --save`):
    record, affected since it, saved plans, gates, plan job, apply job, probes, record moves."""
    from infra.pipeline.ci import CI_RUNS, apply_steps, head_commit
    from infra.pipeline.deploy import target
    from infra.pipeline.phases import PhaseFailed
    from infra.pipeline.probe import probe_environment
    from infra.synth import synthesize
    from infra.synth.tree import synthesize_ref

    env = env or promotion().first
    err.print(f"target: {target(env, True)} (left running: `infra emulator stop`)", markup=False)
    cfg = load_environment(env).config
    head = synthesize(environment_names())

    def run_probes() -> str:
        result = probe_environment(env, emulator=True)
        if not result.ok:
            raise Failed(f"probes for {env}: {result.summary}")
        return result.summary

    try:
        loop = apply_steps(
            env,
            commit=commit or head_commit(),
            graph=head.graph,
            head_out=head.outdir,
            synth_ref=synthesize_ref,
            bucket=cfg.account.state_bucket,
            region=cfg.region,
            out=CI_RUNS,
            override=override,
            probes=run_probes if probes else None,
        )
    except PhaseFailed as failed:
        failed.loop.report()
        raise
    loop.report()


@ci_app.command("environments")
def ci_environments(
    per_account: Annotated[
        bool, typer.Option(help="Only the first environment of each account (account-wide jobs).")
    ] = False,
) -> None:
    """The environments in promotion order, as JSON (the workflows' matrix)."""
    from infra.config.layers import account_leads

    names = account_leads() if per_account else promotion().order
    out.print(json.dumps(list(names)), markup=False, highlight=False)


@ci_app.command("save-plans")
def ci_save_plans(
    env: str,
    commit: Annotated[str, typer.Option(envvar="GITHUB_SHA", help="The commit the plans are for.")],
    run_dir: Annotated[Path, typer.Option(help="The plan run to save.")],
    emulator: UseEmulator = False,
) -> None:
    """The merge queue's run: store its plans in the state bucket (plans/ENV/COMMIT/, KMS)."""
    from infra.pipeline.deploy import target
    from infra.runner import saved
    from infra.synth import synthesize

    err.print(f"target: {target(env, emulator)}", markup=False)
    cfg = load_environment(env).config
    graph = synthesize(environment_names()).graph
    region = cfg.region
    out.print(saved.save(graph, run_dir, bucket=cfg.account.state_bucket, region=region, env=env, commit=commit))


@ci_app.command("apply-merge")
def ci_apply_merge(
    env: str,
    commit: Annotated[str, typer.Option(envvar="GITHUB_SHA", help="The merged commit (main's head).")],
    run_dir: Annotated[Path, typer.Option(help="Write plans and logs here.")],
    override: Annotated[
        bool, typer.Option(help="No saved or reviewed plan: re-plan and apply anyway (a person's decision).")
    ] = False,
    emulator: UseEmulator = False,
    workers: Workers = None,
    plan_only: Annotated[
        bool, typer.Option(help="The plan job: plan read-only, apply nothing, write the sets to --sets-out.")
    ] = False,
    sets_out: Annotated[Path | None, typer.Option(help="With --plan-only: write the (address, action) sets.")] = None,
    approved: Annotated[
        str | None,
        typer.Option(envvar="INFRA_APPROVED_SETS", help="The plan job's sets (JSON): every plan must match them."),
    ] = None,
    require_approved: Annotated[
        bool, typer.Option(help="Refuse when the plan job's sets are missing (the approved job: fail closed).")
    ] = False,
) -> None:
    """Apply the stacks changed since ENV's last applied commit, from the reviewed plans."""
    from infra.pipeline.merge import merge_apply
    from infra.runner.saved import parse_sets

    if require_approved and not plan_only and not approved:
        raise BadInput("the plan job's sets (INFRA_APPROVED_SETS) are missing: nothing applied")
    with _view() as view:
        merged = merge_apply(
            env,
            commit=commit,
            run_dir=run_dir,
            override=override,
            approved=parse_sets(approved) if approved else None,
            dry_run=plan_only,
            emulator=emulator,
            workers=workers,
            listener=view,
        )
    _said(merged.said)
    if plan_only and sets_out:
        sets_out.write_text(json.dumps(merged.sets, separators=(",", ":")))
        out.print(f"the sets shown to the approver: {sets_out}", markup=False)
    out.print(f"plans and logs: {merged.run_dir}", markup=False)


@ci_app.command("replan")
def ci_replan(
    head_sha: Annotated[str, typer.Option(help="The pull request's head commit.")],
) -> None:
    """Re-run the plan workflow's last run for this commit (the stateful label or a review changed)."""
    from infra.pipeline.ci import replan
    from infra.report.github import GitHub

    out.print(replan(GitHub.from_env(), head_sha), markup=False)


@ci_app.command("record")
def ci_record(
    env: str,
    commit: Annotated[str, typer.Option(envvar="GITHUB_SHA", help="The commit applied and probed.")],
    emulator: UseEmulator = False,
) -> None:
    """Move ENV's last-applied record to COMMIT (after its apply and probes succeeded): forward
    only, and not over a record another run moved since this one read it."""
    from infra.pipeline.deploy import target
    from infra.pipeline.merge import move_record
    from infra.report.publish import run_url

    err.print(f"target: {target(env, emulator)}", markup=False)
    cfg = load_environment(env).config
    record = move_record(cfg.account.state_bucket, cfg.region, env, commit, run_url())
    out.print(f"{env}: last applied {record.commit} ({record.applied_at})", markup=False)


@app.command()
def toolchain(
    quiet: Annotated[bool, typer.Option(help="Only write the config.")] = False,
    make_mirror: Annotated[
        Path | None, typer.Option(help="First download the pinned provider into a mirror here (CI runners).")
    ] = None,
) -> None:
    """Write the Terraform CLI config (provider mirror + plugin cache) and the AWS bindings'
    lazily loading JavaScript (modules/common/lazy_js.py), and show the tools."""
    from infra.toolchain import describe, ensure_cli_config, use_mirror
    from modules.common import lazy_js

    if make_mirror:
        use_mirror(make_mirror)
    lazy = None
    try:
        lazy = lazy_js.write()  # once per installed bindings (~5 s); then only a check
    except OSError as exc:  # a read-only environment: synth works, its JavaScript loads whole
        err.print(f"toolchain: the AWS bindings' lazy JavaScript was not written ({exc})", markup=False)
    path = ensure_cli_config()
    if not quiet:
        bindings = lazy.tarball if lazy else "their own tarball, whole"
        out.print(f"AWS bindings' JavaScript for jsii: {bindings}\n{describe(path)}", markup=False)


def main() -> None:
    """Run the CLI; an expected failure becomes its exit code and one message, never a traceback."""
    from infra.runner import interrupts

    interrupts.install()
    sys.exit(guarded(lambda: app(standalone_mode=False), "infra " + shlex.join(sys.argv[1:])))


def guarded(body: Callable[[], object], command: str) -> int:
    """Run body as the CLI runs a command; its exit code. An interrupt (Ctrl-C, SIGTERM) ends
    in one line (what was stopped, whether the state is consistent, what to run next) and
    128 + the signal; see `infra.runner.interrupts`."""
    from infra.runner import interrupts

    try:
        code = body()
    except typer.Exit as exc:
        code = exc.exit_code
    except ClickException as exc:  # usage errors: click's own message and exit code (2)
        exc.show()
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C where no Terraform ran (a question, synth)
        code = EXIT_FAILED
        interrupts.interrupted(signal.SIGINT)
    except Exception as exc:
        known = classify(exc)
        if known is None and not interrupts.received():
            raise
        code, message = known or (EXIT_FAILED, str(exc))
        if not interrupts.received():
            err.print(f"error: {message}", markup=False)
    if interrupts.received():
        err.print(interrupts.summary(command), markup=False)
        return interrupts.exit_code()
    return code if isinstance(code, int) else 0
