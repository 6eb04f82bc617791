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
from moto import mock_aws

from infra.emulator import fixes

REGION = "sa-east-1"
TLS_ONLY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": ["arn:aws:s3:::state", "arn:aws:s3:::state/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


@pytest.fixture(autouse=True)
def aws(monkeypatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    fixes.undo()
    with mock_aws():
        yield
    fixes.undo()


def client(service: str):
    return boto3.client(service, region_name=REGION)


def error_code(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


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
    efs.put_file_system_policy(FileSystemId=fs, Policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    efs.delete_file_system_policy(FileSystemId=fs)
    assert error_code(lambda: efs.describe_file_system_policy(FileSystemId=fs)) == "PolicyNotFound"


# --- elasticache --------------------------------------------------------------------------------


def replication_group() -> dict:
    return client("elasticache").create_replication_group(
        ReplicationGroupId="sessions", ReplicationGroupDescription="s", Engine="redis", CacheNodeType="cache.t4g.small",
        NumCacheClusters=2, PreferredCacheClusterAZs=["sa-east-1a", "sa-east-1b"], AutomaticFailoverEnabled=True,
        MultiAZEnabled=True, TransitEncryptionEnabled=True)["ReplicationGroup"]


def test_stock_moto_lists_members_that_do_not_exist_and_ignores_num_cache_clusters():
    group = replication_group()
    assert group["MemberClusters"] == ["sessions-001"]
    assert error_code(lambda: client("elasticache").describe_cache_clusters(
        CacheClusterId="sessions-001")) == "CacheClusterNotFound"


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
    zones = [ec.describe_cache_clusters(CacheClusterId=m)["CacheClusters"][0]["PreferredAvailabilityZone"]
             for m in group["MemberClusters"]]
    assert zones == ["sa-east-1a", "sa-east-1b"]
    ec.delete_replication_group(ReplicationGroupId="sessions")
    assert error_code(lambda: ec.describe_replication_groups(ReplicationGroupId="sessions")) == (
        "ReplicationGroupNotFoundFault")
    assert error_code(lambda: ec.describe_cache_clusters(CacheClusterId="sessions-001")) == "CacheClusterNotFound"


def test_stock_moto_has_no_parameter_groups():
    with pytest.raises(NotImplementedError):
        client("elasticache").create_cache_parameter_group(
            CacheParameterGroupName="p", CacheParameterGroupFamily="redis7", Description="d")


def test_with_our_fix_parameter_groups_keep_their_parameters_and_tags():
    fixes.apply("elasticache")
    ec = client("elasticache")
    arn = ec.create_cache_parameter_group(CacheParameterGroupName="p", CacheParameterGroupFamily="redis7",
                                          Description="d", Tags=[{"Key": "Name", "Value": "p"}])["CacheParameterGroup"]["ARN"]
    ec.modify_cache_parameter_group(CacheParameterGroupName="p", ParameterNameValues=[
        {"ParameterName": "maxmemory-policy", "ParameterValue": "volatile-lru"}])
    params = ec.describe_cache_parameters(CacheParameterGroupName="p", Source="user")["Parameters"]
    assert [(p["ParameterName"], p["ParameterValue"]) for p in params] == [("maxmemory-policy", "volatile-lru")]
    assert ec.list_tags_for_resource(ResourceName=arn)["TagList"] == [{"Key": "Name", "Value": "p"}]
    ec.delete_cache_parameter_group(CacheParameterGroupName="p")
    assert error_code(lambda: ec.describe_cache_parameter_groups(CacheParameterGroupName="p")) == (
        "CacheParameterGroupNotFound")


def test_with_our_fix_user_groups_hold_users_and_subnet_groups_can_be_deleted():
    fixes.apply("elasticache")
    ec = client("elasticache")
    ec.create_user(UserId="app", UserName="app", Engine="redis", AccessString="on ~* +@all",
                   AuthenticationMode={"Type": "iam"})
    ec.create_user_group(UserGroupId="users", Engine="redis", UserIds=["app"])
    assert ec.describe_user_groups(UserGroupId="users")["UserGroups"][0]["UserIds"] == ["app"]
    ec.delete_user_group(UserGroupId="users")
    assert error_code(lambda: ec.describe_user_groups(UserGroupId="users")) == "UserGroupNotFound"
    subnet = client("ec2").create_subnet(VpcId=client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"],
                                         CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
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
    return str(aas.register_scalable_target(
        ServiceNamespace="ecs", ResourceId="service/c/s", ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1, MaxCapacity=2, Tags={"Name": "t"})["ScalableTargetARN"])


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

RULE = {"RuleName": "r", "Priority": 1, "FixedRate": 0.05, "ReservoirSize": 1, "ServiceName": "*",
        "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*", "ResourceARN": "*", "Version": 1}


def test_stock_moto_has_no_sampling_rules():
    with pytest.raises(ClientError):
        client("xray").create_sampling_rule(SamplingRule=RULE)


def test_with_our_fix_sampling_rules_and_groups_work():
    fixes.apply("xray")
    xray = client("xray")
    arn = xray.create_sampling_rule(SamplingRule=RULE, Tags=[{"Key": "Name", "Value": "r"}])[
        "SamplingRuleRecord"]["SamplingRule"]["RuleARN"]
    xray.update_sampling_rule(SamplingRuleUpdate={"RuleName": "r", "FixedRate": 0.1})
    rules = xray.get_sampling_rules()["SamplingRuleRecords"]
    assert [(r["SamplingRule"]["RuleName"], r["SamplingRule"]["FixedRate"]) for r in rules] == [("r", 0.1)]
    assert xray.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "Name", "Value": "r"}]
    xray.create_group(GroupName="g", FilterExpression='fault = true')
    assert xray.get_group(GroupName="g")["Group"]["FilterExpression"] == "fault = true"
    xray.delete_group(GroupName="g")
    xray.delete_sampling_rule(RuleName="r")
    assert xray.get_sampling_rules()["SamplingRuleRecords"] == []
