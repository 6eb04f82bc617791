"""CloudTrail for the account, its protected log bucket, and the CIS metric filters + alarms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from modules.common import buckets, rules
from modules.common.cdk import Construct, aws
from modules.common.deployment import Deployment
from modules.common.iam import assume_role, deny_insecure_transport, document, statement
from modules.common.label import Label
from modules.kms.construct import KEY_ADMIN_ACTIONS, KEY_USE_ACTIONS

METRIC_NAMESPACE = "CISBenchmark"


@dataclass(frozen=True)
class CisFilter:
    control: str  # CIS AWS Foundations Benchmark (v1.5 to v3.0), section 4 ("Monitoring")
    slug: str  # names the filter, its metric and its alarm
    what: str
    pattern: str

    @property
    def metric(self) -> str:
        return "".join(part.capitalize() for part in self.slug.split("-"))


# The CIS filter patterns, as the benchmark writes them (Prowler's
# cloudwatch_log_metric_filter_* checks and Security Hub's CloudWatch.1-14 match these).
# The one place they are written; each gets a metric filter on the trail's log group and
# an alarm on its metric.
CIS_FILTERS: tuple[CisFilter, ...] = (
    CisFilter(
        "4.1",
        "unauthorized-api-calls",
        "unauthorized API calls",
        '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && '
        '($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }',
    ),
    CisFilter(
        "4.2",
        "console-signin-without-mfa",
        "console sign-in without MFA",
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
        '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',
    ),
    CisFilter(
        "4.3",
        "root-account-usage",
        "use of the root account",
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
    ),
    CisFilter(
        "4.4",
        "iam-policy-changes",
        "IAM policy changes",
        "{ ($.eventName = DeleteGroupPolicy) || ($.eventName = DeleteRolePolicy) || "
        "($.eventName = DeleteUserPolicy) || ($.eventName = PutGroupPolicy) || ($.eventName = PutRolePolicy) || "
        "($.eventName = PutUserPolicy) || ($.eventName = CreatePolicy) || ($.eventName = DeletePolicy) || "
        "($.eventName = CreatePolicyVersion) || ($.eventName = DeletePolicyVersion) || "
        "($.eventName = AttachRolePolicy) || ($.eventName = DetachRolePolicy) || "
        "($.eventName = AttachUserPolicy) || ($.eventName = DetachUserPolicy) || "
        "($.eventName = AttachGroupPolicy) || ($.eventName = DetachGroupPolicy) }",
    ),
    CisFilter(
        "4.5",
        "cloudtrail-changes",
        "CloudTrail configuration changes",
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
        "($.eventName = StartLogging) || ($.eventName = StopLogging) }",
    ),
    CisFilter(
        "4.6",
        "console-auth-failures",
        "console authentication failures",
        '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    ),
    CisFilter(
        "4.7",
        "cmk-disable-or-deletion",
        "customer keys disabled or scheduled for deletion",
        "{ ($.eventSource = kms.amazonaws.com) && "
        "(($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }",
    ),
    CisFilter(
        "4.8",
        "s3-bucket-policy-changes",
        "S3 bucket policy changes",
        "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) || "
        "($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || "
        "($.eventName = PutBucketReplication) || ($.eventName = DeleteBucketPolicy) || "
        "($.eventName = DeleteBucketCors) || ($.eventName = DeleteBucketLifecycle) || "
        "($.eventName = DeleteBucketReplication)) }",
    ),
    CisFilter(
        "4.9",
        "config-changes",
        "AWS Config configuration changes",
        "{ ($.eventSource = config.amazonaws.com) && (($.eventName = StopConfigurationRecorder) || "
        "($.eventName = DeleteDeliveryChannel) || ($.eventName = PutDeliveryChannel) || "
        "($.eventName = PutConfigurationRecorder)) }",
    ),
    CisFilter(
        "4.10",
        "security-group-changes",
        "security group changes",
        "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || "
        "($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || "
        "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }",
    ),
    CisFilter(
        "4.11",
        "nacl-changes",
        "network ACL changes",
        "{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || "
        "($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || "
        "($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }",
    ),
    CisFilter(
        "4.12",
        "network-gateway-changes",
        "network gateway changes",
        "{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || "
        "($.eventName = AttachInternetGateway) || ($.eventName = CreateInternetGateway) || "
        "($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }",
    ),
    CisFilter(
        "4.13",
        "route-table-changes",
        "route table changes",
        "{ ($.eventSource = ec2.amazonaws.com) && (($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || "
        "($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || "
        "($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable)) }",
    ),
    CisFilter(
        "4.14",
        "vpc-changes",
        "VPC changes",
        "{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || "
        "($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || "
        "($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || "
        "($.eventName = AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || "
        "($.eventName = DisableVpcClassicLink) || ($.eventName = EnableVpcClassicLink) }",
    ),
    CisFilter(
        "4.15",
        "organizations-changes",
        "AWS Organizations changes",
        # CIS's list, plus CancelHandshake, CreateOrganization and EnableAllFeatures (Prowler asks for them too).
        '{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || '
        '($.eventName = "AttachPolicy") || ($.eventName = "CancelHandshake") || ($.eventName = "CreateAccount") || '
        '($.eventName = "CreateOrganization") || ($.eventName = "CreateOrganizationalUnit") || '
        '($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || '
        '($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || '
        '($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || '
        '($.eventName = "EnableAllFeatures") || ($.eventName = "EnablePolicyType") || '
        '($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || '
        '($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || '
        '($.eventName = "UpdateOrganizationalUnit") || ($.eventName = "UpdatePolicy")) }',
    ),
)


@dataclass(frozen=True, kw_only=True)
class AuditProps:
    label: Label
    deployment: Deployment
    # Retention of the trail's CloudWatch Logs copy (and of the log bucket's access logs).
    log_retention_days: int = 365
    # Days an overwritten or deleted log file stays recoverable (the bucket is versioned).
    noncurrent_version_days: int = 90
    # Subscribed to the alarm topic when set (confirmation mail goes to it).
    alarm_email: str | None = None
    # Server access logs of the trail's bucket, in a bucket of their own.
    access_logging: bool = True
    key_deletion_window_days: int = 30
    key_rotation_period_days: int = 365
    # When false the log buckets are emptied on destroy (environments torn down and rebuilt).
    deletion_protection: bool = False

    def __post_init__(self) -> None:
        rules.kms_deletion_window(self.key_deletion_window_days)
        rules.kms_rotation_period(self.key_rotation_period_days)


class Audit(Construct):
    """An account-level, multi-region CloudTrail trail with global service events and log
    file validation, encrypted with a rotating customer key of its own, delivered to a
    private, versioned, TLS-only bucket and to a KMS-encrypted CloudWatch Logs group; on that
    group, the CIS metric filters (CIS_FILTERS), each with an alarm to an encrypted topic.

    The key policy lets CloudTrail encrypt only for this trail (aws:SourceArn) and for trails
    of this account (the encryption context), CloudWatch Logs use it only for the trail's
    group, and CloudWatch alarms publish to the topic; everything else goes through IAM.
    """

    def __init__(self, scope: Construct, construct_id: str, props: AuditProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        label, dep = props.label, props.deployment
        self.trail_name = label.name("trail")
        trail_arn = dep.arn("cloudtrail", f"trail/{self.trail_name}")
        log_group_name = f"/cloudtrail/{self.trail_name}"

        self.key = self._key(trail_arn, dep.arn("logs", f"log-group:{log_group_name}"))
        self.bucket, bucket_policy = self._bucket(trail_arn)
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "Logs",
            name=log_group_name,
            retention_in_days=props.log_retention_days,
            kms_key_id=self.key.arn,
            tags=label.name_tag("trail-logs"),
        )
        role = aws.iam_role.IamRole(
            self,
            "LogsRole",
            name=label.name("role-cloudtrail-logs"),
            assume_role_policy=assume_role("cloudtrail.amazonaws.com", source_account=dep.account_id),
            tags=label.name_tag("role-cloudtrail-logs"),
        )
        role_policy = aws.iam_role_policy.IamRolePolicy(
            self,
            "LogsPolicy",
            role=role.id,
            name=label.name("policy-cloudtrail-logs", max_length=128),
            policy=document(
                statement(
                    "WriteTrailEvents",
                    ["logs:CreateLogStream", "logs:PutLogEvents"],
                    [f"{self.log_group.arn}:log-stream:*"],
                )
            ),
        )
        self.trail = aws.cloudtrail.Cloudtrail(
            self,
            "Trail",
            name=self.trail_name,
            s3_bucket_name=self.bucket.id,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            kms_key_id=self.key.arn,
            cloud_watch_logs_group_arn=f"{self.log_group.arn}:*",
            cloud_watch_logs_role_arn=role.arn,
            # No event_selector: a trail logs every management event, read and write, by
            # default. Writing that default out is a diff in every plan: the provider drops
            # the default selector when it reads the trail back.
            # CloudTrail checks at creation that it may write to both places.
            depends_on=[bucket_policy, role_policy],
            tags=label.name_tag("trail"),
        )
        self.topic = aws.sns_topic.SnsTopic(
            self,
            "Alarms",
            name=label.name("security-alarms"),
            kms_master_key_id=self.key.arn,
            tags=label.name_tag("security-alarms"),
        )
        aws.sns_topic_policy.SnsTopicPolicy(
            self,
            "AlarmsPolicy",
            arn=self.topic.arn,
            policy=document(
                statement(
                    "CloudWatchAlarmsPublish",
                    ["sns:Publish"],
                    self.topic.arn,
                    principal={"Service": "cloudwatch.amazonaws.com"},
                    condition={
                        "ArnLike": {"aws:SourceArn": dep.arn("cloudwatch", "alarm:*")},
                        "StringEquals": {"aws:SourceAccount": dep.account_id},
                    },
                ),
                deny_insecure_transport("sns:Publish", self.topic.arn),
            ),
        )
        if props.alarm_email:
            aws.sns_topic_subscription.SnsTopicSubscription(
                self, "AlarmMail", topic_arn=self.topic.arn, protocol="email", endpoint=props.alarm_email
            )
        for cis in CIS_FILTERS:
            self._filter_and_alarm(cis)

    # --- read-only attributes ----------------------------------------------------------
    # The AWS bindings are not analysed by mypy (pyproject), so their attributes are cast.

    @property
    def trail_arn(self) -> str:
        return cast(str, self.trail.arn)

    @property
    def alarm_topic_arn(self) -> str:
        """The encrypted SNS topic the CIS alarms notify."""
        return cast(str, self.topic.arn)

    @property
    def bucket_name(self) -> str:
        return cast(str, self.bucket.bucket)

    @property
    def log_group_name(self) -> str:
        return cast(str, self.log_group.name)

    # --- parts ---------------------------------------------------------------------------

    def _key(self, trail_arn: str, log_group_arn: str) -> aws.kms_key.KmsKey:
        p, dep = self._props, self._props.deployment
        cloudtrail = {"Service": "cloudtrail.amazonaws.com"}
        this_trail = {"aws:SourceArn": trail_arn}
        key = aws.kms_key.KmsKey(
            self,
            "Key",
            description=f"CloudTrail, its CloudWatch Logs copy and the security alarms - {p.label.environment}",
            enable_key_rotation=True,
            rotation_period_in_days=p.key_rotation_period_days,
            deletion_window_in_days=p.key_deletion_window_days,
            policy=document(
                statement("AccountAdministers", KEY_ADMIN_ACTIONS, "*", principal={"AWS": dep.root_principal}),
                statement(
                    "CloudTrailEncryptsLogs",
                    ["kms:GenerateDataKey*"],
                    "*",
                    principal=cloudtrail,
                    condition={
                        "StringEquals": this_trail,
                        "StringLike": {
                            "kms:EncryptionContext:aws:cloudtrail:arn": (
                                f"arn:{dep.partition}:cloudtrail:*:{dep.account_id}:trail/*"
                            )
                        },
                    },
                ),
                statement(
                    "CloudTrailDescribesKey",
                    ["kms:DescribeKey"],
                    "*",
                    principal=cloudtrail,
                    condition={"StringEquals": this_trail},
                ),
                statement(
                    "CloudWatchLogsUse",
                    KEY_USE_ACTIONS,
                    "*",
                    principal={"Service": dep.service_principal("logs")},
                    condition={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
                ),
                statement(
                    "CloudWatchAlarmsPublish",
                    ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "*",
                    principal={"Service": "cloudwatch.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceAccount": dep.account_id}},
                ),
            ),
            tags=p.label.name_tag("kms-audit"),
        )
        aws.kms_alias.KmsAlias(
            self, "KeyAlias", name=f"alias/{p.label.name('kms-audit', max_length=250)}", target_key_id=key.key_id
        )
        return key

    def _bucket(self, trail_arn: str) -> tuple[aws.s3_bucket.S3Bucket, aws.s3_bucket_policy.S3BucketPolicy]:
        p, dep = self._props, self._props.deployment
        kind = f"trail-logs-{dep.account_id}"
        bucket = buckets.private_bucket(
            self,
            "Bucket",
            name=p.label.name(kind),
            sse="aws:kms",
            key_arn=self.key.arn,
            force_destroy=not p.deletion_protection,
            tags=p.label.name_tag(kind),
        )
        # Log files are kept; only old versions of them expire (and stray delete markers go).
        buckets.lifecycle(self, "Bucket", bucket, noncurrent_days=p.noncurrent_version_days, expire_days=None)
        cloudtrail = {"Service": "cloudtrail.amazonaws.com"}
        policy = aws.s3_bucket_policy.S3BucketPolicy(
            self,
            "BucketPolicy",
            bucket=bucket.id,
            policy=document(
                statement(
                    "CloudTrailAclCheck",
                    ["s3:GetBucketAcl"],
                    bucket.arn,
                    principal=cloudtrail,
                    condition={"StringEquals": {"aws:SourceArn": trail_arn}},
                ),
                statement(
                    "CloudTrailWrite",
                    ["s3:PutObject"],
                    f"{bucket.arn}/AWSLogs/{dep.account_id}/*",
                    principal=cloudtrail,
                    condition={
                        "StringEquals": {"aws:SourceArn": trail_arn, "s3:x-amz-acl": "bucket-owner-full-control"}
                    },
                ),
                deny_insecure_transport("s3:*", [bucket.arn, f"{bucket.arn}/*"]),
            ),
        )
        if p.access_logging:
            logs = f"trail-access-{dep.account_id}"
            buckets.access_logs(
                self,
                bucket,
                construct_id="AccessLogs",
                logging_id="BucketLogging",
                name=p.label.name(logs),
                account_id=dep.account_id,
                expire_days=p.log_retention_days,
                prefix="trail-logs/",
                force_destroy=not p.deletion_protection,
                tags=p.label.name_tag(logs),
            )
        return bucket, policy

    def _filter_and_alarm(self, cis: CisFilter) -> None:
        label = self._props.label
        construct = f"Cis{cis.metric}"
        aws.cloudwatch_log_metric_filter.CloudwatchLogMetricFilter(
            self,
            f"{construct}Filter",
            name=label.name(f"cis-{cis.slug}"),
            log_group_name=self.log_group.name,
            pattern=cis.pattern,
            metric_transformation=aws.cloudwatch_log_metric_filter.CloudwatchLogMetricFilterMetricTransformation(
                name=cis.metric, namespace=METRIC_NAMESPACE, value="1"
            ),
        )
        aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
            self,
            f"{construct}Alarm",
            alarm_name=label.name(f"alarm-cis-{cis.slug}"),
            alarm_description=f"CIS {cis.control}: {cis.what} (CloudTrail, all regions)",
            namespace=METRIC_NAMESPACE,
            metric_name=cis.metric,
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[self.topic.arn],
            tags=label.name_tag(f"alarm-cis-{cis.slug}"),
        )
