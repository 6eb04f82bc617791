"""Synth of every environment: one state per stack, tags, names, provider, no emulator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.config import ConfigError, load_environment
from infra.policy.rules import NOT_NAMES
from infra.versions import AWS_PROVIDER_VERSION

ENVS = ("dev", "staging", "prod")


def stack_docs(synthesized) -> dict[str, dict]:
    _, graph = synthesized
    return {name: json.loads(node.json_path.read_text()) for name, node in graph.nodes.items()}


def test_every_environment_has_every_component_and_each_account_one_stack(synthesized):
    _, graph = synthesized
    for env in ENVS:
        components = {graph.nodes[n].component for n in graph.for_environments([env])}
        assert {"account", "kms", "network"} <= components
    accounts = sorted(n for n, node in graph.nodes.items() if node.scope == "account")
    assert accounts == ["nonprod-sa-east-1-account", "prod-sa-east-1-account"]


def test_each_stack_has_its_own_encrypted_locked_state(synthesized):
    docs = stack_docs(synthesized)
    states = [
        (doc["terraform"]["backend"]["s3"]["bucket"], doc["terraform"]["backend"]["s3"]["key"]) for doc in docs.values()
    ]
    assert len(states) == len(set(states))
    for name, doc in docs.items():
        backend = doc["terraform"]["backend"]["s3"]
        assert backend["encrypt"] is True and backend["use_lockfile"] is True, name
        facts = doc["//"]["infra"]
        if facts["scope"] == "environment":
            assert backend["key"] == f"{facts['environment']}/{facts['component']}/terraform.tfstate"
        account = load_environment({"nonprod": "dev", "prod": "prod"}[facts["account"]]).config.account
        assert backend["bucket"] == account.state_bucket


def test_the_provider_is_the_mirrors_aws_and_nothing_else(synthesized):
    for name, doc in stack_docs(synthesized).items():
        assert doc["terraform"]["required_providers"] == {
            "aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION}
        }, name
        assert list(doc["provider"]) == ["aws"], name


def test_default_tags_carry_the_standard_five(synthesized):
    for name, doc in stack_docs(synthesized).items():
        tags = doc["provider"]["aws"][0]["default_tags"][0]["tags"]
        assert set(tags) == {"Environment", "Owner", "Project", "Component", "ManagedBy"}, name
        assert tags["Component"] == doc["//"]["infra"]["component"]
    prod = stack_docs(synthesized)["prod-network"]["provider"]["aws"][0]
    assert prod["default_tags"][0]["tags"]["Environment"] == "production"
    assert prod["default_tags"][0]["tags"]["Project"] == "edutechbr-lms"
    assert prod["allowed_account_ids"] == ["222222222222"]


def test_every_role_carries_its_accounts_permissions_boundary(synthesized):
    """The apply role may make a role only with the boundary (docs/trust-model.md): a role
    without it would fail the apply on AWS, and could do more than the apply role."""
    from modules.ci_identities.documents import boundary_arn

    roles = 0
    for name, doc in stack_docs(synthesized).items():
        if doc["//"]["infra"]["scope"] == "bootstrap":  # its own roles: test_bootstrap_stack.py
            continue
        account = doc["provider"]["aws"][0]["allowed_account_ids"][0]
        for role_name, role in doc.get("resource", {}).get("aws_iam_role", {}).items():
            roles += 1
            assert role.get("permissions_boundary") == boundary_arn(account), (name, role_name)
    assert roles >= 3 * 6  # the environments' roles (LMS, probe, database, network, web) and the accounts'


def test_nothing_points_at_an_emulator(synthesized):
    """The same JSON goes to real AWS and to the emulator: emulation is environment only."""
    result, _ = synthesized
    for path in Path(result.outdir).rglob("cdk.tf.json"):
        text = path.read_text()
        # URLs, not bare addresses: the X-Ray sidecar legitimately listens on 127.0.0.1:2000.
        for marker in (
            "http://localhost",
            "http://127.0.0.1",
            "skip_credentials_validation",
            '"endpoints"',
            "s3_use_path_style",
            "AWS_ENDPOINT_URL",
        ):
            assert marker not in text, f"{path}: {marker}"


def test_every_physical_name_comes_from_label(synthesized):
    environments = re.compile(r"(^|[/:])[a-z0-9-]+-(dev|staging|prod)-(dev01|stg01|prd01)(-[0-9a-f]{6})?$")
    # the account stacks' names: <kind>-<account>-<region>, whichever environment built them
    accounts = re.compile(r"(^|[/:])[a-z0-9-]+-(nonprod|prod)-sa-east-1(-[0-9a-f]{6})?$")
    for name, doc in stack_docs(synthesized).items():
        if doc["//"]["infra"]["scope"] == "bootstrap":  # the CI identities' fixed names: the workflows name them
            continue
        pattern = accounts if doc["//"]["infra"]["scope"] == "account" else environments
        for kind, items in doc.get("resource", {}).items():
            for rid, props in items.items():
                value = props.get("name")
                if (kind, "name") in NOT_NAMES:
                    continue
                if isinstance(value, str) and not value.startswith("${"):
                    assert pattern.search(value), f"{name}: {kind}.{rid} name {value!r} is not from Label"


def test_each_account_has_a_trail_and_guardduty_plans_from_the_account_layers(synthesized):
    docs = stack_docs(synthesized)
    for stack in ("nonprod-sa-east-1-account", "prod-sa-east-1-account"):
        resources = docs[stack]["resource"]
        [trail] = resources["aws_cloudtrail"].values()
        assert trail["is_multi_region_trail"] is True and trail["name"] == f"trail-{stack.removesuffix('-account')}"
        assert len(resources["aws_cloudwatch_log_metric_filter"]) == 15
        statuses = {f["name"]: f["status"] for f in resources["aws_guardduty_detector_feature"].values()}
        assert statuses == dict.fromkeys(
            [
                "S3_DATA_EVENTS",
                "RDS_LOGIN_EVENTS",
                "EBS_MALWARE_PROTECTION",
                "RUNTIME_MONITORING",
                "EKS_AUDIT_LOGS",
                "LAMBDA_NETWORK_LOGS",
            ],
            "ENABLED",
        )
        assert {"cloudtrail_arn", "security_alarm_topic_arn", "guardduty_detector_id"} <= set(docs[stack]["output"])
    # prod's log buckets survive a destroy; nonprod's are emptied with it (deletion_protection)
    for stack, kept in (("prod-sa-east-1-account", True), ("nonprod-sa-east-1-account", False)):
        assert {b["force_destroy"] for b in docs[stack]["resource"]["aws_s3_bucket"].values()} == {not kept}


def test_network_depends_on_kms_through_a_cross_stack_reference(synthesized):
    _, graph = synthesized
    assert graph.nodes["prod-network"].depends_on == ("prod-kms",)
    doc = stack_docs(synthesized)["prod-network"]
    assert "cross-stack-reference-input-prod-kms" in doc["data"]["terraform_remote_state"]


def test_prod_has_a_nat_gateway_per_zone_and_dev_one(synthesized):
    docs = stack_docs(synthesized)
    assert len(docs["prod-network"]["resource"]["aws_nat_gateway"]) == 3
    assert len(docs["dev-network"]["resource"]["aws_nat_gateway"]) == 1


def test_a_suffixed_copy_gets_its_own_names_and_state(tmp_path, monkeypatch, synthesized):
    from infra.synth import synthesize

    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "pr7")
    result = synthesize(["dev"], outdir=tmp_path / "out")
    doc = json.loads((result.outdir / "stacks/dev-pr7-network/cdk.tf.json").read_text())
    assert doc["terraform"]["backend"]["s3"]["key"] == "dev-pr7/network/terraform.tfstate"
    assert [v["tags"]["Name"] for v in doc["resource"]["aws_vpc"].values()] == ["vpc-dev-pr7"]
    account = json.loads((result.outdir / "stacks/nonprod-sa-east-1-account/cdk.tf.json").read_text())
    assert account["terraform"]["backend"]["s3"]["key"] == "_account/sa-east-1/account/terraform.tfstate"
    # the shared account stack is the same whichever copy builds it: nothing in it is renamed
    shared = stack_docs(synthesized)["nonprod-sa-east-1-account"]
    assert account["resource"] == shared["resource"] and account["provider"] == shared["provider"]


def test_bad_config_synthesizes_nothing(tmp_path, layers, write, monkeypatch):
    from infra.synth import synthesize

    write("nonprod/sa-east-1/dev/network.toml", 'cidr = "10.0.0.0/8/8"\n')
    monkeypatch.setattr("infra.config.layers.ENVIRONMENTS", layers)
    with pytest.raises(ConfigError, match="components.network.cidr"):
        synthesize(["dev"], outdir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
