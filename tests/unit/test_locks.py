"""A state lock as Terraform reports it, and the command that releases it."""

from __future__ import annotations

import datetime

from infra.runner.locks import LockInfo, from_terraform_output, unlock_command

# What Terraform 1.11 says when a plan meets a lock left in S3 (use_lockfile), -no-color.
MET = """Acquiring state lock. This may take a few moments...

Error: Error acquiring the state lock

Error message: operation error S3: PutObject, https response error
StatusCode: 412, api error PreconditionFailed: At least one of the pre-conditions you
specified did not hold
Lock Info:
  ID:        8f7e5b66-d2bb-a520-63d9-d2ce244a3357
  Path:      edutech-tfstate-111111111111/dev/kms/terraform.tfstate
  Operation: OperationTypeApply
  Who:       runner@fv-az123
  Version:   1.11.4
  Created:   2026-11-23 17:36:10.764010816 +0000 UTC
  Info:

Terraform acquires a state lock to protect the state from being written
by multiple users at the same time.
"""


def test_the_lock_is_read_from_terraforms_error():
    lock = from_terraform_output(MET)
    assert lock == LockInfo(
        id="8f7e5b66-d2bb-a520-63d9-d2ce244a3357",
        who="runner@fv-az123",
        operation="OperationTypeApply",
        created="2026-11-23 17:36:10.764010816 +0000 UTC",
        path="edutech-tfstate-111111111111/dev/kms/terraform.tfstate",
        version="1.11.4",
    )
    now = datetime.datetime(2026, 11, 23, 20, 48, tzinfo=datetime.UTC)
    assert lock.age(now) == "3h11m ago"
    assert lock.verb == "apply"


def test_the_lock_file_json_reads_the_same():
    doc = {"ID": "x", "Who": "me@host", "Operation": "OperationTypePlan", "Created": "2026-11-23T17:36:10.764010816Z"}
    lock = LockInfo.from_json(doc)
    assert lock.age(datetime.datetime(2026, 11, 23, 17, 37, 0, tzinfo=datetime.UTC)) == "0m49s ago"
    assert lock.describe().endswith(", plan, ID x") and lock.describe().startswith("me@host since 2026-11-23T17:36")


def test_other_failures_are_not_locks():
    assert from_terraform_output("Error: Invalid provider configuration\n  ID: nothing") is None


def test_the_unlock_command_names_an_environment_that_selects_the_stack():
    assert unlock_command("dev-kms") == "infra unlock dev dev-kms"
    assert unlock_command("dev-pr42-kms") == "infra unlock dev dev-pr42-kms"  # ENVIRONMENT_SUFFIX=pr42
    assert unlock_command("prod-sa-east-1-account") == "infra unlock prod prod-sa-east-1-account"
    assert unlock_command("nonprod-sa-east-1-account").split()[2] in ("dev", "staging")
