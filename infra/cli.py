"""`infra`: the one command line for this repository (workflows call it too).

Exit codes: 0 ok, 1 a step failed, 2 bad input (configuration, arguments, graph).
Commands that only read configuration never load CDKTF.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from infra.config import ConfigError, environment_names, load_environment
from infra.console import err, out
from infra.emulator.errors import EmulatorError
from infra.runner.affected import AffectedError
from infra.runner.terraform import TerraformError
from infra.synth.graph import CycleError, StackGraph
from infra.toolchain import ToolchainError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_DRIFT = 3  # `infra drift --fail-on-drift`: the plan found changes made outside Terraform

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
F = TypeVar("F", bound=Callable[..., Any])

Envs = Annotated[list[str] | None, typer.Argument(help="Environments (default: all).", show_default=False)]
Workers = Annotated[int | None, typer.Option(help="Parallel stacks (default: cores).")]


def handles_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ConfigError, CycleError, AffectedError) as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", markup=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (ToolchainError, EmulatorError, TerraformError) as exc:
            err.print(f"[red]error:[/red] {exc}", markup=False)
            raise typer.Exit(EXIT_FAILED) from None

    return wrapper  # type: ignore[return-value]


def _envs(envs: list[str] | None) -> list[str]:
    return envs or environment_names()


def _graph(envs: list[str]) -> StackGraph:
    from infra.synth import synthesize

    result = synthesize(envs)
    if not result.reused:
        err.print(f"synthesized {len(result.stacks)} stacks in {result.load_seconds + result.synth_seconds:.1f} s")
    return StackGraph.from_synth(result.outdir)


@app.command()
@handles_errors
def config(
    env: str,
    explain: Annotated[bool, typer.Option(help="Show the layer each value came from.")] = False,
) -> None:
    """Print an environment's merged configuration."""
    loaded = load_environment(env)
    if not explain:
        out.print_json(json.dumps(loaded.config.model_dump(mode="json")))
        return
    merged = loaded.config.model_dump(mode="json")
    rows = []
    for key, source in sorted(loaded.provenance.items()):
        value: Any = merged
        for part in key:
            value = value[part]
        rows.append((f"{'.'.join(key)} = {json.dumps(value)}", source))
    width = max(len(left) for left, _ in rows)
    for left, source in rows:
        out.print(f"{left.ljust(width)}  # {source}", markup=False)


@app.command()
@handles_errors
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
@handles_errors
def stacks(envs: Envs = None) -> None:
    """List the stacks of the environments in dependency order."""
    chosen = _envs(envs)
    graph = _graph(chosen)
    table = Table("stack", "environment", "component", "depends on")
    for name in graph.for_environments(chosen):
        node = graph.nodes[name]
        table.add_row(name, node.environment, node.component, ", ".join(node.depends_on) or "-")
    out.print(table)


@app.command()
@handles_errors
def graph(
    env: str,
    mermaid: Annotated[bool, typer.Option(help="Print a mermaid flowchart.")] = False,
) -> None:
    """Show the stack dependency graph of an environment, read from the synthesized output."""
    g = _graph([env])
    names = g.for_environments([env])
    if mermaid:
        out.print(g.mermaid(names), markup=False)
        return
    for i, level in enumerate(g.levels(names), 1):
        out.print(
            f"level {i}: "
            + ", ".join(
                f"{n} (after {', '.join(g.nodes[n].depends_on)})" if g.nodes[n].depends_on else n for n in level
            )
        )


@app.command()
@handles_errors
def up(
    envs: Envs = None,
    keep: Annotated[bool, typer.Option(help="Leave the deployment and the emulator running.")] = False,
    workers: Annotated[int | None, typer.Option(help="Parallel stacks (default: 4, or cores if more).")] = None,
) -> None:
    """The main job: the whole loop on the embedded emulator (default: dev).

    Emulator, seed, bootstrap, synth, scan, plan, apply, probes, a plan that must be
    empty, destroy, emulator stopped; a report of each phase with its time.
    """
    from infra.pipeline.phases import PhaseFailed
    from infra.pipeline.up import up as run_up

    for env in envs or ["dev"]:
        load_environment(env)  # bad input: exit 2 before anything starts
    failed = False
    for env in envs or ["dev"]:
        loop = None
        try:
            loop = run_up(env, keep=keep, workers=workers, listener=_report)
        except PhaseFailed as exc:
            failed = True
            err.print(f"[red]up {env} failed[/red] in {escape(str(exc))}", markup=True)
            loop = exc.loop
        if loop is not None:
            loop.report()
    if failed:
        raise typer.Exit(EXIT_FAILED)


def _validate_all(chosen: list[str], workers: int | None) -> str:
    from infra.runner import operations

    g = _graph(chosen)
    outcomes = operations.validate(g, g.for_environments(chosen), workers=workers, listener=_report)
    return f"{len(outcomes)} stacks valid"


@app.command()
@handles_errors
def validate(
    envs: Envs = None,
    workers: Annotated[int | None, typer.Option(help="Parallel stacks (default: cores).")] = None,
) -> None:
    """`terraform init -backend=false` and `terraform validate` on every stack."""
    from infra.runner.operations import OperationFailed

    try:
        out.print(_validate_all(_envs(envs), workers))
    except OperationFailed as exc:
        err.print(f"[red]validate:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILED) from None


def _report(outcome: Any) -> None:
    colour = {"ok": "green", "failed": "red", "skipped": "yellow", "deferred": "cyan"}[outcome.status]
    detail = outcome.detail if outcome.status == "ok" else outcome.detail.replace("[", "\\[")
    out.print(f"[{colour}]{outcome.status:>7}[/{colour}] {outcome.stack} ({outcome.seconds:.1f} s) {detail}")


@app.command()
@handles_errors
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
    from infra.policy.scan import scan_and_check

    chosen = _envs(envs)
    if at_ref:
        from infra.runner.affected import synthesize_ref

        g = StackGraph.from_synth(synthesize_ref(at_ref))
        chosen = sorted({n.environment for n in g.nodes.values() if n.environment in chosen})
    else:
        g = _graph(chosen)
    detail, ok = scan_and_check(g, g.for_environments(chosen), sarif, markdown_path=markdown, findings_path=findings)
    (out if ok else err).print(detail, markup=False)
    if not ok and not no_fail:
        raise typer.Exit(EXIT_FAILED)


# --- deploying -------------------------------------------------------------------------

emulator_app = typer.Typer(no_args_is_help=True, help="The local AWS emulator (moto server, with our fixes).")
app.add_typer(emulator_app, name="emulator")
UseEmulator = Annotated[bool, typer.Option("--emulator", help="Target the local emulator (started if needed).")]
Stack = Annotated[list[str] | None, typer.Option("--stack", help="Only these stacks (names or components).")]
AffectedSince = Annotated[
    str | None, typer.Option(help="Only stacks whose synthesized JSON differs from this git ref's, and consumers.")
]
RunDir = Annotated[Path | None, typer.Option(help="Write plans here (default: a new .infra/runs/ folder).")]


def _target(env: str, emulator: bool) -> str:
    """Point this process (boto3, and Terraform through it) at the emulator when asked."""
    if not emulator:
        return "AWS (credentials from the environment)"
    from infra.emulator.seed import emulate

    running, _ = emulate(load_environment(env).config)
    return f"emulator {running.endpoint} (account {running.account_id})"


def _select(g: StackGraph, env: str, stacks: list[str] | None) -> list[str]:
    names = g.for_environments([env])
    if not stacks:
        return names
    chosen = [n for n in names if n in stacks or g.nodes[n].component in stacks]
    unknown = set(stacks) - set(chosen) - {g.nodes[n].component for n in chosen}
    if unknown:
        raise ConfigError.single("--stack", "", f"no stack {sorted(unknown)} in {env}; stacks: {', '.join(names)}")
    return chosen


def _deploy_verb(
    verb: str,
    env: str,
    emulator: bool,
    stacks: list[str] | None,
    workers: int | None,
    run_dir: Path | None = None,
    affected_since: str | None = None,
) -> None:
    from infra.runner import operations
    from infra.runner.bootstrap import ensure_state_bucket

    if affected_since:
        stacks = _affected(env, affected_since)
        if not stacks:
            out.print(f"no stack of {env} differs from {affected_since}: nothing to {verb}")
            if run_dir:  # an empty run: the report says "no changes"
                operations.write_outcomes(StackGraph({}), [], run_dir)
            return

    err.print(f"target: {_target(env, emulator)}")
    cfg = load_environment(env).config
    g = _graph([env])
    names = _select(g, env, stacks)
    try:
        if verb == "destroy":
            operations.destroy(g, names, workers=workers, listener=_report)
            return
        err.print(ensure_state_bucket(cfg.account.state_bucket, cfg.region))
        run_dir = run_dir or operations.new_run_dir(verb)
        if verb == "plan":
            operations.plan(g, names, run_dir=run_dir, workers=workers, listener=_report)
        else:
            operations.apply(g, names, run_dir=run_dir, workers=workers, listener=_report)
        out.print(f"plans and logs: {run_dir}")
    except operations.OperationFailed as exc:
        err.print(f"[red]{verb} failed:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILED) from None


@app.command()
@handles_errors
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
) -> None:
    """Render the plan report (comment and job summary); exit 1 when the check must fail."""
    from infra.report.comment import KINDS, Context, blocked_by, render
    from infra.report.github import GitHub, GitHubError
    from infra.report.publish import load_runs, marker, run_url, with_new_findings, write_summary

    if kind not in KINDS[:2]:
        raise ConfigError.single("--kind", "", f"--kind is plan or apply, not {kind!r}")
    plans = with_new_findings(load_runs(run_dirs), findings, base_findings)
    try:
        github = GitHub.from_env() if post else None
        if github and pr is None:
            pr = github.pull_for_commit(sha)
            if pr is None:
                err.print(f"no pull request contains {sha[:12]}: nothing to comment on")
    except GitHubError as exc:
        err.print(f"[red]GitHub:[/red] {escape(str(exc))}", markup=True)
        raise typer.Exit(EXIT_FAILED) from None
    ctx = Context(
        kind=kind,
        target=target,
        sha=sha,
        allow_stateful=allow_stateful,
        report_url=run_url(),
        marker=marker(kind, target or "all", pr),
        extra=extra.read_text() if extra and extra.is_file() else "",
    )
    text = render(plans, ctx)
    if out_file:
        out_file.write_text(text)
        err.print(f"comment: {out_file} ({len(text)} characters)")
    else:
        out.print(text, markup=False, highlight=False)
    summary = write_summary(plans, ctx)
    if summary:
        err.print(f"job summary: {summary}")
    if github and pr is not None:
        try:
            action, url = github.upsert_comment(pr, ctx.marker, text)
        except GitHubError as exc:
            err.print(f"[red]posting failed:[/red] {escape(str(exc))}", markup=True)
            raise typer.Exit(EXIT_FAILED) from None
        err.print(f"comment {action}: {url}")
    reasons = blocked_by(plans, ctx)
    if reasons:
        err.print("[red]check fails:[/red] " + "; ".join(reasons), markup=True)
        raise typer.Exit(EXIT_FAILED)


@app.command()
@handles_errors
def drift(
    env: str,
    emulator: UseEmulator = False,
    stack: Stack = None,
    workers: Workers = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the markdown report here.")] = None,
    issues: Annotated[bool, typer.Option(help="Open/update/close one GitHub issue per drifted stack.")] = False,
    fail_on_drift: Annotated[bool, typer.Option(help="Exit 3 when any stack drifted.")] = False,
) -> None:
    """Plan with no code change and report what moved outside Terraform (same renderer)."""
    from infra.report.comment import Context, render
    from infra.report.github import GitHub, GitHubError
    from infra.report.publish import load_runs, run_url, write_summary
    from infra.runner import operations

    err.print(f"target: {_target(env, emulator)}")
    g = _graph([env])
    names = _select(g, env, stack)
    run_dir = operations.new_run_dir(f"drift-{env}")
    try:
        operations.drift(g, names, run_dir=run_dir, workers=workers, listener=_report)
    except operations.OperationFailed as exc:
        err.print(f"[red]drift check failed:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILED) from None
    plans = load_runs([run_dir])
    ctx = Context(kind="drift", target=env, report_url=run_url())
    text = render(plans, ctx)
    (out_file or run_dir / "drift.md").write_text(text)
    out.print(text, markup=False, highlight=False)
    write_summary(plans, ctx)
    drifted = [p for p in plans if p.has_changes or p.outside]
    if issues:
        wanted = {p.stack: (f"Drift: {p.stack}", render([p], Context(kind="drift", target=p.stack))) for p in drifted}
        try:
            for line in GitHub.from_env().sync_issues("drift", wanted, checked={p.stack for p in plans}):
                err.print(line)
        except GitHubError as exc:
            err.print(f"[red]issues:[/red] {escape(str(exc))}", markup=True)
            raise typer.Exit(EXIT_FAILED) from None
    if drifted and fail_on_drift:
        raise typer.Exit(EXIT_DRIFT)


@app.command()
@handles_errors
def bootstrap(env: str, emulator: UseEmulator = False) -> None:
    """Create the environment's state bucket if it is missing (versioned, encrypted, private)."""
    from infra.runner.bootstrap import ensure_state_bucket

    err.print(f"target: {_target(env, emulator)}")
    cfg = load_environment(env).config
    out.print(ensure_state_bucket(cfg.account.state_bucket, cfg.region))


@app.command()
@handles_errors
def plan(
    env: str,
    emulator: UseEmulator = False,
    stack: Stack = None,
    workers: Workers = None,
    affected_since: AffectedSince = None,
    run_dir: RunDir = None,
) -> None:
    """Plan the environment's stacks in dependency order (saved under .infra/runs/)."""
    _deploy_verb("plan", env, emulator, stack, workers, run_dir, affected_since)


def _affected(env: str, ref: str) -> list[str]:
    """The stacks a change affects, each printed with why."""
    from infra.runner import affected
    from infra.synth import synthesize

    load_environment(env)
    base_out = affected.synthesize_ref(ref)
    head_out = synthesize(environment_names()).outdir
    head = StackGraph.from_synth(head_out)
    chosen = affected.compare(base_out, head, head_out, [env])
    for item in chosen:
        out.print(f"affected: {item.stack} ({item.reason})")
    for name in affected.removed(base_out, head, [env]):
        err.print(f"[yellow]removed:[/yellow] {name} is gone from the code; its resources stay until destroyed")
    return [item.stack for item in chosen]


@app.command()
@handles_errors
def apply(
    env: str,
    emulator: UseEmulator = False,
    stack: Stack = None,
    workers: Workers = None,
    affected_since: AffectedSince = None,
    run_dir: RunDir = None,
) -> None:
    """Plan and apply the environment's stacks in dependency order."""
    _deploy_verb("apply", env, emulator, stack, workers, run_dir, affected_since)


@app.command()
@handles_errors
def destroy(env: str, emulator: UseEmulator = False, stack: Stack = None, workers: Workers = None) -> None:
    """Destroy the environment's stacks, consumers first."""
    _deploy_verb("destroy", env, emulator, stack, workers)


@app.command()
@handles_errors
def output(env: str, emulator: UseEmulator = False) -> None:
    """Every stack's outputs as one JSON document (what the probes read)."""
    from infra.runner import operations

    err.print(f"target: {_target(env, emulator)}")
    g = _graph([env])
    out.print_json(json.dumps(operations.outputs(g, g.for_environments([env]))))


@app.command()
@handles_errors
def probe(
    env: str,
    emulator: UseEmulator = False,
    report: Annotated[Path | None, typer.Option(help="Also write the result as markdown here.")] = None,
) -> None:
    """Run the post-apply probe suite (tests/post_apply) against the deployed environment."""
    import os

    from infra.pipeline.probe import markdown, run_probes
    from infra.runner import operations

    err.print(f"target: {_target(env, emulator)}")
    g = _graph([env])
    run_dir = operations.new_run_dir(f"probe-{env}")
    result = run_probes(env, operations.outputs(g, g.for_environments([env])), run_dir)
    out.print(result.output, markup=False)
    text = markdown(env, result)
    if report:
        report.write_text(text)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with Path(os.environ["GITHUB_STEP_SUMMARY"]).open("a") as summary:
            summary.write(text + "\n")
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)


@emulator_app.command("start")
@handles_errors
def emulator_start(env: Annotated[str, typer.Argument(help="Environment whose account to emulate.")] = "dev") -> None:
    """Start the emulator for an environment's account and seed what must pre-exist."""
    target = _target(env, True)
    from infra.emulator import launcher

    running = launcher.current()
    assert running is not None
    out.print(f"{target}\nexport " + " ".join(f"{k}={v}" for k, v in running.client_env().items()))


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
    out.print(
        f"running: {running.endpoint} pid {running.pid} account {running.account_id}" if running else "not running"
    )
    if not running:
        raise typer.Exit(EXIT_FAILED)


ci_app = typer.Typer(no_args_is_help=True, help="What the GitHub workflows need, and their steps run locally.")
app.add_typer(ci_app, name="ci")


@ci_app.command("role")
@handles_errors
def ci_role(env: str, purpose: Annotated[str, typer.Argument(help="plan (read-only) or apply.")] = "plan") -> None:
    """The IAM role ARN a workflow assumes for this environment and purpose."""
    from infra.pipeline.ci import ROLE_NAMES, role_arn

    if purpose not in ROLE_NAMES:
        raise ConfigError.single("purpose", "", f"purpose is one of {sorted(ROLE_NAMES)}, not {purpose!r}")
    out.print(role_arn(env, purpose), markup=False, highlight=False)


@ci_app.command("plan")
@handles_errors
def ci_plan(
    envs: Annotated[list[str] | None, typer.Argument(help="Environments (default: dev).", show_default=False)] = None,
    base: Annotated[str | None, typer.Option(help="Compare with this ref (default: where HEAD left main).")] = None,
    deploy_base: Annotated[
        bool, typer.Option(help="Apply the base's stacks first (as main has them), so the plan shows the change.")
    ] = True,
) -> None:
    """Run the plan workflow's steps locally on the emulator, and show each comment."""
    from infra.pipeline.ci import default_base, plan_workflow
    from infra.pipeline.phases import PhaseFailed

    chosen = envs or ["dev"]
    for env in chosen:
        load_environment(env)
    try:
        loop, comments = plan_workflow(chosen, base or default_base(), deploy_base=deploy_base)
    except PhaseFailed as exc:
        exc.loop.report()
        err.print(f"[red]ci plan failed[/red] in {escape(str(exc))}", markup=True)
        raise typer.Exit(EXIT_FAILED) from None
    for env, path in comments.items():
        out.rule(f"comment for {env} ({path})")
        out.print(path.read_text(), markup=False, highlight=False)
    loop.report()


@app.command()
@handles_errors
def toolchain(
    quiet: Annotated[bool, typer.Option(help="Only write the config.")] = False,
    make_mirror: Annotated[
        Path | None, typer.Option(help="First download the pinned provider into a mirror here (CI runners).")
    ] = None,
) -> None:
    """Write the Terraform CLI config (provider mirror + plugin cache) and show the tools."""
    import os

    from infra.toolchain import MIRROR_VARIABLE, NODE_BIN, ensure_cli_config, terraform_binary
    from infra.toolchain import make_mirror as fill

    if make_mirror:
        os.environ[MIRROR_VARIABLE] = str(fill(make_mirror))

    path = ensure_cli_config()
    if quiet:
        return
    out.print(f"terraform:  {terraform_binary()}\nCLI config: {path}\nnode:       {NODE_BIN / 'node'}")
    out.print(path.read_text(), markup=False)


def main() -> None:
    app()
