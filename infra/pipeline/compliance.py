"""`infra compliance ENV`: Prowler against the environment's account and region.

Writes, in the run folder (or where asked): the OCSF JSON (the full report), a markdown
summary (severity x service, new since the previous run), and SARIF for the failures on
resources our stacks define. Fails (exit 1) on any unmuted critical or high finding.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.config import load_environment
from infra.paths import WORK
from infra.policy import prowler
from infra.runner.locks import state_location
from infra.synth.graph import StackGraph

LAST = WORK / "compliance"  # the previous run's report per environment, for "new since"


def last_report(env: str) -> Path:
    return LAST / env / f"{prowler.REPORT_NAME}.ocsf.json"


def check(
    env: str,
    out: Path,
    *,
    graph: StackGraph | None = None,
    names: Iterable[str] = (),
    previous: Path | None = None,
    markdown: Path | None = None,
    sarif: Path | None = None,
) -> prowler.Scan:
    """Scan, write the reports, keep this run as the next one's "previous"; the caller
    gates on `scan.gating`. `graph` and `names` (the deployed stacks) map findings to our
    resources for SARIF; without them SARIF is not written."""
    cfg = load_environment(env).config
    scan = prowler.run(cfg.account.id, cfg.region, out, previous=previous or last_report(env))
    (markdown or out / "compliance.md").write_text(prowler.markdown(scan, f"Prowler: {env} ({cfg.account.name})"))
    if graph is not None:
        defined = prowler.defined_resources(_states(graph, names))
        (sarif or out / "prowler.sarif").write_text(json.dumps(prowler.sarif(scan, defined), indent=1))
    last_report(env).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(scan.report, last_report(env))
    return scan


def compliance(
    env: str,
    *,
    emulator: bool = False,
    out: Path | None = None,
    previous: Path | None = None,
    markdown: Path | None = None,
    sarif: Path | None = None,
) -> tuple[prowler.Scan, Path]:
    """`infra compliance ENV`: the scan of the environment's account (AWS, or the emulator),
    its findings mapped to the environment's stacks. Returns the scan and the summary file."""
    from infra.console import err
    from infra.pipeline.deploy import target
    from infra.runner import operations
    from infra.synth import synthesize

    err.print(f"target: {target(env, emulator)}", markup=False)
    result = synthesize([env])
    out = out or operations.new_run_dir(f"compliance-{env}")
    scan = check(
        env, out, graph=result.graph, names=result.stacks_of([env]), previous=previous, markdown=markdown, sarif=sarif
    )
    return scan, markdown or out / "compliance.md"


def gate_message(scan: prowler.Scan) -> str:
    lines = [f"{len(scan.gating)} unmuted critical or high findings:"]
    lines += [f"  {f.severity} {f.check} {f.resource}: {f.message}" for f in scan.gating]
    return "\n".join(lines)


def _states(graph: StackGraph, names: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each deployed stack's Terraform state, read from its bucket (a stack never applied
    has none)."""
    for name in names:
        bucket, key, region = state_location(graph.nodes[name])
        try:
            body = boto3.client("s3", region_name=region).get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                continue
            raise
        yield name, json.loads(body)
