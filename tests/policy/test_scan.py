"""checkov (real, offline) and our rules over every synthesized stack."""

from __future__ import annotations

import json
import shutil

from infra.policy import scan
from infra.synth.graph import StackGraph


def test_every_stack_passes_checkov_with_only_the_declared_suppressions(synthesized, tmp_path):
    _, graph = synthesized
    result = scan.scan(graph, graph.nodes, out=tmp_path)
    assert [f"{f.stack} {f.check_id} {f.resource}" for f in result.findings] == []
    assert result.passed > 500
    assert all(f.suppressed_because for f in result.suppressed)
    # deletion protection is accepted off in dev and staging, never in prod
    assert not [f for f in result.suppressed if f.scope == "prod" and f.check_id in {"CKV_AWS_150", "CKV_AWS_293"}]


def test_our_rules_pass_on_every_stack(synthesized):
    _, graph = synthesized
    assert [str(v) for v in scan.own_rules(graph, graph.nodes)] == []


def test_fails_when_a_stack_regresses(synthesized, tmp_path):
    """Copy prod's database stack, switch encryption and deletion protection off: both are found."""
    result, graph = synthesized
    out = tmp_path / "synth"
    shutil.copytree(result.outdir, out)
    doc_path = out / "stacks/prod-database/cdk.tf.json"
    doc = json.loads(doc_path.read_text())
    instance = next(iter(doc["resource"]["aws_db_instance"].values()))
    instance.update(storage_encrypted=False, deletion_protection=False)
    doc_path.write_text(json.dumps(doc))
    bad = StackGraph.from_synth(out)
    found = scan.scan(bad, ["prod-database"], out=tmp_path / "scan")
    assert {"CKV_AWS_16", "CKV_AWS_293"} <= {f.check_id for f in found.findings}
    violations = scan.own_rules(bad, ["prod-database"])
    assert any(v.message == "storage_encrypted is not true" for v in violations)
    # the reports: markdown for people, findings for the comment's "new versus base"
    report = scan.markdown(found, violations)
    assert report.startswith("### Compliance: ⛔ not compliant")
    assert "| `prod-database` | `aws_db_instance." in report and "CKV_AWS_16" in report
    assert any(f["stack"] == "prod-database" and f["check_id"] == "CKV_AWS_16" for f in scan.findings_json(found))


def test_sarif_marks_suppressed_findings_with_their_reason(synthesized, tmp_path):
    _, graph = synthesized
    result = scan.scan(graph, ["dev-edge"], out=tmp_path)
    doc = scan.sarif(result, [])
    checkov_run = doc["runs"][0]
    assert checkov_run["results"] and all(r["suppressions"][0]["justification"] for r in checkov_run["results"])
    assert doc["version"] == "2.1.0"


def test_a_clean_scan_reads_compliant_and_lists_what_is_accepted(synthesized, tmp_path):
    _, graph = synthesized
    result = scan.scan(graph, ["dev-edge"], out=tmp_path)
    report = scan.markdown(result, [])
    assert report.startswith("### Compliance: ✅ compliant")
    assert "<summary>Accepted (infra/policy/suppressions.toml)</summary>" in report
    assert report.count("<details>") == report.count("</details>") == 1
