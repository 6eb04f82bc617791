"""Build one module in a fresh stack and read the synthesized JSON back."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from infra.cdk import Testing
from infra.deployment import Deployment
from infra.label import Label
from infra.stack import InfraStack

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
        Testing.app(),
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
