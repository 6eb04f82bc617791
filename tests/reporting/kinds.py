"""Plans of every kind Terraform makes, from real Terraform and no cloud: `terraform_data`
resources (no provider), local state, applied as V1 and planned as V2.

V2 creates, updates (a policy document, a long string, a multi-line string, container
definitions), replaces both ways, destroys, forgets (`removed`), moves (`moved`), imports
(`import`), reads a data source during apply, and changes outputs (one sensitive).
Terraform cannot make a create-then-forget replace here: `HAND_MADE` is that change as
Terraform's JSON has it.

`python -m tests.reporting.kinds` refreshes tests/reporting/plans/mixed.json (the saved real
plan the snapshot in docs/examples/ is rendered from).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from infra.toolchain import terraform_env

FIXTURE = Path(__file__).parent / "plans" / "mixed.json"
SECRET_OUT_V1, SECRET_OUT_V2 = "s3cr3t-output-one", "s3cr3t-output-two"


def _policy(*put: str) -> str:
    statements = [
        {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::content/*"},
        {"Sid": "Write", "Effect": "Allow", "Action": ["s3:PutObject", *put], "Resource": "arn:aws:s3:::content/*"},
        {"Sid": "List", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::content"},
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _containers(image: str) -> str:
    web = {"name": "web", "image": image, "cpu": 256, "portMappings": [{"containerPort": 8080}]}
    side = {"name": "log-router", "image": "fluent-bit:2.1", "essential": False}
    return json.dumps([web, side])


LONG = "".join(f"segment-{i:02d};" for i in range(60))
LINES = "".join(f"line {i}\n" for i in range(1, 13))


def _hcl(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid HCL string


def config(version: int) -> str:
    v2 = version == 2
    common = f"""
resource "terraform_data" "keep" {{ input = "same" }}
resource "terraform_data" "upd" {{ input = "{"v2" if v2 else "v1"}" }}
resource "terraform_data" "rep" {{
  input            = "r"
  triggers_replace = "{"t2" if v2 else "t1"}"
}}
resource "terraform_data" "cbd" {{
  input            = "c"
  triggers_replace = "{"t2" if v2 else "t1"}"
  lifecycle {{ create_before_destroy = true }}
}}
resource "terraform_data" "policy" {{ input = {_hcl(_policy("s3:DeleteObject") if v2 else _policy())} }}
resource "terraform_data" "containers" {{ input = {_hcl(_containers("nginx:1.27" if v2 else "nginx:1.25"))} }}
resource "terraform_data" "long" {{ input = {_hcl(LONG.replace("segment-31;", "segment-XXXI;") if v2 else LONG)} }}
resource "terraform_data" "lines" {{ input = {_hcl(LINES.replace("line 7", "line seven") if v2 else LINES)} }}
output "plain" {{ value = "{"two" if v2 else "one"}" }}
output "secret" {{
  value     = "{SECRET_OUT_V2 if v2 else SECRET_OUT_V1}"
  sensitive = true
}}
"""
    if not v2:
        return (
            common
            + """
resource "terraform_data" "gone" { input = "bye" }
resource "terraform_data" "forgot" { input = "f" }
resource "terraform_data" "old_name" { input = "m" }
output "dropped" { value = "x" }
"""
        )
    return (
        common
        + """
resource "terraform_data" "new" { input = "hello" }
resource "terraform_data" "user" {
  for_each = toset(["u10", "u2", "u1"])
  input    = each.key
}
removed {
  from = terraform_data.forgot
  lifecycle { destroy = false }
}
moved {
  from = terraform_data.old_name
  to   = terraform_data.new_name
}
resource "terraform_data" "new_name" { input = "m" }
import {
  to = terraform_data.imported
  id = "imported-id-1"
}
resource "terraform_data" "imported" {}
data "terraform_remote_state" "later" {
  backend = "local"
  config  = { path = "${terraform_data.new.output}.tfstate" }
}
output "added" { value = terraform_data.new.output }
"""
    )


def _terraform(workdir: Path, *args: str) -> str:
    proc = subprocess.run(
        ["terraform", *args], cwd=workdir, env=terraform_env(), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"terraform {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def real_plan(workdir: Path) -> tuple[dict[str, Any], str]:
    """Apply V1, plan V2: the plan as `terraform show -json` and as `terraform show` text."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.tf").write_text(config(1))
    _terraform(workdir, "init", "-input=false", "-no-color")
    _terraform(workdir, "apply", "-auto-approve", "-input=false", "-no-color")
    (workdir / "main.tf").write_text(config(2))
    _terraform(workdir, "plan", "-input=false", "-no-color", "-out=plan.tfplan")
    doc = json.loads(_terraform(workdir, "show", "-json", "-no-color", "plan.tfplan"))
    return doc, _terraform(workdir, "show", "-no-color", "plan.tfplan")


# A replace whose old object is kept (`removed` with destroy = false on a resource that must
# also be replaced): Terraform's JSON for it, which terraform_data cannot produce.
HAND_MADE: list[dict[str, Any]] = [
    {
        "address": "aws_s3_bucket.archive",
        "mode": "managed",
        "type": "aws_s3_bucket",
        "name": "archive",
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {
            "actions": ["create", "forget"],
            "before": {"bucket": "archive-v1", "force_destroy": False},
            "after": {"bucket": "archive-v2", "force_destroy": False},
            "after_unknown": {"id": True, "arn": True},
            "before_sensitive": {},
            "after_sensitive": {},
            "replace_paths": [["bucket"]],
        },
        "action_reason": "replace_because_cannot_update",
    }
]


def mixed() -> dict[str, Any]:
    """The saved real plan with the hand-made changes added."""
    doc: dict[str, Any] = json.loads(FIXTURE.read_text())
    doc["resource_changes"] = [*doc["resource_changes"], *HAND_MADE]
    return doc


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        plan, _ = real_plan(Path(tmp))
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(plan, indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE}")
