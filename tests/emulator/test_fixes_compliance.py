"""Emulator fixes for what a compliance scanner (Prowler) reads: the gap on stock moto 5.2.5,
and the behaviour AWS has with ours.

When moto catches up, the "stock" test of a fix starts failing: that is the signal to
drop the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.emulator import fixes

REGION = "sa-east-1"
OTHER_REGION = "us-east-1"
ACCOUNT = "123456789012"
ALB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188"


@pytest.fixture(autouse=True)
def aws(in_process_aws) -> Iterator[None]:
    """Each test starts on stock moto (in this process); it applies the fix it shows."""
    fixes.undo()
    yield
    fixes.undo()


def client(service: str, region: str = REGION):
    return boto3.client(service, region_name=region)


def error_code(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


# --- wafv2 --------------------------------------------------------------------------------------


def web_acl(name: str) -> str:
    visibility = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name}
    summary = client("wafv2").create_web_acl(
        Name=name, Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=visibility
    )["Summary"]
    return str(summary["ARN"])


def test_stock_moto_cannot_list_the_resources_of_a_web_acl():
    acl = web_acl("web")
    client("wafv2").associate_web_acl(WebACLArn=acl, ResourceArn=ALB)
    with pytest.raises(NotImplementedError, match="list_resources_for_web_acl"):
        client("wafv2").list_resources_for_web_acl(WebACLArn=acl, ResourceType="APPLICATION_LOAD_BALANCER")


def test_with_our_fix_a_web_acl_lists_the_load_balancers_it_protects():
    fixes.apply("wafv2")
    waf, acl, unused = client("wafv2"), web_acl("web"), web_acl("unused")
    waf.associate_web_acl(WebACLArn=acl, ResourceArn=ALB)
    assert waf.list_resources_for_web_acl(WebACLArn=acl, ResourceType="APPLICATION_LOAD_BALANCER")["ResourceArns"] == [
        ALB
    ]
    assert waf.list_resources_for_web_acl(WebACLArn=acl)["ResourceArns"] == [ALB]  # the default type
    assert waf.list_resources_for_web_acl(WebACLArn=acl, ResourceType="COGNITO_USER_POOL")["ResourceArns"] == []
    assert waf.list_resources_for_web_acl(WebACLArn=unused)["ResourceArns"] == []
    missing = acl.replace("/webacl/web/", "/webacl/gone/")
    assert error_code(lambda: waf.list_resources_for_web_acl(WebACLArn=missing)) == "WAFNonexistentItemException"


# --- rds ------------------------------------------------------------------------------------------


def database(**settings: object) -> dict:
    """A MySQL instance "db" with these settings, as DescribeDBInstances reads it back."""
    rds = client("rds")
    base = {"Engine": "mysql", "DBInstanceClass": "db.t3.medium", "AllocatedStorage": 20, "MasterUsername": "admin"}
    rds.create_db_instance(DBInstanceIdentifier="db", **base, **settings)
    return rds.describe_db_instances(DBInstanceIdentifier="db")["DBInstances"][0]


def monitored_database(interval: int = 60) -> dict:
    role = client("iam").create_role(RoleName="monitoring", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    monitoring = {"MonitoringInterval": interval, "MonitoringRoleArn": role} if interval else {}
    return database(ManageMasterUserPassword=True, **monitoring)


def test_stock_moto_has_no_certificate_details_nor_enhanced_monitoring_arn():
    found = monitored_database()
    assert found["MonitoringInterval"] == 60
    assert "CertificateDetails" not in found and "EnhancedMonitoringResourceArn" not in found
    assert found["CACertificateIdentifier"] == "rds-ca-default"


def test_stock_moto_cannot_describe_certificates():
    with pytest.raises(NotImplementedError, match="describe_certificates"):
        client("rds").describe_certificates(CertificateIdentifier="rds-ca-rsa2048-g1")


def test_with_our_fix_an_instance_has_its_certificate_and_monitoring_stream():
    fixes.apply("rds")
    found = monitored_database()
    assert found["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    details = found["CertificateDetails"]
    assert details["CAIdentifier"] == "rds-ca-rsa2048-g1"
    assert details["ValidTill"] > datetime.now(UTC) + timedelta(days=180)
    resource_id = found["DbiResourceId"]
    assert found["EnhancedMonitoringResourceArn"] == (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:RDSOSMetrics:log-stream:{resource_id}"
    )


def test_with_our_fix_the_certificate_follows_the_instance_and_no_monitoring_means_no_stream():
    fixes.apply("rds")
    monitored_database(interval=0)
    rds = client("rds")
    rds.modify_db_instance(DBInstanceIdentifier="db", CACertificateIdentifier="rds-ca-ecc384-g1", ApplyImmediately=True)
    found = rds.describe_db_instances(DBInstanceIdentifier="db")["DBInstances"][0]
    assert found["CertificateDetails"]["CAIdentifier"] == found["CACertificateIdentifier"] == "rds-ca-ecc384-g1"
    assert "EnhancedMonitoringResourceArn" not in found


def test_with_our_fix_the_certificate_authorities_are_valid_for_decades():
    fixes.apply("rds")
    rds = client("rds")
    answer = rds.describe_certificates(CertificateIdentifier="rds-ca-rsa2048-g1")
    assert answer["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
    (ca,) = answer["Certificates"]
    assert ca["CertificateType"] == "CA" and ca["CustomerOverride"] is False
    assert ca["ValidTill"].year == 2061 and ca["CertificateArn"] == f"arn:aws:rds:{REGION}::cert:rds-ca-rsa2048-g1"
    everything = {c["CertificateIdentifier"] for c in rds.describe_certificates()["Certificates"]}
    assert everything == {"rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"}
    assert error_code(lambda: rds.describe_certificates(CertificateIdentifier="rds-ca-2019")) == "CertificateNotFound"


# --- kms ------------------------------------------------------------------------------------------


def ebs_key() -> tuple[dict, dict]:
    kms = client("kms")
    key = kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]  # created on first use, as on AWS
    listed = {k["KeyId"]: kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in kms.list_keys()["Keys"]}
    return listed[key["KeyId"]], kms.get_key_rotation_status(KeyId=key["KeyId"])


def test_stock_moto_reports_aws_managed_keys_as_customer_keys_without_rotation():
    key, rotation = ebs_key()
    assert key["KeyManager"] == "CUSTOMER" and rotation["KeyRotationEnabled"] is False


def test_with_our_fix_aws_managed_keys_are_managed_and_rotated_by_aws():
    fixes.apply("kms")
    key, rotation = ebs_key()
    assert key["KeyManager"] == "AWS" and rotation["KeyRotationEnabled"] is True
    # the key moto creates for EBS encryption by default is the same kind
    client("ec2").enable_ebs_encryption_by_default()
    client("ec2").create_volume(AvailabilityZone=f"{REGION}a", Size=1, Encrypted=True)
    kms = client("kms")
    assert {kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyManager"] for k in kms.list_keys()["Keys"]} == {"AWS"}
    assert kms.create_key()["KeyMetadata"]["KeyManager"] == "CUSTOMER"


# --- guardduty ------------------------------------------------------------------------------------

FEATURES = [
    {"Name": "S3_DATA_EVENTS", "Status": "ENABLED"},
    {"Name": "RDS_LOGIN_EVENTS", "Status": "ENABLED"},
    {"Name": "EBS_MALWARE_PROTECTION", "Status": "ENABLED"},
    {
        "Name": "RUNTIME_MONITORING",
        "Status": "ENABLED",
        "AdditionalConfiguration": [
            {"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "ENABLED"},
            {"Name": "EC2_AGENT_MANAGEMENT", "Status": "ENABLED"},
        ],
    },
]


def detector_with_features() -> str:
    """As aws_guardduty_detector_feature does it: one UpdateDetector per feature."""
    guardduty = client("guardduty")
    detector = str(guardduty.create_detector(Enable=True)["DetectorId"])
    for feature in FEATURES:
        guardduty.update_detector(DetectorId=detector, Features=[feature])
    return detector


def test_stock_moto_keeps_only_the_last_feature_and_reports_data_sources_off():
    found = client("guardduty").get_detector(DetectorId=detector_with_features())
    assert [f["Name"] for f in found["Features"]] == ["RUNTIME_MONITORING"]
    assert "UpdatedAt" not in found["Features"][0]
    assert found["DataSources"]["S3Logs"]["Status"] == "DISABLED"
    assert "MalwareProtection" not in found["DataSources"]


def test_with_our_fix_every_feature_is_kept_with_its_additional_configuration():
    fixes.apply("guardduty")
    found = client("guardduty").get_detector(DetectorId=detector_with_features())
    features = {f["Name"]: f for f in found["Features"]}
    assert {name: f["Status"] for name, f in features.items()} == {f["Name"]: "ENABLED" for f in FEATURES}
    assert all(isinstance(f["UpdatedAt"], datetime) for f in features.values())
    extra = features["RUNTIME_MONITORING"]["AdditionalConfiguration"]
    assert {(c["Name"], c["Status"]) for c in extra} == {
        ("ECS_FARGATE_AGENT_MANAGEMENT", "ENABLED"),
        ("EC2_AGENT_MANAGEMENT", "ENABLED"),
    }
    assert all(isinstance(c["UpdatedAt"], datetime) for c in extra)
    sources = found["DataSources"]
    assert sources["S3Logs"]["Status"] == "ENABLED"
    assert sources["MalwareProtection"]["ScanEc2InstanceWithFindings"]["EbsVolumes"]["Status"] == "ENABLED"
    assert sources["Kubernetes"]["AuditLogs"]["Status"] == "DISABLED"
    assert sources["CloudTrail"]["Status"] == "ENABLED"


def test_with_our_fix_an_update_changes_only_what_it_names():
    fixes.apply("guardduty")
    guardduty, detector_id = client("guardduty"), detector_with_features()
    guardduty.update_detector(
        DetectorId=detector_id,
        Features=[
            {
                "Name": "RUNTIME_MONITORING",
                "Status": "ENABLED",
                "AdditionalConfiguration": [{"Name": "EC2_AGENT_MANAGEMENT", "Status": "DISABLED"}],
            }
        ],
    )
    guardduty.update_detector(DetectorId=detector_id, DataSources={"S3Logs": {"Enable": False}})
    features = {f["Name"]: f for f in guardduty.get_detector(DetectorId=detector_id)["Features"]}
    assert features["S3_DATA_EVENTS"]["Status"] == "DISABLED" and features["RDS_LOGIN_EVENTS"]["Status"] == "ENABLED"
    extra = {c["Name"]: c["Status"] for c in features["RUNTIME_MONITORING"]["AdditionalConfiguration"]}
    assert extra == {"ECS_FARGATE_AGENT_MANAGEMENT": "ENABLED", "EC2_AGENT_MANAGEMENT": "DISABLED"}


# --- cloudtrail and the CIS metric filters --------------------------------------------------------


def account_trail() -> str:
    """The account-level trail CIS asks for: multi-region, validated, encrypted, to CloudWatch Logs."""
    client("s3").create_bucket(Bucket="trail", CreateBucketConfiguration={"LocationConstraint": REGION})
    key = client("kms").create_key()["KeyMetadata"]["Arn"]
    client("logs").create_log_group(logGroupName="trail")
    group = client("logs").describe_log_groups(logGroupNamePrefix="trail")["logGroups"][0]["arn"]
    role = client("iam").create_role(RoleName="trail", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    trail = client("cloudtrail").create_trail(
        Name="account",
        S3BucketName="trail",
        IsMultiRegionTrail=True,
        IncludeGlobalServiceEvents=True,
        EnableLogFileValidation=True,
        KmsKeyId=key,
        CloudWatchLogsLogGroupArn=group,
        CloudWatchLogsRoleArn=role,
        TagsList=[{"Key": "Name", "Value": "account"}],
    )["TrailARN"]
    client("cloudtrail").start_logging(Name=trail)
    return str(trail)


def test_stock_moto_round_trips_what_the_provider_and_the_cis_checks_read_of_a_trail():
    """What works as-is: the trail's settings, its status, its tags, the metric filters."""
    arn = account_trail()
    cloudtrail = client("cloudtrail")
    described = cloudtrail.describe_trails(trailNameList=[arn])["trailList"][0]
    for trail in (cloudtrail.get_trail(Name=arn)["Trail"], described):
        assert trail["IsMultiRegionTrail"] and trail["IncludeGlobalServiceEvents"] and trail["LogFileValidationEnabled"]
        assert trail["KmsKeyId"].startswith("arn:aws:kms:")
        assert trail["CloudWatchLogsLogGroupArn"].endswith(":log-group:trail:*")
        assert trail["CloudWatchLogsRoleArn"].endswith(":role/trail")
    assert cloudtrail.get_trail_status(Name=arn)["IsLogging"] is True
    assert cloudtrail.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"] == [
        {"Key": "Name", "Value": "account"}
    ]
    assert [t["TrailARN"] for t in client("cloudtrail", OTHER_REGION).describe_trails()["trailList"]] == [arn]
    logs = client("logs")
    transformation = {"metricName": "UnauthorizedAPICalls", "metricNamespace": "CIS", "metricValue": "1"}
    pattern = '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }'
    logs.put_metric_filter(
        logGroupName="trail", filterName="unauthorized", filterPattern=pattern, metricTransformations=[transformation]
    )
    (found,) = logs.describe_metric_filters(logGroupName="trail")["metricFilters"]
    assert found["filterPattern"] == pattern and found["metricTransformations"] == [transformation]


def test_stock_moto_reads_no_event_selectors_and_no_cloudwatch_delivery():
    arn = account_trail()
    cloudtrail = client("cloudtrail")
    assert cloudtrail.get_event_selectors(TrailName=arn)["EventSelectors"] == []
    assert "LatestCloudWatchLogsDeliveryTime" not in cloudtrail.get_trail_status(Name=arn)
    cloudtrail.put_event_selectors(
        TrailName=arn, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    )
    assert cloudtrail.get_trail(Name=arn)["Trail"]["HasCustomEventSelectors"] is False
    other = client("cloudtrail", OTHER_REGION)
    assert error_code(lambda: other.get_event_selectors(TrailName=arn)) == "TrailNotFoundException"


def test_with_our_fix_a_trail_logs_management_events_and_delivers_to_cloudwatch():
    fixes.apply("cloudtrail")
    arn = account_trail()
    cloudtrail = client("cloudtrail")
    default = {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "DataResources": [],
        "ExcludeManagementEventSources": [],
    }
    assert cloudtrail.get_event_selectors(TrailName=arn)["EventSelectors"] == [default]
    assert cloudtrail.get_trail(Name=arn)["Trail"]["HasCustomEventSelectors"] is False
    delivered = cloudtrail.get_trail_status(Name=arn)["LatestCloudWatchLogsDeliveryTime"]
    assert datetime.now(UTC) - delivered < timedelta(minutes=1)
    other = client("cloudtrail", OTHER_REGION)  # a multi-region trail answers from every region
    assert other.get_event_selectors(TrailName=arn)["EventSelectors"] == [default]
    assert other.get_trail(Name=arn)["Trail"]["TrailARN"] == arn
    cloudtrail.stop_logging(Name=arn)
    assert "LatestCloudWatchLogsDeliveryTime" not in cloudtrail.get_trail_status(Name=arn)


def test_with_our_fix_put_selectors_are_custom_and_replace_the_other_kind():
    fixes.apply("cloudtrail")
    arn = account_trail()
    cloudtrail = client("cloudtrail")
    management = [{"Field": "eventCategory", "Equals": ["Management"]}]
    advanced = [{"Name": "Management events selector", "FieldSelectors": management}]
    cloudtrail.put_event_selectors(TrailName=arn, AdvancedEventSelectors=advanced)
    cloudtrail.put_insight_selectors(TrailName=arn, InsightSelectors=[{"InsightType": "ApiCallRateInsight"}])
    trail = cloudtrail.describe_trails(trailNameList=[arn])["trailList"][0]
    assert trail["HasCustomEventSelectors"] is True and trail["HasInsightSelectors"] is True
    selectors = cloudtrail.get_event_selectors(TrailName=arn)
    assert selectors["AdvancedEventSelectors"] == advanced and not selectors.get("EventSelectors")
    basic = [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True, "DataResources": []}]
    cloudtrail.put_event_selectors(TrailName=arn, EventSelectors=basic)
    selectors = cloudtrail.get_event_selectors(TrailName=arn)
    assert selectors["EventSelectors"] == basic and not selectors.get("AdvancedEventSelectors")


def multi_az_database(multi_az: bool) -> dict:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("abc")
    ]
    client("rds").create_db_subnet_group(
        DBSubnetGroupName="private", DBSubnetGroupDescription="private", SubnetIds=subnets
    )
    return database(
        MasterUserPassword="password1", DBSubnetGroupName="private", AvailabilityZone=f"{REGION}b", MultiAZ=multi_az
    )


def test_stock_moto_reports_no_standby_zone_for_a_multi_az_instance():
    found = multi_az_database(True)
    assert found["MultiAZ"] is True and "SecondaryAvailabilityZone" not in found


def test_with_our_fix_the_standby_is_in_another_zone_of_the_subnet_group_and_only_for_multi_az():
    fixes.apply("rds")
    found = multi_az_database(True)
    assert found["AvailabilityZone"] == f"{REGION}b"
    assert found["SecondaryAvailabilityZone"] == f"{REGION}a"
    rds = client("rds")
    rds.modify_db_instance(DBInstanceIdentifier="db", MultiAZ=False, ApplyImmediately=True)
    assert "SecondaryAvailabilityZone" not in rds.describe_db_instances(DBInstanceIdentifier="db")["DBInstances"][0]
