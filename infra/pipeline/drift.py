"""`infra drift ENV`: plan with no code change and report what moved outside Terraform,
with the same renderer as the pull-request comment; optionally one GitHub issue per
drifted stack."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from infra.console import err
from infra.pipeline.deploy import select, target
from infra.report.comment import Context, render
from infra.report.publish import Report, report_for, run_url, write_summary
from infra.runner import operations
from infra.runner.executor import Listener
from infra.synth import synthesize


@dataclass(frozen=True)
class DriftCheck:
    report: Report
    path: Path  # the markdown report
    said: list[str]  # what was done with GitHub issues, one line each


def check_drift(
    env: str,
    *,
    emulator: bool = False,
    stacks: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    workers: int | None = None,
    out_file: Path | None = None,
    issues: bool = False,
    listener: Listener | None = None,
    show: Callable[[str], None] = lambda text: None,
) -> DriftCheck:
    """The report is shown (`show`) before GitHub issues are synced, so a failed sync loses nothing."""
    err.print(f"target: {target(env, emulator)}", markup=False)
    result = synthesize([env])
    names = select(result.graph, env, stacks, exclude)
    run_dir = operations.new_run_dir(f"drift-{env}")
    operations.drift(result.graph, names, run_dir=run_dir, workers=workers, listener=listener)
    report = report_for([run_dir], Context(kind="drift", target=env, report_url=run_url()))
    path = out_file or run_dir / "drift.md"
    path.write_text(report.text)
    write_summary(report.plans, report.ctx)
    show(report.text)
    said: list[str] = []
    if issues:
        from infra.report.github import GitHub

        wanted = {
            p.stack: (f"Drift: {p.stack}", render([p], replace(report.ctx, target=p.stack, report_url="")))
            for p in report.drifted
        }
        said = GitHub.from_env().sync_issues("drift", wanted, checked={p.stack for p in report.plans})
    return DriftCheck(report, path, said)
