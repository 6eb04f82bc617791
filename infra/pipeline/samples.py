"""Real plans to render: small Terraform configurations applied and changed on the emulator.

- "app": applied as v1, changed out of band, then planned as v2. Its plan has a create,
  in-place updates (one of a SecureString: sensitive), replaces (an SQS queue, and an S3
  bucket: stateful), a delete, a data source read, and a change made outside Terraform.
- "quiet": applied, then planned again: no changes.
- "fleet": 500 SSM parameters, planned only (the large-plan case).

The comment tests render them; the benchmark times the render of the 500-resource plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from infra.report.plan import OUTCOMES_FILE
from infra.runner.terraform import Workspace
from infra.synth.graph import StackNode
from infra.toolchain import terraform_env
from infra.versions import AWS_PROVIDER_VERSION

REGION = "sa-east-1"
SECRET_V1, SECRET_V2 = "hunter2-first-secret", "hunter2-second-secret"


def _doc(resources: dict[str, dict[str, Any]], data: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION}}},
        "provider": {"aws": [{"region": REGION}]},
        "resource": resources,
    }
    if data:
        doc["data"] = data
    return doc


def app_v1() -> dict[str, Any]:
    return _doc(
        {
            "aws_ssm_parameter": {
                "app_name": {"name": "/app/name", "type": "String", "value": "lms"},
                "db_password": {"name": "/app/db-password", "type": "SecureString", "value": SECRET_V1},
                "legacy": {"name": "/app/legacy", "type": "String", "value": "old"},
            },
            "aws_sqs_queue": {"jobs": {"name": "jobs-v1"}},
            "aws_s3_bucket": {"content": {"bucket": "content-v1"}},
            "aws_cloudwatch_log_group": {"app": {"name": "/app/lms", "retention_in_days": 7}},
        }
    )


def app_v2() -> dict[str, Any]:
    return _doc(
        {
            "aws_ssm_parameter": {
                "app_name": {"name": "/app/name", "type": "String", "value": "lms-2"},
                "db_password": {"name": "/app/db-password", "type": "SecureString", "value": SECRET_V2},
                # a value with a code fence in it: the renderer must not let it close its own
                "feature_flag": {"name": "/app/feature", "type": "String", "insecure_value": "```on```"},
            },
            "aws_sqs_queue": {"jobs": {"name": "jobs-v2"}},
            "aws_s3_bucket": {"content": {"bucket": "content-v2"}},
            "aws_cloudwatch_log_group": {"app": {"name": "/app/lms", "retention_in_days": 7}},
        },
        data={"aws_caller_identity": {"me": {}}},
    )


def quiet() -> dict[str, Any]:
    return _doc({"aws_ssm_parameter": {"only": {"name": "/quiet/only", "type": "String", "value": "x"}}})


def fleet(count: int = 500) -> dict[str, Any]:
    params = {
        f"p{i:03d}": {"name": f"/fleet/p{i:03d}", "type": "String", "value": f"value-{i}", "tags": {"n": str(i)}}
        for i in range(count)
    }
    return _doc({"aws_ssm_parameter": params})


@dataclass
class Sample:
    """One configuration in its own Terraform working folder (local state)."""

    name: str
    root: Path

    @property
    def workspace(self) -> Workspace:
        config = self.root / "config" / self.name
        node = StackNode(
            name=self.name,
            environment="dev",
            component=self.name,
            scope="environment",
            account="111111111111",
            region=REGION,
            directory=config,
            json_path=config / "cdk.tf.json",
            depends_on=(),
        )
        return Workspace(node, env=terraform_env(), root=self.root / "work")

    def write(self, doc: dict[str, Any]) -> Workspace:
        config = self.root / "config" / self.name
        config.mkdir(parents=True, exist_ok=True)
        (config / "cdk.tf.json").write_text(json.dumps(doc, indent=1))
        ws = self.workspace
        ws.prepare()
        ws.init()
        return ws

    def apply(self, doc: dict[str, Any]) -> None:
        self.write(doc).run("apply", "-auto-approve", "-input=false", "-no-color")

    def plan(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Plan `doc`; the run folder gets what `infra plan` writes (plan.json, outcomes.json)."""
        ws = self.write(doc)
        ws.run("plan", "-input=false", "-no-color", "-out=plan.tfplan")
        shown: dict[str, Any] = json.loads(ws.run("show", "-json", "-no-color", "plan.tfplan").output)
        out = self.root / "run" / self.name
        out.mkdir(parents=True, exist_ok=True)
        (out / "plan.json").write_text(json.dumps(shown))
        outcomes_file = out.parent / OUTCOMES_FILE
        outcomes = json.loads(outcomes_file.read_text()) if outcomes_file.is_file() else {}
        outcomes[self.name] = {"status": "ok", "detail": "", "environment": "dev", "component": self.name}
        outcomes_file.write_text(json.dumps(outcomes))
        return shown


def build(root: Path, fleet_size: int = 500) -> Path:
    """Apply, change and plan the samples against the running emulator; the run folder."""
    app, calm, big = Sample("app", root), Sample("quiet", root), Sample("fleet", root)
    app.apply(app_v1())
    boto3.client("logs", region_name=REGION).put_retention_policy(logGroupName="/app/lms", retentionInDays=30)
    app.plan(app_v2())
    calm.apply(quiet())
    calm.plan(quiet())
    big.plan(fleet(fleet_size))
    return root / "run"


def build_on_emulator(root: Path, fleet_size: int = 500) -> Path:
    """`build` against a fresh emulator, which is stopped afterwards; this process's
    environment is left as it was."""
    from infra.emulator import launcher

    with launcher.running("111111111111", REGION, fresh=True):
        return build(root, fleet_size)
