"""The account stack's modules: GuardDuty's protection plans, and the audit trail with the
CIS metric filters and alarms."""

from __future__ import annotations

import re

import pytest

from modules.audit import CIS_FILTERS, Audit, AuditProps
from modules.guardduty import ThreatDetection, ThreatDetectionProps
from tests.modules.helpers import DEPLOYMENT, label, named, one, policy, resources, synth

ACCOUNT = DEPLOYMENT.account_id
TRAIL_ARN = f"arn:aws:cloudtrail:sa-east-1:{ACCOUNT}:trail/trail-dev-t1"


def build_guardduty(**overrides):
    props = ThreatDetectionProps(label=label("account"), **overrides)
    return synth(lambda stack: ThreatDetection(stack, "ThreatDetection", props), "account")


def build_audit(**overrides):
    props = AuditProps(label=label("account"), deployment=DEPLOYMENT, **overrides)
    return synth(lambda stack: Audit(stack, "Audit", props), "account")


@pytest.fixture(scope="module")
def audit():
    return build_audit()


def features(doc) -> dict[str, dict]:
    return {f["name"]: f for f in resources(doc, "aws_guardduty_detector_feature")}


def statement(resource: dict, sid: str, key: str = "policy") -> dict:
    return next(s for s in policy(resource, key)["Statement"] if s["Sid"] == sid)


# --- guardduty --------------------------------------------------------------------------


def test_guardduty_protection_plans_are_on_by_default():
    found = features(build_guardduty())
    assert set(found) == {
        "S3_DATA_EVENTS",
        "RDS_LOGIN_EVENTS",
        "EBS_MALWARE_PROTECTION",
        "RUNTIME_MONITORING",
        "EKS_AUDIT_LOGS",
        "LAMBDA_NETWORK_LOGS",
    }
    assert {f["status"] for f in found.values()} == {"ENABLED"}
    assert all(f["detector_id"].startswith("${aws_guardduty_detector.ThreatDetection_Detector") for f in found.values())
    runtime = found["RUNTIME_MONITORING"]["additional_configuration"]
    assert {(c["name"], c["status"]) for c in runtime} == {
        ("ECS_FARGATE_AGENT_MANAGEMENT", "ENABLED"),
        ("EC2_AGENT_MANAGEMENT", "ENABLED"),
    }


def test_a_plan_switched_off_is_disabled_not_left_to_the_account_default():
    found = features(build_guardduty(rds_login_events=False, runtime_monitoring=False))
    assert found["RDS_LOGIN_EVENTS"]["status"] == "DISABLED"
    assert found["RUNTIME_MONITORING"]["status"] == "DISABLED"
    assert {c["status"] for c in found["RUNTIME_MONITORING"]["additional_configuration"]} == {"DISABLED"}
    assert found["S3_DATA_EVENTS"]["status"] == found["EBS_MALWARE_PROTECTION"]["status"] == "ENABLED"


# --- the trail ------------------------------------------------------------------------------


def test_the_trail_covers_every_region_and_global_services_with_validation(audit):
    trail = one(audit, "aws_cloudtrail")
    assert trail["name"] == "trail-dev-t1"
    assert trail["is_multi_region_trail"] is True
    assert trail["include_global_service_events"] is True
    assert trail["enable_log_file_validation"] is True
    assert trail["enable_logging"] is True
    # every management event (AWS's default; the provider reads a written-out default as
    # absent, a diff in every plan), and no data-event selector narrowing it
    assert "event_selector" not in trail and "advanced_event_selector" not in trail


def test_the_trail_is_encrypted_with_its_own_rotating_key(audit):
    trail = one(audit, "aws_cloudtrail")
    assert trail["kms_key_id"].startswith("${aws_kms_key.Audit_Key")
    key = one(audit, "aws_kms_key")
    assert key["enable_key_rotation"] is True and key["rotation_period_in_days"] == 365
    assert one(audit, "aws_kms_alias")["name"] == "alias/kms-audit-dev-t1"


def test_the_trail_delivers_to_cloudwatch_logs_through_a_role_that_writes_only_there(audit):
    trail = one(audit, "aws_cloudtrail")
    group = one(audit, "aws_cloudwatch_log_group")
    assert group["name"] == "/cloudtrail/trail-dev-t1"
    assert group["retention_in_days"] == 365 and group["kms_key_id"].startswith("${aws_kms_key.Audit_Key")
    assert re.fullmatch(r"\$\{aws_cloudwatch_log_group\.Audit_Logs_\w+\.arn\}:\*", trail["cloud_watch_logs_group_arn"])
    assert trail["cloud_watch_logs_role_arn"].startswith("${aws_iam_role.Audit_LogsRole")
    trust = policy(one(audit, "aws_iam_role"), "assume_role_policy")["Statement"][0]
    assert trust["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    [write] = policy(one(audit, "aws_iam_role_policy"))["Statement"]
    assert write["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    [resource] = write["Resource"]
    assert re.fullmatch(r"\$\{aws_cloudwatch_log_group\.Audit_Logs_\w+\.arn\}:log-stream:\*", resource)
    # created only once CloudTrail may write to the bucket and the group
    assert sorted(d.split(".")[0] for d in trail["depends_on"]) == ["aws_iam_role_policy", "aws_s3_bucket_policy"]


def test_the_key_policy_scopes_each_service_to_this_trail_group_and_account(audit):
    key = one(audit, "aws_kms_key")
    statements = policy(key)["Statement"]
    assert statements[0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert all(s["Principal"] not in ("*", {"AWS": "*"}) for s in statements)
    encrypt = statement(key, "CloudTrailEncryptsLogs")
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert encrypt["Action"] == ["kms:GenerateDataKey*"]
    assert encrypt["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL_ARN},
        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"},
    }
    assert statement(key, "CloudTrailDescribesKey")["Condition"] == {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}
    logs = statement(key, "CloudWatchLogsUse")
    assert logs["Principal"] == {"Service": "logs.sa-east-1.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnEquals": {
            "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:sa-east-1:{ACCOUNT}:log-group:/cloudtrail/trail-dev-t1"
        }
    }
    alarms = statement(key, "CloudWatchAlarmsPublish")
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


# --- the log bucket ---------------------------------------------------------------------------


def test_the_log_bucket_is_private_versioned_kms_encrypted_and_kept(audit):
    bucket = named(audit, "aws_s3_bucket", "Audit_Bucket_")
    assert bucket["bucket"] == f"trail-logs-{ACCOUNT}-dev-t1"
    assert bucket["force_destroy"] is True  # deletion_protection off
    block = named(audit, "aws_s3_bucket_public_access_block", "Audit_BucketPrivate")
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls"))
    assert block["restrict_public_buckets"] is True
    assert named(audit, "aws_s3_bucket_versioning", "Audit_BucketVersioning")["versioning_configuration"] == {
        "status": "Enabled"
    }
    [rule] = named(audit, "aws_s3_bucket_server_side_encryption_configuration", "Audit_BucketEncryption")["rule"]
    default = rule["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms" and default["kms_master_key_id"].startswith("${aws_kms_key.Audit_Key")
    [lifecycle] = named(audit, "aws_s3_bucket_lifecycle_configuration", "Audit_BucketLifecycle")["rule"]
    assert lifecycle["noncurrent_version_expiration"] == [{"noncurrent_days": 90}]
    assert lifecycle["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
    assert "days" not in lifecycle["expiration"][0]  # log files themselves never expire


def test_only_cloudtrail_may_write_to_the_log_bucket_for_this_trail_over_tls(audit):
    bucket_policy = named(audit, "aws_s3_bucket_policy", "Audit_BucketPolicy")
    statements = policy(bucket_policy)["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert {s["Principal"]["Service"] for s in allows} == {"cloudtrail.amazonaws.com"}
    assert sorted(a for s in allows for a in s["Action"]) == ["s3:GetBucketAcl", "s3:PutObject"]
    for allow in allows:
        assert allow["Condition"]["StringEquals"]["aws:SourceArn"] == TRAIL_ARN
    write = statement(bucket_policy, "CloudTrailWrite")
    assert write["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"
    assert write["Resource"].endswith(f".arn}}/AWSLogs/{ACCOUNT}/*")
    tls = statement(bucket_policy, "TlsOnly")
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_log_bucket_access_is_logged_to_an_sse_s3_bucket_only_s3_logging_writes(audit):
    logging = one(audit, "aws_s3_bucket_logging")
    assert logging["bucket"].startswith("${aws_s3_bucket.Audit_Bucket_")
    assert logging["target_bucket"].startswith("${aws_s3_bucket.Audit_AccessLogs_")
    [rule] = named(audit, "aws_s3_bucket_server_side_encryption_configuration", "Audit_AccessLogsEncryption")["rule"]
    assert rule["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"
    write = statement(named(audit, "aws_s3_bucket_policy", "Audit_AccessLogsPolicy"), "S3ServerAccessLogs")
    assert write["Principal"] == {"Service": "logging.s3.amazonaws.com"} and write["Action"] == ["s3:PutObject"]
    assert write["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert write["Condition"]["ArnLike"]["aws:SourceArn"].startswith("${aws_s3_bucket.Audit_Bucket_")


def test_access_logging_and_bucket_deletion_follow_the_props():
    doc = build_audit(access_logging=False, deletion_protection=True)
    assert "aws_s3_bucket_logging" not in doc["resource"]
    assert one(doc, "aws_s3_bucket")["force_destroy"] is False


# --- CIS metric filters and alarms ---------------------------------------------------------

# What each CIS control must watch (its events, or its clauses), as the benchmark lists them:
# written here again, independently of the module's table, so that a filter that loses one
# fails.
CIS_EXPECTED: dict[str, tuple[str, ...]] = {
    "4.1": ('$.errorCode = "*UnauthorizedOperation"', '$.errorCode = "AccessDenied*"'),
    "4.2": ('$.eventName = "ConsoleLogin"', '$.additionalEventData.MFAUsed != "Yes"'),
    "4.3": ('$.userIdentity.type = "Root"', "$.userIdentity.invokedBy NOT EXISTS", '$.eventType != "AwsServiceEvent"'),
    "4.4": (
        "DeleteGroupPolicy",
        "DeleteRolePolicy",
        "DeleteUserPolicy",
        "PutGroupPolicy",
        "PutRolePolicy",
        "PutUserPolicy",
        "CreatePolicy",
        "DeletePolicy",
        "CreatePolicyVersion",
        "DeletePolicyVersion",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "AttachUserPolicy",
        "DetachUserPolicy",
        "AttachGroupPolicy",
        "DetachGroupPolicy",
    ),
    "4.5": ("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"),
    "4.6": ("$.eventName = ConsoleLogin", '$.errorMessage = "Failed authentication"'),
    "4.7": ("$.eventSource = kms.amazonaws.com", "DisableKey", "ScheduleKeyDeletion"),
    "4.8": (
        "$.eventSource = s3.amazonaws.com",
        "PutBucketAcl",
        "PutBucketPolicy",
        "PutBucketCors",
        "PutBucketLifecycle",
        "PutBucketReplication",
        "DeleteBucketPolicy",
        "DeleteBucketCors",
        "DeleteBucketLifecycle",
        "DeleteBucketReplication",
    ),
    "4.9": (
        "$.eventSource = config.amazonaws.com",
        "StopConfigurationRecorder",
        "DeleteDeliveryChannel",
        "PutDeliveryChannel",
        "PutConfigurationRecorder",
    ),
    "4.10": (
        "AuthorizeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupEgress",
        "CreateSecurityGroup",
        "DeleteSecurityGroup",
    ),
    "4.11": (
        "CreateNetworkAcl",
        "CreateNetworkAclEntry",
        "DeleteNetworkAcl",
        "DeleteNetworkAclEntry",
        "ReplaceNetworkAclEntry",
        "ReplaceNetworkAclAssociation",
    ),
    "4.12": (
        "CreateCustomerGateway",
        "DeleteCustomerGateway",
        "AttachInternetGateway",
        "CreateInternetGateway",
        "DeleteInternetGateway",
        "DetachInternetGateway",
    ),
    "4.13": (
        "$.eventSource = ec2.amazonaws.com",
        "CreateRoute",
        "CreateRouteTable",
        "ReplaceRoute",
        "ReplaceRouteTableAssociation",
        "DeleteRouteTable",
        "DeleteRoute",
        "DisassociateRouteTable",
    ),
    "4.14": (
        "CreateVpc",
        "DeleteVpc",
        "ModifyVpcAttribute",
        "AcceptVpcPeeringConnection",
        "CreateVpcPeeringConnection",
        "DeleteVpcPeeringConnection",
        "RejectVpcPeeringConnection",
        "AttachClassicLinkVpc",
        "DetachClassicLinkVpc",
        "DisableVpcClassicLink",
        "EnableVpcClassicLink",
    ),
    "4.15": (
        "$.eventSource = organizations.amazonaws.com",
        "AcceptHandshake",
        "AttachPolicy",
        "CreateAccount",
        "CreateOrganizationalUnit",
        "CreatePolicy",
        "DeclineHandshake",
        "DeleteOrganization",
        "DeleteOrganizationalUnit",
        "DeletePolicy",
        "DetachPolicy",
        "DisablePolicyType",
        "EnablePolicyType",
        "InviteAccountToOrganization",
        "LeaveOrganization",
        "MoveAccount",
        "RemoveAccountFromOrganization",
        "UpdatePolicy",
        "UpdateOrganizationalUnit",
    ),
}


def _watches(pattern: str, clause: str) -> bool:
    """An event name as a whole `$.eventName = Name` clause (quoted or not); anything else verbatim."""
    if clause.startswith("$."):
        return clause in pattern
    return re.search(rf'\$\.eventName = "?{clause}"?\)', pattern) is not None


def test_every_cis_control_has_a_filter_on_the_trails_group(audit):
    filters = {f["name"]: f for f in resources(audit, "aws_cloudwatch_log_metric_filter")}
    by_control = {cis.control: filters[f"cis-{cis.slug}-dev-t1"] for cis in CIS_FILTERS}
    assert sorted(by_control, key=lambda c: int(c.split(".")[1])) == [f"4.{n}" for n in range(1, 16)]
    assert len(filters) == len(CIS_EXPECTED)
    for control, clauses in CIS_EXPECTED.items():
        found = by_control[control]
        assert found["log_group_name"].startswith("${aws_cloudwatch_log_group.Audit_Logs_"), control
        missing = [c for c in clauses if not _watches(found["pattern"], c)]
        assert not missing, f"CIS {control}: the filter does not watch {missing}"
        assert found["pattern"].startswith("{") and found["pattern"].endswith("}"), control


def test_every_filter_has_an_alarm_on_its_metric_wired_to_the_encrypted_topic(audit):
    topic = one(audit, "aws_sns_topic")
    assert topic["name"] == "security-alarms-dev-t1"
    assert topic["kms_master_key_id"].startswith("${aws_kms_key.Audit_Key")
    alarms = {(a["namespace"], a["metric_name"]): a for a in resources(audit, "aws_cloudwatch_metric_alarm")}
    for metric_filter in resources(audit, "aws_cloudwatch_log_metric_filter"):
        transform = metric_filter["metric_transformation"]
        alarm = alarms.pop((transform["namespace"], transform["name"]))
        assert transform["value"] == "1"
        assert alarm["statistic"] == "Sum" and alarm["threshold"] == 1
        assert alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
        [action] = alarm["alarm_actions"]
        assert action.startswith("${aws_sns_topic.Audit_Alarms_") and action.endswith(".arn}")
    assert not alarms, "alarms without a filter"


def test_only_cloudwatch_alarms_of_this_account_publish_to_the_topic(audit):
    topic_policy = one(audit, "aws_sns_topic_policy")
    publish = statement(topic_policy, "CloudWatchAlarmsPublish")
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and publish["Action"] == ["sns:Publish"]
    assert publish["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:sa-east-1:{ACCOUNT}:alarm:*"},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }
    assert statement(topic_policy, "TlsOnly")["Effect"] == "Deny"


def test_an_alarm_email_subscribes_to_the_topic():
    assert "aws_sns_topic_subscription" not in build_audit()["resource"]
    sub = one(build_audit(alarm_email="security@example.com"), "aws_sns_topic_subscription")
    assert sub["protocol"] == "email" and sub["endpoint"] == "security@example.com"


@pytest.mark.parametrize("window", [6, 31])
def test_fails_when_the_key_deletion_window_is_outside_aws_limits(window):
    with pytest.raises(ValueError, match="deletion_window_days must be 7..30"):
        AuditProps(label=label(), deployment=DEPLOYMENT, key_deletion_window_days=window)
