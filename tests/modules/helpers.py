"""Build one module in a fresh stack and read the synthesized JSON back."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from typing import Any

from infra.synth.stack import InfraStack
from modules.common.cdk import Testing
from modules.common.deployment import Deployment
from modules.common.label import Label

# Testing.app() makes a folder in /tmp for each app when given none, and nothing removes it;
# Testing.synth returns the JSON and writes nothing there. One folder, removed at exit.
_OUTDIR = tempfile.TemporaryDirectory(prefix="cdktf-test-apps-")

DEPLOYMENT = Deployment(account_id="111111111111", region="sa-east-1", azs=("sa-east-1a", "sa-east-1b", "sa-east-1c"))


def label(component: str = "test") -> Label:
    return Label(
        project="edutechbr-lms",
        owner="platform-team",
        environment="dev",
        environment_tag="development",
        suffix="t1",
        component=component,
    )


def new_stack(component: str = "test") -> InfraStack:
    return InfraStack(
        Testing.app(outdir=_OUTDIR.name),
        f"dev-{component}",
        label=label(component),
        account_id=DEPLOYMENT.account_id,
        region=DEPLOYMENT.region,
        state_bucket="state",
        state_key=f"dev/{component}/terraform.tfstate",
    )


def synth(build: Callable[[InfraStack], Any], component: str = "test") -> dict[str, Any]:
    stack = new_stack(component)
    build(stack)
    return json.loads(Testing.synth(stack))


def resources(doc: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return list(doc.get("resource", {}).get(kind, {}).values())


def one(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    found = resources(doc, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def policy(resource: dict[str, Any], key: str = "policy") -> dict[str, Any]:
    return json.loads(resource[key])


def build_platform(stack: InfraStack, **overrides: dict[str, Any]) -> dict[str, Any]:
    """Every module in one stack, wired as the environments wire them; overrides per module."""
    from modules.database import Database, DatabaseProps
    from modules.edge import Edge, EdgeProps
    from modules.kms import Kms, KmsProps
    from modules.lms import Lms, LmsProps
    from modules.network import Network, NetworkProps
    from modules.observability import Observability, ObservabilityProps
    from modules.redis import Redis, RedisProps
    from modules.storage import Storage, StorageProps
    from modules.web import Web, WebProps

    common = {"label": label(), "deployment": DEPLOYMENT}
    built: dict[str, Any] = {}
    kms = built["kms"] = Kms(stack, "Kms", KmsProps(**common, **overrides.get("kms", {})))
    net = built["network"] = Network(
        stack,
        "Network",
        NetworkProps(**common, logs_key=kms.logs_key, tiers=("lms", "web"), **overrides.get("network", {})),
    )
    storage = built["storage"] = Storage(
        stack, "Storage", StorageProps(**common, network=net, key=kms.data_key, **overrides.get("storage", {}))
    )
    storage.allow_from(net.tier_security_group("lms"), "Lms")
    redis = built["redis"] = Redis(
        stack,
        "Redis",
        RedisProps(**common, network=net, key=kms.data_key, logs_key=kms.logs_key, **overrides.get("redis", {})),
    )
    database = built["database"] = Database(
        stack, "Database", DatabaseProps(**common, network=net, key=kms.data_key, **overrides.get("database", {}))
    )
    for tier in ("lms", "web"):
        redis.allow_from(net.tier_security_group(tier), tier.capitalize())
        database.allow_from(net.tier_security_group(tier), tier.capitalize())
    edge = built["edge"] = Edge(
        stack,
        "Edge",
        EdgeProps(
            **common, network=net, logs_key=kms.logs_key, domain="edutech.example.com", **overrides.get("edge", {})
        ),
    )
    stores = {"network": net, "edge": edge, "redis": redis, "database": database}
    built["lms"] = Lms(
        stack,
        "Lms",
        LmsProps(
            **common,
            **stores,
            storage=storage,
            logs_key=kms.logs_key,
            image="lms:1",
            db_secret_name="edutech/lms/db-credentials",
            **overrides.get("lms", {}),
        ),
    )
    built["web"] = Web(stack, "Web", WebProps(**common, **stores, **overrides.get("web", {})))
    built["observability"] = Observability(
        stack,
        "Observability",
        ObservabilityProps(
            **common,
            logs_key=kms.logs_key,
            edge=edge,
            database=database,
            redis=redis,
            lms=built["lms"],
            web=built["web"],
            **overrides.get("observability", {}),
        ),
    )
    return built


def platform(**overrides: dict[str, Any]) -> dict[str, Any]:
    return synth(lambda stack: build_platform(stack, **overrides), "platform")


def named(doc: dict[str, Any], kind: str, prefix: str) -> dict[str, Any]:
    """The one resource of `kind` whose construct path starts with prefix (e.g. "Redis_")."""
    found = [v for k, v in doc.get("resource", {}).get(kind, {}).items() if k.startswith(prefix)]
    assert len(found) == 1, f"expected one {kind} under {prefix}, found {len(found)}"
    return found[0]


def rules_of(doc: dict[str, Any], kind: str, prefix: str) -> list[dict[str, Any]]:
    return [v for k, v in doc.get("resource", {}).get(kind, {}).items() if k.startswith(prefix)]
