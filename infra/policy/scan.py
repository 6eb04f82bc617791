"""checkov over synthesized stacks, with the suppressions of infra/policy applied.

Each stack's JSON is copied to a temporary folder as checkov can read it: checkov passes
over paths with a hidden folder in them (.infra is one), and its Terraform JSON parser
fails on the `terraform.required_version` string, so that one key is left out of the copy
(checkov has no check on it). One checkov process scans every stack; a suppression that
covers every resource becomes --skip-check, and the others are matched per finding, so the
report can show what was accepted and why.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.errors import Failed
from infra.paths import WORK
from infra.policy.rules import Violation, check, rules
from infra.policy.schema import taggable_types
from infra.policy.suppressions import global_checks, load, match
from infra.synth.graph import StackGraph

SCAN_DIR = WORK / "scan"
CHECKOV = Path(sys.executable).parent / "checkov"


class ScanError(Failed):
    """checkov could not run, or read nothing."""


@dataclass(frozen=True)
class Finding:
    scope: str
    stack: str
    check_id: str
    check_name: str
    resource: str
    guideline: str
    suppressed_because: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies a finding across runs (for "new versus the base branch")."""
        return (self.stack, self.resource, self.check_id)


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)  # not suppressed: these fail the scan
    suppressed: list[Finding] = field(default_factory=list)
    passed: int = 0
    stacks: int = 0
    report: Path | None = None  # checkov's own JSON

    @property
    def ok(self) -> bool:
        return not self.findings


def checkov_view(doc: dict[str, Any]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(doc))
    copy.get("terraform", {}).pop("required_version", None)
    copy.pop("import", None)  # checkov's JSON parser takes every block for a map; imports are a list
    return copy


def _address(resource: str, doc: dict[str, Any]) -> str:
    """checkov names some resources `resource.<name>`; give them back their type."""
    kind, _, name = resource.partition(".")
    if kind == "resource":
        kind = next((k for k, items in doc.get("resource", {}).items() if name in items), kind)
    return f"{kind}.{name}"


def scan(graph: StackGraph, names: Iterable[str], *, out: Path = SCAN_DIR) -> ScanResult:
    if not CHECKOV.is_file():
        raise ScanError(f"checkov is not installed ({CHECKOV} is missing): run scripts/setup")
    suppressions = load()
    chosen = sorted(names)
    docs = {name: json.loads(graph.nodes[name].json_path.read_text()) for name in chosen}
    out.mkdir(parents=True, exist_ok=True)
    report_file = out / "results_json.json"
    report_file.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="infra-scan-") as tmp:
        for name, doc in docs.items():
            (Path(tmp) / name).mkdir()
            (Path(tmp) / name / "cdk.tf.json").write_text(json.dumps(checkov_view(doc), indent=1))
        skip = global_checks(suppressions)
        command = [
            str(CHECKOV),
            "-d",
            tmp,
            "--framework",
            "terraform_json",
            "--skip-download",
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--output-file-path",
            str(out),
            *(["--skip-check", ",".join(skip)] if skip else []),
        ]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1) or not report_file.is_file():
        raise ScanError(f"checkov failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    reports = json.loads(report_file.read_text())
    reports = reports if isinstance(reports, list) else [reports]
    if not any("results" in r for r in reports):
        raise ScanError(f"checkov scanned no resources in {len(docs)} stacks: {reports}")

    result = ScanResult(stacks=len(docs), report=report_file)
    for report in reports:
        result.passed += report["summary"]["passed"]
        for f in report["results"]["failed_checks"]:
            stack = f["file_path"].strip("/").split("/")[0]
            address = _address(f["resource"], docs[stack])
            scope = graph.nodes[stack].environment
            accepted = match(suppressions, f["check_id"], scope, address)
            finding = Finding(
                scope=scope,
                stack=stack,
                check_id=f["check_id"],
                check_name=f["check_name"],
                resource=address,
                guideline=f.get("guideline") or "",
                suppressed_because=" ".join(accepted.reason.split()) if accepted else None,
            )
            (result.suppressed if accepted else result.findings).append(finding)
    result.findings.sort(key=lambda f: f.key)
    result.suppressed.sort(key=lambda f: f.key)
    return result


def own_rules(graph: StackGraph, names: Iterable[str]) -> list[Violation]:
    return check([json.loads(graph.nodes[n].json_path.read_text()) for n in sorted(names)], taggable_types())


def sarif_location(stack: str) -> list[dict[str, Any]]:
    """Where a finding about one stack points in code scanning: its synthesized JSON."""
    return [{"physicalLocation": {"artifactLocation": {"uri": f"stacks/{stack}/cdk.tf.json"}}}]


def sarif_log(*runs: dict[str, Any]) -> dict[str, Any]:
    """A SARIF 2.1.0 document of these runs (one per tool)."""
    return {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": list(runs)}


def sarif(result: ScanResult, violations: list[Violation]) -> dict[str, Any]:
    """SARIF 2.1.0 for code scanning: checkov findings (suppressed ones marked), and our rules."""
    checkov_results = []
    for finding in [*result.findings, *result.suppressed]:
        entry: dict[str, Any] = {
            "ruleId": finding.check_id,
            "level": "error",
            "message": {"text": f"{finding.check_name} ({finding.resource})"},
            "locations": sarif_location(finding.stack),
        }
        if finding.suppressed_because:
            entry["suppressions"] = [{"kind": "external", "justification": finding.suppressed_because}]
        checkov_results.append(entry)
    own_results = [
        {
            "ruleId": v.rule,
            "level": "error",
            "message": {"text": f"{v.resource}: {v.message}"},
            "locations": sarif_location(v.stack),
        }
        for v in violations
    ]
    return sarif_log(
        {
            "tool": {
                "driver": {
                    "name": "checkov",
                    "rules": [{"id": i} for i in sorted({r["ruleId"] for r in checkov_results})],
                }
            },
            "results": checkov_results,
        },
        {
            "tool": {
                "driver": {
                    "name": "infra-policy",
                    "rules": [
                        {"id": name, "shortDescription": {"text": (fn.__doc__ or name).strip()}}
                        for name, fn in rules(frozenset()).items()
                    ],
                }
            },
            "results": own_results,
        },
    )


def markdown(result: ScanResult, violations: list[Violation]) -> str:
    """The compliance report people read: failures first, then what is accepted and why."""
    status = "✅ compliant" if result.ok and not violations else "⛔ not compliant"
    lines = [
        f"### Compliance: {status}",
        "",
        f"{result.stacks} stacks · checkov {result.passed} passed, {len(result.findings)} failed, "
        f"{len(result.suppressed)} accepted · own rules {len(violations)} violations",
    ]
    if result.findings:
        lines += ["", "| stack | resource | check | |", "| --- | --- | --- | --- |"]
        lines += [
            f"| `{f.stack}` | `{f.resource}` | {f.check_id} | {f.check_name} ([guide]({f.guideline})) |"
            if f.guideline
            else f"| `{f.stack}` | `{f.resource}` | {f.check_id} | {f.check_name} |"
            for f in result.findings
        ]
    if violations:
        lines += ["", "**Own rules** (infra/policy/rules.py):", ""]
        lines += [f"- `{v.stack}` `{v.resource}`: {v.rule}: {v.message}" for v in violations]
    if result.suppressed:
        accepted: dict[tuple[str, str], list[str]] = {}
        for f in result.suppressed:
            accepted.setdefault((f.check_id, f.suppressed_because or ""), []).append(f.stack)
        lines += ["", "<details><summary>Accepted (infra/policy/suppressions.toml)</summary>", ""]
        lines += ["| check | stacks | why |", "| --- | ---: | --- |"]
        lines += [f"| {check} | {len(set(stacks))} | {why} |" for (check, why), stacks in sorted(accepted.items())]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def findings_json(result: ScanResult) -> list[dict[str, str]]:
    """The failed checks, keyed as `infra comment` compares them with the base branch."""
    return [
        {"stack": f.stack, "resource": f.resource, "check_id": f.check_id, "check_name": f.check_name}
        for f in result.findings
    ]


def scan_and_check(
    graph: StackGraph,
    names: Iterable[str],
    sarif_path: Path | None = None,
    *,
    markdown_path: Path | None = None,
    findings_path: Path | None = None,
) -> tuple[str, bool]:
    """checkov and our rules over these stacks; SARIF (and markdown, findings) written;
    (summary, passed)."""
    chosen = list(names)
    result = scan(graph, chosen)
    violations = own_rules(graph, chosen)
    path = sarif_path or SCAN_DIR / "results.sarif"
    path.write_text(json.dumps(sarif(result, violations), indent=1))
    if markdown_path:
        markdown_path.write_text(markdown(result, violations))
    if findings_path:
        findings_path.write_text(json.dumps(findings_json(result), indent=1))
    problems = [f"checkov {f.stack}: {f.check_id} {f.resource}: {f.check_name}" for f in result.findings]
    problems += [f"policy {v}" for v in violations]
    detail = (
        f"{result.stacks} stacks: checkov {result.passed} passed, {len(result.findings)} failed, "
        f"{len(result.suppressed)} suppressed (infra/policy/suppressions.toml); "
        f"own rules {len(violations)} violations; SARIF {path}"
    )
    return "\n".join([detail, *problems]), not problems


def scan_environments(
    environments: Sequence[str],
    at_ref: str | None = None,
    sarif_path: Path | None = None,
    *,
    markdown_path: Path | None = None,
    findings_path: Path | None = None,
) -> tuple[str, bool]:
    """`infra scan`: the environments' stacks as synthesized here, or at a git ref (a PR's base)."""
    from infra.synth import synthesize
    from infra.synth.tree import synthesize_ref

    if at_ref:
        graph = StackGraph.from_synth(synthesize_ref(at_ref))
        chosen = sorted({n.environment for n in graph.nodes.values() if n.environment in environments})
    else:
        result = synthesize(environments)
        graph, chosen = result.graph, list(environments)
    names = graph.checked(chosen)
    return scan_and_check(graph, names, sarif_path, markdown_path=markdown_path, findings_path=findings_path)
