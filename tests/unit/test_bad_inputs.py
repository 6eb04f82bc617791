"""Every bad input is refused (issue 15): exit 2, a message naming the file and the key, never
a traceback.

Each case copies the real layer tree, breaks one thing and runs `infra config ENV` against
the copy. Most cases call the CLI's entry point in this process (`main()`, what the console
script calls); the baseline and the cases that once ended in a traceback or only at synth
run the real `.venv/bin/infra` in a subprocess. A file-level problem (not UTF-8, a link, a
folder) has no key: its case names none.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from infra.cli import main
from infra.errors import EXIT_BAD_INPUT, EXIT_OK
from infra.paths import ENVIRONMENTS, REPO

DEV = "nonprod/sa-east-1/dev"
STAGING = "nonprod/sa-east-1/staging"
PROD = "prod/sa-east-1/prod"
INFRA = Path(sys.executable).parent / "infra"  # the console script, as people and workflows run it
VARIABLES = ("ENVIRONMENT_SUFFIX", "INFRA_DELETION_PROTECTION")

Mutation = Callable[[Path], None]


# --- mutations of a copied tree -----------------------------------------------------------


def put(relative: str, text: str | bytes) -> Mutation:
    """Write (or overwrite) a file of the tree."""

    def mutate(root: Path) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)

    return mutate


def append(relative: str, text: str) -> Mutation:
    def mutate(root: Path) -> None:
        path = root / relative
        path.write_text(path.read_text() + text)

    return mutate


def sub(relative: str, old: str, new: str) -> Mutation:
    """Replace text in a file (the case fails if the text is not there)."""

    def mutate(root: Path) -> None:
        path = root / relative
        text = path.read_text()
        assert re.search(old, text), f"{relative} has no {old!r}"
        path.write_text(re.sub(old, new, text))

    return mutate


def remove(relative: str) -> Mutation:
    return lambda root: (root / relative).unlink()


def symlink(relative: str, target: str) -> Mutation:
    return lambda root: (root / relative).symlink_to(target)


def mkdir(relative: str) -> Mutation:
    return lambda root: (root / relative).mkdir()


def nothing(root: Path) -> None:
    """The tree as it is (the case breaks a variable)."""


def copy(relative: str, to: str) -> Mutation:
    return lambda root: shutil.copytree(root / relative, root / to)


def rename_env(new: str) -> Mutation:
    """Rename dev (its folder and its declared name) to `new`."""

    def mutate(root: Path) -> None:
        sub(f"{DEV}/env.toml", 'name = "dev"', f'name = "{new}"')(root)
        (root / DEV).rename(root / DEV.replace("dev", new))

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(root: Path) -> None:
        for mutation in mutations:
            mutation(root)

    return mutate


# --- the cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Mutation
    file: str  # the file (or folder, or variable) the message names, relative to the tree
    key: str  # the key it names ("" for a file-level problem)
    said: str = ""  # a telling part of the message
    env: str = "dev"
    variables: dict[str, str] = field(default_factory=dict)
    real_cli: bool = False  # run .venv/bin/infra in a subprocess


LONG_NAME = "developmentplatforms"  # 20 characters: redis-sessions-<it>-dev01 is 41 > 40
DEEP = "x = " + "[" * 10000 + "]" * 10000 + "\n"
SUBNETS = '{} = ["{}", "10.0.1.0/24", "10.0.2.0/24"]\n'

# fmt: off
CASES = [
    # -- once a traceback (or a failure only at synth): through the real CLI
    Case("binary-garbage", put(f"{DEV}/network.toml", b"\xff\xfe\x00\x81garbage"), f"{DEV}/network.toml", "",
         "not UTF-8", real_cli=True),
    Case("nested-10000-deep", put(f"{DEV}/network.toml", DEEP), f"{DEV}/network.toml", "components.network.x",
         "nested deeper than", real_cli=True),
    Case("symlink-loop", symlink(f"{DEV}/web.toml", "web.toml"), f"{DEV}/web.toml", "", "symbolic link loop",
         real_cli=True),
    Case("dangling-symlink", symlink(f"{DEV}/web.toml", "nowhere.toml"), f"{DEV}/web.toml", "", "dangling",
         real_cli=True),
    Case("env-toml-is-a-folder", both(remove(f"{DEV}/env.toml"), mkdir(f"{DEV}/env.toml")), f"{DEV}/env.toml", "",
         "a folder where a layer file is expected", real_cli=True),
    Case("fargate-256-with-16-gib", put(f"{DEV}/lms.toml", "cpu = 256\nmemory_mib = 16384\n"), f"{DEV}/lms.toml",
         "components.lms.memory_mib", "not a Fargate size for cpu=256", real_cli=True),
    Case("latency-inf", put(f"{DEV}/web.toml", "latency_high_seconds = inf\n"), f"{DEV}/web.toml",
         "components.web.latency_high_seconds", "finite", real_cli=True),
    # -- the same kinds, in process
    Case("nested-too-deep-for-the-schema", put(f"{DEV}/network.toml", "x = " + "[" * 20 + "]" * 20 + "\n"),
         f"{DEV}/network.toml", "components.network.x", "nested deeper than"),
    Case("symlink-loop-of-two", both(symlink(f"{DEV}/a.toml", "b.toml"), symlink(f"{DEV}/b.toml", "a.toml")),
         f"{DEV}/a.toml", "", "symbolic link loop"),
    Case("symlinked-folder", symlink("nonprod/sa-east-1/qa", "dev"), "nonprod/sa-east-1/qa", "", "symbolic link"),
    Case("fargate-memory-off-the-step", put(f"{DEV}/lms.toml", "cpu = 8192\nmemory_mib = 17408\n"),
         f"{DEV}/lms.toml", "components.lms.memory_mib", "in steps of 4096"),
    Case("fargate-cpu-300", put(f"{DEV}/lms.toml", "cpu = 300\n"), f"{DEV}/lms.toml", "components.lms.cpu",
         "not a Fargate size"),
    Case("latency-nan", put(f"{DEV}/web.toml", "latency_high_seconds = nan\n"), f"{DEV}/web.toml",
         "components.web.latency_high_seconds", "finite"),
    Case("sampling-rate-minus-inf", put(f"{DEV}/observability.toml", "xray_sampling_rate = -inf\n"),
         f"{DEV}/observability.toml", "components.observability.xray_sampling_rate", "finite"),
    Case("invalid-toml", put(f"{DEV}/network.toml", "cidr = \n"), f"{DEV}/network.toml", "", "invalid TOML"),
    # -- the tree: each layer where it is read, one folder per environment, one account per folder
    Case("dev-copied-under-prod", copy(DEV, "prod/sa-east-1/dev"), "prod/sa-east-1/dev/env.toml", "environment.name",
         f"in 2 folders: {{root}}/{DEV} and {{root}}/prod/sa-east-1/dev", real_cli=True),
    Case("account-toml-in-an-environment", put(f"{DEV}/account.toml", '[account]\nid = "333333333333"\n'),
         f"{DEV}/account.toml", "", "read only as <account>/account.toml"),
    Case("region-toml-in-an-environment", put(f"{DEV}/region.toml", 'region = "us-east-1"\n'),
         f"{DEV}/region.toml", "", "read only as <account>/<region>/region.toml"),
    Case("env-toml-in-a-region", put("nonprod/sa-east-1/env.toml", "[environment]\n"), "nonprod/sa-east-1/env.toml",
         "", "wrong place"),
    Case("component-file-in-a-region", put("nonprod/sa-east-1/network.toml", 'nat_gateways = "per_az"\n'),
         "nonprod/sa-east-1/network.toml", "", "outside an environment folder is never read"),
    Case("stray-toml-in-an-account", put("nonprod/notes.toml", "x = 1\n"), "nonprod/notes.toml", "",
         "not a layer file"),
    Case("component-file-misspelt", put(f"{DEV}/netwrok.toml", 'cidr = "10.0.0.0/16"\n'), f"{DEV}/netwrok.toml", "",
         "not a component layer"),
    Case("layer-below-an-environment", put(f"{DEV}/old/network.toml", 'nat_gateways = "per_az"\n'),
         f"{DEV}/old/network.toml", "", "never read"),
    Case("two-accounts-one-name", sub("prod/account.toml", 'name = "prod"', 'name = "nonprod"'), "prod/account.toml",
         "account.name", "also the name of the account in {root}/nonprod/account.toml"),
    Case("two-accounts-one-id", sub("prod/account.toml", '"222222222222"', '"111111111111"'), "prod/account.toml",
         "account.id", "also the id of the account in {root}/nonprod/account.toml"),
    Case("env-toml-missing", remove(f"{DEV}/env.toml"), DEV, "", "no env.toml in this folder, so 'dev'"),
    Case("components-without-env-toml", both(remove(f"{DEV}/env.toml"), put(f"{DEV}/lms.toml", "cpu = 512\n")),
         DEV, "", "but no env.toml"),
    # -- names and tags AWS would refuse
    Case("long-environment-name", rename_env(LONG_NAME), f"nonprod/sa-east-1/{LONG_NAME}/env.toml",
         "environment.name", "41 characters; AWS allows 40", env=LONG_NAME),
    Case("suffix-variable-makes-names-too-long", rename_env("integration-tests"),
         "nonprod/sa-east-1/integration-tests/env.toml", "environment.name", "'pr123456'", env="integration-tests",
         variables={"ENVIRONMENT_SUFFIX": "pr123456"}),
    Case("long-account-name", sub("nonprod/account.toml", '"nonprod"', '"nonprod-account-for-dev-and-stg"'),
         "nonprod/account.toml", "account.name", "AWS allows 63"),
    Case("environment-name-double-hyphen", rename_env("dev--x"), "nonprod/sa-east-1/dev--x/env.toml",
         "environment.name", "should match pattern", env="dev--x"),
    Case("environment-name-mismatch", sub(f"{DEV}/env.toml", 'name = "dev"', 'name = "develop"'), f"{DEV}/env.toml",
         "environment.name", "does not match its directory name"),
    Case("project-upper-case", sub("root.toml", '"edutechbr-lms"', '"EduTech"'), "root.toml", "project",
         "should match pattern"),
    Case("suffix-upper-case", sub(f"{DEV}/env.toml", '"dev01"', '"DEV01"'), f"{DEV}/env.toml", "environment.suffix",
         "should match pattern"),
    Case("suffix-variable-malformed", nothing, "$ENVIRONMENT_SUFFIX", "", "must match",
         variables={"ENVIRONMENT_SUFFIX": "PR_42"}),
    Case("protection-variable-malformed", nothing, "$INFRA_DELETION_PROTECTION", "", "true or false",
         variables={"INFRA_DELETION_PROTECTION": "no"}),
    Case("tag-value-characters", sub(f"{DEV}/env.toml", '"development"', '"dev<1>"'), f"{DEV}/env.toml",
         "environment.tag", "'<', '>' not allowed"),
    Case("tag-value-aws-prefix", sub(f"{DEV}/env.toml", '"development"', '"AWS:dev"'), f"{DEV}/env.toml",
         "environment.tag", "no 'aws:' prefix"),
    Case("tag-value-too-long", sub("root.toml", '"platform-team"', '"' + "x" * 257 + '"'), "root.toml", "owner",
         "at most 256"),
    # -- network, region and zones
    Case("vpc-slash-8", put(f"{DEV}/network.toml", 'cidr = "10.0.0.0/8"\n'), f"{DEV}/network.toml",
         "components.network.cidr", "AWS allows /16 to /28"),
    Case("subnet-slash-30", put(f"{DEV}/network.toml", SUBNETS.format("public_subnets", "10.0.0.0/30")),
         f"{DEV}/network.toml", "components.network.public_subnets", "a /30 subnet"),
    Case("cidr-invalid", put(f"{DEV}/network.toml", 'cidr = "10.0.0.0/33"\n'), f"{DEV}/network.toml",
         "components.network.cidr", "not a valid IPv4 CIDR"),
    Case("subnet-outside-the-vpc", put(f"{DEV}/network.toml", SUBNETS.format("public_subnets", "10.1.0.0/24")),
         f"{DEV}/network.toml", "components.network.public_subnets", "not inside the VPC CIDR"),
    Case("subnets-overlap", put(f"{DEV}/network.toml", SUBNETS.format("private_subnets", "10.0.0.0/20")),
         f"{DEV}/network.toml", "components.network.private_subnets", "overlaps"),
    Case("cidr-as-a-table", put(f"{DEV}/network.toml", "[cidr]\nblock = 1\n"), f"{DEV}/network.toml",
         "components.network.cidr", "valid string"),
    Case("unknown-table", put(f"{DEV}/network.toml", "[peering]\nvpc = 1\n"), f"{DEV}/network.toml",
         "components.network.peering", "unknown key"),
    Case("key-misspelt", put(f"{DEV}/network.toml", 'nat_gateway = "per_az"\n'), f"{DEV}/network.toml",
         "components.network.nat_gateway", "unknown key"),
    Case("az-count-as-string", put(f"{DEV}/network.toml", 'az_count = "3"\n'), f"{DEV}/network.toml",
         "components.network.az_count", "valid integer"),
    Case("region-fake", sub("nonprod/sa-east-1/region.toml", '"sa-east-1"', '"xx-fake-1"'),
         "nonprod/sa-east-1/region.toml", "region", "not an AWS region"),
    Case("region-without-elb-logs", sub("nonprod/sa-east-1/region.toml", "sa-east-1", "us-west-2"),
         "nonprod/sa-east-1/region.toml", "region", "no ELB log-delivery account"),
    Case("zone-of-another-region", sub("nonprod/sa-east-1/region.toml", '"sa-east-1b"', '"us-east-1b"'),
         "nonprod/sa-east-1/region.toml", "availability_zones", "not a zone of sa-east-1"),
    # -- instance types and engine versions
    Case("db-class-typo", put(f"{DEV}/database.toml", 'instance_class = "db.t3.mediun"\n'), f"{DEV}/database.toml",
         "components.database.instance_class", "no size 'mediun'"),
    Case("db-class-old-family", put(f"{DEV}/database.toml", 'instance_class = "db.t2.medium"\n'),
         f"{DEV}/database.toml", "components.database.instance_class", "no family db.t2"),
    Case("cache-node-typo", put(f"{DEV}/redis.toml", 'node_type = "cache.t4g.smal"\n'), f"{DEV}/redis.toml",
         "components.redis.node_type", "no size 'smal'"),
    Case("ec2-type-typo", put(f"{DEV}/web.toml", 'instance_type = "t3.mediumm"\n'), f"{DEV}/web.toml",
         "components.web.instance_type", "no size 'mediumm'"),
    Case("ec2-graviton-on-an-x86-image", put(f"{DEV}/web.toml", 'instance_type = "t4g.medium"\n'), f"{DEV}/web.toml",
         "components.web.instance_type", "arm64"),
    Case("mysql-8", put(f"{DEV}/database.toml", 'engine_version = "8"\n'), f"{DEV}/database.toml",
         "components.database.engine_version", "major.minor"),
    Case("mysql-8-0", put(f"{DEV}/database.toml", 'engine_version = "8.0"\n'), f"{DEV}/database.toml",
         "components.database.engine_version", "out of RDS standard support"),
    Case("redis-7", put(f"{DEV}/redis.toml", 'engine_version = "7"\n'), f"{DEV}/redis.toml",
         "components.redis.engine_version", "major.minor"),
    Case("redis-6-2", put(f"{DEV}/redis.toml", 'engine_version = "6.2"\n'), f"{DEV}/redis.toml",
         "components.redis.engine_version", "IAM authentication"),
    # -- sizes and limits
    Case("storage-over-gp3", put(f"{DEV}/database.toml", "allocated_storage_gb = 70000\n"), f"{DEV}/database.toml",
         "components.database.allocated_storage_gb", "20..65536"),
    Case("storage-ceiling-under-gp3", put(f"{DEV}/database.toml", "max_allocated_storage_gb = 10\n"),
         f"{DEV}/database.toml", "components.database.max_allocated_storage_gb", "20..65536"),
    Case("storage-ceiling-below-floor", put(f"{DEV}/database.toml", "max_allocated_storage_gb = 30\n"),
         f"{DEV}/database.toml", "components.database.max_allocated_storage_gb", "below allocated_storage_gb"),
    Case("backups-3-days", put(f"{DEV}/database.toml", "backup_retention_days = 3\n"), f"{DEV}/database.toml",
         "components.database.backup_retention_days", "at least a week"),
    Case("monitoring-interval-7", put(f"{DEV}/database.toml", "monitoring_interval_seconds = 7\n"),
         f"{DEV}/database.toml", "components.database.monitoring_interval_seconds", "Input should be"),
    Case("master-username-digit-first", put(f"{DEV}/database.toml", 'master_username = "1admin"\n'),
         f"{DEV}/database.toml", "components.database.master_username", "should match pattern"),
    Case("kms-window-3", put(f"{DEV}/kms.toml", "deletion_window_days = 3\n"), f"{DEV}/kms.toml",
         "components.kms.deletion_window_days", "7..30"),
    Case("kms-rotation-30", put(f"{DEV}/kms.toml", "rotation_period_days = 30\n"), f"{DEV}/kms.toml",
         "components.kms.rotation_period_days", "90..2560"),
    Case("redis-one-node", put(f"{DEV}/redis.toml", "num_cache_clusters = 1\n"), f"{DEV}/redis.toml",
         "components.redis.num_cache_clusters", "failover"),
    Case("tasks-desired-above-max", put(f"{DEV}/lms.toml", "desired_count = 9\n"), f"{DEV}/lms.toml",
         "components.lms.desired_count", "must lie between"),
    Case("container-port-70000", put(f"{DEV}/lms.toml", "container_port = 70000\n"), f"{DEV}/lms.toml",
         "components.lms.container_port", "less than or equal to 65535"),
    Case("health-check-without-slash", put(f"{DEV}/lms.toml", 'health_check_path = "health"\n'), f"{DEV}/lms.toml",
         "components.lms.health_check_path", "starts with '/'"),
    Case("health-check-with-a-space", put(f"{DEV}/web.toml", 'health_check_path = "/health check"\n'),
         f"{DEV}/web.toml", "components.web.health_check_path", "without spaces"),
    Case("root-volume-4", put(f"{DEV}/web.toml", "root_volume_gb = 4\n"), f"{DEV}/web.toml",
         "components.web.root_volume_gb", "greater than or equal to 8"),
    Case("latency-zero", put(f"{DEV}/web.toml", "latency_high_seconds = 0.0\n"), f"{DEV}/web.toml",
         "components.web.latency_high_seconds", "greater than 0"),
    Case("sampling-rate-1-5", put(f"{DEV}/observability.toml", "xray_sampling_rate = 1.5\n"),
         f"{DEV}/observability.toml", "components.observability.xray_sampling_rate", "less than or equal to 1"),
    Case("certificate-request-without-zone", put(f"{DEV}/edge.toml", 'certificate = "request"\n'), f"{DEV}/edge.toml",
         "components.edge", "hosted_zone_id: required"),
    Case("ssl-policy-before-tls-1-2", put(f"{DEV}/edge.toml", 'ssl_policy = "ELBSecurityPolicy-2016-08"\n'),
         f"{DEV}/edge.toml", "components.edge.ssl_policy", "older than 1.2"),
    # -- the account layer
    Case("account-id-11-digits", sub("nonprod/account.toml", '"111111111111"', '"11111111111"'),
         "nonprod/account.toml", "account.id", "should match pattern"),
    Case("state-bucket-too-long", sub("nonprod/account.toml", "tfstate-111111111111", "tfstate-" + "x" * 48),
         "nonprod/account.toml", "account.state_bucket", "should match pattern"),
    Case("account-setting-in-env-toml", append(f"{STAGING}/env.toml", "\n[account.guardduty]\nrds_login_events = 1\n"),
         f"{STAGING}/env.toml", "account.guardduty.rds_login_events", "account-wide", env="staging"),
    Case("guardduty-flag-as-string", append("nonprod/account.toml", '\n[account.guardduty]\ns3_data_events = "yes"\n'),
         "nonprod/account.toml", "account.guardduty.s3_data_events", "valid boolean"),
    Case("workloads-misspelt", append("root.toml", "\n[workload]\nlms = true\n"), "root.toml", "workload",
         "unknown key"),
    # -- prod's guards: the [require] rules of prod/account.toml
    Case("prod-single-az-database", put(f"{PROD}/database.toml", "multi_az = false\n"), f"{PROD}/database.toml",
         "components.database.multi_az", 'prod/account.toml: require."components.database.multi_az" = true',
         env="prod", real_cli=True),
    Case("prod-backups-a-week", sub(f"{PROD}/database.toml", "retention_days = 14", "retention_days = 7"),
         f"{PROD}/database.toml", "components.database.backup_retention_days", '= ">= 14"', env="prod"),
    Case("prod-without-deletion-protection", sub(f"{PROD}/env.toml", "deletion_protection = true\n", ""),
         "root.toml", "deletion_protection", "false breaks a rule of {root}/prod/account.toml", env="prod"),
    Case("prod-without-approval", sub(f"{PROD}/env.toml", "approval = true.*\n", ""), "prod/account.toml",
         "environment.approval", "the default: no layer sets it", env="prod"),
    Case("prod-single-nat-gateway", remove(f"{PROD}/network.toml"), "root.toml", "components.network.nat_gateways",
         '"single" breaks a rule', env="prod"),
    Case("prod-env-cannot-lift-a-guard",
         both(sub(f"{PROD}/env.toml", "protection = true", "protection = false"),
              append(f"{PROD}/env.toml", "\n[require]\ndeletion_protection = false\n")),
         f"{PROD}/env.toml", "deletion_protection", "breaks a rule of {root}/prod/account.toml", env="prod"),
    Case("require-unknown-key", append("prod/account.toml", '"components.databse.multi_az" = true\n'),
         "prod/account.toml", 'require."components.databse.multi_az"', "no such key", env="prod"),
    Case("require-wrong-type", sub("prod/account.toml", '("environment.protected") = true', r'\1 = 1'),
         "prod/account.toml", 'require."environment.protected"', "is a bool", env="prod"),
    Case("require-bad-comparison", sub("prod/account.toml", '">= 14"', '">= two weeks"'), "prod/account.toml",
         'require."components.database.backup_retention_days"', "a comparison is", env="prod"),
    Case("require-in-a-component-file", append(f"{PROD}/database.toml", "\n[require]\nmulti_az = true\n"),
         f"{PROD}/database.toml", "require", "put [require] in env.toml", env="prod"),
]
# fmt: on


# --- running the CLI ----------------------------------------------------------------------


def _tree(tmp_path: Path, mutate: Mutation) -> Path:
    root = tmp_path / "environments"
    shutil.copytree(ENVIRONMENTS, root, symlinks=True)
    mutate(root)
    return root


def _real_cli(root: Path, env: str, variables: dict[str, str]) -> tuple[int, str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AWS_")) and k not in VARIABLES}
    # PYTHONPATH: this checkout's engine, also when .venv was installed from another worktree
    environ |= {"INFRA_ENVIRONMENTS": str(root), "PYTHONPATH": str(REPO), "COLUMNS": "200", **variables}
    proc = subprocess.run([str(INFRA), "config", env], env=environ, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def _in_process(root: Path, env: str, variables: dict[str, str], monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setattr("infra.config.layers.ENVIRONMENTS", root)
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["infra", "config", env])
    with pytest.raises(SystemExit) as exited:
        main()
    said = capsys.readouterr()
    return exited.value.code, said.out, said.err


def run(tmp_path: Path, case: Case, monkeypatch, capsys) -> tuple[int, str, str]:
    root = _tree(tmp_path, case.mutate)
    if case.real_cli:
        return _real_cli(root, case.env, case.variables)
    return _in_process(root, case.env, case.variables, monkeypatch, capsys)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_the_real_layers_are_accepted(tmp_path, env):
    code, out, err = _real_cli(_tree(tmp_path, nothing), env, {})
    assert code == EXIT_OK, err
    assert '"environment"' in out and "Traceback" not in err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_input_is_refused_naming_file_and_key(tmp_path, case, monkeypatch, capsys):
    code, out, err = run(tmp_path, case, monkeypatch, capsys)
    assert "Traceback" not in err + out, err
    assert code == EXIT_BAD_INPUT, err
    root = tmp_path / "environments"
    file = case.file if case.file.startswith("$") else f"{root}/{case.file}"
    named = f"error: {file}: {case.key}: " if case.key else f"error: {file}: "
    lines = err.splitlines()
    assert any(line.startswith(named) or line.startswith(named.removeprefix("error: ")) for line in lines), err
    assert case.said.format(root=root) in err, err


def test_there_are_at_least_60_cases():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
