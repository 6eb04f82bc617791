"""The public edge: an HTTPS-only ALB behind AWS WAF, with access logs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from modules.common import buckets, rules
from modules.common.cdk import Construct, aws
from modules.common.deployment import Deployment
from modules.common.iam import deny_insecure_transport, document, statement
from modules.common.label import Label
from modules.common.security import SecurityGroup, allow_in, allow_out
from modules.network import Network

HTTPS_PORT = 443
# AWS managed rule groups, in priority order; a group's rules may be set to count only.
MANAGED_RULE_GROUPS: dict[str, tuple[str, ...]] = {
    "AWSManagedRulesCommonRuleSet": (),
    "AWSManagedRulesKnownBadInputsRuleSet": (),  # includes Log4j (CVE-2021-44228) patterns
    "AWSManagedRulesSQLiRuleSet": (),
    "AWSManagedRulesAmazonIpReputationList": (),
    # Blocks Tor and anonymous proxies; schools and companies often egress through cloud
    # hosts, so that rule only counts.
    "AWSManagedRulesAnonymousIpList": ("HostingProviderIPList",),
}


@dataclass(frozen=True, kw_only=True)
class EdgeProps:
    label: Label
    deployment: Deployment
    network: Network
    logs_key: aws.kms_key.KmsKey
    # Public DNS domain: workloads are served at <host>.<domain>.
    domain: str
    # "existing": the issued ACM certificate for *.<domain>, or certificate_arn when given.
    # "request": request *.<domain> from ACM and validate it in the Route 53 zone.
    certificate: Literal["existing", "request"] = "existing"
    certificate_arn: str | None = None
    hosted_zone_id: str | None = None
    # TLS 1.3 and 1.2 only.
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    # Requests per client IP per 5 minutes before WAF blocks it.
    rate_limit_per_5_minutes: int = 2000
    log_retention_days: int = 365
    # Protects the ALB from deletion; when false, its log bucket is also emptied on destroy.
    deletion_protection: bool = False

    def __post_init__(self) -> None:
        rules.certificate_zone(self.certificate, self.hosted_zone_id)
        rules.ssl_policy(self.ssl_policy)
        rules.elb_log_account(self.deployment.region)


class Edge(Construct):
    """An internet-facing ALB that speaks only HTTPS (a 443 listener, nothing on 80).

    Its security group admits 443 and nothing else. Every request passes AWS WAF (AWS
    managed rule groups and a per-IP rate limit), whose logs go to an encrypted log group
    with credentials redacted. Workloads attach with `route(...)`, which writes the
    listener rule and the ALB's egress to the workload in the workload's own stack.
    """

    def __init__(self, scope: Construct, construct_id: str, props: EdgeProps) -> None:
        super().__init__(scope, construct_id)
        label, dep = props.label, props.deployment
        self._props = props
        self.security_group = aws.security_group.SecurityGroup(
            self,
            "SecurityGroup",
            name=label.name("secgroup-alb"),
            vpc_id=props.network.vpc_id,
            description="Public ALB: HTTPS in from anywhere, nothing else",
            tags=label.name_tag("secgroup-alb"),
        )
        aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
            self,
            "HttpsIn",
            security_group_id=self.security_group.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=HTTPS_PORT,
            to_port=HTTPS_PORT,
            description="HTTPS from the internet",
            tags=label.name_tag("sgr-https-in"),
        )
        logs_bucket = self._access_log_bucket(label, dep)
        self.load_balancer = aws.lb.Lb(
            self,
            "LoadBalancer",
            name=label.name("alb"),
            load_balancer_type="application",
            internal=False,
            security_groups=[self.security_group.id],
            subnets=props.network.public_subnet_ids,
            drop_invalid_header_fields=True,
            desync_mitigation_mode="strictest",
            enable_http2=True,
            enable_deletion_protection=props.deletion_protection,
            access_logs=aws.lb.LbAccessLogs(bucket=logs_bucket.id, enabled=True, prefix="alb"),
            tags=label.name_tag("alb"),
        )
        self.listener = aws.lb_listener.LbListener(
            self,
            "HttpsListener",
            load_balancer_arn=self.load_balancer.arn,
            port=HTTPS_PORT,
            protocol="HTTPS",
            ssl_policy=props.ssl_policy,
            certificate_arn=self._certificate(props),
            default_action=[
                aws.lb_listener.LbListenerDefaultAction(
                    type="fixed-response",
                    fixed_response=aws.lb_listener.LbListenerDefaultActionFixedResponse(
                        content_type="text/plain", status_code="404", message_body="not found"
                    ),
                )
            ],
            tags=label.name_tag("alb-https"),
        )
        self._waf(props)

    # --- parts ---------------------------------------------------------------------------

    def _certificate(self, props: EdgeProps) -> str:
        if props.certificate_arn:
            return props.certificate_arn
        wildcard = f"*.{props.domain}"
        if props.certificate == "existing":
            existing = aws.data_aws_acm_certificate.DataAwsAcmCertificate(
                self, "Certificate", domain=wildcard, statuses=["ISSUED"], most_recent=True
            )
            return cast(str, existing.arn)
        cert = aws.acm_certificate.AcmCertificate(
            self,
            "Certificate",
            domain_name=wildcard,
            validation_method="DNS",
            lifecycle={"create_before_destroy": True},
            tags=props.label.name_tag("cert-edge"),
        )
        option = cert.domain_validation_options.get(0)
        record = aws.route53_record.Route53Record(
            self,
            "CertificateValidationRecord",
            zone_id=str(props.hosted_zone_id),
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=60,
            allow_overwrite=True,
        )
        validation = aws.acm_certificate_validation.AcmCertificateValidation(
            self, "CertificateValidation", certificate_arn=cert.arn, validation_record_fqdns=[record.fqdn]
        )
        return cast(str, validation.certificate_arn)

    def _access_log_bucket(self, label: Label, dep: Deployment) -> aws.s3_bucket.S3Bucket:
        kind = f"alb-logs-{dep.account_id}"
        # ALB log delivery supports only S3-managed keys (SSE-S3), not KMS.
        bucket = buckets.private_bucket(
            self,
            "AccessLogs",
            name=label.name(kind),
            sse="AES256",
            force_destroy=not self._props.deletion_protection,
            tags=label.name_tag(kind),
        )
        buckets.lifecycle(
            self,
            "AccessLogs",
            bucket,
            noncurrent_days=buckets.NONCURRENT_LOG_DAYS,
            expire_days=self._props.log_retention_days,
            rule_id="expire-logs",
        )
        aws.s3_bucket_policy.S3BucketPolicy(
            self,
            "AccessLogsPolicy",
            bucket=bucket.id,
            policy=document(
                statement(
                    "ElbWritesLogs",
                    ["s3:PutObject"],
                    f"{bucket.arn}/alb/AWSLogs/{dep.account_id}/*",
                    principal={"AWS": f"arn:{dep.partition}:iam::{rules.elb_log_account(dep.region)}:root"},
                ),
                deny_insecure_transport("s3:*", [bucket.arn, f"{bucket.arn}/*"]),
            ),
        )
        return bucket

    def _waf(self, props: EdgeProps) -> None:
        label = props.label
        metric = label.name("waf").replace("-", "")
        visibility = {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True}
        rules: list[dict[str, Any]] = [
            {
                "name": group,
                "priority": i + 1,
                "override_action": [{"none": [{}]}],
                "statement": [
                    {
                        "managed_rule_group_statement": [
                            {
                                "name": group,
                                "vendor_name": "AWS",
                                "rule_action_override": [
                                    {"name": rule, "action_to_use": [{"count": [{}]}]} for rule in count_only
                                ],
                            }
                        ]
                    }
                ],
                "visibility_config": [{**visibility, "metric_name": f"{metric}{group}"}],
            }
            for i, (group, count_only) in enumerate(MANAGED_RULE_GROUPS.items())
        ]
        rules.append(
            {
                "name": "RateLimitPerIp",
                "priority": len(rules) + 1,
                "action": [{"block": [{}]}],
                "statement": [
                    {"rate_based_statement": [{"limit": props.rate_limit_per_5_minutes, "aggregate_key_type": "IP"}]}
                ],
                "visibility_config": [{**visibility, "metric_name": f"{metric}RateLimit"}],
            }
        )
        self.web_acl = aws.wafv2_web_acl.Wafv2WebAcl(
            self,
            "WebAcl",
            name=label.name("waf"),
            scope="REGIONAL",
            description="ALB protection: AWS managed rule groups and a per-IP rate limit",
            default_action=aws.wafv2_web_acl.Wafv2WebAclDefaultAction(
                allow=aws.wafv2_web_acl.Wafv2WebAclDefaultActionAllow()
            ),
            visibility_config=aws.wafv2_web_acl.Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True, sampled_requests_enabled=True, metric_name=metric
            ),
            tags=label.name_tag("waf"),
        )
        self.web_acl.add_override("rule", rules)
        # WAF requires log groups named aws-waf-logs-*.
        waf_logs = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "WafLogs",
            name=f"aws-waf-logs-{label.name('edge')}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.logs_key.arn,
            tags=label.name_tag("waf-logs"),
        )
        aws.wafv2_web_acl_logging_configuration.Wafv2WebAclLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=self.web_acl.arn,
            log_destination_configs=[waf_logs.arn],
            redacted_fields=[
                aws.wafv2_web_acl_logging_configuration.Wafv2WebAclLoggingConfigurationRedactedFields(
                    single_header=aws.wafv2_web_acl_logging_configuration.Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(
                        name=header
                    )
                )
                for header in ("authorization", "cookie")
            ],
        )
        aws.wafv2_web_acl_association.Wafv2WebAclAssociation(
            self, "WebAclOnAlb", resource_arn=self.load_balancer.arn, web_acl_arn=self.web_acl.arn
        )

    # --- behaviour -------------------------------------------------------------------------

    def route(
        self,
        scope: Construct,
        name: str,
        *,
        host: str,
        priority: int,
        target_group: aws.lb_target_group.LbTargetGroup,
        target_group_security: SecurityGroup,
        port: int,
    ) -> None:
        """Send https://<host>.<domain> to `target_group`, written in the workload's `scope`.

        Also opens both sides of the ALB-to-targets hop on `port`: egress on the ALB's group
        and ingress on the targets' group, in the workload's stack (which owns the targets).
        """
        aws.lb_listener_rule.LbListenerRule(
            scope,
            f"{name}Route",
            listener_arn=self.listener.arn,
            priority=priority,
            condition=[
                aws.lb_listener_rule.LbListenerRuleCondition(
                    host_header=aws.lb_listener_rule.LbListenerRuleConditionHostHeader(
                        values=[f"{host}.{self._props.domain}"]
                    )
                )
            ],
            action=[aws.lb_listener_rule.LbListenerRuleAction(type="forward", target_group_arn=target_group.arn)],
            tags=self._props.label.name_tag(f"alb-rule-{host}"),
        )
        allow_out(
            scope,
            f"AlbTo{name}",
            label=self._props.label,
            group=self.security_group,
            destination=target_group_security,
            port=port,
            description=f"ALB to the {name} targets",
        )
        allow_in(
            scope,
            "FromAlb",
            label=self._props.label,
            group=target_group_security,
            source=self.security_group,
            port=port,
            description=f"{name} targets from the ALB",
        )

    # --- read-only attributes ----------------------------------------------------------
    # The AWS bindings are not analysed by mypy (pyproject), so their attributes are cast.

    @property
    def load_balancer_arn(self) -> str:
        return cast(str, self.load_balancer.arn)

    @property
    def load_balancer_arn_suffix(self) -> str:
        """The ALB's CloudWatch dimension value (`LoadBalancer`)."""
        return cast(str, self.load_balancer.arn_suffix)

    @property
    def load_balancer_dns_name(self) -> str:
        return cast(str, self.load_balancer.dns_name)

    @property
    def web_acl_arn(self) -> str:
        return cast(str, self.web_acl.arn)
