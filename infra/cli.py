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
from rich.table import Table

from infra.config import ConfigError, environment_names, load_environment
from infra.console import err, out
from infra.graph import CycleError, StackGraph
from infra.toolchain import ToolchainError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
F = TypeVar("F", bound=Callable[..., Any])

Envs = Annotated[list[str] | None, typer.Argument(help="Environments (default: all).", show_default=False)]


def handles_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ConfigError, CycleError) as exc:
            err.print(f"[red]error:[/red] {exc}", markup=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except ToolchainError as exc:
            err.print(f"[red]error:[/red] {exc}")
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
def up(envs: Envs = None) -> None:
    """The main job. Today: synthesize and validate every stack with real Terraform.

    The emulator loop (bootstrap, plan, apply, probes, re-plan, destroy) extends this.
    """
    from infra.loop import Loop, PhaseFailed
    from infra.synth import synthesize

    chosen = _envs(envs)
    loop = Loop(f"infra up {' '.join(chosen)}")
    try:

        def do_synth() -> str:
            r = synthesize(chosen)
            return f"{len(r.stacks)} stacks" + (" (reused)" if r.reused else f", load {r.load_seconds:.1f} s")

        def do_scan() -> str:
            detail, ok = _scan(chosen)
            if not ok:
                raise RuntimeError(detail)
            return detail

        loop.phase("synth", do_synth)
        loop.phase("scan", do_scan)
        loop.phase("validate", lambda: _validate_all(chosen, None))
    except PhaseFailed as exc:
        loop.report()
        err.print(f"[red]up failed[/red] in {exc}")
        raise typer.Exit(EXIT_FAILED) from None
    loop.report()


def _validate_all(chosen: list[str], workers: int | None) -> str:
    from infra import operations

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
    from infra.operations import OperationFailed

    try:
        out.print(_validate_all(_envs(envs), workers))
    except OperationFailed as exc:
        err.print(f"[red]validate:[/red] {exc}")
        raise typer.Exit(EXIT_FAILED) from None


def _report(outcome: Any) -> None:
    colour = {"ok": "green", "failed": "red", "skipped": "yellow"}[outcome.status]
    detail = outcome.detail if outcome.status == "ok" else outcome.detail.replace("[", "\\[")
    out.print(f"[{colour}]{outcome.status:>7}[/{colour}] {outcome.stack} ({outcome.seconds:.1f} s) {detail}")


@app.command()
@handles_errors
def scan(
    envs: Envs = None,
    sarif: Annotated[Path | None, typer.Option(help="Also write SARIF here.")] = None,
) -> None:
    """checkov (with the suppressions of infra/policy) and our own rules, on every stack."""
    chosen = _envs(envs)
    detail, ok = _scan(chosen, sarif)
    (out if ok else err).print(detail)
    if not ok:
        raise typer.Exit(EXIT_FAILED)


def _scan(chosen: list[str], sarif_path: Path | None = None) -> tuple[str, bool]:
    from infra import scan as scanning

    g = _graph(chosen)
    names = g.for_environments(chosen)
    result = scanning.scan(g, names)
    violations = scanning.own_rules(g, names)
    for f in result.findings:
        err.print(f"[red]checkov[/red] {f.stack}: {f.check_id} {f.resource}: {f.check_name}")
    for v in violations:
        err.print(f"[red]policy[/red] {v}", markup=True)
    path = sarif_path or scanning.SCAN_DIR / "results.sarif"
    path.write_text(json.dumps(scanning.sarif(result, violations), indent=1))
    ok = result.ok and not violations
    detail = (
        f"{result.stacks} stacks: checkov {result.passed} passed, {len(result.findings)} failed, "
        f"{len(result.suppressed)} suppressed (infra/policy/suppressions.toml); "
        f"own rules {len(violations)} violations; SARIF {path}"
    )
    return detail, ok


@app.command()
@handles_errors
def toolchain(quiet: Annotated[bool, typer.Option(help="Only write the config.")] = False) -> None:
    """Write the Terraform CLI config (provider mirror + plugin cache) and show the tools."""
    from infra.toolchain import NODE_BIN, ensure_cli_config, terraform_binary

    path = ensure_cli_config()
    if quiet:
        return
    out.print(f"terraform:  {terraform_binary()}\nCLI config: {path}\nnode:       {NODE_BIN / 'node'}")
    out.print(path.read_text(), markup=False)


def main() -> None:
    app()
