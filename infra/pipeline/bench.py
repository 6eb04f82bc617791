"""`scripts/bench`: the slow parts, timed in one run, stated as ratios against their targets.

Ratios, not seconds: both sides of a ratio run in the same run on the same load, so a busy
machine moves both. Each row is min/median/max over 3 runs when a run takes under a minute,
else one run. The table is printed and the numbers are kept as JSON under .infra/bench/.
docs/performance.md explains the rows and where the time goes.

`--quick` skips everything that needs a deployment (synth and the comment render only).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from infra.console import out
from infra.paths import ENVIRONMENTS, REPO, WORK

BENCH_DIR = WORK / "bench"
ENV = "dev"  # the environment deployed for the plan rows
# the one-value change of the affected-only row: a component layer that dev does not have yet
CHANGE_FILE = ENVIRONMENTS / "nonprod" / "sa-east-1" / ENV / "redis.toml"
CHANGE_TEXT = "snapshot_retention_days = 3  # scripts/bench: a one-value change, removed afterwards\n"
RUNS = 3


@dataclass
class Row:
    what: str
    seconds: list[float]
    detail: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class Ratio:
    what: str
    value: float
    target: str  # ">= 2", "<= 1.3", or "" (no target: shown for where the time goes)
    detail: str = ""

    @property
    def met(self) -> bool | None:
        if not self.target:
            return None
        op, bound = self.target.split()
        return self.value >= float(bound) if op == ">=" else self.value <= float(bound)


@dataclass
class Bench:
    rows: list[Row] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)

    def time(self, what: str, fn: Callable[[], str], runs: int = RUNS) -> Row:
        """Run fn (once more while each run takes under a minute, up to `runs`)."""
        seconds: list[float] = []
        detail = ""
        while len(seconds) < runs:
            started = time.monotonic()
            detail = fn()
            seconds.append(time.monotonic() - started)
            if seconds[-1] >= 60:
                break
        row = Row(what, seconds, detail)
        self.rows.append(row)
        out.print(f"  {what}: {_spread(row)}  {detail}", markup=False)
        return row

    def ratio(self, what: str, value: float, target: str, detail: str = "") -> None:
        self.ratios.append(Ratio(what, value, target, detail))

    def report(self) -> Path:
        table = Table("what", "seconds (min / median / max)", "detail", title="infra benchmarks")
        for row in self.rows:
            table.add_row(row.what, _spread(row), row.detail)
        ratios = Table("ratio", "value", "target", "met", "detail", title="ratios (same run)")
        for r in self.ratios:
            met = {None: "", True: "yes", False: "[red]no[/red]"}[r.met]
            ratios.add_row(r.what, f"{r.value:.2f}", r.target or "-", met, r.detail)
        wide = Console(width=max(out.width, 150))  # a table of long rows, also when piped
        wide.print(table)
        wide.print(ratios)
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
        path = BENCH_DIR / f"{stamp}.json"
        doc = {
            "machine": {"cpus": os.cpu_count()},
            "rows": [{**asdict(r), "median": r.median} for r in self.rows],
            "ratios": [{**asdict(r), "met": r.met} for r in self.ratios],
        }
        path.write_text(json.dumps(doc, indent=1))
        out.print(f"kept: {path}", markup=False)
        return path


def _spread(row: Row) -> str:
    s = sorted(row.seconds)
    return f"{s[0]:.2f}" if len(s) == 1 else f"{s[0]:.2f} / {statistics.median(s):.2f} / {s[-1]:.2f}"


def _python(*code_and_args: str) -> Callable[[], str]:
    def run() -> str:
        proc = subprocess.run([sys.executable, *code_and_args], cwd=REPO, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{code_and_args}: {proc.stdout}{proc.stderr}")
        return ""

    return run


CLI = ("-c", "from infra.cli import main; main()")


def synth_rows(bench: Bench) -> None:
    node = "from infra.toolchain import use_local_node; use_local_node(); "
    bare = bench.time(
        "bare import of the bindings, as written (all their submodules; new process)",
        _python("-c", node + "import cdktf_cdktf_provider_aws"),
    )
    seam = bench.time(
        "import of the bindings as synth loads them (modules/common/cdk.py; new process)",
        _python("-c", node + "import infra.synth.app"),
    )
    full = bench.time("infra synth, all environments (new process, --force)", _python(*CLI, "synth", "--force"))
    cached = bench.time("infra synth again, unchanged (new process)", _python(*CLI, "synth"))
    bench.ratio("synth all / bare import", full.median / bare.median, "<= 1.3")
    bench.ratio(
        "synth all / import as synth loads them", full.median / seam.median, "", "what building the stacks adds"
    )
    bench.ratio("cached synth, seconds", cached.median, "<= 1", "a new process that finds the synth unchanged")


def render_rows(bench: Bench) -> None:
    """The comment from real plans on the emulator (infra/pipeline/samples.py)."""
    from infra.pipeline import samples
    from infra.report.comment import COMMENT_LIMIT, Context, measure, render
    from infra.report.plan import load_run

    with tempfile.TemporaryDirectory() as tmp:
        run = samples.build_on_emulator(Path(tmp))
        plans = load_run(run)
        fleet = [p for p in plans if p.stack == "fleet"]
        row = bench.time(
            "render comment: 500-resource plan",
            lambda: f"{measure(render(fleet, Context(target='sample'), limit=COMMENT_LIMIT))} bytes",
        )
        bench.ratio("500-resource comment render, seconds", row.median, "<= 1")


# --- against a deployment on the emulator -------------------------------------------------

_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def _seconds(text: str) -> float:
    match = _DURATION.match(text)
    if not match:
        return 0.0
    h, m, s = (int(g or 0) for g in match.groups())
    return float(h * 3600 + m * 60 + s)


def slowest_resource(log: Path, command: str, verb: str) -> float:
    """The slowest resource of the last `terraform COMMAND` in a stack's log, by Terraform's own
    "<verb> complete after 1m20s" lines (what the provider's waiters needed)."""
    if not log.is_file():
        return 0.0
    sections = re.split(r"^\$ terraform ", log.read_text(), flags=re.MULTILINE)
    last = next((s for s in reversed(sections) if s.startswith(command)), "")
    found = re.findall(rf": {verb} complete after (\S+)", last)
    return max((_seconds(d) for d in found), default=0.0)


def floor(graph: Any, names: list[str], command: str, verb: str, reverse: bool = False) -> tuple[float, str]:
    """The slowest chain of stacks, each at its slowest resource: no ordering can beat it."""
    from infra.runner.terraform import WORKSPACES

    own = {n: slowest_resource(WORKSPACES / n / "terraform.log", command, verb) for n in names}
    best: dict[str, tuple[float, list[str]]] = {}
    order = graph.order(names)
    for name in reversed(order) if reverse else order:
        before = (
            [m for m in names if name in graph.nodes[m].depends_on]
            if reverse
            else [d for d in graph.nodes[name].depends_on if d in names]
        )
        prior = max((best[b] for b in before), default=(0.0, []))
        best[name] = (prior[0] + own[name], [*prior[1], name])
    total, chain = max(best.values(), default=(0.0, []))
    return total, " -> ".join(f"{n} {own[n]:.0f}s" for n in chain)


def _latency(log: Path, since: int) -> str:
    """Per-request seconds the emulator logged (gunicorn's %(L)s) after byte `since`."""
    text = log.read_text()[since:] if log.is_file() else ""
    seconds = sorted(float(s) for s in re.findall(r" (\d+\.\d+)s$", text, flags=re.MULTILINE))
    if not seconds:
        return "no requests logged"
    p95 = seconds[int(0.95 * (len(seconds) - 1))]
    return (
        f"{len(seconds)} requests: median {statistics.median(seconds):.3f} s, p95 {p95:.3f} s, max {seconds[-1]:.2f} s"
    )


def naive_loop(graph: Any, names: list[str]) -> str:
    """What a script would do: per stack, a fresh folder, init (no plugin cache) and plan, serially."""
    from infra.toolchain import terraform_binary, terraform_env

    env = terraform_env()
    if "GOGC" not in os.environ:
        env.pop("GOGC")  # Go's default collector, as a script gets it
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "terraformrc"
        text = Path(env["TF_CLI_CONFIG_FILE"]).read_text()
        config.write_text("\n".join(line for line in text.splitlines() if "plugin_cache_dir" not in line))
        env = {**env, "TF_CLI_CONFIG_FILE": str(config)}
        for name in graph.order(names):
            folder = Path(tmp) / name
            folder.mkdir()
            shutil.copyfile(graph.nodes[name].json_path, folder / "cdk.tf.json")
            for args in (["init", "-input=false", "-no-color"], ["plan", "-input=false", "-no-color", "-lock=false"]):
                proc = subprocess.run([terraform_binary(), *args], cwd=folder, env=env, capture_output=True, text=True)
                if proc.returncode != 0:
                    raise RuntimeError(f"naive {args[0]} of {name}: {proc.stdout}{proc.stderr}")
    return f"{len(names)} stacks"


def _terraform_runs(names: list[str], since: dict[str, int]) -> int:
    """Terraform runs (but init) of these stacks since the given log sizes."""
    from infra.runner.terraform import WORKSPACES

    count = 0
    for name in names:
        log = WORKSPACES / name / "terraform.log"
        text = log.read_text()[since.get(name, 0) :] if log.is_file() else ""
        count += len(re.findall(r"^\$ terraform (?!init)", text, flags=re.MULTILINE))
    return count


def deployment_rows(bench: Bench) -> None:
    from infra.config import environment_names
    from infra.emulator import launcher
    from infra.pipeline.deploy import deploy
    from infra.pipeline.up import up
    from infra.runner import operations
    from infra.runner.executor import default_workers
    from infra.runner.terraform import WORKSPACES
    from infra.synth import synthesize

    loop = up(ENV, keep=True)  # the loop up to a clean re-plan; left running for the rows below
    try:
        result = synthesize([ENV])
        graph, names = result.graph, result.stacks_of([ENV])
        for phase in loop.phases:
            bench.rows.append(Row(f"infra up {ENV}: {phase.name}", [phase.seconds], phase.detail[:70]))
        apply_phase = next(p for p in loop.phases if p.name == "apply")
        apply_floor, chain = floor(graph, names, "apply", "Creation")
        bench.ratio(
            "up: apply / its floor (slowest chain of waiters)", apply_phase.seconds / apply_floor, "<= 1.5", chain
        )

        def plan_all(workers: int | None = None) -> Callable[[], str]:
            def run() -> str:
                with tempfile.TemporaryDirectory() as tmp:
                    sizes = {n: (WORKSPACES / n / "terraform.log").stat().st_size for n in names}
                    operations.plan(graph, names, run_dir=Path(tmp), workers=workers)
                    return f"{_terraform_runs(names, sizes)} Terraform runs for {len(names)} stacks"

            return run

        moto_log = launcher.LOG_FILE
        since = moto_log.stat().st_size
        plan = bench.time(f"infra plan {ENV}, deployed, no change (workers {default_workers()})", plan_all())
        bench.rows.append(Row("emulator latency during those plans", [0.0], _latency(moto_log, since)))
        for workers in (2, 4, 8):
            if workers != default_workers():
                bench.time(f"infra plan {ENV}, workers {workers}", plan_all(workers), runs=1)
        naive = bench.time(
            f"naive: {len(names)} stacks serially, fresh folder, init + plan", lambda: naive_loop(graph, names), runs=1
        )
        bench.ratio("naive loop / infra plan", naive.median / plan.median, ">= 2")

        if CHANGE_FILE.exists():
            raise RuntimeError(f"{CHANGE_FILE} exists: the benchmark's one-value change would overwrite it")
        CHANGE_FILE.write_text(CHANGE_TEXT)
        try:
            bench.time(
                "synth after the one-value change (cold, all environments as --affected-since does)",
                lambda: str(synthesize(environment_names()).reused),
                runs=1,
            )
            bench.time("base synth of HEAD (first time; then cached by tree)", lambda: _base_synth(), runs=1)
            every = bench.time(
                f"infra plan {ENV} after a one-value change in {CHANGE_FILE.name}",
                lambda: str(deploy("plan", ENV, emulator=True)),
            )
            only = bench.time(
                f"infra plan {ENV} --affected-since HEAD, same change",
                lambda: str(deploy("plan", ENV, emulator=True, since="HEAD")),
            )
            bench.ratio("plan-all / affected-only (one-value change)", every.median / only.median, ">= 5")
        finally:
            CHANGE_FILE.unlink()
        destroy = bench.time(f"destroy {ENV}", lambda: str(len(operations.destroy(graph, names))), runs=1)
        destroy_floor, chain = floor(graph, names, "destroy", "Destruction", reverse=True)
        bench.ratio("destroy / its floor", destroy.median / max(destroy_floor, 1.0), "", chain)
    finally:
        launcher.stop()


def _base_synth() -> str:
    from infra.synth.tree import synthesize_ref

    return str(synthesize_ref("HEAD"))


def main(argv: list[str]) -> int:
    bench = Bench()
    out.print("[bold]==> synth[/bold]")
    synth_rows(bench)
    out.print("[bold]==> comment render[/bold]")
    render_rows(bench)
    if "--quick" not in argv:
        out.print(f"[bold]==> {ENV} deployed on the emulator[/bold]")
        deployment_rows(bench)
    bench.report()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
