"""From a run's files to what people read: the comment, the job summary, the drift issues."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.config import ConfigError, Promotion, load_environment, promotion
from infra.report.comment import SUMMARY_LIMIT, Context, blocked_by, code, plain, render
from infra.report.plan import OUTCOMES_FILE, StackPlan, load_run
from infra.report.values import natural_key

FindingKey = tuple[str, str, str]  # stack, resource, check id
STOPPED = "the apply stopped before any stack ran"
QUEUE_NOTE = (
    "**Merge queue:** the plan of `{sha}`, the commit that will land; its apply uses exactly these plans. "
    "The plan reviewed on this pull request is in its own comment."
)


def marker(workflow: str, target: str, number: int | None) -> str:
    """The hidden line that finds this report again: one comment per (PR, workflow, target)."""
    return f"<!-- infra:{workflow}:{target}:pr-{number if number is not None else 'none'} -->"


def run_url() -> str:
    """This workflow run's page (its job summary holds the full report), when in Actions."""
    parts = [os.environ.get(v, "") for v in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else ""


def load_findings(path: Path | None) -> dict[FindingKey, str]:
    if path is None or not path.is_file():
        return {}
    return {(f["stack"], f["resource"], f["check_id"]): f["check_name"] for f in json.loads(path.read_text())}


def with_new_findings(
    plans: list[StackPlan],
    head: Path | None,
    base: Path | None,
    *,
    target: str = "",
    promo: Promotion | None = None,
) -> list[StackPlan]:
    """Attach the checkov failures the base branch does not have to their stacks: only those
    of the report's own environment (`target` and the environments of the stacks it planned);
    a report that names no environment and planned nothing gets them all."""
    known = load_findings(base)
    fresh = {k: v for k, v in load_findings(head).items() if k not in known}
    by_stack: dict[str, list[str]] = {}
    for (stack, resource, check_id), name in sorted(fresh.items(), key=lambda kv: tuple(map(natural_key, kv[0]))):
        by_stack.setdefault(stack, []).append(f"{plain(check_id)} {code(resource)}: {plain(name)}")
    found = {p.stack for p in plans}
    owns = _owner(plans, target, promo or promotion())
    result = [dataclasses.replace(p, new_findings=tuple(by_stack.get(p.stack, ()))) for p in plans]
    for stack, items in by_stack.items():
        if stack not in found and (home := owns(stack)):
            result.append(StackPlan(stack, home[0], home[1], new_findings=tuple(items)))
    return result


def _owner(plans: Sequence[StackPlan], target: str, promo: Promotion) -> Callable[[str], tuple[str, str] | None]:
    """Whether a stack outside the run is the report's: the (environment, component) of its
    row when it is, else None. Stacks are named `<environment>-<component>` and
    `<account>-<region>-account` (infra/synth/app.py)."""
    scopes = {p.environment for p in plans if p.environment != "-"} | ({target} if target else set())
    envs = {e for s in scopes if (e := promo.environment_of(s))}
    accounts = {s for s in scopes if not promo.environment_of(s)}
    for env in envs:
        with contextlib.suppress(ConfigError):
            accounts.add(load_environment(env).config.account.name)

    def owns(stack: str) -> tuple[str, str] | None:
        env = promo.environment_of(stack)
        if env is not None:
            home = env if not scopes or env in envs else None
        else:
            home = next((a for a in sorted(accounts) if stack.startswith(f"{a}-")), None if scopes else "-")
        if home is None:
            return None
        rest = stack[len(home) + 1 :] if home != "-" else stack
        return home, "account" if rest.endswith("-account") else rest or "-"

    return owns


def load_runs(run_dirs: Iterable[Path], *, stopped_ok: bool = False) -> list[StackPlan]:
    """Every stack of these runs. With `stopped_ok`, a folder without outcomes (an apply that
    stopped before any stack ran) is one failed row named for it, not an error."""
    plans: dict[str, StackPlan] = {}
    for run_dir in run_dirs:
        if stopped_ok and not (run_dir / OUTCOMES_FILE).is_file():
            plans[run_dir.name] = StackPlan(run_dir.name, run_dir.name, "-", status="failed", detail=STOPPED)
            continue
        for plan in load_run(run_dir):
            plans[plan.stack] = plan
    return sorted(plans.values(), key=lambda p: natural_key(p.stack))


def write_summary(plans: Sequence[StackPlan], ctx: Context) -> Path | None:
    """Append the report to $GITHUB_STEP_SUMMARY (when in Actions), within its 1 MiB."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    used = path.stat().st_size if path.is_file() else 0
    text = render(plans, dataclasses.replace(ctx, marker="", report_url=""), limit=SUMMARY_LIMIT - used - 1)
    with path.open("a") as handle:
        handle.write(text + "\n")
    return path


@dataclass(frozen=True)
class Report:
    """A run's plans rendered for people: the one path from run folders to a report."""

    plans: list[StackPlan]
    ctx: Context
    text: str

    @property
    def blocked_by(self) -> list[str]:
        """Why the check fails (empty when it passes)."""
        return blocked_by(self.plans, self.ctx)

    @property
    def drifted(self) -> list[StackPlan]:
        return [p for p in self.plans if p.has_changes or p.outside]


def report_for(
    run_dirs: Iterable[Path],
    ctx: Context,
    *,
    findings: Path | None = None,
    base_findings: Path | None = None,
    stopped_ok: bool = False,
) -> Report:
    """Load the runs' plans (with the checkov failures of their environment that the base
    lacks) and render them."""
    plans = load_runs(run_dirs, stopped_ok=stopped_ok)
    plans = with_new_findings(plans, findings, base_findings, target=ctx.target, promo=ctx.promotion)
    return Report(plans, ctx, render(plans, ctx))


def with_reviewed(report: Report, *, commit: str) -> Report:
    """The report with the hidden reviewed-plan line under its marker (infra/report/reviewed.py)."""
    from infra.report.reviewed import block

    line = block(report.plans, commit=commit, environment=report.ctx.target)
    ctx = dataclasses.replace(report.ctx, marker=f"{report.ctx.marker}\n{line}" if report.ctx.marker else line)
    return Report(report.plans, report.ctx, render(report.plans, ctx))


@dataclass(frozen=True)
class Published:
    report: Report
    said: list[str]  # what was done, one line each (files written, comment posted)


def publish(
    run_dirs: Sequence[Path],
    *,
    kind: str,
    target: str,
    sha: str,
    allow_stateful: bool = False,
    findings: Path | None = None,
    base_findings: Path | None = None,
    extra: str = "",
    out_file: Path | None = None,
    post: bool = False,
    pr: int | None = None,
    queue: bool = False,
    show: Callable[[str], None] = lambda text: None,
) -> Published:
    """`infra comment`: render the runs, write the job summary, and with `post` create or
    update the pull request's comment (the PR of `sha` unless `pr` is given). What is
    written is shown (`show`) before anything is posted, so a failed post loses nothing.

    `queue`: the merge queue's plan of the commit that will land. It is a comment of its own
    (it must not replace the plan the reviewers saw) and carries no reviewed-plan block.

    An apply that stopped before any stack ran has no run folder: its report says so."""
    said: list[str] = []
    github = None
    if post:
        from infra.report.github import GitHub

        github = GitHub.from_env()
        if pr is None:
            pr = github.pull_for_commit(sha)
            if pr is None:
                said.append(f"no pull request contains {sha[:12]}: nothing to comment on")
    if github is not None and pr is not None and kind == "plan":  # the gate reads GitHub, never an input
        from infra.report.approval import stateful_approval

        approval = stateful_approval(github, pr)
        allow_stateful = approval.allowed
        said.append(f"stateful deletes/replaces {'allowed' if approval.allowed else 'blocked'}: {approval.why}")
    ctx = Context(
        kind=kind,
        target=target,
        sha=sha,
        allow_stateful=allow_stateful,
        report_url=run_url(),
        marker=marker("queue" if queue else kind, target or "all", pr),
        extra=(QUEUE_NOTE.format(sha=sha[:12]) + ("\n\n" + extra if extra else "")) if queue else extra,
    )
    report = report_for(run_dirs, ctx, findings=findings, base_findings=base_findings, stopped_ok=kind == "apply")
    if kind == "plan" and target and not queue:  # what the apply compares with, when there is no merge queue
        report = with_reviewed(report, commit=sha)
    if out_file:
        out_file.write_text(report.text)
        said.append(f"comment: {out_file} ({len(report.text)} characters)")
    else:
        show(report.text)
    summary = write_summary(report.plans, ctx)
    if summary:
        said.append(f"job summary: {summary}")
    if github is not None and pr is not None:
        action, url = github.upsert_comment(pr, ctx.marker, report.text)
        said.append(f"comment {action}: {url}")
    return Published(report, said)
