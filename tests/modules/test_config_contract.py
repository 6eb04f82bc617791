"""Each component's configuration keys are props of its module, by name: the stack
builders pass `config.model_dump()` straight in, so a renamed prop or key fails here,
naming it, before a synth does. Where a prop has a default and root.toml states the
value too, the two agree: a module used on its own behaves as the environments do.

The same holds for the account stack's modules, configured under [account.<module>]."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Sequence
from typing import Any

import pytest

from infra.config.models import Account, Components
from infra.paths import ENVIRONMENTS
from modules.audit import AuditProps
from modules.database import DatabaseProps
from modules.edge import EdgeProps
from modules.guardduty import ThreatDetectionProps
from modules.kms import KmsProps
from modules.lms import LmsProps
from modules.network import NetworkProps
from modules.observability import ObservabilityProps
from modules.redis import RedisProps
from modules.storage import StorageProps
from modules.web import WebProps

PROPS = {
    "kms": KmsProps,
    "network": NetworkProps,
    "storage": StorageProps,
    "redis": RedisProps,
    "database": DatabaseProps,
    "edge": EdgeProps,
    "lms": LmsProps,
    "web": WebProps,
    "observability": ObservabilityProps,
}
NOT_PROPS = {"network": {"az_count"}}  # az_count chooses the zones of the Deployment
# The account stack's modules: [account.<key>] tables (the rest of [account] is no module's).
ACCOUNT_PROPS = {"guardduty": ThreatDetectionProps, "audit": AuditProps}
ACCOUNT_FACTS = {"name", "id", "state_bucket"}
# (table, key) -> props, for every configured module
ALL_PROPS = {("components", c): p for c, p in PROPS.items()} | {("account", c): p for c, p in ACCOUNT_PROPS.items()}
MODELS = {"components": Components, "account": Account}


def test_every_component_has_props():
    assert set(PROPS) == set(Components.model_fields)
    assert set(ACCOUNT_PROPS) == set(Account.model_fields) - ACCOUNT_FACTS


@pytest.mark.parametrize(("table", "component"), sorted(ALL_PROPS))
def test_config_keys_are_props(table, component):
    config = MODELS[table].model_fields[component].annotation
    keys = set(config.model_fields) - NOT_PROPS.get(component, set())
    props = {f.name for f in dataclasses.fields(ALL_PROPS[table, component])}
    assert keys - props == set(), f"{component}: keys that are not props of {ALL_PROPS[table, component].__name__}"


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _comparable(value: Any) -> Any:
    """TOML has lists where props have tuples."""
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else value


@pytest.mark.parametrize(("table", "component"), sorted(ALL_PROPS))
def test_prop_defaults_agree_with_root(table, component):
    root = tomllib.loads((ENVIRONMENTS / "root.toml").read_text())
    stated = root.get(table, {}).get(component, {})
    props = ALL_PROPS[table, component]
    differ = []
    for field in dataclasses.fields(props):
        default = _default(field)
        if default is dataclasses.MISSING or field.name not in stated:
            continue
        if _comparable(default) != _comparable(stated[field.name]):
            differ.append(f"{field.name}: {props.__name__} default {default!r}, root.toml {stated[field.name]!r}")
    assert not differ, f"{component}: prop defaults differ from environments/root.toml: " + "; ".join(differ)
