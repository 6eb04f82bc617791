"""Layering: merge order, provenance, and every validation error naming file and key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from infra.config import ConfigError, environment_names, load_environment
from infra.config.layers import discover, merge
from infra.paths import ENVIRONMENTS

DEV = "nonprod/sa-east-1/dev"
DEV_FILE = f"environments/{DEV}/env.toml"


def error_of(env: str, root: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_environment(env, root=root)
    return str(caught.value)


# --- merge order and provenance -------------------------------------------------------


def test_environments_are_the_directories_with_env_toml():
    assert environment_names() == ["dev", "prod", "staging"]


def test_later_layers_win_and_provenance_names_the_file():
    prod = load_environment("prod")
    assert prod.config.components.network.nat_gateways == "per_az"
    assert prod.provenance[("components", "network", "nat_gateways")] == "environments/prod/sa-east-1/prod/network.toml"
    dev = load_environment("dev")
    assert dev.config.components.network.nat_gateways == "single"
    assert dev.provenance[("components", "network", "nat_gateways")] == "environments/root.toml"


def test_layers_are_read_root_account_region_env_component():
    prod_dir = load_environment("prod").directory
    names = [str(layer.path.relative_to(prod_dir.parents[2])) for layer in discover(prod_dir)]
    assert names == [
        "root.toml",
        "prod/account.toml",
        "prod/sa-east-1/region.toml",
        "prod/sa-east-1/prod/env.toml",
        "prod/sa-east-1/prod/database.toml",
        "prod/sa-east-1/prod/lms.toml",
        "prod/sa-east-1/prod/network.toml",
        "prod/sa-east-1/prod/redis.toml",
        "prod/sa-east-1/prod/web.toml",
    ]


def test_tables_merge_key_by_key_and_lists_are_replaced(layers, write):
    write(f"{DEV}/network.toml", 'public_subnets = ["10.0.100.0/24", "10.0.101.0/24", "10.0.102.0/24"]\n')
    loaded = load_environment("dev", root=layers)
    net = loaded.config.components.network
    assert net.public_subnets == ["10.0.100.0/24", "10.0.101.0/24", "10.0.102.0/24"]
    assert net.private_subnets[0] == "10.0.16.0/20"  # untouched sibling from root.toml
    assert loaded.provenance[("components", "network", "cidr")].endswith("environments/root.toml")


def test_production_tags_and_protection_come_from_prods_layers():
    prod = load_environment("prod").config
    assert prod.environment.tag == "production"
    assert prod.project == "edutechbr-lms"
    assert prod.deletion_protection is True
    assert load_environment("staging").config.deletion_protection is False


def test_every_leaf_states_only_what_differs():
    """A layer that repeats what it inherits hides the real differences (Terragrunt's rule)."""
    for env in environment_names():
        layers = discover(load_environment(env).directory)
        for i, layer in enumerate(layers[1:], 1):
            inherited, _ = merge(layers[:i])
            own, _ = merge([layer])
            for path, value in _flat(own):
                assert _get(inherited, path) != value, f"{layer.path}: {'.'.join(path)} repeats the inherited value"


def test_environment_suffix_variable_overrides_and_makes_a_separate_scope(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "pr42")
    loaded = load_environment("dev")
    assert loaded.config.environment.suffix == "pr42"
    assert loaded.provenance[("environment", "suffix")] == "$ENVIRONMENT_SUFFIX"
    assert loaded.scope == "dev-pr42"
    monkeypatch.delenv("ENVIRONMENT_SUFFIX")
    assert load_environment("dev").scope == "dev"


# --- errors: each names the file and the key ---------------------------------------------


def test_fails_when_a_key_is_misspelt(layers, write):
    write(f"{DEV}/network.toml", 'nat_gateway = "per_az"\n')
    message = error_of("dev", layers)
    assert f"environments/{DEV}/network.toml: components.network.nat_gateway: unknown key" in message.replace(
        str(layers.parent) + "/", ""
    )


def test_fails_when_a_value_has_the_wrong_type(layers, write):
    write(f"{DEV}/network.toml", 'az_count = "3"\n')
    message = error_of("dev", layers)
    assert f"{DEV}/network.toml: components.network.az_count: Input should be a valid integer" in message
    assert "(got '3')" in message


def test_fails_when_a_bool_is_given_as_a_string(layers, write):
    write(
        "prod/sa-east-1/prod/env.toml",
        'deletion_protection = "yes"\n[environment]\nname = "prod"\ntag = "production"\nsuffix = "prd01"\n',
    )
    assert "prod/sa-east-1/prod/env.toml: deletion_protection: Input should be a valid boolean" in error_of(
        "prod", layers
    )


def test_fails_when_a_cidr_is_invalid(layers, write):
    write(f"{DEV}/network.toml", 'cidr = "10.0.0.0/33"\n')
    message = error_of("dev", layers)
    assert f"{DEV}/network.toml: components.network.cidr: '10.0.0.0/33' is not a valid IPv4 CIDR" in message


def test_fails_when_a_cidr_has_host_bits(layers, write):
    write(f"{DEV}/network.toml", 'cidr = "10.0.0.1/16"\n')
    assert (
        "components.network.cidr: '10.0.0.1/16' is not a valid IPv4 CIDR (10.0.0.1/16 has host bits set)"
        in error_of("dev", layers)
    )


def test_fails_when_subnets_overlap(layers, write):
    write(f"{DEV}/network.toml", 'private_subnets = ["10.0.16.0/20", "10.0.20.0/24", "10.0.48.0/20"]\n')
    message = error_of("dev", layers)
    assert f"{DEV}/network.toml: components.network.private_subnets: 10.0.20.0/24 overlaps 10.0.16.0/20" in message


def test_fails_when_a_private_subnet_overlaps_a_public_one(layers, write):
    write(f"{DEV}/network.toml", 'private_subnets = ["10.0.0.0/20", "10.0.32.0/20", "10.0.48.0/20"]\n')
    assert "components.network.private_subnets: 10.0.0.0/20 overlaps 10.0.0.0/24" in error_of("dev", layers)


def test_fails_when_a_subnet_is_outside_the_vpc(layers, write):
    write(f"{DEV}/network.toml", 'public_subnets = ["10.1.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]\n')
    assert "components.network.public_subnets: 10.1.0.0/24 not inside the VPC CIDR 10.0.0.0/16" in error_of(
        "dev", layers
    )


def test_fails_when_there_are_fewer_subnets_than_zones(layers, write):
    write(f"{DEV}/network.toml", 'public_subnets = ["10.0.0.0/24"]\n')
    assert "public_subnets: 1 subnets for az_count=3" in error_of("dev", layers)


def test_fails_when_the_environment_is_unknown():
    with pytest.raises(ConfigError, match="unknown environment 'qa'; known environments: dev, prod, staging"):
        load_environment("qa")


def test_fails_when_a_file_is_not_valid_toml(layers, write):
    write(f"{DEV}/network.toml", "cidr = \n")
    assert f"{DEV}/network.toml: invalid TOML" in error_of("dev", layers)


def test_fails_when_a_component_file_has_an_unknown_name(layers, write):
    write(f"{DEV}/netwrok.toml", 'cidr = "10.0.0.0/16"\n')
    assert f"{DEV}/netwrok.toml: not a component layer" in error_of("dev", layers)


def test_fails_when_a_required_key_is_missing(layers):
    env_file = layers / DEV / "env.toml"
    env_file.write_text(env_file.read_text().replace('tag = "development"\n', ""))
    assert f"{DEV}/env.toml: environment.tag: required key is missing" in error_of("dev", layers)


def test_fails_when_the_declared_name_differs_from_the_directory(layers):
    env_file = layers / DEV / "env.toml"
    env_file.write_text(env_file.read_text().replace('name = "dev"', 'name = "develop"'))
    assert "environment.name: 'develop' does not match its directory name 'dev'" in error_of("dev", layers)


def test_fails_when_the_suffix_variable_is_malformed(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "PR_42")
    with pytest.raises(ConfigError, match=r"\$ENVIRONMENT_SUFFIX: 'PR_42' must match"):
        load_environment("dev")


def test_reports_every_problem_at_once(layers, write):
    write(f"{DEV}/network.toml", 'cidr = "nope"\naz_count = 9\n')
    message = error_of("dev", layers)
    assert "components.network.cidr" in message and "components.network.az_count" in message


def test_fails_when_backups_are_kept_under_7_days(layers, write):
    write(f"{DEV}/database.toml", "backup_retention_days = 3\n")
    message = error_of("dev", layers)
    assert f"{DEV}/database.toml: components.database.backup_retention_days: 3 days: automated backups" in message


def test_fails_when_mysql_is_out_of_standard_support(layers, write):
    write(f"{DEV}/database.toml", 'engine_version = "8.0"\n')
    message = error_of("dev", layers)
    assert f"{DEV}/database.toml: components.database.engine_version: '8.0': out of RDS standard support" in message
    assert "engine_version must be 8.4 (the LTS) or later" in message


def test_databases_run_mysql_8_4_from_the_root_layer():
    for env in environment_names():
        loaded = load_environment(env)
        assert loaded.config.components.database.engine_version == "8.4"
        assert loaded.provenance[("components", "database", "engine_version")] == "environments/root.toml"


# --- account-wide settings (the account stack) ---------------------------------------------


def test_guardduty_plans_are_on_for_every_environments_account():
    for env in ("dev", "staging", "prod"):
        loaded = load_environment(env)
        assert set(loaded.config.account.guardduty.model_dump().values()) == {True}, env
        assert loaded.provenance[("account", "guardduty", "runtime_monitoring")] == "environments/root.toml"


def test_an_account_toml_sets_an_account_wide_value_for_all_its_environments(layers, write):
    path = layers / "nonprod" / "account.toml"
    path.write_text(path.read_text() + "\n[account.guardduty]\nebs_malware_protection = false\n")
    for env in ("dev", "staging"):
        assert load_environment(env, root=layers).config.account.guardduty.ebs_malware_protection is False
    assert load_environment("prod", root=layers).config.account.guardduty.ebs_malware_protection is True


def test_fails_when_an_environment_sets_an_account_wide_value(layers, write):
    env_file = layers / "nonprod/sa-east-1/staging/env.toml"
    env_file.write_text(env_file.read_text() + "\n[account.guardduty]\nrds_login_events = false\n")
    message = error_of("staging", layers)
    assert "nonprod/sa-east-1/staging/env.toml: account.guardduty.rds_login_events: an account-wide setting" in message
    assert "set it in the account's account.toml" in message


def test_fails_when_the_state_bucket_leaves_no_room_for_its_access_log_bucket(layers):
    path = layers / "nonprod" / "account.toml"
    path.write_text(path.read_text().replace("edutech-tfstate-111111111111", "edutech-tfstate-" + "x" * 40))
    assert "account.state_bucket: String should match pattern" in error_of("dev", layers)


def test_fails_when_desired_tasks_lie_outside_min_and_max(layers, write):
    write(f"{DEV}/lms.toml", "desired_count = 9\n")
    message = error_of("dev", layers)
    assert f"{DEV}/lms.toml: components.lms.desired_count: 9 must lie between min_count=2 and max_count=4" in message


def test_fails_when_redis_has_nothing_to_fail_over_to(layers, write):
    write(f"{DEV}/redis.toml", "num_cache_clusters = 1\n")
    assert "components.redis.num_cache_clusters: 1: automatic failover needs a replica" in error_of("dev", layers)


def test_fails_when_a_requested_certificate_has_no_zone(layers, write):
    write(f"{DEV}/edge.toml", 'certificate = "request"\n')
    assert "hosted_zone_id: required when certificate" in error_of("dev", layers)


def test_az_count_cannot_exceed_the_listed_zones(layers, write):
    write(
        f"{DEV}/network.toml",
        "az_count = 4\n"
        'public_subnets = ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]\n'
        'private_subnets = ["10.0.16.0/20", "10.0.32.0/20", "10.0.48.0/20", "10.0.64.0/20"]\n',
    )
    assert "az_count=4 but only 3 availability_zones are listed" in error_of("dev", layers)


def _flat(tree: dict, prefix: tuple = ()) -> list[tuple[tuple, object]]:
    items = []
    for key, value in tree.items():
        if isinstance(value, dict):
            items += _flat(value, (*prefix, key))
        else:
            items.append(((*prefix, key), value))
    return items


def _get(tree: dict, path: tuple) -> object:
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def test_layer_files_parse_as_toml():
    for path in ENVIRONMENTS.rglob("*.toml"):
        tomllib.loads(path.read_text())


def test_the_teardown_override_lifts_deletion_protection_visibly(monkeypatch):
    """Above the layers, and above prod's `deletion_protection = true` guard."""
    monkeypatch.setenv("INFRA_DELETION_PROTECTION", "false")
    prod = load_environment("prod")
    assert prod.config.deletion_protection is False
    assert prod.provenance[("deletion_protection",)] == "$INFRA_DELETION_PROTECTION"


def test_fails_when_the_protection_override_is_not_a_bool(monkeypatch):
    monkeypatch.setenv("INFRA_DELETION_PROTECTION", "no")
    with pytest.raises(ConfigError, match=r"\$INFRA_DELETION_PROTECTION: 'no' must be true or false"):
        load_environment("prod")


def test_prods_guards_are_rules_of_its_account_layer():
    prod = load_environment("prod")
    assert {rule.source for rule in prod.requirements} == {"environments/prod/account.toml"}
    assert {".".join(rule.key) for rule in prod.requirements} >= {
        "deletion_protection",
        "components.database.multi_az",
        "components.database.backup_retention_days",
    }
    assert load_environment("dev").requirements == ()


def test_explain_lists_the_rules_met():
    from infra.config.explain import explain

    lines = explain(load_environment("prod"))
    assert any(
        line.startswith('require."components.database.backup_retention_days" = ">= 14"')
        and line.endswith("# environments/prod/account.toml")
        for line in lines
    )
