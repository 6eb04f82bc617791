"""Two tiny real stacks, synthesized the way CDKTF writes them, for the merge-to-apply tests.

`t-producer` holds an SSM parameter and exports its value; `t-consumer` reads it through
`terraform_remote_state` (as a CDKTF cross-stack reference does). Each "commit" is a synth
output folder with a manifest.json, so the engine's own readers (the graph, the affected
stacks, fingerprints) work on it exactly as on a real synth, in milliseconds and with the
real Terraform against the emulator's S3 backend.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.synth.graph import StackGraph
from infra.versions import AWS_PROVIDER_VERSION

REGION, ACCOUNT, BUCKET, ENV = "sa-east-1", "111111111111", "tiny-state", "t"
SOURCE = "cross-stack-reference-input-t-producer"
OUTPUT = "cross-stack-output-name"


def _doc(component: str, resource: dict[str, Any], **extra: Any) -> dict[str, Any]:
    facts = {"environment": ENV, "component": component, "scope": "environment", "account": ACCOUNT, "region": REGION}
    return {
        "//": {"infra": facts},
        "terraform": {
            "backend": {
                "s3": {
                    "bucket": BUCKET,
                    "key": f"{ENV}/{component}/terraform.tfstate",
                    "region": REGION,
                    "use_lockfile": True,
                    "encrypt": True,
                }
            },
            "required_providers": {"aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION}},
        },
        "provider": {"aws": [{"region": REGION}]},
        "resource": resource,
        **extra,
    }


def producer(value: str, *, bucket: bool = False) -> dict[str, Any]:
    """The producer; with `bucket`, it also holds an S3 bucket (stateful: its delete is gated)."""
    resource: dict[str, Any] = {
        "aws_ssm_parameter": {"source": {"name": "/t/source", "type": "String", "insecure_value": value}}
    }
    if bucket:
        resource["aws_s3_bucket"] = {"data": {"bucket": "tiny-data", "force_destroy": True}}
    return _doc("producer", resource, output={OUTPUT: {"value": "${aws_ssm_parameter.source.insecure_value}"}})


def consumer(suffix: str = "") -> dict[str, Any]:
    source = {
        "backend": "s3",
        "config": {"bucket": BUCKET, "key": f"{ENV}/producer/terraform.tfstate", "region": REGION},
    }
    value = f"${{data.terraform_remote_state.{SOURCE}.outputs.{OUTPUT}}}{suffix}"
    param = {"copy": {"name": "/t/copy", "type": "String", "insecure_value": value}}
    return _doc("consumer", {"aws_ssm_parameter": param}, data={"terraform_remote_state": {SOURCE: source}})


def synth(root: Path, label: str, producer_doc: dict[str, Any], consumer_doc: dict[str, Any]) -> Path:
    """One commit's synth output folder (manifest.json + each stack's cdk.tf.json)."""
    outdir = root / label
    stacks = {}
    for name, doc, deps in (("t-producer", producer_doc, []), ("t-consumer", consumer_doc, ["t-producer"])):
        folder = outdir / "stacks" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cdk.tf.json").write_text(json.dumps(doc, indent=1))
        stacks[name] = {
            "workingDirectory": f"stacks/{name}",
            "synthesizedStackPath": f"stacks/{name}/cdk.tf.json",
            "dependencies": deps,
        }
    (outdir / "manifest.json").write_text(json.dumps({"stacks": stacks}))
    return outdir


def graph(outdir: Path) -> StackGraph:
    return StackGraph.from_synth(outdir)


def parameter(name: str) -> str | None:
    import boto3
    from botocore.exceptions import ClientError

    try:
        value: str = boto3.client("ssm", region_name=REGION).get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError:
        return None
    return value
