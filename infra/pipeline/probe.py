"""Run the post-apply probe suite (tests/post_apply) against a deployed environment."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.console import err
from infra.paths import REPO

SUITE = REPO / "tests" / "post_apply"


@dataclass(frozen=True)
class ProbeResult:
    returncode: int
    summary: str  # pytest's closing line
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_probes(env: str, outputs: dict[str, dict[str, Any]], run_dir: Path, args: Sequence[str] = ()) -> ProbeResult:
    """pytest over the probe suite, reading these outputs, with AWS settings from this process."""
    outputs_file = run_dir / "outputs.json"
    outputs_file.write_text(json.dumps(outputs, indent=1))
    env_vars = {**os.environ, "INFRA_PROBE_ENV": env, "INFRA_OUTPUTS": str(outputs_file)}
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(SUITE),
        "-p",
        "no:cacheprovider",
        "-q",
        "-rfs",
        f"--junitxml={run_dir / 'probes.xml'}",
        *args,
    ]
    proc = subprocess.run(command, cwd=REPO, env=env_vars, capture_output=True, text=True, check=False)
    (run_dir / "probes.log").write_text(proc.stdout + proc.stderr)
    lines = [line for line in proc.stdout.splitlines() if re.search(r"\d+ (passed|failed|skipped|error)", line)]
    summary = lines[-1].strip("= ") if lines else f"pytest exited {proc.returncode}"
    return ProbeResult(proc.returncode, summary, proc.stdout + proc.stderr)


def markdown(env: str, result: ProbeResult) -> str:
    """The probe result as people read it in a job summary or the merged PR's comment."""
    icon = "✅" if result.ok else "⛔"
    lines = [f"**{icon} Post-apply probes for `{env}`:** {result.summary}"]
    problems = [line for line in result.output.splitlines() if line.startswith(("FAILED", "ERROR", "SKIPPED"))]
    if problems:
        lines += ["", *(f"- `{line[:300]}`" for line in problems[:50])]
    return "\n".join(lines) + "\n"


def probe_environment(
    env: str, *, emulator: bool = False, report: Path | None = None, args: Sequence[str] = ()
) -> ProbeResult:
    """`infra probe ENV`: the suite against the deployed environment's outputs, with pytest's
    `args` (`--slow`); the markdown result is written to `report` and appended to the job
    summary (in Actions)."""
    from infra.pipeline.deploy import outputs, target
    from infra.runner.operations import new_run_dir

    err.print(f"target: {target(env, emulator)}", markup=False)
    result = run_probes(env, outputs(env), new_run_dir(f"probe-{env}"), args)
    text = markdown(env, result)
    if report:
        report.write_text(text)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with Path(os.environ["GITHUB_STEP_SUMMARY"]).open("a") as summary:
            summary.write(text + "\n")
    return result
