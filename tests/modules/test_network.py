from __future__ import annotations

import pytest

from modules.kms import Kms, KmsProps
from modules.network import Network, NetworkProps
from tests.modules.helpers import DEPLOYMENT, label, one, policy, resources, synth


def build_network(**overrides):
    def build(stack):
        kms = Kms(stack, "Kms", KmsProps(label=label("kms"), deployment=DEPLOYMENT))
        props = {"label": label("network"), "deployment": DEPLOYMENT, "logs_key": kms.logs_key, **overrides}
        return Network(stack, "Network", NetworkProps(**props))

    return synth(build, "network")


def test_one_public_and_one_private_subnet_per_zone():
    subnets = resources(build_network(), "aws_subnet")
    by_tier = {
        tier: sorted(s["availability_zone"] for s in subnets if s["tags"]["Tier"] == tier)
        for tier in ("public", "private")
    }
    assert by_tier == {"public": list(DEPLOYMENT.azs), "private": list(DEPLOYMENT.azs)}


def test_no_subnet_gives_instances_public_addresses():
    assert all(s.get("map_public_ip_on_launch") in (False, None) for s in resources(build_network(), "aws_subnet"))


@pytest.mark.parametrize(("mode", "count"), [("single", 1), ("per_az", 3)])
def test_nat_gateways_follow_the_mode(mode, count):
    doc = build_network(nat_gateways=mode)
    assert len(resources(doc, "aws_nat_gateway")) == count
    assert len(resources(doc, "aws_eip")) == count


def test_per_az_nat_keeps_each_zone_on_its_own_gateway():
    doc = build_network(nat_gateways="per_az")
    targets = {r["nat_gateway_id"] for r in resources(doc, "aws_route") if "nat_gateway_id" in r}
    assert len(targets) == 3


def test_flow_logs_capture_all_traffic_into_an_encrypted_group():
    doc = build_network(flow_log_retention_days=90)
    flow = one(doc, "aws_flow_log")
    assert flow["traffic_type"] == "ALL"
    group = one(doc, "aws_cloudwatch_log_group")
    assert group["retention_in_days"] == 90
    assert group["kms_key_id"].startswith("${aws_kms_key.")


def test_flow_log_role_writes_only_its_own_group():
    doc = build_network()
    statement = policy(one(doc, "aws_iam_role_policy"))["Statement"][0]
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    assert all(r.startswith("${aws_cloudwatch_log_group.") for r in statement["Resource"])
    trust = policy(one(doc, "aws_iam_role"), "assume_role_policy")["Statement"][0]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}


def test_the_default_security_group_is_closed():
    group = one(build_network(), "aws_default_security_group")
    assert "ingress" not in group and "egress" not in group


def test_tier_groups_start_with_no_rules():
    groups = resources(build_network(tiers=("lms", "web")), "aws_security_group")
    assert sorted(g["name"] for g in groups) == ["secgroup-lms-dev-t1", "secgroup-web-dev-t1"]
    assert all("ingress" not in g and "egress" not in g for g in groups)


def test_fails_when_a_zone_has_no_subnet():
    with pytest.raises(ValueError, match="one public and one private subnet per zone"):
        NetworkProps(label=label(), deployment=DEPLOYMENT, logs_key=None, public_subnets=("10.0.0.0/24",))  # type: ignore[arg-type]
