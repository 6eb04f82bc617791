"""The plan comment, rendered from real plans made on the emulator (see infra/pipeline/samples.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.pipeline.samples import SECRET_V1, SECRET_V2
from infra.report.comment import COMMENT_LIMIT, SUMMARY_LIMIT, Context, blocked_by, measure, render
from infra.report.plan import ResourceChange, StackPlan, load_run
from infra.report.publish import with_new_findings, write_summary

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module")
def plans(sample_run: Path) -> dict[str, StackPlan]:
    return {p.stack: p for p in load_run(sample_run)}


def _well_formed(text: str) -> None:
    assert text.count("```") % 2 == 0, "a code fence is left open"
    assert text.count("<details>") == text.count("</details>"), "a <details> is left open"
    assert text.count("<pre>") == text.count("</pre>")


def test_each_kind_of_change_is_counted_and_listed(plans):
    app = plans["app"]
    assert (app.count("create"), app.count("update"), app.count("replace"), app.count("delete")) == (1, 3, 2, 1)
    text = render([plans["app"], plans["quiet"]], Context(target="dev", sha="0123456789abcdef"))
    assert "1 stack changed · +1 ~3 ±2 -1" in text
    assert "commit `0123456789ab`" in text
    assert "| dev | app | 1 | 3 | 2 | 1 |  | 1 |" in text  # the table row, with the outside change
    assert "No changes in 1 stack: `quiet`" in text
    assert "forces replacement: name" in text  # the queue's reason
    assert "- `aws_ssm_parameter.legacy` — removed from the code" in text
    assert "Merging applies these changes in order: `dev`" in text
    _well_formed(text)


def test_stateful_replace_is_warned_above_the_fold_and_fails_the_check(plans):
    text = render([plans["app"]], Context(target="dev"))
    warning = text[text.index("> [!WARNING]") : text.index("<details>")]
    assert "replace `aws_s3_bucket.content` ⛔ **stateful (S3)**" in warning
    assert "replace `aws_sqs_queue.jobs` (forces replacement: name)" in warning  # not stateful: no mark
    assert "delete `aws_ssm_parameter.legacy`" in warning
    assert text.index("> [!WARNING]") < text.index("| environment |")
    assert blocked_by([plans["app"]], Context()) == [
        "1 stateful delete/replace (label `allow-stateful-changes` allows them)"
    ]
    assert blocked_by([plans["app"]], Context(allow_stateful=True)) == []
    assert "⛔ Plan for `dev`: blocked" in text


def test_sensitive_values_never_appear(plans):
    text = render(list(plans.values()), Context())
    assert SECRET_V1 not in text and SECRET_V2 not in text
    assert re.search(r"\+ value = \(sensitive\)", text)


def test_outside_changes_are_shown_and_refresh_noise_is_not(plans):
    app = plans["app"]
    assert [c.address for c in app.outside] == ["aws_cloudwatch_log_group.app"]
    text = render([app], Context())
    assert "**Changed outside Terraform: update** (1)" in text
    assert "- retention_in_days = 7" in text and "+ retention_in_days = 30" in text
    assert "aws_caller_identity" not in text  # a data source read is not a change
    assert "Refreshing state" not in text and "Reading..." not in text


def test_a_value_holding_a_fence_is_shown_in_pre_not_in_a_fence(plans):
    text = render([plans["app"]], Context())
    block = text[text.index("<details>") :]
    assert "<pre>" in block and "```diff" not in block
    assert "&quot;```on```&quot;" in block or "```on```" not in block
    _well_formed(text)


def test_the_500_resource_plan_fits_and_keeps_its_order(plans):
    everything = list(plans.values())
    assert plans["fleet"].count("create") == 500
    text = render(everything, Context(target="dev"))
    assert measure(text) <= COMMENT_LIMIT
    _well_formed(text)
    # deletes and replaces first: the app block comes before the fleet block
    assert text.index("<code>app</code>") < text.index("<code>fleet</code>")
    assert "# … " in text and "more lines: see the full report" in text  # the fleet diff was cut


@pytest.mark.parametrize("limit", [3_000, 6_000, 12_000, 30_000])
def test_small_limits_keep_the_summary_whole_and_list_the_rest(plans, limit):
    text = render(list(plans.values()), Context(target="dev", report_url="https://example/run/1"), limit=limit)
    assert measure(text) <= limit
    _well_formed(text)
    assert "1 stack" not in text or "| dev | app |" in text  # the table is above every block
    assert "| dev | fleet | 500 |" in text
    if "<code>fleet</code>" not in text:
        assert "- `fleet`: +500" in text and "[full report](https://example/run/1)" in text


def test_a_failed_stack_fails_the_check_and_says_why():
    failed = StackPlan("dev-edge", "dev", "edge", status="failed", detail="Error: TLS handshake timeout")
    skipped = StackPlan("dev-lms", "dev", "lms", status="skipped", detail="dev-edge did not succeed")
    text = render([failed, skipped], Context(target="dev"))
    assert "- `dev-edge`: failed: Error: TLS handshake timeout" in text
    assert "- `dev-lms`: skipped: dev-edge did not succeed" in text
    assert blocked_by([failed, skipped], Context()) == ["1 stack failed to plan"]


def test_the_job_summary_gets_everything_when_it_fits(plans, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write_summary(list(plans.values()), Context(target="dev", marker="<!-- x -->"))
    text = summary.read_text()
    assert "<code>fleet</code>" in text and "more lines: see the full report" not in text  # 500 resources, whole
    assert "<!-- x -->" not in text  # the marker belongs to the comment only
    _well_formed(text)


def test_the_job_summary_never_passes_one_mib(plans, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    earlier = "earlier step output\n" * ((SUMMARY_LIMIT - 30_000) // 20)
    summary.write_text(earlier)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write_summary(list(plans.values()), Context(target="dev"))
    assert summary.stat().st_size <= SUMMARY_LIMIT
    ours = summary.read_text()[len(earlier) :]
    assert "### ⛔ Plan for `dev`" in ours
    _well_formed(ours)


def test_only_checkov_failures_the_base_lacks_are_shown_and_fail_the_check(tmp_path):
    def findings(path: Path, *checks: str) -> Path:
        rows = [
            {"stack": "dev-edge", "resource": "aws_lb.alb", "check_id": c, "check_name": f"name of {c}"} for c in checks
        ]
        path.write_text(json.dumps(rows))
        return path

    head = findings(tmp_path / "head.json", "CKV_AWS_91", "CKV2_AWS_28")
    base = findings(tmp_path / "base.json", "CKV_AWS_91")  # already failing on main: not this PR's doing
    edge = StackPlan("dev-edge", "dev", "edge")
    plans = with_new_findings([edge], head, base)
    assert plans[0].new_findings == ("CKV2_AWS_28 `aws_lb.alb`: name of CKV2_AWS_28",)
    text = render(plans, Context(target="dev"))
    assert "**New checkov failures** (versus the base branch): 1" in text
    assert "CKV_AWS_91" not in text
    assert "| dev | edge | 0 | 0 | 0 | 0 |  | 0 | 1 |" in text  # the stack's row carries the count
    assert blocked_by(plans, Context()) == ["1 new checkov failure"]


def test_what_merging_does_follows_the_promotion_order():
    change = (ResourceChange("aws_kms_key.k", "aws_kms_key", "create", "", ()),)
    plans = [
        StackPlan("prod-kms", "prod", "kms", changes=change),
        StackPlan("prod-sa-east-1-account", "prod", "account", changes=change),  # prod: account and env
        StackPlan("nonprod-sa-east-1-account", "nonprod", "account", changes=change),
        StackPlan("staging-kms", "staging", "kms", changes=change),
    ]
    text = render(plans, Context())
    assert "in order: `nonprod` (account-wide) → `staging` → `prod` (after approval)," in text
