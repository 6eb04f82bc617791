"""Web ACL evaluation: what AWS WAF decides for one HTTP request, for the ALB data plane.

`evaluate(rules, default_action, request, rates)` takes the web ACL as the WAFV2 API
describes it (its `Rules` and `DefaultAction`) and answers ALLOW or BLOCK (with the rule
that decided, and the rules that only counted). Rules run in priority order; the first
terminating action (Allow or Block) decides, else the default action.

Evaluated:
- managed rule groups of the vendor AWS, each by a documented subset of its rules
  (`SIGNATURES`, below: the rule names are AWS's, so `RuleActionOverrides` and
  `ExcludedRules` of those names apply); a group's rules block unless overridden to Count
  (or Allow), and the rule's `OverrideAction: Count` turns the whole group into counting:
  - AWSManagedRulesSQLiRuleSet: classic SQL injection (a quote then OR/AND and a
    comparison, `UNION SELECT`, a stacked `; DROP/DELETE/...`, `SLEEP(`/`BENCHMARK(`,
    a quote then a comment) in the query string, the body and the URI path;
  - AWSManagedRulesCommonRuleSet: no or an empty User-Agent, a scanner's User-Agent,
    cross-site scripting (`<script`, `javascript:`, an `on...=` handler inside a tag) in
    the query string, body, URI path and cookies, path traversal (`../`, `/etc/passwd`)
    and the EC2 metadata address (169.254.169.254) in the query string, body and URI path;
  - AWSManagedRulesKnownBadInputsRuleSet: Log4j lookups (`${jndi:`, a nested `${...${`) in
    any header, the query string, body and URI path; `Host: localhost`; the PROPFIND
    method; paths into `.git`, `WEB-INF`, `META-INF`;
  values are URL-decoded (twice, as `+` and `%xx`) and lower-cased before matching; the
  body is inspected up to its first 8 KB (the ALB default);
- rate-based rules: requests counted per source IP (`AggregateKeyType: IP`, or the first
  address of the configured forwarded-IP header for `FORWARDED_IP`) over
  `EvaluationWindowSec` (300 s by default); a request beyond `Limit` in the window gets the
  rule's action. Counting is exact and immediate (AWS WAF counts in intervals and acts
  within about a minute, so a real burst overshoots the limit before it is blocked);
- actions Allow, Block (with its custom response code), Count; a Block answers 403 unless
  a custom response code says otherwise.

Not evaluated (a rule with them never matches): the other managed groups (their lists,
such as the IP reputation and anonymous IP lists, are AWS's data: requests from here are
never on them), scope-down statements, managed group versions, any other statement (byte
match, regex, geo, IP set, size, label, and/or/not), labels, CAPTCHA and Challenge
actions (they count), custom request headers, rate keys other than the IP.
"""

from __future__ import annotations

import collections
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

BODY_LIMIT = 8 * 1024  # bytes of the body WAF inspects for an ALB by default
WINDOW = 300  # seconds: a rate-based rule's default evaluation window


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # the request target as sent: path and query string
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None


@dataclass(frozen=True)
class Verdict:
    action: str  # "ALLOW" or "BLOCK"
    rule: str | None = None  # "<rule>" or "<rule>:<managed rule>" that decided; None: default
    status: int = 403  # the answer of a block
    counted: tuple[str, ...] = ()

    @property
    def blocked(self) -> bool:
        return self.action == "BLOCK"


def _decode(value: str) -> str:
    for _ in range(2):
        value = urllib.parse.unquote_plus(value)
    return value.lower()


def _parts(request: Request) -> dict[str, list[str]]:
    """What the signatures inspect, decoded: one list of texts per component."""
    path, _, query = request.target.partition("?")
    body = request.body[:BODY_LIMIT].decode("utf-8", errors="replace")
    return {
        "URIPATH": [_decode(path)],
        "QUERY": [_decode(query)],
        "BODY": [_decode(body)],
        "COOKIE": [_decode(request.header("cookie") or "")],
        "HEADER": [_decode(v) for _, v in request.headers],
        "USERAGENT": [(request.header("user-agent") or "").lower()],
        "HOST": [(request.header("host") or "").lower()],
        "METHOD": [request.method.upper()],
    }


_SQLI = (
    r"['\"`]\s*\)?\s*(or|and)\s+['\"`]?\w*['\"`]?\s*(=|<|>|like\b)"  # ' OR '1'='1, " and 1=1
    r"|\bunion(\s+all|\s+distinct)?\s+select\b"
    r"|;\s*(drop|delete|insert|update|shutdown|exec|alter|create)\s"
    r"|\b(sleep|benchmark|pg_sleep)\s*\("
    r"|['\"`]\s*(--|#|/\*)"
)
_XSS = r"<\s*script\b|javascript\s*:|<[^>]*\son[a-z]+\s*="
_LFI = r"\.\./|\.\.\\|/etc/(passwd|shadow)"
_SSRF = r"169\.254\.169\.254"
_LOG4J = r"\$\{\s*jndi\s*:|\$\{[^}]*\$\{"

# (managed group, AWS's rule name, components inspected, pattern or test)
SIGNATURES: tuple[tuple[str, str, str, str | Callable[[str], bool]], ...] = (
    ("AWSManagedRulesSQLiRuleSet", "SQLi_QUERYARGUMENTS", "QUERY", _SQLI),
    ("AWSManagedRulesSQLiRuleSet", "SQLi_BODY", "BODY", _SQLI),
    ("AWSManagedRulesSQLiRuleSet", "SQLi_URIPATH", "URIPATH", _SQLI),
    ("AWSManagedRulesSQLiRuleSet", "SQLi_COOKIE", "COOKIE", _SQLI),
    ("AWSManagedRulesCommonRuleSet", "NoUserAgent_HEADER", "USERAGENT", lambda ua: not ua.strip()),
    ("AWSManagedRulesCommonRuleSet", "UserAgent_BadBots_HEADER", "USERAGENT", r"nessus|nmap|sqlmap|nikto"),
    ("AWSManagedRulesCommonRuleSet", "CrossSiteScripting_QUERYARGUMENTS", "QUERY", _XSS),
    ("AWSManagedRulesCommonRuleSet", "CrossSiteScripting_BODY", "BODY", _XSS),
    ("AWSManagedRulesCommonRuleSet", "CrossSiteScripting_URIPATH", "URIPATH", _XSS),
    ("AWSManagedRulesCommonRuleSet", "CrossSiteScripting_COOKIE", "COOKIE", _XSS),
    ("AWSManagedRulesCommonRuleSet", "GenericLFI_QUERYARGUMENTS", "QUERY", _LFI),
    ("AWSManagedRulesCommonRuleSet", "GenericLFI_URIPATH", "URIPATH", _LFI),
    ("AWSManagedRulesCommonRuleSet", "GenericLFI_BODY", "BODY", _LFI),
    ("AWSManagedRulesCommonRuleSet", "EC2MetaDataSSRF_QUERYARGUMENTS", "QUERY", _SSRF),
    ("AWSManagedRulesCommonRuleSet", "EC2MetaDataSSRF_BODY", "BODY", _SSRF),
    ("AWSManagedRulesCommonRuleSet", "EC2MetaDataSSRF_URIPATH", "URIPATH", _SSRF),
    ("AWSManagedRulesKnownBadInputsRuleSet", "Log4JRCE_HEADER", "HEADER", _LOG4J),
    ("AWSManagedRulesKnownBadInputsRuleSet", "Log4JRCE_QUERYSTRING", "QUERY", _LOG4J),
    ("AWSManagedRulesKnownBadInputsRuleSet", "Log4JRCE_BODY", "BODY", _LOG4J),
    ("AWSManagedRulesKnownBadInputsRuleSet", "Log4JRCE_URIPATH", "URIPATH", _LOG4J),
    ("AWSManagedRulesKnownBadInputsRuleSet", "Host_localhost_HEADER", "HOST", r"^localhost(:\d+)?$"),
    ("AWSManagedRulesKnownBadInputsRuleSet", "PROPFIND_METHOD", "METHOD", r"^PROPFIND$"),
    ("AWSManagedRulesKnownBadInputsRuleSet", "ExploitablePaths_URIPATH", "URIPATH", r"/(\.git|web-inf|meta-inf)(/|$)"),
)


def _matches(test: str | Callable[[str], bool], texts: Iterable[str]) -> bool:
    if callable(test):
        return any(test(t) for t in texts)
    return any(re.search(test, t, re.IGNORECASE) for t in texts)


def managed_matches(group: str, request: Request) -> list[str]:
    """The names of the group's rules (of our subset) that this request matches."""
    parts = _parts(request)
    return [name for g, name, part, test in SIGNATURES if g == group and _matches(test, parts[part])]


class RateCounter:
    """Requests per key in a sliding window (thread-safe)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, ...], collections.deque[float]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def hit(self, key: tuple[str, ...], window: float, now: float) -> int:
        """Count one request now; the requests of the key in the window, this one included."""
        with self._lock:
            seen = self._seen[key]
            seen.append(now)
            while seen and seen[0] <= now - window:
                seen.popleft()
            return len(seen)


def _action(action: Mapping[str, Any] | None) -> str:
    """ALLOW, BLOCK or COUNT (CAPTCHA and Challenge are not evaluated: they count)."""
    kind = next(iter(action or {}), "Count").upper()
    return kind if kind in ("ALLOW", "BLOCK") else "COUNT"


def _block_status(action: Mapping[str, Any] | None) -> int:
    response = (action or {}).get("Block", {}).get("CustomResponse") or {}
    return int(response.get("ResponseCode", 403))


def _source(request: Request, statement: Mapping[str, Any]) -> str:
    if statement.get("AggregateKeyType") == "FORWARDED_IP":
        header = statement.get("ForwardedIPConfig", {}).get("HeaderName", "X-Forwarded-For")
        forwarded = (request.header(header) or "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return request.source_ip


@dataclass
class _Outcome:
    counted: list[str] = field(default_factory=list)


def evaluate(
    rules: Iterable[Mapping[str, Any]],
    default_action: Mapping[str, Any],
    request: Request,
    rates: RateCounter,
    *,
    scope: str = "",
    now: float | None = None,
) -> Verdict:
    """The web ACL's verdict on the request (see the module docstring for what is evaluated).
    `scope` keeps the rate counts of different web ACLs apart."""
    now = time.monotonic() if now is None else now
    outcome = _Outcome()
    for rule in sorted(rules, key=lambda r: int(r.get("Priority", 0))):
        statement = rule.get("Statement") or {}
        name = str(rule.get("Name", ""))
        if "ManagedRuleGroupStatement" in statement:
            group = statement["ManagedRuleGroupStatement"]
            if group.get("VendorName") != "AWS":
                continue
            overrides = {o["Name"]: _action(o.get("ActionToUse")) for o in group.get("RuleActionOverrides") or []}
            overrides.update({e["Name"]: "COUNT" for e in group.get("ExcludedRules") or []})
            group_counts = "Count" in (rule.get("OverrideAction") or {})
            for hit in managed_matches(str(group.get("Name")), request):
                action = "COUNT" if group_counts else overrides.get(hit, "BLOCK")
                if action == "COUNT":
                    outcome.counted.append(f"{name}:{hit}")
                    continue
                return Verdict(action, f"{name}:{hit}", 403, tuple(outcome.counted))
        elif "RateBasedStatement" in statement:
            rate = statement["RateBasedStatement"]
            if rate.get("AggregateKeyType", "IP") not in ("IP", "FORWARDED_IP"):
                continue
            window = float(rate.get("EvaluationWindowSec") or WINDOW)
            count = rates.hit((scope, name, _source(request, rate)), window, now)
            if count <= int(rate["Limit"]):
                continue
            action = _action(rule.get("Action"))
            if action == "COUNT":
                outcome.counted.append(name)
                continue
            return Verdict(action, name, _block_status(rule.get("Action")), tuple(outcome.counted))
    action = _action(default_action)
    if action == "BLOCK":
        return Verdict("BLOCK", None, _block_status(default_action), tuple(outcome.counted))
    return Verdict("ALLOW", None, 200, tuple(outcome.counted))
