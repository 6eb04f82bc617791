"""Each component's configuration keys are props of its module, by name: the stack
builders pass `config.model_dump()` straight in, so a renamed prop or key fails here,
naming it, before a synth does."""

from __future__ import annotations

import dataclasses

import pytest

from infra.config.models import Components
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
