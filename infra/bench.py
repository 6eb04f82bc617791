"""`scripts/bench`: time the known slow parts and print one table."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from rich.table import Table

from infra.console import out

ENVS = ["dev", "staging", "prod"]


def _timed(fn: Callable[[], str]) -> tuple[float, str]:
    started = time.monotonic()
    detail = fn()
    return time.monotonic() - started, detail


def main(argv: list[str]) -> int:
    from infra import operations
    from infra.graph import StackGraph
    from infra.scan import scan_and_check
    from infra.synth import synthesize

    rows: list[tuple[str, float, str]] = []
    result = None

    def synth() -> str:
        nonlocal result
        result = synthesize(ENVS, force=True)
        load, build = result.load_seconds, result.synth_seconds
        return f"{len(result.stacks)} stacks; loading CDKTF {load:.1f} s, synth {build:.1f} s"

    rows.append(("synth, all environments (one process)", *_timed(synth)))
    rows.append(("synth again, unchanged (fingerprint)", *_timed(lambda: f"reused: {synthesize(ENVS).reused}")))
    assert result is not None
    graph = StackGraph.from_synth(result.outdir)
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
    if "--loop" in argv:
        from infra.up import up

        rows.append(
            (
                "infra up dev (emulator loop)",
                *_timed(lambda: " ".join(f"{p.name} {p.seconds:.0f}s" for p in up("dev", workers=4).phases)),
            )
        )
    table = Table("what", "seconds", "detail", title="infra benchmarks")
    for what, seconds, detail in rows:
        table.add_row(what, f"{seconds:.1f}", detail)
    out.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
