"""`scripts/bench`: time the known slow parts and print one table."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any

from rich.table import Table

from infra.console import out


def _timed(fn: Callable[[], str]) -> tuple[float, str]:
    started = time.monotonic()
    detail = fn()
    return time.monotonic() - started, detail


def main(argv: list[str]) -> int:
    from infra.config import environment_names, promotion
    from infra.policy.scan import scan_and_check
    from infra.runner import operations
    from infra.synth import synthesize

    rows: list[tuple[str, float, str]] = []
    result = None
    envs = environment_names()

    def synth() -> str:
        nonlocal result
        result = synthesize(envs, force=True)
        load, build = result.load_seconds, result.synth_seconds
        return f"{len(result.stacks)} stacks; loading CDKTF {load:.1f} s, synth {build:.1f} s"

    rows.append(("synth, all environments (one process)", *_timed(synth)))
    rows.append(("synth again, unchanged (fingerprint)", *_timed(lambda: f"reused: {synthesize(envs).reused}")))
    assert result is not None
    graph = result.graph
    rows.append(
        (
            "scan: checkov + own rules, all stacks",
            *_timed(lambda: scan_and_check(graph, graph.nodes)[0].splitlines()[0][:60]),
        )
    )
    rows.append(
        (
            "validate, all stacks (init skipped when unchanged)",
            *_timed(lambda: f"{len(operations.validate(graph, graph.nodes))} stacks"),
        )
    )
    rows += _render_rows()
    if "--loop" in argv:
        from infra.pipeline.up import up

        first = promotion().first

        rows.append(
            (
                "infra up (the first environment, emulator loop)",
                *_timed(lambda: " ".join(f"{p.name} {p.seconds:.0f}s" for p in up(first, workers=4).phases)),
            )
        )
    table = Table("what", "seconds", "detail", title="infra benchmarks")
    for what, seconds, detail in rows:
        table.add_row(what, f"{seconds:.1f}" if seconds >= 1 else f"{seconds:.3f}", detail)
    out.print(table)
    return 0


def _render_size(plans: list[Any], limit: int) -> str:
    from infra.report.comment import Context, measure, render

    return str(measure(render(plans, Context(target="sample"), limit=limit)))


def _render_rows() -> list[tuple[str, float, str]]:
    """The plan comment from real plans (infra/pipeline/samples.py) on the emulator:
    rendering the 500-resource plan has a target of under 1 s."""
    import tempfile
    from pathlib import Path

    from infra.pipeline import samples
    from infra.report.comment import COMMENT_LIMIT, SUMMARY_LIMIT
    from infra.report.plan import load_run

    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        seconds, run = _timed(lambda: str(samples.build_on_emulator(Path(tmp))))
        rows.append(("sample plans on the emulator (apply, change, plan x3)", seconds, "app, quiet, fleet (500)"))
        plans = load_run(Path(run))
        fleet = [p for p in plans if p.stack == "fleet"]
        for label, chosen, limit in (
            ("render comment: 500-resource plan", fleet, COMMENT_LIMIT),
            ("render comment: all sample plans", plans, COMMENT_LIMIT),
            ("render job summary: all sample plans", plans, SUMMARY_LIMIT),
        ):
            seconds, size = _timed(functools.partial(_render_size, chosen, limit))
            rows.append((label, seconds, f"{size} bytes (limit {limit})"))
    return rows


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
