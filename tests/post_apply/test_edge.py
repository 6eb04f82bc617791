"""The ALB has the WAF web ACL, only an HTTPS listener and a TLS 1.2+ policy."""

from __future__ import annotations

from tests.post_apply.conftest import expect

MANAGED = {
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
}


def test_the_web_acl_is_associated_with_the_alb(aws, outputs):
    acl = aws("wafv2").get_web_acl_for_resource(ResourceArn=outputs["alb_arn"]).get("WebACL")
    assert acl, f"no web ACL is associated with {outputs['alb_arn']}"
    expect(acl["ARN"], outputs["web_acl_arn"], "web ACL on the ALB")


def test_the_web_acl_has_the_managed_groups_and_a_rate_limit(aws, outputs):
    acl_id = outputs["web_acl_arn"].rsplit("/", 1)[1]
    name = outputs["web_acl_arn"].rsplit("/", 2)[1]
    acl = aws("wafv2").get_web_acl(Name=name, Scope="REGIONAL", Id=acl_id)["WebACL"]
    groups = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in acl["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert groups >= MANAGED, f"managed rule groups: expected at least {sorted(MANAGED)}, found {sorted(groups)}"
    assert any("RateBasedStatement" in r["Statement"] for r in acl["Rules"]), "no rate-based rule"


def test_waf_logging_is_on(aws, outputs):
    config = aws("wafv2").get_logging_configuration(ResourceArn=outputs["web_acl_arn"])["LoggingConfiguration"]
    assert config["LogDestinationConfigs"], "WAF logging has no destination"


def test_only_an_https_listener_with_tls_1_2_or_newer(aws, outputs):
    listeners = aws("elbv2").describe_listeners(LoadBalancerArn=outputs["alb_arn"])["Listeners"]
    expect(sorted((x["Port"], x["Protocol"]) for x in listeners), [(443, "HTTPS")], "ALB listeners")
    policy = listeners[0].get("SslPolicy", "")
    assert policy.startswith("ELBSecurityPolicy-TLS13") or "TLS-1-2" in policy, f"TLS policy {policy!r}"


def test_the_alb_admits_https_only(aws, outputs):
    alb = aws("elbv2").describe_load_balancers(LoadBalancerArns=[outputs["alb_arn"]])["LoadBalancers"][0]
    groups = aws("ec2").describe_security_groups(GroupIds=alb["SecurityGroups"])["SecurityGroups"]
    ports = sorted({(p.get("FromPort"), p.get("ToPort")) for g in groups for p in g["IpPermissions"]})
    expect(ports, [(443, 443)], "ports the ALB admits")
