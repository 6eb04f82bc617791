"""Choosing stacks: --stack and --exclude match the same way (a stack's name or its component)."""

from __future__ import annotations

import pytest

from infra.config import ConfigError
from infra.pipeline.deploy import select


def test_exclude_drops_stacks_by_component_or_name(synthesized):
    result, graph = synthesized
    everything = select(graph, "dev", None)
    assert "dev-web" in everything and "dev-lms" in everything
    chosen = select(graph, "dev", None, ["web", "dev-lms"])
    assert chosen == [n for n in everything if n not in ("dev-web", "dev-lms")]


def test_exclude_applies_after_stack(synthesized):
    _, graph = synthesized
    assert select(graph, "dev", ["kms", "network", "web"], ["network"]) == ["dev-kms", "dev-web"]


def test_fails_when_exclude_names_no_stack_of_the_environment(synthesized):
    _, graph = synthesized
    with pytest.raises(ConfigError, match=r"--exclude: no stack \['staging-web'\] in dev"):
        select(graph, "dev", None, ["staging-web"])
