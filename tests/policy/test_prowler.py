"""`infra compliance`'s reading of Prowler: findings, mutes, the gate, the reports.

The sample is real Prowler 5.46.0 OCSF output from dev's emulated deployment, trimmed.
The run against a deployment is in tests/e2e/test_loop.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import boto3
import pytest

from infra.policy import prowler

SAMPLE = Path(__file__).with_name("prowler-sample.ocsf.json")


def sample() -> list[prowler.Finding]:
    return prowler.parse(json.loads(SAMPLE.read_text()))


def by_check(findings: list[prowler.Finding], check: str) -> prowler.Finding:
    return next(f for f in findings if f.check == check)


def scan(findings: list[prowler.Finding], new: set[str] | None = None) -> prowler.Scan:
    failing = {f.key for f in findings if f.status == "FAIL" and not f.muted}
    return prowler.Scan(findings=findings, report=SAMPLE, seconds=1.0, new=failing if new is None else new)


def test_findings_are_read_with_check_severity_resource_and_account():
    kms = by_check(sample(), "kms_cmk_rotation_enabled")
    assert (kms.status, kms.severity, kms.service, kms.region, kms.account) == (
        "FAIL",
        "high",
        "kms",
        "sa-east-1",
        "111111111111",
    )
    assert kms.resource.startswith("arn:aws:kms:sa-east-1:111111111111:key/")
    assert kms.resource.endswith(kms.resource_id)  # the mutelist matches the id, people read the ARN
    assert kms.gating
    assert not by_check(sample(), "s3_bucket_default_encryption").gating  # PASS
    assert not by_check(sample(), "rds_instance_deletion_protection").gating  # medium


def test_a_muted_failure_does_not_gate():
    kms = by_check(sample(), "kms_cmk_rotation_enabled")
    muted = prowler.parse([{**json.loads(SAMPLE.read_text())[0], "status": "Suppressed"}])[0]
    assert muted.muted
    assert not replace(kms, muted=True).gating


def mute(check: str = "*", resources: tuple[str, ...] = ("*",), account: str = "*") -> prowler.Mute:
    return prowler.Mute(account=account, check=check, regions=("*",), resources=resources, description="")


@pytest.mark.parametrize(
    ("entry", "matched"),
    [
        (mute("s3_bucket_cross_account_access", ("^alb-logs-",)), True),
        (mute("s3_bucket_.*", ("alb-logs",)), True),  # check names are patterns too
        (mute("s3_*", ("*",)), True),  # "*" inside a pattern means ".*", as in Prowler
        (mute("s3_bucket_cross_account_access", ("^logs-",)), False),
        (mute("s3_bucket_cross_account_access", ("arn:aws:s3",)), False),  # ids, not ARNs
        (mute("kms_cmk_rotation_enabled", ("*",)), False),
        (mute("*", ("*",), account="222222222222"), False),
        (mute("*", ("*",), account="111111111111"), True),
    ],
)
def test_mutes_match_as_prowler_matches(entry, matched):
    assert entry.matches(by_check(sample(), "s3_bucket_cross_account_access")) is matched


def test_every_mute_in_the_repository_has_an_owner_and_a_reason():
    entries = prowler.mutes()
    assert entries, "the mutelist is empty or unreadable"
    assert prowler.unexplained(entries) == []
    assert prowler.unexplained([replace(entries[0], description="muted")]) == [replace(entries[0], description="muted")]


def test_a_mute_that_matches_no_muted_finding_is_stale():
    findings = [replace(f, muted=f.check == "s3_bucket_cross_account_access") for f in sample()]
    live, gone = mute("s3_bucket_cross_account_access", ("^alb-logs-",)), mute("rds_.*", ("^rds-lms-",))
    assert prowler.stale_mutes([live, gone], findings) == [gone]


def test_the_summary_counts_unmuted_failures_by_severity_and_service_and_names_the_gate():
    findings = sample()
    kms = by_check(findings, "kms_cmk_rotation_enabled")
    text = prowler.markdown(scan(findings, new={kms.key}), "Prowler: dev")
    header = next(line for line in text.splitlines() if line.startswith("| severity"))
    services = [cell.strip() for cell in header.strip("|").split("|")][1:]
    assert services == sorted({f.service for f in findings if f.status == "FAIL"})
    high = next(line for line in text.splitlines() if line.startswith("| high"))
    cells = dict(zip(services, [c.strip() for c in high.strip("|").split("|")][1:], strict=True))
    assert cells["kms"] == "1 (1 new)"
    assert cells["s3"] == "1"  # failing before too: not new
    assert f"`kms_cmk_rotation_enabled` {kms.resource}" in text
    assert "secretsmanager" in services


def test_nothing_failing_says_so():
    passing = [f for f in sample() if f.status == "PASS"]
    assert "No unmuted failures." in prowler.markdown(scan(passing), "Prowler: dev")


def test_sarif_locates_failures_on_our_resources_in_their_stack_only():
    findings = sample()
    kms = by_check(findings, "kms_cmk_rotation_enabled")
    state = {
        "resources": [
            {
                "mode": "managed",
                "type": "aws_kms_key",
                "name": "Kms_DataKey_1",
                "instances": [{"attributes": {"arn": kms.resource, "id": kms.resource_id}}],
            },
            {"mode": "data", "type": "aws_caller_identity", "name": "x", "instances": [{"attributes": {"id": "1"}}]},
        ]
    }
    defined = prowler.defined_resources([("dev-kms", state)])
    report = prowler.sarif(scan(findings), defined)
    results = report["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("kms_cmk_rotation_enabled", "error")]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "stacks/dev-kms/cdk.tf.json"
    assert results[0]["message"]["text"].startswith("aws_kms_key.Kms_DataKey_1: ")


def test_new_since_the_previous_run(tmp_path):
    previous = tmp_path / "previous.ocsf.json"
    items = json.loads(SAMPLE.read_text())
    previous.write_text(json.dumps([i for i in items if i["metadata"]["event_code"] != "kms_cmk_rotation_enabled"]))
    assert prowler._keys(previous) == {
        f.key for f in sample() if f.status == "FAIL" and f.check != "kms_cmk_rotation_enabled"
    }
    assert prowler._keys(tmp_path / "none.json") is None


def test_it_refuses_to_scan_an_account_other_than_the_environments(in_process_aws, monkeypatch, tmp_path):
    monkeypatch.setattr(prowler, "installed", lambda: pytest.fail("Prowler must not start"))
    reached = boto3.client("sts", region_name="sa-east-1").get_caller_identity()["Account"]
    with pytest.raises(prowler.ComplianceError, match=f"reach account {reached}, not 999999999999"):
        prowler.run("999999999999", "sa-east-1", tmp_path)


def test_docs_list_every_mute():
    text = (prowler.REPO / "docs" / "security.md").read_text().replace("\\|", "|")
    missing = [m.check for m in prowler.mutes() if f"`{m.check}`" not in text]
    assert missing == [], "docs/security.md does not list these mutes"
