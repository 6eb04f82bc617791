"""The whole loop on the embedded emulator: real Terraform, real moto over HTTPS, probes.

Minutes per environment (the AWS provider's own waiters poll every 10-30 s even when the
emulator answers at once). dev is deployed once for the checks that need a deployment.
"""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest

from infra.config import load_environment
from infra.emulator import identities, launcher
from infra.paths import REPO, SYNTH_OUT, WORK
from infra.pipeline.compliance import last_report
from infra.pipeline.deploy import apply_bootstrap
from infra.pipeline.probe import run_probes
from infra.pipeline.up import up
from infra.policy import prowler
from infra.runner import operations
from infra.synth.accounts import ci_account
from infra.synth.graph import StackGraph
from modules.ci_identities import documents
from tests import ci_roles
from tests.leaks import leaked

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def dev():
    """dev deployed on the emulator (the loop up to a clean re-plan), and the emulator stopped
    afterwards with it. Not destroyed: dev's destroy is the main job's (`scripts/up`, the
    README's first command), staging's and prod's are their loops' (test_full_loops.py)."""
    try:
        loop = up("dev", keep=True)
    except BaseException:
        launcher.stop()  # keep=True leaves it running, for the tests below; not on failure
        raise
    assert [p.name for p in loop.phases if p.status == "ok"] == [
        "emulator",
        "bootstrap",
        "synth",
        "scan",
        "plan",
        "apply",
        "probe",
        "compliance",
        "re-plan",
    ]
    graph = StackGraph.from_synth(SYNTH_OUT)
    names = graph.for_environments(["dev"])
    yield graph, names
    launcher.stop()


def _merged(outputs: dict) -> dict:
    """Every stack's outputs in one mapping (output names are unique)."""
    return {k: v for values in outputs.values() for k, v in values.items()}


def _failed(output: str) -> set[str]:
    """The names of the probes a pytest run's output reports as failed."""
    return {line.split("::")[-1].split(" ")[0] for line in output.splitlines() if line.startswith("FAILED")}


def _broken_then_restored(
    outputs: dict, tmp_path, probes: list[str], broken, restored, restored_args: tuple[str, ...] = ()
) -> tuple:
    """Run `probes` with the deployment broken (`broken()`), then again after `restored()`:
    (the broken run's result, the restored run's)."""
    (tmp_path / "broken").mkdir()
    (tmp_path / "restored").mkdir()
    broken()
    try:
        result = run_probes("dev", outputs, tmp_path / "broken", probes)
    finally:
        restored()
    return result, run_probes("dev", outputs, tmp_path / "restored", [*probes, *restored_args])


def test_dev_applies_probes_clean_and_replans_empty(dev):
    graph, names = dev
    assert len(names) == 10


def test_each_probe_fails_when_the_deployment_is_wrong(dev, tmp_path):
    """Break three things out of band; the matching probes, and only those, must fail."""
    graph, names = dev
    outputs = operations.outputs(graph, names)
    merged = _merged(outputs)
    region = "sa-east-1"
    rds = boto3.client("rds", region_name=region)
    rds.modify_db_instance(DBInstanceIdentifier=merged["db_instance_identifier"], MultiAZ=False, ApplyImmediately=True)
    wafv2 = boto3.client("wafv2", region_name=region)
    wafv2.disassociate_web_acl(ResourceArn=merged["alb_arn"])
    efs = boto3.client("efs", region_name=region)
    # not the zone the probe task starts in (the emulator's: the first subnet given), or the
    # in-VPC EFS probes fail too, by which mount target the listing happens to give first
    task_subnet = merged["private_subnet_ids"][0]
    targets = efs.describe_mount_targets(FileSystemId=merged["efs_file_system_id"])["MountTargets"]
    elsewhere = next((t for t in targets if t["SubnetId"] != task_subnet), None)
    assert elsewhere is not None, f"every mount target is in the probe task's subnet {task_subnet}: {targets}"
    efs.delete_mount_target(MountTargetId=elsewhere["MountTargetId"])
    try:
        result = run_probes("dev", outputs, tmp_path, ["-p", "no:randomly"])
        assert result.returncode == 1, result.output[-2000:]
        failed = _failed(result.output)
        assert failed == {
            "test_multi_az_as_configured",
            "test_the_standby_runs_in_another_zone_than_the_primary",
            "test_the_web_acl_is_associated_with_the_alb",
            # a disassociated web ACL blocks nothing: the ALB answers the attacks
            "test_a_sql_injection_in_the_query_string_is_answered_403",
            "test_a_cross_site_scripting_payload_is_answered_403",
            "test_a_log4j_lookup_in_a_header_is_answered_403",
            "test_a_mount_target_is_available_in_every_private_subnet",
        }, result.output[-3000:]
        assert "RDS Multi-AZ: expected True, found False" in result.output
    finally:
        # put back as they were: Multi-AZ and the association by hand (the same settings and
        # the same association ID Terraform holds), the mount target by Terraform (a new one
        # has a new ID, which only Terraform's state can take in)
        rds.modify_db_instance(
            DBInstanceIdentifier=merged["db_instance_identifier"], MultiAZ=True, ApplyImmediately=True
        )
        wafv2.associate_web_acl(WebACLArn=merged["web_acl_arn"], ResourceArn=merged["alb_arn"])
        healed = operations.apply(graph, ["dev-storage"], run_dir=tmp_path / "heal")
    assert {o.stack: o.detail for o in healed} == {"dev-storage": "applied +1"}  # the mount target made again
    (tmp_path / "restored").mkdir()
    restored = run_probes("dev", outputs, tmp_path / "restored", ["-p", "no:randomly"])
    assert restored.ok, restored.output[-2000:]


def test_the_redis_plaintext_probe_fails_when_transit_encryption_is_only_preferred(dev, tmp_path):
    """Let the cache take plaintext too (mode `preferred`): the data plane answers a plaintext
    PING, so the plaintext probes (the runner's and the in-VPC task's), and only they, fail;
    back to `required`, they pass again."""
    graph, names = dev
    outputs = operations.outputs(graph, names)
    group_id = _merged(outputs)["redis_replication_group_id"]
    elasticache = boto3.client("elasticache", region_name="sa-east-1")
    redis_probes = ["-p", "no:randomly", "-k", "test_redis or test_in_vpc"]

    def mode(value: str) -> None:
        elasticache.modify_replication_group(
            ReplicationGroupId=group_id, TransitEncryptionMode=value, ApplyImmediately=True
        )

    result, restored = _broken_then_restored(
        outputs, tmp_path, redis_probes, lambda: mode("preferred"), lambda: mode("required")
    )
    assert result.returncode == 1, result.output[-2000:]
    failed = _failed(result.output)
    assert failed == {
        "test_a_plaintext_connection_is_refused_or_gets_no_answer",
        "test_from_the_lms_group[redis.plaintext]",
    }, result.output[-3000:]
    assert "expected a plaintext PING to be refused or get no answer, found b'-NOAUTH" in result.output
    assert (
        "expected no answer to a plaintext PING (the connection refused or closed), found answered b'-NOAUTH"
        in result.output
    )
    assert restored.ok and "19 passed" in restored.summary, restored.output[-2000:]


def test_the_wrong_token_probes_fail_when_the_app_user_needs_no_password(dev, tmp_path):
    """Switch the cache's application user to `no-password-required` (ModifyUser, as a hand
    change would): a forged IAM token is let in, so the wrong-token probes (the runner's and
    the in-VPC task's), and only they, fail; back to IAM authentication, they pass again."""
    graph, names = dev
    outputs = operations.outputs(graph, names)
    merged = _merged(outputs)
    elasticache = boto3.client("elasticache", region_name="sa-east-1")
    [user] = [u for u in elasticache.describe_users()["Users"] if u["UserName"] == merged["redis_app_user"]]
    assert user["Authentication"]["Type"] == "iam", user

    def mode(kind: str) -> None:
        elasticache.modify_user(UserId=user["UserId"], AuthenticationMode={"Type": kind})

    probes = ["-p", "no:randomly", "-k", "test_redis or test_in_vpc"]
    result, restored = _broken_then_restored(
        outputs, tmp_path, probes, lambda: mode("no-password-required"), lambda: mode("iam")
    )
    assert result.returncode == 1, result.output[-2000:]
    assert _failed(result.output) == {
        "test_a_wrong_token_is_refused",
        "test_from_the_lms_group[redis.wrong_token]",
    }, result.output[-3000:]
    assert "a forged token was let in" in result.output
    assert restored.ok and "19 passed" in restored.summary, restored.output[-2000:]


def test_the_mysql_plaintext_probe_fails_when_require_secure_transport_is_off(dev, tmp_path):
    """Turn require_secure_transport off in the instance's parameter group (ModifyDBParameterGroup,
    as an operator would): a login without TLS is let in, so those probes (the runner's and
    the in-VPC task's), and only they, fail; back on, every database probe passes again."""
    graph, names = dev
    outputs = operations.outputs(graph, names)
    identifier = _merged(outputs)["db_instance_identifier"]
    rds = boto3.client("rds", region_name="sa-east-1")
    instance = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    group = instance["DBParameterGroups"][0]["DBParameterGroupName"]
    database_probes = ["-p", "no:randomly", "-k", "test_database or test_in_vpc"]

    def require_secure_transport(value: str) -> None:
        rds.modify_db_parameter_group(
            DBParameterGroupName=group,
            Parameters=[
                {"ParameterName": "require_secure_transport", "ParameterValue": value, "ApplyMethod": "immediate"}
            ],
        )

    result, restored = _broken_then_restored(
        outputs, tmp_path, database_probes, lambda: require_secure_transport("0"), lambda: require_secure_transport("1")
    )
    assert result.returncode == 1, result.output[-2000:]
    failed = _failed(result.output)
    assert failed == {"test_a_login_without_tls_is_refused", "test_from_the_lms_group[mysql.plaintext]"}, result.output[
        -3000:
    ]
    assert "expected a login without TLS to be refused with error 3159" in result.output
    assert "found it logged in and SELECT 1 answered ((1,),)" in result.output
    assert "found a login without TLS was let in" in result.output
    assert restored.ok and "20 passed" in restored.summary, restored.output[-2000:]


def _web_acl_rules(outputs: dict) -> tuple[list[dict], object]:
    """The web ACL's rules now, and a function that puts a list of rules in their place
    (UpdateWebACL with its lock token, as an operator would)."""
    acl_arn = _merged(outputs)["web_acl_arn"]
    name, acl_id = acl_arn.rsplit("/", 2)[1:]
    wafv2 = boto3.client("wafv2", region_name="sa-east-1")

    def put(rules: list[dict]) -> None:
        current = wafv2.get_web_acl(Name=name, Scope="REGIONAL", Id=acl_id)
        acl = current["WebACL"]
        wafv2.update_web_acl(
            Name=name,
            Scope="REGIONAL",
            Id=acl_id,
            DefaultAction=acl["DefaultAction"],
            VisibilityConfig=acl["VisibilityConfig"],
            Rules=rules,
            LockToken=current["LockToken"],
        )

    return wafv2.get_web_acl(Name=name, Scope="REGIONAL", Id=acl_id)["WebACL"]["Rules"], put


def test_the_waf_sqli_probe_fails_when_the_sqli_rule_group_is_removed_from_the_web_acl(dev, tmp_path):
    """Take AWSManagedRulesSQLiRuleSet out of the web ACL (UpdateWebACL with its lock
    token): the ALB data plane lets SQL injection through, so the SQLi probe, and only it,
    fails; put back, every WAF probe passes, the rate rule's burst (--slow) too."""
    graph, names = dev
    outputs = operations.outputs(graph, names)
    rules, put = _web_acl_rules(outputs)
    waf_probes = ["-p", "no:randomly", "-k", "test_waf.py"]
    assert "AWSManagedRulesSQLiRuleSet" in {r["Name"] for r in rules}
    result, restored = _broken_then_restored(
        outputs,
        tmp_path,
        waf_probes,
        lambda: put([r for r in rules if r["Name"] != "AWSManagedRulesSQLiRuleSet"]),
        lambda: put(rules),
        restored_args=("--slow",),
    )
    assert result.returncode == 1, result.output[-2000:]
    failed = _failed(result.output)
    assert failed == {"test_a_sql_injection_in_the_query_string_is_answered_403"}, result.output[-3000:]
    assert "to be blocked by the web ACL (403), found 404" in result.output
    assert restored.ok and "5 passed" in restored.summary, restored.output[-2000:]


def test_the_waf_rate_probe_fails_when_the_rate_limit_is_raised(dev, tmp_path):
    """Raise the rate-based rule's limit a hundredfold: the burst the probe sends (sized by
    the layers' limit) is no longer blocked, so the rate probe, and only it, fails; put
    back, it passes."""
    graph, names = dev
    outputs = operations.outputs(graph, names)
    rules, put = _web_acl_rules(outputs)
    [rate] = [r for r in rules if "RateBasedStatement" in r["Statement"]]
    raised = json.loads(json.dumps(rate))
    raised["Statement"]["RateBasedStatement"]["Limit"] *= 100
    rate_probe = ["-p", "no:randomly", "-k", "test_the_rate_rule", "--slow"]
    result, restored = _broken_then_restored(
        outputs, tmp_path, rate_probe, lambda: put([raised if r is rate else r for r in rules]), lambda: put(rules)
    )
    assert result.returncode == 1, result.output[-2000:]
    assert _failed(result.output) == {"test_the_rate_rule_blocks_a_burst_from_one_address"}, result.output[-3000:]
    assert "to block a burst, found 404" in result.output
    assert restored.ok and "1 passed" in restored.summary, restored.output[-2000:]


IN_VPC = ["-p", "no:randomly", "-k", "test_in_vpc"]


def test_the_efs_owner_probe_fails_when_the_access_point_has_another_posix_user(dev, tmp_path):
    """An access point with another POSIX user (uid 4242) on the content file system, and a
    revision of the probe task that mounts through it (what replacing the access point does):
    what the task writes belongs to 4242, so the owner probe, and only it, fails; with that
    revision deregistered and the access point deleted, every in-VPC probe passes again."""
    graph, names = dev
    outputs = operations.outputs(graph, names)
    merged = _merged(outputs)
    efs = boto3.client("efs", region_name="sa-east-1")
    ecs = boto3.client("ecs", region_name="sa-east-1")
    current = ecs.describe_task_definition(taskDefinition=merged["probe_task_family"])["taskDefinition"]
    made: dict[str, str] = {}

    def broken() -> None:
        made["point"] = efs.create_access_point(
            FileSystemId=merged["efs_file_system_id"],
            PosixUser={"Uid": 4242, "Gid": 4242},
            RootDirectory={
                "Path": "/probe-other-user",
                "CreationInfo": {"OwnerUid": 4242, "OwnerGid": 4242, "Permissions": "750"},
            },
        )["AccessPointId"]
        volumes = json.loads(json.dumps(current["volumes"]))
        for volume in volumes:
            if "efsVolumeConfiguration" in volume:
                volume["efsVolumeConfiguration"]["authorizationConfig"]["accessPointId"] = made["point"]
        keep = (
            "family",
            "taskRoleArn",
            "executionRoleArn",
            "networkMode",
            "containerDefinitions",
            "requiresCompatibilities",
            "cpu",
            "memory",
        )
        made["revision"] = ecs.register_task_definition(**{k: current[k] for k in keep}, volumes=volumes)[
            "taskDefinition"
        ]["taskDefinitionArn"]

    def restored() -> None:
        ecs.deregister_task_definition(taskDefinition=made["revision"])
        efs.delete_access_point(AccessPointId=made["point"])

    result, restored_run = _broken_then_restored(outputs, tmp_path, IN_VPC, broken, restored)
    assert result.returncode == 1, result.output[-2000:]
    assert _failed(result.output) == {"test_from_the_lms_group[efs.owner]"}, result.output[-3000:]
    assert "found owner 4242:4242" in result.output
    assert restored_run.ok, restored_run.output[-2000:]


def test_the_in_vpc_redis_probes_fail_when_the_caches_ingress_rule_for_the_lms_is_removed(dev, tmp_path):
    """Revoke the cache's ingress rule that admits the LMS's group (as a hand-made change
    would): the Redis plane drops the probe task's connections, so the in-VPC Redis probes
    fail, and nothing else; Terraform puts the rule back."""
    graph, names = dev
    outputs = operations.outputs(graph, names)
    merged = _merged(outputs)
    ec2 = boto3.client("ec2", region_name="sa-east-1")
    group = boto3.client("elasticache", region_name="sa-east-1").describe_replication_groups(
        ReplicationGroupId=merged["redis_replication_group_id"]
    )["ReplicationGroups"][0]
    cache_groups = [
        g["SecurityGroupId"]
        for g in boto3.client("elasticache", region_name="sa-east-1").describe_cache_clusters(
            CacheClusterId=group["MemberClusters"][0]
        )["CacheClusters"][0]["SecurityGroups"]
    ]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": cache_groups}])[
        "SecurityGroupRules"
    ]
    from_lms = [
        r
        for r in rules
        if not r["IsEgress"] and r.get("ReferencedGroupInfo", {}).get("GroupId") == merged["lms_security_group_id"]
    ]
    assert len(from_lms) == 1, rules
    ec2.revoke_security_group_ingress(
        GroupId=from_lms[0]["GroupId"], SecurityGroupRuleIds=[from_lms[0]["SecurityGroupRuleId"]]
    )
    try:
        result = run_probes("dev", outputs, tmp_path, IN_VPC)
    finally:
        healed = operations.apply(graph, ["dev-redis"], run_dir=tmp_path / "heal")
    assert {o.stack: o.detail for o in healed} == {"dev-redis": "applied +1"}
    assert result.returncode == 1, result.output[-2000:]
    assert _failed(result.output) == {
        "test_from_the_lms_group[redis.tls]",
        "test_from_the_lms_group[redis.plaintext]",  # says nothing without a connection: fails too
        "test_from_the_lms_group[redis.login]",
        "test_from_the_lms_group[redis.wrong_token]",
    }, result.output[-3000:]
    (tmp_path / "restored").mkdir()
    restored = run_probes("dev", outputs, tmp_path / "restored", IN_VPC)
    assert restored.ok, restored.output[-2000:]


def test_drift_made_outside_terraform_is_found_and_reported(dev):
    """Change a key's description by hand: `infra drift` finds it (exit 3), and not once undone."""
    graph, names = dev
    key = operations.outputs(graph, ["dev-kms"])["dev-kms"]["data_key_arn"]
    kms = boto3.client("kms", region_name="sa-east-1")
    original = kms.describe_key(KeyId=key)["KeyMetadata"]["Description"]

    def drift() -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", "from infra.cli import main; main()", "drift", "dev", "--stack", "kms"]
        return subprocess.run([*command, "--fail-on-drift"], cwd=REPO, capture_output=True, text=True, check=False)

    kms.update_key_description(KeyId=key, Description="changed by hand")
    try:
        found = drift()
        assert found.returncode == 3, found.stdout + found.stderr
        assert "Drift for `dev`: drift found · 1 stack drifted" in found.stdout
        assert '+ description = "changed by hand"' in found.stdout  # what the world has now
    finally:
        kms.update_key_description(KeyId=key, Description=original)
    calm = drift()
    assert calm.returncode == 0, calm.stdout + calm.stderr
    assert "no drift · 0 stacks drifted" in calm.stdout


def test_every_prowler_mute_still_matches_a_finding(dev):
    """The loop's compliance phase passed (the fixture); each mute in the mutelist must
    still have muted something in it, or it is stale and goes."""
    findings = prowler.parse(json.loads(last_report("dev").read_text()))
    assert any(f.muted for f in findings)
    assert [m.check for m in prowler.stale_mutes(prowler.mutes(), findings)] == []


def test_prowler_keeps_the_bytecode_its_runs_compile(dev):
    """The loop's compliance phase ran Prowler: its own virtualenv now holds the bytecode of
    what it imported, so the next run does not compile its ~2,000 modules again (~8 s of CPU;
    PYTHONDONTWRITEBYTECODE, where set, is not passed to it)."""
    site = next(prowler.home().glob("lib/python3*/site-packages"))
    assert list((site / "prowler" / "providers" / "aws" / "__pycache__").glob("aws_provider.*.pyc"))


def test_the_compliance_gate_fails_when_a_data_key_stops_rotating(dev, tmp_path):
    graph, names = dev
    cfg = load_environment("dev").config
    key = operations.outputs(graph, ["dev-kms"])["dev-kms"]["data_key_arn"]
    kms = boto3.client("kms", region_name=cfg.region)
    kms.disable_key_rotation(KeyId=key)
    try:
        scan = prowler.run(cfg.account.id, cfg.region, tmp_path, services=("kms",))
    finally:
        kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=cfg.components.kms.rotation_period_days)
    assert [(f.check, f.resource) for f in scan.gating] == [("kms_cmk_rotation_enabled", key)]


def test_no_secret_value_reaches_a_report_a_log_or_a_plan_file(dev):
    """The deployment's secret values (the LMS database secret, the RDS-managed master
    password) appear in nothing the loop wrote: reports, comments and summaries, Terraform's
    logs, plan files and plan JSON, the probe and compliance reports."""
    graph, names = dev
    cfg = load_environment("dev").config
    sm = boto3.client("secretsmanager", region_name=cfg.region)
    master = operations.outputs(graph, ["dev-database"])["dev-database"]["db_master_secret_arn"]
    secrets = {
        name: json.loads(sm.get_secret_value(SecretId=secret)["SecretString"])["password"]
        for name, secret in (("lms", cfg.components.lms.db_secret_name), ("rds master", master))
    }
    written = [p for folder in (WORK / "runs", WORK / "work", WORK / "compliance") for p in folder.rglob("*")]
    files = [p for p in written if p.is_file() and ".terraform" not in p.parts]
    assert len(files) > 50  # the loop's reports, logs and plans are there to search
    assert leaked(secrets, files) == []


def test_the_bootstrap_stack_made_the_hardened_state_bucket_and_the_documents_roles(dev):
    """What `infra bootstrap` left in the account (the loop's bootstrap phase): the state
    bucket's settings as S3 reports them, and each CI role as IAM reports it, equal to
    modules/ci_identities/documents.py."""
    account = ci_account("dev")
    s3, iam = boto3.client("s3"), boto3.client("iam")
    bucket, logs = account.bucket, account.access_logs
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    [sse] = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms" and sse["BucketKeyEnabled"]
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90, "NewerNoncurrentVersions": 10}
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["TlsOnly"]
    logging = s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
    assert logging == {"TargetBucket": logs, "TargetPrefix": f"{bucket}/"}
    [log_sse] = s3.get_bucket_encryption(Bucket=logs)["ServerSideEncryptionConfiguration"]["Rules"]
    assert log_sse["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}

    [provider] = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert provider["Arn"] == account.provider_arn
    boundary = iam.get_policy(PolicyArn=account.boundary_arn)["Policy"]
    version = iam.get_policy_version(PolicyArn=account.boundary_arn, VersionId=boundary["DefaultVersionId"])
    assert _document(version["PolicyVersion"]["Document"]) == documents.boundary_policy(account)
    for purpose, name in documents.ROLE_NAMES.items():
        role = iam.get_role(RoleName=name)["Role"]
        assert _document(role["AssumeRolePolicyDocument"]) == documents.trust(account, purpose)
        assert role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") == (
            account.boundary_arn if purpose == "apply" else None
        )
        policy_name, own = documents.own_policies(account)[purpose]
        assert iam.list_role_policies(RoleName=name)["PolicyNames"] == [policy_name]
        assert _document(iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]) == own
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        assert sorted(p["PolicyArn"] for p in attached) == sorted(
            account.managed(m) for m in documents.MANAGED_POLICIES[purpose]
        )


def test_a_second_bootstrap_finds_the_bucket_and_changes_nothing(dev, tmp_path):
    said = apply_bootstrap("dev", run_dir=tmp_path)
    assert said.startswith(f"found s3://{ci_account('dev').bucket}; nonprod-bootstrap: no changes (CI roles ")
    assert (tmp_path / "nonprod-bootstrap" / "plan.txt").read_text().strip().startswith("No changes.")


def _document(value) -> dict:
    """A policy document as IAM returns it (boto3 decodes it; a string when not)."""
    return json.loads(value) if isinstance(value, str) else value


def test_zz_every_dev_stack_plans_as_the_plan_role_and_writes_nothing(dev, tmp_path):
    """The CI identities the bootstrap stack made (the loop's first phase), IAM enforced, then
    dev's every stack planned as the plan role, as a pull request's plan job runs it:
    Terraform refreshes every resource with the plan role's managed policies (ReadOnlyAccess,
    SecurityAudit) and its state reads, and the state bucket's versions are exactly as
    before. Enforcement goes off again afterwards (and this test runs last)."""
    graph, names = dev
    account = ci_account("dev")
    iam = boto3.client("iam")
    s3 = ci_roles.administrator(iam, account).client("s3")
    emulator = launcher.current()
    assert emulator is not None
    emulator.enforce_iam()

    before = ci_roles.bucket_writes(s3, account.bucket)
    try:
        with identities.acting_as(identities.assume(account, "plan")):
            outcomes = operations.plan(graph, names, run_dir=tmp_path, lock=False)
    finally:
        emulator.enforce_iam(enforced=False)
    assert {o.stack: o.detail for o in outcomes} == {name: "no changes" for name in names}
    assert ci_roles.bucket_writes(s3, account.bucket) == before
