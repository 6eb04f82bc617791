"""A failed stack's message keeps every error Terraform printed, not only its last lines.

A fake `terraform` on PATH prints a long log: an error block early, a second one later,
and many lines after both (as a provider that keeps writing does), then exits 1.
"""

from __future__ import annotations

import pytest

from infra.runner.executor import run_graph
from infra.runner.operations import OperationFailed, _check
from infra.runner.terraform import TerraformError, error_report
from infra.synth.graph import StackGraph, StackNode
from tests import fake_terraform

EARLY_ERROR = """\
Error: creating KMS Key: operation error KMS: CreateKey, https response error StatusCode: 400

  with aws_kms_key.main,
  on cdk.tf.json line 40, in resource "aws_kms_key" "main":
  40:       }

The key policy is not valid.
"""
LATE_ERROR = """\
╷
│ Error: Failed to persist state to backend
│
│ the state has been written to the file "errored.tfstate" in the current working directory.
╵
"""
FAKE = f"""\
import sys
for i in range(5):
    print(f"aws_kms_key.k[{{i}}]: Creating...")
print({EARLY_ERROR!r})
for i in range(60):
    print(f"aws_kms_key.k[{{i}}]: Still creating... [{{i}}0s elapsed]")
print({LATE_ERROR!r})
for i in range(40):
    print(f"provider noise line {{i}}")
print("the very last line")
sys.exit(1)
"""


def test_the_summary_shows_every_error_block_a_short_tail_and_the_log(tmp_path, monkeypatch):
    fake_terraform.install(tmp_path, monkeypatch, FAKE)
    ws = fake_terraform.workspace(tmp_path)
    node = ws.node

    def action(stack: StackNode) -> str:
        ws.run("apply", "-no-color")
        return "applied"

    with pytest.raises(OperationFailed) as failed:
        _check("apply", run_graph(StackGraph({"dev-kms": node}), ["dev-kms"], action))
    message = str(failed.value)
    for line in (*EARLY_ERROR.splitlines(), *LATE_ERROR.splitlines()[1:-1]):  # not the box's ends
        assert line.strip() in message, line
    assert f"full log: {ws.log}" in message
    assert "the very last line" in message and "provider noise line 39" in message  # the tail
    assert "Still creating" not in message and "provider noise line 10" not in message  # not the noise
    assert len(message.splitlines()) < 30


def test_without_an_error_block_the_tail_is_what_is_left():
    output = "\n".join(f"line {i}" for i in range(100))
    assert error_report(output) == "\n".join(f"line {i}" for i in range(95, 100))


def test_a_refused_connection_says_the_endpoint_stopped_answering(tmp_path, monkeypatch):
    refused = "Error: dial tcp 127.0.0.1:4566: connect: connection refused"
    fake_terraform.install(tmp_path, monkeypatch, f"import sys\nprint({refused!r})\nsys.exit(1)\n")
    ws = fake_terraform.workspace(tmp_path, AWS_ENDPOINT_URL="https://127.0.0.1:4566")
    with pytest.raises(TerraformError) as failed:
        ws.run("apply", "-no-color")
    assert "the emulator (or AWS endpoint) at https://127.0.0.1:4566 stopped answering" in str(failed.value)
