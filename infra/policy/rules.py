"""Our own rules over synthesized stacks (cdk-nag's shape): one function per rule.

A rule takes one stack's Terraform JSON and yields violations. `check(docs)` runs them
all. Each has a compliant and a non-compliant test in tests/policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Doc = Mapping[str, Any]

OPEN_CIDRS = {"0.0.0.0/0", "::/0"}
STANDARD_TAGS = {"Environment", "Owner", "Project", "Component", "ManagedBy"}
# Data stores and where each says which key encrypts it.
CUSTOMER_KEY_ATTRIBUTE = {
    "aws_db_instance": "kms_key_id",
    "aws_elasticache_replication_group": "kms_key_id",
    "aws_efs_file_system": "kms_key_id",
    "aws_cloudwatch_log_group": "kms_key_id",
    "aws_sns_topic": "kms_master_key_id",
}
SECRET_ATTRIBUTES = {"password", "master_password", "auth_token", "secret_string", "secret_binary", "passwords"}
SECRET_DATA_SOURCES = {"aws_secretsmanager_secret_version", "aws_ssm_parameter_with_decryption"}
SECRET_PATTERNS = (
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)\b(password|passwd|secret)\s*[=:]\s*[^\s$\"{]{6,}"),
)
# Names: <kind>-<environment>-<suffix>, perhaps after a service's fixed prefix ("alias/").
LABEL_NAME = re.compile(r"^(alias/|/[a-z]+/|aws-waf-logs-)?[a-z][a-z0-9-]*-[a-z0-9]+-[a-z0-9]+(-[0-9a-f]{6})?$")
NAME_ATTRIBUTES = (
    "name",
    "identifier",
    "replication_group_id",
    "family",
    "creation_token",
    "bucket",
    "alarm_name",
    "dashboard_name",
    "rule_name",
    "group_name",
    "user_group_id",
)
NOT_NAMES = {
    ("aws_db_parameter_group", "family"),
    ("aws_elasticache_parameter_group", "family"),
    ("aws_guardduty_detector_feature", "name"),  # the feature's AWS name (S3_DATA_EVENTS)
}


@dataclass(frozen=True)
class Violation:
    rule: str
    stack: str
    resource: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.stack}: {self.resource}: {self.message}"


def _resources(doc: Doc) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    for kind, items in doc.get("resource", {}).items():
        for name, props in items.items():
            yield kind, name, props


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if k != "//":
                yield from _strings(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")


def _stack(doc: Doc) -> str:
    return str(doc.get("//", {}).get("metadata", {}).get("stackName", "?"))


def no_open_ingress_except_https_on_the_alb(doc: Doc) -> Iterator[Violation]:
    """Nothing is reachable from the internet but the ALB's port 443."""
    for kind, name, props in _resources(doc):
        rules: list[Mapping[str, Any]] = []
        if kind == "aws_vpc_security_group_ingress_rule":
            rules = [props]
        elif kind in ("aws_security_group", "aws_default_security_group"):
            rules = list(props.get("ingress", []))
        elif kind == "aws_security_group_rule" and props.get("type") == "ingress":
            rules = [props]
        for rule in rules:
            cidrs = {
                rule.get("cidr_ipv4"),
                rule.get("cidr_ipv6"),
                *rule.get("cidr_blocks", []),
                *rule.get("ipv6_cidr_blocks", []),
            }
            if cidrs & OPEN_CIDRS and not (
                name.startswith("Edge_") and rule.get("from_port") == 443 and rule.get("to_port") == 443
            ):
                yield Violation(
                    "open-ingress",
                    _stack(doc),
                    f"{kind}.{name}",
                    f"ingress from {sorted(cidrs & OPEN_CIDRS)} on port {rule.get('from_port')}",
                )


def data_stores_use_customer_keys(doc: Doc) -> Iterator[Violation]:
    """RDS, ElastiCache, EFS, log groups and topics are encrypted with a key of ours."""
    for kind, name, props in _resources(doc):
        attribute = CUSTOMER_KEY_ATTRIBUTE.get(kind)
        if attribute is None:
            continue
        key = props.get(attribute)
        if not (isinstance(key, str) and "aws_kms_key" in key):  # a reference to one of our keys
            yield Violation("customer-key", _stack(doc), f"{kind}.{name}", f"{attribute} is not a customer KMS key")
        flags = {
            "aws_db_instance": "storage_encrypted",
            "aws_efs_file_system": "encrypted",
            "aws_elasticache_replication_group": "at_rest_encryption_enabled",
        }
        if kind in flags and str(props.get(flags[kind])).lower() != "true":
            yield Violation("customer-key", _stack(doc), f"{kind}.{name}", f"{flags[kind]} is not true")


def no_secret_values(doc: Doc) -> Iterator[Violation]:
    """No password, token or key in the JSON, and no data source that reads a secret's value."""
    for kind in doc.get("data", {}):
        if kind in SECRET_DATA_SOURCES:
            yield Violation("no-secrets", _stack(doc), f"data.{kind}", "reads a secret's value into state")
    for kind, name, props in _resources(doc):
        for attribute in SECRET_ATTRIBUTES & set(props):
            yield Violation("no-secrets", _stack(doc), f"{kind}.{name}", f"sets {attribute}")
    for path, text in _strings(doc):
        for pattern in SECRET_PATTERNS:
            if pattern.search(text):
                yield Violation("no-secrets", _stack(doc), path, f"looks like a secret ({pattern.pattern[:24]}...)")


def every_taggable_resource_is_tagged(doc: Doc, taggable: frozenset[str]) -> Iterator[Violation]:
    """The provider adds the standard tags; each taggable resource adds its Name."""
    providers = doc.get("provider", {}).get("aws", [{}])
    default = (providers[0].get("default_tags") or [{}])[0].get("tags", {})
    if missing := STANDARD_TAGS - set(default):
        yield Violation("tagged", _stack(doc), "provider.aws", f"default_tags lack {sorted(missing)}")
    for kind, name, props in _resources(doc):
        if kind in taggable and "Name" not in (props.get("tags") or {}):
            yield Violation("tagged", _stack(doc), f"{kind}.{name}", "no Name tag")


def every_name_comes_from_label(doc: Doc) -> Iterator[Violation]:
    """Physical names are <kind>-<environment>-<suffix>, made by Label."""
    for kind, name, props in _resources(doc):
        for attribute in NAME_ATTRIBUTES:
            value = props.get(attribute)
            if (kind, attribute) in NOT_NAMES or not isinstance(value, str) or value.startswith("${"):
                continue
            if not LABEL_NAME.match(value):
                yield Violation(
                    "label-names", _stack(doc), f"{kind}.{name}", f"{attribute} {value!r} is not from Label"
                )


Rule = Callable[[Doc], Iterable[Violation]]


def rules(taggable: frozenset[str]) -> dict[str, Rule]:
    return {
        "open-ingress": no_open_ingress_except_https_on_the_alb,
        "customer-key": data_stores_use_customer_keys,
        "no-secrets": no_secret_values,
        "tagged": lambda doc: every_taggable_resource_is_tagged(doc, taggable),
        "label-names": every_name_comes_from_label,
    }


def check(docs: Iterable[Doc], taggable: frozenset[str]) -> list[Violation]:
    found: list[Violation] = []
    for doc in docs:
        for rule in rules(taggable).values():
            found.extend(rule(doc))
    return found
