from __future__ import annotations

import re

import pytest

from infra.config import load_environment
from modules.common.label import Label

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
