from __future__ import annotations

import re

import pytest

from infra.config import load_environment
from infra.paths import REPO
from modules.common.label import ACCOUNT_NAMES, TIGHT_NAMES, XRAY_NAME, Label

LABEL = Label(
    project="edutechbr-lms",
    owner="platform",
    environment="prod",
    environment_tag="production",
    suffix="prd01",
    component="database",
)


def test_names_are_type_environment_suffix():
    assert LABEL.name("rds") == "rds-prod-prd01"


def test_long_names_are_cut_with_a_stable_hash():
    name = LABEL.name("application-load-balancer-target-group", max_length=32)
    assert len(name) == 32
    assert re.fullmatch(r"application-load-balancer-[0-9a-f]{6}", name)
    assert name == LABEL.name("application-load-balancer-target-group", max_length=32)
    other = LABEL.name("application-load-balancer-target-grouq", max_length=32)
    assert other != name  # the hash keeps names that share a prefix apart


def test_fails_when_a_kind_is_not_lower_case():
    with pytest.raises(ValueError, match="lower-case letters"):
        LABEL.name("RDS")


def test_tags_carry_the_standard_five():
    assert LABEL.tags == {
        "Environment": "production",
        "Owner": "platform",
        "Project": "edutechbr-lms",
        "Component": "database",
        "ManagedBy": "cdktf",
    }


def test_a_resource_adds_only_its_name():
    assert LABEL.name_tag("rds") == {"Name": "rds-prod-prd01"}


def test_environment_config_builds_the_label():
    label = load_environment("prod").config.label("network")
    assert label.name("vpc") == "vpc-prod-prd01"
    assert label.tags["Environment"] == "production"


def test_a_tight_name_keeps_to_its_aws_limit_by_kind():
    long = Label(
        project="p", owner="o", environment="e" * 30, environment_tag="t", suffix="s" * 8, component="observability"
    )
    assert len(long.name("traces")) == XRAY_NAME  # an X-Ray group: 32, without being told
    assert len(long.name("tg-web")) == 32 and len(long.name("redis-sessions")) == 40
    assert long.oversized("observability", "111111111111") == [
        (long.full_name("xray"), XRAY_NAME),
        (long.full_name("traces"), XRAY_NAME),
    ]


def test_every_tight_name_is_one_its_module_makes():
    """TIGHT_NAMES and the constructs name the same kinds (a renamed kind would lose its limit)."""
    for component, kinds in TIGHT_NAMES.items():
        module = "audit" if component == ACCOUNT_NAMES else component
        source = (REPO / "modules" / module / "construct.py").read_text()
        for kind in kinds:
            literal = kind.split("{")[0]
            assert f'"{literal}' in source or f"'{literal}" in source, f"{component}: no name {kind!r}"


def test_fails_when_a_tag_value_is_one_aws_refuses():
    with pytest.raises(ValueError, match="not a tag value AWS accepts"):
        Label(project="p", owner="o<", environment="e", environment_tag="t", suffix="s", component="c")
