"""Prowler: what is deployed, scanned by an independent tool (`infra compliance`).

checkov reads the synthesized code; Prowler reads the account, as a security team would.
It runs pinned, from its own environment under .infra/tools/ (installed on first use with
uv), limited to the services our modules use, in the environment's account and region.

What comes back is read from Prowler's OCSF JSON. Mutes live in one place,
`prowler-mutelist.yaml` (Prowler's own format), each with its owner and reason in the
`Description`; `stale_mutes` names a mute that no longer matches any finding. The gate:
any unmuted critical or high failure.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped,unused-ignore]  # stubs are found in some environments

from infra.errors import Failed
from infra.paths import REPO, TOOLS
from infra.policy.scan import sarif_location, sarif_log
from infra.versions import PROWLER_VERSION

MUTELIST = REPO / "infra" / "policy" / "prowler-mutelist.yaml"
# The services our modules create resources in (Prowler's names). Account-wide checks of
# services we do not manage (IAM users, Organizations, Config) are not this repository's.
SERVICES = (
    "s3",
    "rds",
    "elasticache",
    "efs",
    "elbv2",
    "wafv2",
    "guardduty",
    "kms",
    "ecs",
    "secretsmanager",
    "cloudwatch",
    "cloudtrail",
)
GATE = ("critical", "high")
SEVERITIES = ("critical", "high", "medium", "low", "informational")
REPORT_NAME = "prowler"
# A mute's Description: "<owner>: <reason>", the reason a sentence a reviewer can check.
DESCRIPTION = re.compile(r"^(?P<owner>[a-z][a-z0-9-]+): (?P<reason>.{20,})$", re.DOTALL)


class ComplianceError(Failed):
    """Prowler could not run, or its gate failed: exit 1."""


def home() -> Path:
    return TOOLS / f"prowler-{PROWLER_VERSION}"


def installed() -> Path:
    """The pinned `prowler` executable, installed on first use (one installer at a time)."""
    exe = home() / "bin" / "prowler"
    stamp = home() / ".installed"
    if stamp.is_file():
        return exe
    TOOLS.mkdir(parents=True, exist_ok=True)
    with (TOOLS / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers wait for the first install
        if not stamp.is_file():
            uv = Path(sys.executable).with_name("uv")
            python = home() / "bin" / "python"
            for command in (
                [str(uv), "venv", "--quiet", "--allow-existing", "--python", sys.executable, str(home())],
                [
                    str(uv),
                    "pip",
                    "install",
                    "--quiet",
                    "--native-tls",
                    "--python",
                    str(python),
                    f"prowler=={PROWLER_VERSION}",
                ],
            ):
                proc = subprocess.run(command, capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    raise ComplianceError(
                        f"installing Prowler {PROWLER_VERSION} failed: {' '.join(command[:3])}\n{proc.stderr[-2000:]}"
                    )
            stamp.write_text(PROWLER_VERSION + "\n")
    return exe


@dataclass(frozen=True)
class Finding:
    check: str
    severity: str  # lower case, as SEVERITIES
    status: str  # PASS, FAIL or MANUAL
    muted: bool
    service: str
    resource: str  # the resource's ARN (or id), what people read
    resource_id: str  # the resource's id: what Prowler's mutelist matches Resources against
    region: str
    account: str
    message: str

    @property
    def key(self) -> str:
        """What identifies a finding from one run to the next."""
        return f"{self.check}|{self.resource}|{self.region}"

    @property
    def gating(self) -> bool:
        return self.status == "FAIL" and not self.muted and self.severity in GATE


def parse(ocsf: list[dict[str, Any]]) -> list[Finding]:
    """Findings from Prowler's OCSF JSON (one object per check and resource)."""
    findings = []
    for item in ocsf:
        resource = (item.get("resources") or [{}])[0]
        findings.append(
            Finding(
                check=item["metadata"]["event_code"],
                severity=str(item.get("severity", "")).lower(),
                status=item.get("status_code", ""),
                muted=item.get("status") == "Suppressed" or bool(item.get("unmapped", {}).get("muted")),
                service=(resource.get("group") or {}).get("name", "") or item["metadata"]["event_code"].split("_")[0],
                resource=resource.get("uid", "") or resource.get("name", ""),
                resource_id=resource.get("name", "") or resource.get("uid", ""),
                region=resource.get("region", "") or (item.get("cloud") or {}).get("region", ""),
                account=((item.get("cloud") or {}).get("account") or {}).get("uid", ""),
                message=item.get("status_detail") or item.get("message", ""),
            )
        )
    return findings


@dataclass(frozen=True)
class Mute:
    account: str
    check: str
    regions: tuple[str, ...]
    resources: tuple[str, ...]
    description: str

    def matches(self, finding: Finding) -> bool:
        """Prowler 5's matching (prowler/lib/mutelist/mutelist.py): the account is "*" or
        equal; the check is "*", equal, or a pattern; regions and resources (the resource
        id) are patterns searched in the value, any of them; "*" in a pattern means ".*"."""
        return (
            self.account in ("*", finding.account)
            and (self.check in ("*", finding.check) or _found([self.check], finding.check))
            and _found(self.regions, finding.region)
            and _found(self.resources, finding.resource_id)
        )


def _found(patterns: Iterable[str], value: str) -> bool:
    return any(re.search(p.replace("*", ".*"), value) for p in patterns)


def mutes(path: Path = MUTELIST) -> list[Mute]:
    document = yaml.safe_load(path.read_text()) or {}
    found = []
    for account, entry in (document.get("Mutelist", {}).get("Accounts") or {}).items():
        for check, rule in (entry.get("Checks") or {}).items():
            found.append(
                Mute(
                    account=str(account),
                    check=check,
                    regions=tuple(rule.get("Regions", [])),
                    resources=tuple(rule.get("Resources", [])),
                    description=rule.get("Description", ""),
                )
            )
    return found


def unexplained(entries: Iterable[Mute]) -> list[Mute]:
    """Mutes without an owner and a reason ("owner: reason")."""
    return [m for m in entries if not DESCRIPTION.match(m.description.strip())]


def stale_mutes(entries: Iterable[Mute], findings: Iterable[Finding]) -> list[Mute]:
    """Mutes that matched nothing in this run's findings: remove them, or say why they stay."""
    muted = [f for f in findings if f.muted]
    return [m for m in entries if not any(m.matches(f) for f in muted)]


@dataclass
class Scan:
    findings: list[Finding]
    report: Path  # the OCSF JSON
    seconds: float
    new: set[str]  # keys of unmuted failures that were not in the previous run

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "FAIL" and not f.muted]

    @property
    def gating(self) -> list[Finding]:
        return [f for f in self.findings if f.gating]

    def summary(self) -> str:
        """One line: what was checked, what failed, what the gate says."""
        muted = sum(f.muted for f in self.findings)
        return (
            f"Prowler {PROWLER_VERSION}: {len(self.findings)} results, {len(self.failing)} unmuted failures "
            f"({len(self.gating)} critical or high, {len(self.new)} new), {muted} muted, {self.seconds:.0f} s"
        )


def run(
    account_id: str, region: str, out: Path, *, previous: Path | None = None, services: Sequence[str] = SERVICES
) -> Scan:
    """Run Prowler against the account this process's credentials reach (which must be
    `account_id`: scanning another account's findings into this report would mislead)."""
    import boto3

    reached = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    if reached != account_id:
        raise ComplianceError(f"the credentials reach account {reached}, not {account_id}: refusing to scan it")
    out.mkdir(parents=True, exist_ok=True)
    report = out / f"{REPORT_NAME}.ocsf.json"
    report.unlink(missing_ok=True)
    command = [
        str(installed()),
        "aws",
        "--region",
        region,
        "--service",
        *services,
        "--mutelist-file",
        str(MUTELIST),
        "--output-formats",
        "json-ocsf",
        "--output-directory",
        str(out),
        "--output-filename",
        REPORT_NAME,
        "--no-banner",
        "--ignore-exit-code-3",  # failed findings are our gate's to judge
        "--log-level",
        "ERROR",
    ]
    # Prowler's own virtualenv keeps the bytecode its runs compile (PYTHONDONTWRITEBYTECODE,
    # where set, is dropped for it): without it every run compiles its ~2,000 modules again,
    # ~8 s of CPU before the first check.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    started = time.monotonic()
    with (out / "prowler.log").open("w") as log:
        proc = subprocess.run(
            command, stdout=log, stderr=subprocess.STDOUT, env={**env, "PYTHONWARNINGS": "ignore"}, check=False
        )
    seconds = time.monotonic() - started
    if proc.returncode != 0 or not report.is_file():
        tail = (out / "prowler.log").read_text()[-3000:]
        raise ComplianceError(f"Prowler failed (exit {proc.returncode}, log: {out / 'prowler.log'}):\n{tail}")
    findings = parse(json.loads(report.read_text() or "[]"))
    before = _keys(previous) if previous else None
    failing = {f.key for f in findings if f.status == "FAIL" and not f.muted}
    return Scan(
        findings=findings, report=report, seconds=seconds, new=failing - before if before is not None else failing
    )


def _keys(path: Path) -> set[str] | None:
    """The unmuted failures of a previous run's OCSF report; None when there is none."""
    if not path.is_file():
        return None
    return {f.key for f in parse(json.loads(path.read_text() or "[]")) if f.status == "FAIL" and not f.muted}


def markdown(scan: Scan, title: str) -> str:
    """The job summary: unmuted failures by severity and service, new since the last run."""
    failing = scan.failing
    services = sorted({f.service for f in failing})
    lines = [f"### {title}", "", scan.summary(), ""]
    if not failing:
        return "\n".join([*lines, "No unmuted failures."]) + "\n"
    counts = Counter((f.severity, f.service) for f in failing)
    new = Counter((f.severity, f.service) for f in failing if f.key in scan.new)
    lines += ["| severity | " + " | ".join(services) + " |", "| --- |" + " --- |" * len(services)]
    for severity in SEVERITIES:
        if any(counts[(severity, s)] for s in services):
            cells = [_cell(counts[(severity, s)], new[(severity, s)]) for s in services]
            lines.append(f"| {severity} | " + " | ".join(cells) + " |")
    lines += ["", "Critical and high (the gate):" if scan.gating else "Nothing critical or high.", ""]
    lines += [f"- `{f.check}` {f.resource}: {f.message}" for f in scan.gating]
    return "\n".join(lines) + "\n"


def _cell(count: int, new: int) -> str:
    if not count:
        return ""
    return f"{count} ({new} new)" if new else str(count)


def sarif(scan: Scan, defined: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """SARIF for code scanning: unmuted failures on resources we define (`defined` maps a
    resource's ARN or id to its stack and Terraform address), located in that stack."""
    results: list[dict[str, Any]] = []
    for f in scan.failing:
        where = defined.get(f.resource) or defined.get(f.resource.rsplit("/", 1)[-1])
        if where is None:
            continue
        stack, address = where
        results.append(
            {
                "ruleId": f.check,
                "level": "error" if f.severity in GATE else "warning",
                "message": {"text": f"{address}: {f.message}"},
                "locations": sarif_location(stack),
            }
        )
    rules = [{"id": i} for i in sorted({r["ruleId"] for r in results})]
    return sarif_log(
        {"tool": {"driver": {"name": "prowler", "version": PROWLER_VERSION, "rules": rules}}, "results": results}
    )


def defined_resources(states: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, tuple[str, str]]:
    """ARN and id of every resource in the stacks' Terraform states -> (stack, address)."""
    index: dict[str, tuple[str, str]] = {}
    for stack, state in states:
        for resource in state.get("resources", []):
            if resource.get("mode") != "managed":
                continue
            address = f"{resource['type']}.{resource['name']}"
            for instance in resource.get("instances", []):
                attributes = instance.get("attributes") or {}
                for field in ("arn", "id", "name", "bucket"):
                    value = attributes.get(field)
                    if isinstance(value, str) and value:
                        index.setdefault(value, (stack, address))
    return index
