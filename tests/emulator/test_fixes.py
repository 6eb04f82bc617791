"""Each emulator fix: the gap on stock moto 5.2.5, and the behaviour with ours.

When moto catches up, the "stock" test of a fix starts failing: that is the signal to
drop the fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.emulator import fixes
from infra.emulator.fixes.s3 import BUCKET_SETTINGS

REGION = "sa-east-1"
TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::state", "arn:aws:s3:::state/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


@pytest.fixture(autouse=True)
def aws(in_process_aws) -> Iterator[None]:
    """Each test starts on stock moto (in this process); it applies the fix it shows."""
    fixes.undo()
    yield
    fixes.undo()


def client(service: str):
    return boto3.client(service, region_name=REGION)


def error_code(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


# --- iam_enforcement -------------------------------------------------------------------------


@pytest.fixture
def enforced(monkeypatch):
    """IAM enforcement on after an admin user (made while it was off): that user's session."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 10_000)
    monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)
    iam = client("iam")
    iam.create_user(UserName="admin")
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(everything))
    guard = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "arn:aws:iam::123456789012:policy/guarded"}],
    }
    iam.put_user_policy(UserName="admin", PolicyName="guard", PolicyDocument=json.dumps(guard))
    iam.create_policy(PolicyName="guarded", PolicyDocument=json.dumps(everything))
    iam.create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", ActionAuthenticatorMixin.request_count)
    return boto3.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
    )


def web_identity() -> dict:
    return client("sts").assume_role_with_web_identity(
        RoleArn="arn:aws:iam::123456789012:role/ci", RoleSessionName="ci", WebIdentityToken="token"
    )


def edit_guarded_policy(session) -> None:
    session.client("iam").create_policy_version(
        PolicyArn="arn:aws:iam::123456789012:policy/guarded",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
        ),
        SetAsDefault=True,
    )


def test_stock_moto_with_iam_enforced_refuses_unsigned_web_identity_calls_and_denies_by_name(enforced):
    with pytest.raises(KeyError):  # moto in this process: the server would answer 500
        web_identity()
    # an IAM request on anything but an existing role is authorised against "*", which a
    # Deny naming the policy does not match: the policy is changed
    edit_guarded_policy(enforced)


def test_with_our_fix_web_identity_is_unsigned_and_a_deny_names_its_policy(enforced):
    fixes.apply("iam_enforcement")
    assert web_identity()["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert error_code(lambda: edit_guarded_policy(enforced)) == "AccessDenied"


REFRESH_READS = ["cloudwatch:Describe*", "elasticfilesystem:Describe*", "guardduty:Get*", "s3:List*"]


def user(admin, name: str, policy: dict) -> boto3.Session:
    """A user holding this inline policy, made by `admin`, and its session."""
    iam = admin.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
    )


def answer(call, **arguments) -> str:
    """What the call with these arguments got: "ok", or its error code."""
    try:
        call(**arguments)
        return "ok"
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])


def reader(admin, name: str = "reader", reads: list[str] = REFRESH_READS) -> boto3.Session:
    """A user allowed `reads`: by default the reads Terraform's refresh makes of alarms, file
    systems and detectors, by the IAM names ReadOnlyAccess grants them under."""
    return user(
        admin, name, {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": reads, "Resource": "*"}]}
    )


def refresh_reads(admin, session) -> dict[str, str]:
    """Each read as `session`, of a detector and a file system made by `admin`: "ok", or the
    error code it got."""
    detector = admin.client("guardduty").create_detector(Enable=True)["DetectorId"]
    file_system = admin.client("efs").create_file_system()["FileSystemId"]
    bucket = f"logs-{detector[:8]}"
    admin.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    reads = {
        "s3:ListBucket (HeadBucket)": lambda: session.client("s3").head_bucket(Bucket=bucket),
        "cloudwatch:DescribeAlarms": lambda: session.client("cloudwatch").describe_alarms(),
        "elasticfilesystem:DescribeFileSystems": lambda: session.client("efs").describe_file_systems(
            FileSystemId=file_system
        ),
        "guardduty:GetDetector": lambda: session.client("guardduty").get_detector(DetectorId=detector),
    }
    found = {}
    for action, read in reads.items():
        try:
            read()
            found[action] = "ok"
        except ClientError as exc:
            error = exc.response["Error"]
            # moto answers a REST API's refusal in XML, which its JSON client reads as a bare 403
            refused = "<Code>AccessDenied</Code>" in str(error.get("Message", ""))
            found[action] = "AccessDenied" if refused else str(error["Code"])
    return found


def test_stock_moto_with_iam_enforced_refuses_bodyless_rest_reads_and_names_cloudwatch_monitoring(enforced):
    assert refresh_reads(enforced, reader(enforced)) == {
        "s3:ListBucket (HeadBucket)": "AccessDenied",  # it asked for s3:HeadBucket, no IAM action
        "cloudwatch:DescribeAlarms": "AccessDenied",  # it asked for monitoring:DescribeAlarms
        "elasticfilesystem:DescribeFileSystems": "403",  # SignatureDoesNotMatch, in XML to a JSON client
        "guardduty:GetDetector": "403",
    }


def test_with_our_fix_bodyless_rest_reads_are_signed_right_and_cloudwatch_is_cloudwatch(enforced):
    fixes.apply("iam_enforcement")
    actions = (
        "s3:ListBucket (HeadBucket)",
        "cloudwatch:DescribeAlarms",
        "elasticfilesystem:DescribeFileSystems",
        "guardduty:GetDetector",
    )
    assert refresh_reads(enforced, reader(enforced)) == dict.fromkeys(actions, "ok")
    # still authorised, not waved through: a user allowed only other reads is refused each
    others = reader(enforced, "other", ["ec2:Describe*"])
    assert refresh_reads(enforced, others) == dict.fromkeys(actions, "AccessDenied")


# --- iam_conditions --------------------------------------------------------------------------


def tls_only_bucket():
    s3 = client("s3")
    s3.create_bucket(Bucket="state", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_policy(Bucket="state", Policy=json.dumps(TLS_ONLY))
    return s3


def test_stock_moto_denies_everything_under_a_tls_only_policy():
    s3 = tls_only_bucket()
    assert error_code(lambda: s3.head_object(Bucket="state", Key="missing")) == "403"


def test_with_our_fix_a_tls_only_policy_lets_tls_requests_through():
    fixes.apply("iam_conditions")
    s3 = tls_only_bucket()
    assert error_code(lambda: s3.head_object(Bucket="state", Key="missing")) == "404"
    s3.put_object(Bucket="state", Key="k", Body=b"x")
    assert s3.get_object(Bucket="state", Key="k")["Body"].read() == b"x"


def test_with_our_fix_a_deny_whose_condition_holds_still_denies():
    fixes.apply("iam_conditions")
    s3 = tls_only_bucket()
    policy = json.loads(json.dumps(TLS_ONLY))
    policy["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"] = "true"
    s3.put_bucket_policy(Bucket="state", Policy=json.dumps(policy))
    assert error_code(lambda: s3.head_object(Bucket="state", Key="missing")) == "403"


OUTSIDE_THE_STATE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "NotResource": ["arn:aws:s3:::state/dev/*"]},
    ],
}


def _reads(resource: str) -> str:
    from moto.iam.access_control import IAMPolicy

    return IAMPolicy(json.dumps(OUTSIDE_THE_STATE)).is_action_permitted("s3:GetObject", resource).name


def test_stock_moto_permits_what_a_deny_with_not_resource_denies():
    assert _reads("arn:aws:s3:::state/secrets/key") == "PERMITTED"


def test_with_our_fix_a_deny_with_not_resource_denies_all_but_its_exceptions():
    fixes.apply("iam_conditions")
    assert _reads("arn:aws:s3:::state/secrets/key") == "DENIED"
    assert _reads("arn:aws:s3:::other-bucket/key") == "DENIED"
    assert _reads("arn:aws:s3:::state/dev/kms/terraform.tfstate") == "PERMITTED"


BOUNDARY = "arn:aws:iam::123456789012:policy/guarded"
READS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def role_maker(admin) -> boto3.Session:
    """A user who may do anything but make a role without the boundary (the apply role's guard)."""
    return user(
        admin,
        "maker",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"],
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": BOUNDARY}},
                },
            ],
        },
    )


def roles_made(maker) -> dict[str, str]:
    """A role made with the boundary, with another one, and with none: "ok" or the error code."""
    iam = maker.client("iam")
    return {
        name: answer(iam.create_role, RoleName=name, AssumeRolePolicyDocument="{}", **extra)
        for name, extra in (
            ("with", {"PermissionsBoundary": BOUNDARY}),
            ("other", {"PermissionsBoundary": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
            ("none", {}),
        )
    }


def policies_put(admin, maker) -> dict[str, str]:
    """An inline policy put on a role with the boundary and on one without (made by the
    administrator): "ok" or the error code. For PutRolePolicy the key is the role's boundary."""
    put = {}
    for name, extra in (("bounded", {"PermissionsBoundary": BOUNDARY}), ("unbounded", {})):
        admin.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument="{}", **extra)
        put[name] = answer(
            maker.client("iam").put_role_policy, RoleName=name, PolicyName="p", PolicyDocument=json.dumps(READS)
        )
    return put


def test_stock_moto_with_iam_enforced_refuses_every_role_under_a_boundary_condition(enforced):
    """StringNotEquals is unknown and the request's iam:PermissionsBoundary is not given to
    the policy: the condition counts as holding, so the Deny refuses even the right boundary."""
    fixes.apply("iam_enforcement")
    maker = role_maker(enforced)
    assert roles_made(maker) == {"with": "AccessDenied", "other": "AccessDenied", "none": "AccessDenied"}
    assert policies_put(enforced, maker) == {"bounded": "AccessDenied", "unbounded": "AccessDenied"}


def test_with_our_fix_a_role_is_made_and_changed_only_with_the_boundary(enforced):
    fixes.apply("iam_enforcement")
    fixes.apply("iam_conditions")
    maker = role_maker(enforced)
    assert roles_made(maker) == {"with": "ok", "other": "AccessDenied", "none": "AccessDenied"}
    assert policies_put(enforced, maker) == {"bounded": "ok", "unbounded": "AccessDenied"}


# --- iam_speed --------------------------------------------------------------------------------

MANAGED = ("ReadOnlyAccess", "SecurityAudit", "AdministratorAccess")
ASKED = [  # (action, resource): granted by some of these policies, by none, by wildcards
    ("wafv2:GetWebACL", "*"),
    ("elasticfilesystem:DescribeMountTargets", "arn:aws:elasticfilesystem:sa-east-1:1:file-system/fs-1"),
    ("s3:PutObject", "arn:aws:s3:::state/dev/kms/terraform.tfstate"),
    ("iam:CreateRole", "arn:aws:iam::1:role/x"),
    ("cloudwatch:DescribeAlarms", "*"),
    ("nosuchservice:Get", "*"),
]


def _decisions() -> list[str]:
    from moto.iam.access_control import IAMPolicy
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data = json.loads(aws_managed_policies_data)
    documents = [json.dumps(data[name]["Document"]) for name in MANAGED] + [json.dumps(TLS_ONLY)]
    return [IAMPolicy(doc).is_action_permitted(a, r).name for doc in documents for a, r in ASKED]


def test_with_our_fix_iam_decides_as_stock_moto_and_compiles_each_pattern_once():
    """A speed fix: the same decisions as stock (ReadOnlyAccess's ~3,000 action patterns were
    compiled again at every request: 80 ms each), each pattern compiled once."""
    from infra.emulator.fixes import iam_speed

    stock = _decisions()
    assert {"PERMITTED", "NEUTRAL", "DENIED"} <= set(stock)  # the samples cover every outcome
    fixes.apply("iam_speed")
    iam_speed._compiled.cache_clear()
    assert _decisions() == stock
    compiled = iam_speed._compiled.cache_info().misses
    assert compiled > 3000  # every pattern of the four policies, once
    assert _decisions() == stock
    assert iam_speed._compiled.cache_info().misses == compiled  # none compiled again


# --- efs --------------------------------------------------------------------------------------


def file_system() -> str:
    return str(client("efs").create_file_system(CreationToken="t", Encrypted=True)["FileSystemId"])


def test_stock_moto_has_no_put_backup_policy():
    fs = file_system()
    with pytest.raises(NotImplementedError, match="put_backup_policy"):
        client("efs").put_backup_policy(FileSystemId=fs, BackupPolicy={"Status": "ENABLED"})


def test_with_our_fix_backup_and_file_system_policies_can_be_set_and_removed():
    fixes.apply("efs")
    efs, fs = client("efs"), file_system()
    efs.put_backup_policy(FileSystemId=fs, BackupPolicy={"Status": "ENABLED"})
    assert efs.describe_backup_policy(FileSystemId=fs)["BackupPolicy"]["Status"] == "ENABLED"
    efs.put_backup_policy(FileSystemId=fs, BackupPolicy={"Status": "DISABLED"})
    assert efs.describe_backup_policy(FileSystemId=fs)["BackupPolicy"]["Status"] == "DISABLED"
    efs.put_file_system_policy(FileSystemId=fs, Policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    efs.delete_file_system_policy(FileSystemId=fs)
    assert error_code(lambda: efs.describe_file_system_policy(FileSystemId=fs)) == "PolicyNotFound"


# --- elasticache --------------------------------------------------------------------------------


def switch_app_user_to_no_password() -> dict:
    ec = client("elasticache")
    ec.create_user(
        UserId="app", UserName="app", Engine="redis", AccessString="on ~* +@all", AuthenticationMode={"Type": "iam"}
    )
    ec.modify_user(UserId="app", AuthenticationMode={"Type": "no-password-required"}, AccessString="on ~* +get")
    return ec.describe_users(UserId="app")["Users"][0]


def test_stock_moto_has_no_modify_user():
    with pytest.raises(NotImplementedError):  # moto in this process: the server would answer 500
        switch_app_user_to_no_password()


def test_with_our_fix_modify_user_changes_the_authentication_and_access_string():
    fixes.apply("elasticache")
    user = switch_app_user_to_no_password()
    assert user["Authentication"]["Type"] == "no-password" and user["AccessString"] == "on ~* +get", user


def replication_group() -> dict:
    return client("elasticache").create_replication_group(
        ReplicationGroupId="sessions",
        ReplicationGroupDescription="s",
        Engine="redis",
        CacheNodeType="cache.t4g.small",
        NumCacheClusters=2,
        PreferredCacheClusterAZs=["sa-east-1a", "sa-east-1b"],
        AutomaticFailoverEnabled=True,
        MultiAZEnabled=True,
        TransitEncryptionEnabled=True,
    )["ReplicationGroup"]


def test_stock_moto_lists_members_that_do_not_exist_and_ignores_num_cache_clusters():
    group = replication_group()
    assert group["MemberClusters"] == ["sessions-001"]
    assert (
        error_code(lambda: client("elasticache").describe_cache_clusters(CacheClusterId="sessions-001"))
        == "CacheClusterNotFound"
    )


def test_stock_moto_never_finishes_deleting_a_group():
    replication_group()
    client("elasticache").delete_replication_group(ReplicationGroupId="sessions")
    status = client("elasticache").describe_replication_groups(ReplicationGroupId="sessions")
    assert status["ReplicationGroups"][0]["Status"] == "deleting"


def test_with_our_fix_members_exist_in_their_zones_and_deletes_finish():
    fixes.apply("elasticache")
    ec = client("elasticache")
    group = replication_group()
    assert group["MemberClusters"] == ["sessions-001", "sessions-002"]
    assert group["TransitEncryptionMode"] == "required"
    zones = [
        ec.describe_cache_clusters(CacheClusterId=m)["CacheClusters"][0]["PreferredAvailabilityZone"]
        for m in group["MemberClusters"]
    ]
    assert zones == ["sa-east-1a", "sa-east-1b"]
    first = ec.describe_cache_clusters(CacheClusterId="sessions-001")["CacheClusters"][0]
    assert first["TransitEncryptionEnabled"] is True  # the provider reads these from the first member
    assert first["TransitEncryptionMode"] == "required"
    assert first["AtRestEncryptionEnabled"] is False  # replication_group() does not ask for it
    ec.delete_replication_group(ReplicationGroupId="sessions")
    assert error_code(lambda: ec.describe_replication_groups(ReplicationGroupId="sessions")) == (
        "ReplicationGroupNotFoundFault"
    )
    assert error_code(lambda: ec.describe_cache_clusters(CacheClusterId="sessions-001")) == "CacheClusterNotFound"


def test_stock_moto_ignores_a_transit_encryption_mode_change():
    replication_group()
    client("elasticache").modify_replication_group(ReplicationGroupId="sessions", TransitEncryptionMode="preferred")
    group = client("elasticache").describe_replication_groups(ReplicationGroupId="sessions")["ReplicationGroups"][0]
    assert "TransitEncryptionMode" not in group


def test_with_our_fix_transit_encryption_and_auth_token_changes_are_kept():
    fixes.apply("elasticache")
    ec = client("elasticache")
    replication_group()
    ec.modify_replication_group(ReplicationGroupId="sessions", TransitEncryptionMode="preferred")
    ec.modify_replication_group(ReplicationGroupId="sessions", AuthToken="a-long-enough-auth-token")
    group = ec.describe_replication_groups(ReplicationGroupId="sessions")["ReplicationGroups"][0]
    assert (group["TransitEncryptionMode"], group["AuthTokenEnabled"]) == ("preferred", True)
    first = ec.describe_cache_clusters(CacheClusterId="sessions-001")["CacheClusters"][0]
    assert first["TransitEncryptionMode"] == "preferred"
    ec.modify_replication_group(ReplicationGroupId="sessions", TransitEncryptionEnabled=False)
    group = ec.describe_replication_groups(ReplicationGroupId="sessions")["ReplicationGroups"][0]
    assert group["TransitEncryptionEnabled"] is False
    assert error_code(
        lambda: ec.modify_replication_group(ReplicationGroupId="sessions", TransitEncryptionMode="sometimes")
    ) == ("InvalidParameterValue")


def test_stock_moto_has_no_parameter_groups():
    with pytest.raises(NotImplementedError):
        client("elasticache").create_cache_parameter_group(
            CacheParameterGroupName="p", CacheParameterGroupFamily="redis7", Description="d"
        )


def test_with_our_fix_parameter_groups_keep_their_parameters_and_tags():
    fixes.apply("elasticache")
    ec = client("elasticache")
    created = ec.create_cache_parameter_group(
        CacheParameterGroupName="p",
        CacheParameterGroupFamily="redis7",
        Description="d",
        Tags=[{"Key": "Name", "Value": "p"}],
    )
    arn = created["CacheParameterGroup"]["ARN"]
    ec.modify_cache_parameter_group(
        CacheParameterGroupName="p",
        ParameterNameValues=[{"ParameterName": "maxmemory-policy", "ParameterValue": "volatile-lru"}],
    )
    params = ec.describe_cache_parameters(CacheParameterGroupName="p", Source="user")["Parameters"]
    assert [(p["ParameterName"], p["ParameterValue"]) for p in params] == [("maxmemory-policy", "volatile-lru")]
    assert ec.list_tags_for_resource(ResourceName=arn)["TagList"] == [{"Key": "Name", "Value": "p"}]
    ec.delete_cache_parameter_group(CacheParameterGroupName="p")
    assert error_code(lambda: ec.describe_cache_parameter_groups(CacheParameterGroupName="p")) == (
        "CacheParameterGroupNotFound"
    )


def test_with_our_fix_user_groups_hold_users_and_subnet_groups_can_be_deleted():
    fixes.apply("elasticache")
    ec = client("elasticache")
    ec.create_user(
        UserId="app", UserName="app", Engine="redis", AccessString="on ~* +@all", AuthenticationMode={"Type": "iam"}
    )
    ec.create_user_group(UserGroupId="users", Engine="redis", UserIds=["app"])
    assert ec.describe_user_groups(UserGroupId="users")["UserGroups"][0]["UserIds"] == ["app"]
    ec.delete_user_group(UserGroupId="users")
    assert error_code(lambda: ec.describe_user_groups(UserGroupId="users")) == "UserGroupNotFound"
    subnet = client("ec2").create_subnet(
        VpcId=client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"], CidrBlock="10.0.0.0/24"
    )["Subnet"]["SubnetId"]
    ec.create_cache_subnet_group(CacheSubnetGroupName="sn", CacheSubnetGroupDescription="d", SubnetIds=[subnet])
    ec.delete_cache_subnet_group(CacheSubnetGroupName="sn")
    assert ec.describe_cache_subnet_groups()["CacheSubnetGroups"] == []


# --- application auto scaling ---------------------------------------------------------------------


def scalable_target() -> str:
    ecs = client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="f", containerDefinitions=[{"name": "a", "image": "i", "memory": 128}])
    ecs.create_service(cluster="c", serviceName="s", taskDefinition="f", desiredCount=1)
    aas = client("application-autoscaling")
    return str(
        aas.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId="service/c/s",
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=1,
            MaxCapacity=2,
            Tags={"Name": "t"},
        )["ScalableTargetARN"]
    )


def test_stock_moto_cannot_list_scalable_target_tags():
    arn = scalable_target()
    with pytest.raises(NotImplementedError, match="list_tags_for_resource"):
        client("application-autoscaling").list_tags_for_resource(ResourceARN=arn)


def test_with_our_fix_scalable_targets_keep_their_tags():
    fixes.apply("applicationautoscaling")
    aas, arn = client("application-autoscaling"), scalable_target()
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Name": "t"}
    aas.tag_resource(ResourceARN=arn, Tags={"Owner": "o"})
    aas.untag_resource(ResourceARN=arn, TagKeys=["Name"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Owner": "o"}


# --- x-ray ----------------------------------------------------------------------------------------------

RULE = {
    "RuleName": "r",
    "Priority": 1,
    "FixedRate": 0.05,
    "ReservoirSize": 1,
    "ServiceName": "*",
    "ServiceType": "*",
    "Host": "*",
    "HTTPMethod": "*",
    "URLPath": "*",
    "ResourceARN": "*",
    "Version": 1,
}


def test_stock_moto_has_no_sampling_rules():
    with pytest.raises(ClientError):
        client("xray").create_sampling_rule(SamplingRule=RULE)


def test_with_our_fix_sampling_rules_and_groups_work():
    fixes.apply("xray")
    xray = client("xray")
    arn = xray.create_sampling_rule(SamplingRule=RULE, Tags=[{"Key": "Name", "Value": "r"}])["SamplingRuleRecord"][
        "SamplingRule"
    ]["RuleARN"]
    xray.update_sampling_rule(SamplingRuleUpdate={"RuleName": "r", "FixedRate": 0.1})
    rules = xray.get_sampling_rules()["SamplingRuleRecords"]
    assert [(r["SamplingRule"]["RuleName"], r["SamplingRule"]["FixedRate"]) for r in rules] == [("r", 0.1)]
    assert xray.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "Name", "Value": "r"}]
    xray.create_group(GroupName="g", FilterExpression="fault = true")
    assert xray.get_group(GroupName="g")["Group"]["FilterExpression"] == "fault = true"
    assert [g["GroupName"] for g in xray.get_groups()["Groups"]] == ["g"]
    xray.delete_group(GroupName="g")
    xray.delete_sampling_rule(RuleName="r")
    assert xray.get_sampling_rules()["SamplingRuleRecords"] == []


# --- values not echoed back (a plan right after apply must be empty) ---------------------------


def test_stock_moto_forgets_the_key_rotation_period():
    kms = client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
    assert "RotationPeriodInDays" not in kms.get_key_rotation_status(KeyId=key)


def test_with_our_fix_the_key_rotation_period_is_kept():
    fixes.apply("kms")
    kms = client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
    assert kms.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"] == 180


def database(**extra):
    return client("rds").create_db_instance(
        DBInstanceIdentifier="db",
        Engine="mysql",
        DBInstanceClass="db.t3.medium",
        AllocatedStorage=20,
        MasterUsername="admin",
        ManageMasterUserPassword=True,
        **extra,
    )["DBInstance"]


def test_stock_moto_forgets_performance_insights():
    assert not database(EnablePerformanceInsights=True).get("PerformanceInsightsEnabled")


def test_with_our_fix_performance_insights_are_kept():
    fixes.apply("rds")
    found = database(EnablePerformanceInsights=True, PerformanceInsightsRetentionPeriod=7)
    assert found["PerformanceInsightsEnabled"] is True and found["PerformanceInsightsRetentionPeriod"] == 7


def parameter_group():
    rds = client("rds")
    rds.create_db_parameter_group(DBParameterGroupName="p", DBParameterGroupFamily="mysql8.0", Description="d")
    rds.modify_db_parameter_group(
        DBParameterGroupName="p",
        Parameters=[{"ParameterName": "require_secure_transport", "ParameterValue": "1", "ApplyMethod": "immediate"}],
    )
    return rds.describe_db_parameters(DBParameterGroupName="p")["Parameters"]


def test_stock_moto_returns_parameters_without_their_source():
    assert "Source" not in parameter_group()[0]


def test_with_our_fix_parameters_say_they_were_set_by_the_user():
    fixes.apply("rds")
    assert parameter_group()[0]["Source"] == "user"


def autoscaling_policy():
    ec2 = client("ec2")
    subnet = ec2.create_subnet(
        VpcId=ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"],
        CidrBlock="10.0.0.0/24",
        AvailabilityZone="sa-east-1a",
    )["Subnet"]["SubnetId"]
    asg = client("autoscaling")
    ec2.create_launch_template(LaunchTemplateName="tmpl", LaunchTemplateData={"ImageId": "ami-12c6146b"})
    asg.create_auto_scaling_group(
        AutoScalingGroupName="g",
        MinSize=0,
        MaxSize=1,
        VPCZoneIdentifier=subnet,
        LaunchTemplate={"LaunchTemplateName": "tmpl"},
    )
    asg.put_scaling_policy(
        AutoScalingGroupName="g",
        PolicyName="p",
        PolicyType="StepScaling",
        AdjustmentType="ChangeInCapacity",
        StepAdjustments=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    )
    return asg.describe_policies(AutoScalingGroupName="g")["ScalingPolicies"][0]


def test_stock_moto_reports_policies_disabled_with_an_empty_predictive_block():
    policy = autoscaling_policy()
    assert "Enabled" not in policy and policy.get("PredictiveScalingConfiguration") == {}


def test_with_our_fix_policies_are_enabled_with_no_predictive_block():
    fixes.apply("autoscaling")
    policy = autoscaling_policy()
    assert policy["Enabled"] is True and "PredictiveScalingConfiguration" not in policy


def ecs_service():
    ecs = client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="f", containerDefinitions=[{"name": "a", "image": "i", "memory": 128}])
    return ecs.create_service(
        cluster="c",
        serviceName="s",
        taskDefinition="f",
        desiredCount=1,
        healthCheckGracePeriodSeconds=60,
        enableECSManagedTags=True,
    )["service"]


def test_stock_moto_forgets_the_grace_period_and_managed_tags():
    service = ecs_service()
    assert "healthCheckGracePeriodSeconds" not in service and not service.get("enableECSManagedTags")


def test_with_our_fix_the_service_keeps_them():
    fixes.apply("ecs")
    service = ecs_service()
    assert service["healthCheckGracePeriodSeconds"] == 60 and service["enableECSManagedTags"] is True
    assert service["availabilityZoneRebalancing"] == "DISABLED"


def fargate_task(**container: object) -> dict:
    """RunTask of an awsvpc Fargate task whose container states no memory (the task's)."""
    ec2, ecs = client("ec2"), client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="probe", Description="probe", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(
        family="probe",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "a", "image": "i", **container}],
    )
    return ecs.run_task(
        cluster="c",
        taskDefinition="probe",
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
    )["tasks"][0]


def test_stock_moto_cannot_run_a_fargate_task_without_container_memory():
    with pytest.raises(TypeError):  # moto in this process: the server would answer 500
        fargate_task()
    with pytest.raises(AttributeError, match="private_dns_name"):  # and none in awsvpc mode at all
        fargate_task(memory=128)


def test_with_our_fix_it_runs_with_the_interfaces_dns_name():
    fixes.apply("ecs")
    task = fargate_task()
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    assert (
        details["privateDnsName"] == f"ip-{details['privateIPv4Address'].replace('.', '-')}.{REGION}.compute.internal"
    )
    # where moto sets a name itself (a NAT gateway's interface), it keeps it
    ec2 = client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    assert ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation)["NatGateway"]["State"]


def latest_by_family() -> int:
    ecs = client("ecs")
    for image in ("one", "two"):
        ecs.register_task_definition(family="f", containerDefinitions=[{"name": "a", "image": image, "memory": 128}])
    ecs.deregister_task_definition(taskDefinition="f:2")
    return int(ecs.describe_task_definition(taskDefinition="f")["taskDefinition"]["revision"])


def test_stock_moto_takes_a_deregistered_revision_as_the_familys_latest():
    assert latest_by_family() == 2


def test_with_our_fix_the_family_is_its_latest_active_revision():
    fixes.apply("ecs")
    assert latest_by_family() == 1


def group_rule_description() -> str | None:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    a = ec2.create_security_group(GroupName="a", Description="a", VpcId=vpc)["GroupId"]
    b = ec2.create_security_group(GroupName="b", Description="b", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=a,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 6379,
                "ToPort": 6379,
                "UserIdGroupPairs": [{"GroupId": b, "Description": "Redis from the Lms tier"}],
            }
        ],
    )
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [a]}])["SecurityGroupRules"]
    return next(r for r in rules if not r["IsEgress"]).get("Description")


def test_stock_moto_drops_the_description_of_a_group_rule():
    assert group_rule_description() is None


def test_with_our_fix_a_group_rule_keeps_its_description():
    fixes.apply("ec2")
    assert group_rule_description() == "Redis from the Lms tier"


def launch_template_specs():
    ec2 = client("ec2")
    ec2.create_launch_template(
        LaunchTemplateName="tmpl",
        LaunchTemplateData={
            "ImageId": "ami-12c6146b",
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}],
        },
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "Name", "Value": "lt"}]}],
    )
    versions = ec2.describe_launch_template_versions(LaunchTemplateName="tmpl")["LaunchTemplateVersions"]
    return sorted(s["ResourceType"] for s in versions[0]["LaunchTemplateData"]["TagSpecifications"])


def test_stock_moto_copies_the_templates_own_tags_into_its_data():
    assert launch_template_specs() == ["instance", "launch-template"]


def test_with_our_fix_template_data_holds_only_what_was_sent():
    fixes.apply("ec2")
    assert launch_template_specs() == ["instance"]


# --- s3 --------------------------------------------------------------------------------------

KEEP_NEWEST = {"NoncurrentDays": 90, "NewerNoncurrentVersions": 10}


def _lifecycle_read_back() -> dict:
    s3 = client("s3")
    s3.create_bucket(Bucket="states", CreateBucketConfiguration={"LocationConstraint": REGION})
    rule = {
        "ID": "old-versions",
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": KEEP_NEWEST,
    }
    s3.put_bucket_lifecycle_configuration(Bucket="states", LifecycleConfiguration={"Rules": [rule]})
    [read] = s3.get_bucket_lifecycle_configuration(Bucket="states")["Rules"]
    return read["NoncurrentVersionExpiration"]


def test_stock_moto_forgets_how_many_old_versions_a_lifecycle_rule_keeps():
    assert _lifecycle_read_back() == {"NoncurrentDays": 90}  # the provider waits 3 minutes for it, then fails


def test_with_our_fix_a_lifecycle_rule_reads_back_as_it_was_put():
    fixes.apply("s3")
    assert _lifecycle_read_back() == KEEP_NEWEST


def _bucket_settings_as_a_user_denied_them(session) -> dict[str, str]:
    """What a user allowed everything but denied the state bucket's settings can still do."""
    deny = {
        "Effect": "Deny",
        "Action": ["s3:" + a for a in BUCKET_SETTINGS.values()],
        "Resource": "arn:aws:s3:::states",
    }
    session.client("iam").put_user_policy(
        UserName="admin",
        PolicyName="settings",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [deny]}),
    )
    s3 = session.client("s3")
    s3.create_bucket(Bucket="states", CreateBucketConfiguration={"LocationConstraint": REGION})
    rules = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    return {
        "ownership": answer(
            s3.put_bucket_ownership_controls,
            Bucket="states",
            OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]},
        ),
        "encryption": answer(s3.put_bucket_encryption, Bucket="states", ServerSideEncryptionConfiguration=rules),
        "public access block": answer(s3.delete_public_access_block, Bucket="states"),
    }


def test_stock_moto_with_iam_enforced_lets_a_denied_bucket_setting_through_as_create_bucket(enforced):
    assert set(_bucket_settings_as_a_user_denied_them(enforced).values()) == {"ok"}


def test_with_our_fix_a_denied_bucket_setting_is_refused(enforced):
    fixes.apply("s3")
    assert set(_bucket_settings_as_a_user_denied_them(enforced).values()) == {"AccessDenied"}
