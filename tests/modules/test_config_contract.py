"""Each component's configuration keys are props of its module, by name: the stack
builders pass `config.model_dump()` straight in, so a renamed prop or key fails here,
naming it, before a synth does. Where a prop has a default and root.toml states the
value too, the two agree: a module used on its own behaves as the environments do."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Sequence
from typing import Any

import pytest

from infra.config.models import Components
from infra.paths import ENVIRONMENTS
from modules.database import DatabaseProps
from modules.edge import EdgeProps
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


def test_every_component_has_props():
    assert set(PROPS) == set(Components.model_fields)


@pytest.mark.parametrize("component", sorted(PROPS))
def test_config_keys_are_props(component):
    config = Components.model_fields[component].annotation
    keys = set(config.model_fields) - NOT_PROPS.get(component, set())
    props = {f.name for f in dataclasses.fields(PROPS[component])}
    assert keys - props == set(), f"{component}: keys that are not props of {PROPS[component].__name__}"


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _comparable(value: Any) -> Any:
    """TOML has lists where props have tuples."""
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else value


@pytest.mark.parametrize("component", sorted(PROPS))
def test_prop_defaults_agree_with_root(component):
    root = tomllib.loads((ENVIRONMENTS / "root.toml").read_text())
    stated = root.get("components", {}).get(component, {})
    differ = []
    for field in dataclasses.fields(PROPS[component]):
        default = _default(field)
        if default is dataclasses.MISSING or field.name not in stated:
            continue
        if _comparable(default) != _comparable(stated[field.name]):
            differ.append(
                f"{field.name}: {PROPS[component].__name__} default {default!r}, root.toml {stated[field.name]!r}"
            )
    assert not differ, f"{component}: prop defaults differ from environments/root.toml: " + "; ".join(differ)
