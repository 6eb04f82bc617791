from __future__ import annotations

import pytest

from modules.kms import Kms, KmsProps
from tests.modules.helpers import DEPLOYMENT, label, policy, resources, synth


def build_kms(**overrides):
    props = KmsProps(**{"label": label("kms"), "deployment": DEPLOYMENT, **overrides})
    return synth(lambda stack: Kms(stack, "Kms", props), "kms")


def test_every_key_rotates_on_the_configured_period():
    keys = resources(build_kms(rotation_period_days=180, deletion_window_days=10), "aws_kms_key")
    assert len(keys) == 2
    for key in keys:
        assert key["enable_key_rotation"] is True
        assert key["rotation_period_in_days"] == 180
        assert key["deletion_window_in_days"] == 10


def test_key_policies_are_explicit_and_scoped_to_the_account():
    for key in resources(build_kms(), "aws_kms_key"):
        statements = policy(key)["Statement"]
        admin = statements[0]
        assert admin["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
        assert all(s.get("Principal") != "*" and s.get("Principal") != {"AWS": "*"} for s in statements)


def test_the_logs_key_admits_cloudwatch_logs_for_this_accounts_log_groups_only():
    logs_key = next(k for k in resources(build_kms(), "aws_kms_key") if "CloudWatch Logs" in k["description"])
    logs = next(s for s in policy(logs_key)["Statement"] if s["Sid"] == "CloudWatchLogsUse")
    assert logs["Principal"] == {"Service": "logs.sa-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        "arn:aws:logs:sa-east-1:111111111111:log-group:*"
    )


def test_aliases_are_named_by_label():
    aliases = sorted(a["name"] for a in resources(build_kms(), "aws_kms_alias"))
    assert aliases == ["alias/kms-data-dev-t1", "alias/kms-logs-dev-t1"]


@pytest.mark.parametrize("window", [6, 31])
def test_fails_when_the_deletion_window_is_outside_aws_limits(window):
    with pytest.raises(ValueError, match="deletion_window_days must be 7..30"):
        KmsProps(label=label(), deployment=DEPLOYMENT, deletion_window_days=window)


def test_fails_when_the_rotation_period_is_outside_aws_limits():
    with pytest.raises(ValueError, match="rotation_period_days must be 90..2560"):
        KmsProps(label=label(), deployment=DEPLOYMENT, rotation_period_days=30)
