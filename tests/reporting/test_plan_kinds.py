"""Every kind of change Terraform can plan, in the comment where a reviewer looks for it.

The real plan (tests/reporting/kinds.py) is made by Terraform itself with `terraform_data`;
what Terraform cannot make here is hand-made JSON in the shape Terraform writes.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from infra.report.comment import COMMENT_LIMIT, Context, blocked_by, measure, render
from infra.report.plan import OUTCOMES_FILE, StackPlan, from_plan
from infra.report.publish import report_for, with_new_findings
from infra.report.values import natural_key
from tests.reporting import kinds

SNAPSHOT = Path(__file__).parents[2] / "docs" / "examples" / "plan-comment.md"


def _well_formed(text: str) -> None:
    assert text.count("```") % 2 == 0, "a code fence is left open"
    assert text.count("<details>") == text.count("</details>"), "a <details> is left open"
    assert text.count("<pre>") == text.count("</pre>")


def _run(tmp_path: Path, plans: dict[str, dict[str, Any]], env: str = "dev") -> Path:
    """A run folder as `infra plan` writes it: outcomes.json and <stack>/plan.json."""
    run = tmp_path / "run"
    for stack, doc in plans.items():
        (run / stack).mkdir(parents=True)
        (run / stack / "plan.json").write_text(json.dumps(doc))
    outcomes = {s: {"status": "ok", "detail": "", "environment": env, "component": s.split("-", 1)[1]} for s in plans}
    (run / OUTCOMES_FILE).write_text(json.dumps(outcomes))
    return run


def _change(address: str, actions: list[str], before: Any, after: Any, **extra: Any) -> dict[str, Any]:
    kind, name = address.split(".")[-2:]
    change = {"actions": actions, "before": before, "after": after, "after_unknown": {}}
    change |= {"before_sensitive": {}, "after_sensitive": {}} | extra.pop("change", {})
    return {"address": address, "mode": "managed", "type": kind, "name": name, "change": change, **extra}


def _plan(*changes: dict[str, Any], outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"format_version": "1.2", "resource_changes": list(changes), "output_changes": outputs or {}}


# --- the crash -------------------------------------------------------------------------------


def test_a_removed_block_forget_is_listed_not_a_crash(tmp_path):
    """`removed { lifecycle { destroy = false } }` plans `forget`: this was KeyError: 'forget'."""
    forget = _change("aws_s3_bucket.logs", ["forget"], {"bucket": "logs"}, None)
    forget["action_reason"] = "delete_because_no_resource_config"
    report = report_for([_run(tmp_path, {"dev-storage": _plan(forget)})], Context(target="dev"))
    text = report.text
    assert "**forget** (1)" in text
    assert "- `aws_s3_bucket.logs` — removed block with destroy = false" in text
    assert "> **1 no longer managed by Terraform** (they stay in AWS):" in text
    assert "# aws_s3_bucket.logs will no longer be managed by Terraform, but will not be destroyed" in text
    assert report.plans[0].totals() == "1 forget"
    assert report.blocked_by == []  # nothing is lost: the object stays
    _well_formed(text)


def test_a_replace_that_keeps_the_old_object_is_not_a_stateful_loss():
    """["create", "forget"]: Terraform cannot make it with terraform_data (hand-made)."""
    plan = from_plan("dev-demo", "dev", "demo", _plan(*kinds.HAND_MADE))
    text = render([plan], Context(target="dev"))
    assert plan.count("replace") == 1 and plan.forgotten == list(plan.changes)
    assert (
        "# aws_s3_bucket.archive must be replaced (create the replacement; the existing object is not destroyed "
        "(destroy = false); forces replacement: bucket)"
    ) in text
    assert "> - `dev-demo`: `aws_s3_bucket.archive`" in text  # under "no longer managed by Terraform"
    assert "⛔ **stateful" not in text and blocked_by([plan], Context()) == []


def test_an_action_this_code_does_not_know_is_shown_in_terraforms_words():
    odd = _change("aws_thing.x", ["renew"], {"a": 1}, {"a": 2})
    text = render([from_plan("dev-x", "dev", "x", _plan(odd))], Context())
    assert "**renew** (1)" in text and "# aws_thing.x will be changed (renew)" in text


# --- every action, from real Terraform ---------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    return kinds.real_plan(tmp_path_factory.mktemp("kinds"))


@pytest.mark.terraform
def test_every_action_terraform_plans_is_in_its_group_and_its_diff(real):
    doc, _ = real
    plan = from_plan("dev-demo", "dev", "demo", doc)
    text = render([plan], Context(target="dev"))
    groups = {c.address: c.group for c in plan.changes}
    assert groups == {
        "terraform_data.gone": "delete",
        "terraform_data.rep": "replace",
        "terraform_data.cbd": "replace",
        "terraform_data.forgot": "forget",
        "terraform_data.upd": "update",
        "terraform_data.policy": "update",
        "terraform_data.containers": "update",
        "terraform_data.long": "update",
        "terraform_data.lines": "update",
        "terraform_data.new": "create",
        'terraform_data.user["u1"]': "create",
        'terraform_data.user["u2"]': "create",
        'terraform_data.user["u10"]': "create",
        "terraform_data.imported": "import",
        "terraform_data.new_name": "move",
        "data.terraform_remote_state.later": "read",
    }  # and terraform_data.keep, a no-op, is not listed
    assert plan.totals() == "+4 ~5 ±2 -1 · 1 forget, 1 import, 1 move, 1 read, 4 outputs"
    for line in (
        "# terraform_data.rep must be replaced (destroy, then create the replacement; "
        "forces replacement: triggers_replace)",
        "# terraform_data.cbd must be replaced (create the replacement, then destroy; "
        "forces replacement: triggers_replace)",
        '+ triggers_replace = "t2"  # forces replacement',
        "# terraform_data.imported will be imported from id imported-id-1",
        "# terraform_data.new_name has moved from terraform_data.old_name",
        "# data.terraform_remote_state.later will be read during apply "
        "(its configuration depends on values known after apply)",
        "- `terraform_data.imported` — imported from id `imported-id-1`",
        "- `terraform_data.new_name` — moved from `terraform_data.old_name`",
        "- `terraform_data.cbd` — forces replacement: triggers_replace — create the replacement, then destroy",
        "> - `dev-demo`: replace `terraform_data.cbd` (forces replacement: triggers_replace; "
        "create the replacement, then destroy)",
        "| dev | demo | 4 | 5 | 2 | 1 | 1 forget, 1 import, 1 move, 1 read, 4 outputs | 0 |  |",
    ):
        assert line in text
    _well_formed(text)


@pytest.mark.terraform
def test_output_changes_are_shown_and_sensitive_ones_masked(real):
    doc, _ = real
    assert doc["output_changes"]["secret"]["after"] == kinds.SECRET_OUT_V2  # the JSON has it in clear
    text = render([from_plan("dev-demo", "dev", "demo", doc)], Context())
    diff = text[text.index("# --- changes to outputs ---") :]
    for line in (
        "+ added = (known after apply)",
        '- dropped = "x"',
        '- plain = "one"',
        '+ plain = "two"',
        "- secret = (sensitive)",
        "+ secret = (sensitive)",
    ):
        assert line in diff
    assert kinds.SECRET_OUT_V1 not in text and kinds.SECRET_OUT_V2 not in text


@pytest.mark.terraform
def test_nothing_terraform_show_shows_is_hidden_in_the_comment(real):
    """Each address, output and changed value in `terraform show`'s text is in the comment."""
    doc, shown = real
    text = render([from_plan("dev-demo", "dev", "demo", doc)], Context())
    addresses = re.findall(r"^\s*# (\S+) (?:will|must|has)", shown, flags=re.MULTILINE)
    assert len(addresses) == 16
    for address in addresses:
        assert address in text
    outputs = shown[shown.index("Changes to Outputs:") :]
    for name in re.findall(r"^\s+[-+~] (\w+)\s+=", outputs, flags=re.MULTILINE):
        assert f"{name} = " in text
    # every quoted value on a changed line ("+", "-", "~"), unless Terraform hides it as sensitive;
    # of a long string that changes, the part that changes (the comment shows it with context)
    whole = re.sub(r"\n[-+ #] {5}↪ ", "", text)  # long lines unwrapped
    for line in shown.splitlines():
        if re.match(r"^\s*[-+~]\s", line) and "(sensitive value)" not in line:
            values = [json.loads(f'"{v}"') for v in re.findall(r'"((?:[^"\\]|\\.)*)"', line)]
            if len(values) == 2 and " -> " in line and max(map(len, values)) > 160:
                values = _changed_parts(*values)
            for value in values:
                assert value in whole or json.dumps(value)[1:-1] in whole, f"{value!r} from {line.strip()!r}"


def _changed_parts(old: str, new: str) -> list[str]:
    start = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
    end = next((i for i, (a, b) in enumerate(zip(old[::-1], new[::-1], strict=False)) if a != b), 0)
    return [old[start : len(old) - end], new[start : len(new) - end]]


@pytest.mark.terraform
def test_one_action_added_to_a_policy_statement_is_readable(real):
    doc, _ = real
    text = render([from_plan("dev-demo", "dev", "demo", doc)], Context())
    at = text.index('Statement[1] (Sid "Write") changed:')
    statement = text[at : text.index("#     1 other key unchanged: Version", at)].splitlines()
    assert '+           "s3:DeleteObject",' in statement  # the one line that changed, marked
    assert '            "s3:PutObject",' in statement  # the statement in full around it
    assert '          "Resource": "arn:aws:s3:::content/*",' in statement
    assert "#     2 other statements unchanged" in statement


# --- documents and long values (hand-made, in the shape of the AWS provider's plans) ------------


def _policy_change() -> dict[str, Any]:
    return _change(
        "aws_iam_policy.app",
        ["update"],
        {"name": "app", "policy": kinds._policy()},
        {"name": "app", "policy": kinds._policy("s3:DeleteObject")},
    )


def test_an_iam_policy_diff_shows_the_changed_statement_not_a_cut_line():
    text = render([from_plan("dev-app", "dev", "app", _plan(_policy_change()))], Context())
    assert "~ policy: JSON document changed:" in text
    assert '+           "s3:DeleteObject",' in text
    assert '      Statement[1] (Sid "Write") changed:' in text
    assert "…" not in text  # nothing cut


def test_container_definitions_show_the_changed_container_in_full_and_count_the_rest():
    change = _change(
        "aws_ecs_task_definition.lms",
        ["delete", "create"],
        {"family": "lms", "container_definitions": kinds._containers("nginx:1.25")},
        {"family": "lms", "container_definitions": kinds._containers("nginx:1.27")},
        change={"replace_paths": [["container_definitions"]]},
        action_reason="replace_because_cannot_update",
    )
    text = render([from_plan("dev-lms", "dev", "lms", _plan(change))], Context())
    assert "~ container_definitions: JSON document changed (forces replacement):" in text
    assert '-         "image": "nginx:1.25",' in text and '+         "image": "nginx:1.27",' in text
    assert '      [0] (name "web") changed:' in text and '          "containerPort": 8080,' in text
    assert "#     1 other element unchanged" in text and "fluent-bit" not in text


def test_nested_values_are_diffed_by_key_when_long():
    tags = {f"tag{i}": f"value-{i}" for i in range(20)}
    change = _change("aws_vpc.main", ["update"], {"tags": tags}, {"tags": tags | {"tag7": "changed"}})
    text = render([from_plan("dev-net", "dev", "net", _plan(change))], Context())
    assert '-     tag7 = "value-7"' in text and '+     tag7 = "changed"' in text
    assert "#     19 other keys unchanged: tag0, tag1, tag2, tag3, tag4, tag5, tag6, tag8, …" in text


def test_a_long_string_shows_its_changed_part_with_context():
    before = kinds.LONG
    after = before.replace("segment-31;", "segment-XXXI;")
    change = _change("aws_ssm_parameter.list", ["update"], {"value": before}, {"value": after})
    text = render([from_plan("dev-app", "dev", "app", _plan(change))], Context())
    assert "# value: 660 → 662 characters; changed from character 350, shown with context" in text
    assert re.search(r'- value = "…[^"\n]*segment-30;segment-31;segment-32;[^"\n]*…"', text)
    assert re.search(r'\+ value = "…[^"\n]*segment-30;segment-XXXI;segment-32;[^"\n]*…"', text)


def test_a_multi_line_string_shows_the_changed_lines_with_context():
    change = _change(
        "aws_instance.web",
        ["update"],
        {"user_data": kinds.LINES},
        {"user_data": kinds.LINES.replace("line 7", "line seven")},
    )
    text = render([from_plan("dev-web", "dev", "web", _plan(change))], Context())
    block = text[text.index("~ user_data:") :]
    assert block.splitlines()[1:8] == [
        "# @@ line 5 @@",
        "      line 5",
        "      line 6",
        "-     line 7",
        "+     line seven",
        "      line 8",
        "      line 9",
    ]


def test_sensitive_parts_stay_masked_inside_documents():
    before = {
        "name": "lms",
        "environment": [{"name": "DB_PASSWORD", "value": "hunter2-old"}, {"name": "A", "value": "1"}],
    }
    after = copy.deepcopy(before)
    after["environment"][0]["value"] = "hunter2-new"
    marks = {"environment": [{"value": True}, {}]}
    change = _change(
        "aws_thing.app",
        ["update"],
        {"config": before, "note": "x"},
        {"config": after, "note": "y"},
        change={"before_sensitive": {"config": marks}, "after_sensitive": {"config": marks}},
    )
    text = render([from_plan("dev-app", "dev", "app", _plan(change))], Context())
    assert "hunter2" not in text
    assert "- config = (sensitive)" in text and "+ config = (sensitive)" in text  # only a secret changed
    assert '+ note = "y"' in text


def test_a_value_sensitive_on_one_side_is_masked_on_both():
    """Terraform masks both sides when either is sensitive; else the old secret shows."""
    before = {"variables": {"TOKEN": "old-secret", "MODE": "a"}}
    after = {"variables": {"TOKEN": "new-secret", "MODE": "a"}}
    change = _change(
        "aws_lambda_function.f",
        ["update"],
        {"environment": [before]},
        {"environment": [after]},
        change={"before_sensitive": {}, "after_sensitive": {"environment": [{"variables": {"TOKEN": True}}]}},
    )
    text = render([from_plan("dev-app", "dev", "app", _plan(change))], Context())
    assert "old-secret" not in text and "new-secret" not in text


def test_a_default_tags_change_shows_in_tags_all():
    """Only tags_all moves when default tags change: hiding it would show an update of nothing."""
    old, new = {"tags": {}, "tags_all": {"Owner": "a"}}, {"tags": {}, "tags_all": {"Owner": "b"}}
    change = _change("aws_sqs_queue.q", ["update"], old, new)
    text = render([from_plan("dev-app", "dev", "app", _plan(change))], Context())
    assert "tags_all" in text and '"b"' in text


def test_markdown_from_terraform_stays_escaped():
    change = _change("aws_s3_object.o", ["no-op"], {"key": "k"}, {"key": "k"}, change={"importing": {"id": "a`b|c"}})
    change["address"] = 'aws_s3_object.o["x`y"]'
    fence = _change("aws_ssm_parameter.f", ["update"], {"value": '{"a": "```"}'}, {"value": '{"a": "``` x"}'})
    text = render([from_plan("dev-app", "dev", "app", _plan(change, fence))], Context())
    assert '- `` aws_s3_object.o["x`y"] `` — imported from id `` a`b|c ``' in text  # spans longer than any run
    assert "<pre>" in text and "```diff" not in text  # a fence in a value: the diff goes in <pre>
    _well_formed(text)


def test_a_huge_document_change_still_fits_the_comment():
    statements = [{"Sid": f"S{i}", "Effect": "Allow", "Action": [f"s3:A{i}"], "Resource": "*"} for i in range(3000)]
    changed = copy.deepcopy(statements)
    for s in changed[::2]:
        s["Action"].append("s3:DeleteObject")
    change = _change(
        "aws_iam_policy.big",
        ["update"],
        {"policy": json.dumps({"Statement": statements})},
        {"policy": json.dumps({"Statement": changed})},
    )
    text = render([from_plan("dev-app", "dev", "app", _plan(change))], Context(report_url="https://x/run/1"))
    assert measure(text) <= COMMENT_LIMIT
    _well_formed(text)
    assert "more lines: see the full report" in text


# --- order ------------------------------------------------------------------------------------


def test_addresses_and_stacks_sort_naturally():
    assert sorted(["u10", "u2", "u1"], key=natural_key) == ["u1", "u2", "u10"]
    users = [_change(f"aws_iam_user.u{i}", ["create"], None, {"name": f"u{i}"}) for i in (10, 2, 1)]
    plans = [from_plan(f"dev-part{i}", "dev", f"part{i}", _plan(*users)) for i in (10, 2)]
    text = render(plans, Context())
    assert text.index("`aws_iam_user.u1`") < text.index("`aws_iam_user.u2`") < text.index("`aws_iam_user.u10`")
    assert text.index("| dev | part2 |") < text.index("| dev | part10 |")
    assert text.index("<code>dev-part2</code>") < text.index("<code>dev-part10</code>")


# --- checkov findings: only in their own environment's comment ---------------------------------


def _findings(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text(
        json.dumps(
            [{"stack": s, "resource": "aws_kms_key.k", "check_id": c, "check_name": f"about {c}"} for s, c in rows]
        )
    )
    return path


@pytest.mark.parametrize(
    ("target", "shown", "row"),
    [
        ("dev", ["CKV_DEV"], "| dev | edge | 0 | 0 | 0 | 0 |  | 0 | 1 |"),
        ("staging", [], None),
        ("prod", ["CKV_PROD", "CKV_ACCOUNT"], "| prod | kms | 0 | 0 | 0 | 0 |  | 0 | 1 |"),
    ],
)
def test_checkov_findings_show_and_fail_only_in_their_environment(tmp_path, target, shown, row):
    head = _findings(
        tmp_path / "head.json",
        [("dev-edge", "CKV_DEV"), ("prod-kms", "CKV_PROD"), ("prod-sa-east-1-account", "CKV_ACCOUNT")],
    )
    base = _findings(tmp_path / "base.json", [])
    planned = [StackPlan(f"{target}-network", target, "network")]  # the run planned other stacks
    plans = with_new_findings(planned, head, base, target=target)
    text = render(plans, Context(target=target))
    for check in ("CKV_DEV", "CKV_PROD", "CKV_ACCOUNT"):
        assert (check in text) == (check in shown), check
    assert "| - | - |" not in text
    if row:
        assert row in text
    expected = [f"{len(shown)} new checkov failure{'s' * (len(shown) != 1)}"] if shown else []
    assert blocked_by(plans, Context(target=target)) == expected


def test_the_shared_account_stack_is_in_each_of_its_environments_comments(tmp_path):
    head = _findings(tmp_path / "head.json", [("nonprod-sa-east-1-account", "CKV_SHARED")])
    for env in ("dev", "staging"):
        plans = with_new_findings([], head, None, target=env)
        assert [(p.environment, p.component, p.new_findings[0][:10]) for p in plans] == [
            ("nonprod", "account", "CKV_SHARED")
        ]
    assert with_new_findings([], head, None, target="prod") == []


def test_a_report_for_no_environment_keeps_every_finding(tmp_path):
    head = _findings(tmp_path / "head.json", [("dev-edge", "CKV_A"), ("prod-kms", "CKV_B")])
    plans = with_new_findings([], head, None)
    assert [(p.environment, p.component) for p in plans] == [("dev", "edge"), ("prod", "kms")]


# --- the snapshot reviewers read -------------------------------------------------------------


def test_the_mixed_plan_comment_matches_the_reviewed_snapshot(tmp_path):
    """docs/examples/plan-comment.md: the comment of the mixed plan, as GitHub would show it.
    After a deliberate change of the renderer: `UPDATE_SNAPSHOTS=1 pytest tests/reporting`."""
    run = _run(tmp_path, {"dev-demo": kinds.mixed(), "dev-quiet": _plan()})
    head = _findings(tmp_path / "head.json", [("dev-demo", "CKV_AWS_145"), ("prod-kms", "CKV_AWS_7")])
    ctx = Context(target="dev", sha="3f2a9c41d07be5a19c1e", marker="<!-- infra:plan:dev:pr-42 -->")
    text = report_for([run], ctx, findings=head, base_findings=None).text
    _well_formed(text)
    assert kinds.SECRET_OUT_V1 not in text and kinds.SECRET_OUT_V2 not in text
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text(), "the comment changed: review it and refresh the snapshot"


def test_a_failed_stacks_error_text_cannot_become_markup():
    detail = "Error: bad <!-- hides the rest --> ping @platform-team, see [here](https://evil.example) | cell"
    failed = StackPlan("dev-app", "dev", "app", status="failed", detail=detail)
    text = render([failed], Context())
    assert "<!--" not in text and "[here](" not in text and " @platform-team" not in text
    assert "\\@platform-team" in text and "\\| cell" in text
    _well_formed(text)
