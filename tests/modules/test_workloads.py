"""The edge (ALB + WAF), the LMS on Fargate, the web tier, and observability."""

from __future__ import annotations

import base64
import json

import pytest

from modules.edge import EdgeProps
from modules.lms import LmsProps
from modules.web import WebProps
from tests.modules.helpers import DEPLOYMENT, label, named, platform, policy, rules_of


@pytest.fixture(scope="module")
def doc():
    return platform()


def containers(doc):
    return {
        c["name"]: c
        for c in json.loads(named(doc, "aws_ecs_task_definition", "Lms_TaskDefinition")["container_definitions"])
    }


# --- edge ---------------------------------------------------------------------------------


def test_the_alb_listens_only_on_https_with_tls_1_2_or_newer(doc):
    listeners = doc["resource"]["aws_lb_listener"].values()
    assert [(x["port"], x["protocol"]) for x in listeners] == [(443, "HTTPS")]
    assert next(iter(listeners))["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"


def test_the_alb_group_admits_443_and_nothing_else(doc):
    rules = rules_of(doc, "aws_vpc_security_group_ingress_rule", "Edge_")
    assert [(r["cidr_ipv4"], r["from_port"], r["to_port"]) for r in rules] == [("0.0.0.0/0", 443, 443)]


def test_the_alb_drops_invalid_headers_and_logs_access(doc):
    alb = named(doc, "aws_lb", "Edge_")
    assert alb["drop_invalid_header_fields"] is True and alb["internal"] is False
    assert alb["access_logs"]["enabled"] is True


def test_waf_has_the_managed_groups_and_a_rate_limit_and_is_on_the_alb(doc):
    acl = named(doc, "aws_wafv2_web_acl", "Edge_")
    groups = [
        r["statement"][0]["managed_rule_group_statement"][0]["name"]
        for r in acl["rule"]
        if "managed_rule_group_statement" in r["statement"][0]
    ]
    assert {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    } <= set(groups)
    rate = [r for r in acl["rule"] if "rate_based_statement" in r["statement"][0]]
    assert rate and rate[0]["statement"][0]["rate_based_statement"][0]["limit"] == 2000
    association = named(doc, "aws_wafv2_web_acl_association", "Edge_")
    assert association["resource_arn"].startswith("${aws_lb.Edge_LoadBalancer")
    assert association["web_acl_arn"].startswith("${aws_wafv2_web_acl.Edge_WebAcl")


def test_waf_logs_redact_credentials(doc):
    logging = named(doc, "aws_wafv2_web_acl_logging_configuration", "Edge_")
    assert sorted(f["single_header"]["name"] for f in logging["redacted_fields"]) == ["authorization", "cookie"]


def test_an_existing_certificate_is_looked_up_not_created(doc):
    assert "aws_acm_certificate" not in doc["resource"]
    assert next(iter(doc["data"]["aws_acm_certificate"].values()))["domain"] == "*.edutech.example.com"


def test_a_requested_certificate_is_dns_validated():
    doc = platform(edge={"certificate": "request", "hosted_zone_id": "Z123"})
    cert = named(doc, "aws_acm_certificate", "Edge_")
    assert cert["validation_method"] == "DNS"
    assert named(doc, "aws_route53_record", "Edge_")["zone_id"] == "Z123"
    assert "aws_acm_certificate_validation" in doc["resource"]


def test_fails_when_a_request_has_no_zone():
    with pytest.raises(ValueError, match="hosted_zone_id is required"):
        EdgeProps(
            label=label(),
            deployment=DEPLOYMENT,
            network=None,
            logs_key=None,
            domain="x.com",  # type: ignore[arg-type]
            certificate="request",
        )


def test_fails_when_the_tls_policy_allows_old_tls():
    with pytest.raises(ValueError, match="allows TLS older than 1.2"):
        EdgeProps(
            label=label(),
            deployment=DEPLOYMENT,
            network=None,
            logs_key=None,
            domain="x.com",  # type: ignore[arg-type]
            ssl_policy="ELBSecurityPolicy-2016-08",
        )


# --- lms ------------------------------------------------------------------------------------


def test_db_credentials_come_from_the_existing_secret_as_ecs_secrets(doc):
    secret = next(iter(doc["data"]["aws_secretsmanager_secret"].values()))
    assert secret["name"] == "edutech/lms/db-credentials"
    assert "aws_secretsmanager_secret" not in doc["resource"]  # never created here
    app = containers(doc)["lms"]
    assert {s["name"] for s in app["secrets"]} == {"DB_USERNAME", "DB_PASSWORD"}
    assert all(s["valueFrom"].startswith("${data.aws_secretsmanager_secret.") for s in app["secrets"])
    assert not any("PASSWORD" in e["name"] for e in app["environment"])


def test_tasks_mount_efs_with_tls_through_the_access_point(doc):
    task = named(doc, "aws_ecs_task_definition", "Lms_TaskDefinition")
    efs = task["volume"][0]["efs_volume_configuration"]
    assert efs["transit_encryption"] == "ENABLED"
    assert efs["authorization_config"]["iam"] == "ENABLED"
    assert efs["authorization_config"]["access_point_id"].startswith("${aws_efs_access_point.")
    assert containers(doc)["lms"]["mountPoints"][0]["sourceVolume"] == "content"


def test_the_cluster_has_container_insights_and_tasks_run_private_on_fargate(doc):
    cluster = named(doc, "aws_ecs_cluster", "Lms_")
    assert {"name": "containerInsights", "value": "enabled"} in cluster["setting"]
    service = named(doc, "aws_ecs_service", "Lms_")
    assert service["launch_type"] == "FARGATE"
    assert service["network_configuration"]["assign_public_ip"] is False
    assert all("PrivateSubnet" in s for s in service["network_configuration"]["subnets"])


def test_an_xray_daemon_runs_beside_the_lms_and_logs_are_encrypted(doc):
    assert "xray-daemon" in containers(doc)
    group = named(doc, "aws_cloudwatch_log_group", "Lms_")
    assert group["kms_key_id"].startswith("${aws_kms_key.Kms_LogsKey")


def test_container_logs_never_block_the_application(doc):
    for name, container in containers(doc).items():
        logging = container["logConfiguration"]
        assert logging["logDriver"] == "awslogs", name
        assert logging["options"]["mode"] == "non-blocking", name
        assert logging["options"]["max-buffer-size"] == "25m", name


def test_the_execution_role_may_pull_only_the_guardduty_agent(doc):
    execution = policy(named(doc, "aws_iam_role_policy", "Lms_ExecutionPolicy"))["Statement"]
    pull = next(s for s in execution if s["Sid"] == "PullGuardDutyAgent")
    assert pull["Resource"] == ["arn:aws:ecr:sa-east-1:*:repository/aws-guardduty-agent-fargate"]
    assert "ecr:BatchGetImage" in pull["Action"]
    token = next(s for s in execution if s["Sid"] == "GuardDutyAgentToken")
    assert token["Action"] == ["ecr:GetAuthorizationToken"]


def test_the_service_scales_on_cpu_memory_and_requests(doc):
    kinds = sorted(
        p["target_tracking_scaling_policy_configuration"]["predefined_metric_specification"]["predefined_metric_type"]
        for p in rules_of(doc, "aws_appautoscaling_policy", "Lms_")
    )
    assert kinds == [
        "ALBRequestCountPerTarget",
        "ECSServiceAverageCPUUtilization",
        "ECSServiceAverageMemoryUtilization",
    ]


def test_lms_roles_name_specific_resources(doc):
    execution = policy(named(doc, "aws_iam_role_policy", "Lms_ExecutionPolicy"))["Statement"]
    secret = next(s for s in execution if s["Sid"] == "ReadDbCredentials")
    [secret_arn] = secret["Resource"]
    assert secret_arn.startswith("${data.aws_secretsmanager_secret.Lms_DbCredentials_") and secret_arn.endswith(".arn}")
    assert secret["Action"] == ["secretsmanager:GetSecretValue"]
    logs = next(s for s in execution if s["Sid"] == "WriteTaskLogs")
    assert logs["Resource"][0].startswith("${aws_cloudwatch_log_group.Lms_Logs")
    connect = policy(named(doc, "aws_iam_role_policy", "Lms_LmsRedisConnect"))["Statement"][0]
    assert connect["Action"] == ["elasticache:Connect"] and len(connect["Resource"]) == 2


def test_the_probe_task_stands_in_the_lmss_place(doc):
    """The probe task has the LMS's task role and its content volume (the same access point,
    TLS, IAM), runs the program shipped here, and its own execution role reads only the
    RDS-managed master secret; the network-only variant has no EFS volume."""
    from modules.lms.probe import PROGRAM

    lms = named(doc, "aws_ecs_task_definition", "Lms_TaskDefinition")
    probe = named(doc, "aws_ecs_task_definition", "Lms_Probe_TaskDefinition")
    network = named(doc, "aws_ecs_task_definition", "Lms_Probe_NetworkTaskDefinition")
    assert probe["task_role_arn"] == lms["task_role_arn"] == network["task_role_arn"]
    content = [v for v in probe["volume"] if "efs_volume_configuration" in v]
    assert content == [v for v in lms["volume"] if "efs_volume_configuration" in v]
    assert not any("efs_volume_configuration" in v for v in network["volume"])
    [container] = json.loads(probe["container_definitions"])
    assert container["command"] == ["python", "-c", PROGRAM] and container["readonlyRootFilesystem"] is True
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["EXPECTED_OWNER"] == "1000:1000" and env["CONTENT_PATH"] == "/mnt/content"
    assert {s["name"] for s in container["secrets"]} == {"MASTER_USERNAME", "MASTER_PASSWORD"}
    execution = policy(named(doc, "aws_iam_role_policy", "Lms_Probe_ExecutionPolicy"))["Statement"]
    assert {s["Sid"]: s["Action"] for s in execution} == {
        "ReadMasterSecret": ["secretsmanager:GetSecretValue"],
        "DecryptMasterSecret": ["kms:Decrypt"],
        "WriteProbeLogs": ["logs:CreateLogStream", "logs:PutLogEvents"],
    }


def test_the_probes_outsider_group_admits_nothing_and_tries_every_store(doc):
    assert not rules_of(doc, "aws_vpc_security_group_ingress_rule", "Lms_Probe_")
    egress = rules_of(doc, "aws_vpc_security_group_egress_rule", "Lms_Probe_")
    assert sorted(r["from_port"] for r in egress) == [443, 2049, 3306, 6379]


@pytest.mark.parametrize(("cpu", "memory"), [(1024, 1024), (256, 4096)])
def test_fails_when_cpu_and_memory_are_not_a_fargate_size(cpu, memory):
    with pytest.raises(ValueError, match="is not a Fargate size"):
        LmsProps(
            label=label(),
            deployment=DEPLOYMENT,
            network=None,
            edge=None,
            storage=None,
            redis=None,  # type: ignore[arg-type]
            database=None,
            logs_key=None,
            image="x",
            db_secret_name="s",
            cpu=cpu,
            memory_mib=memory,
        )


# --- web ------------------------------------------------------------------------------------


def test_instances_require_imdsv2_and_boot_encrypted(doc):
    template = named(doc, "aws_launch_template", "Web_")
    assert template["metadata_options"]["http_tokens"] == "required"
    assert template["instance_type"] == "t3.medium"
    assert template["block_device_mappings"][0]["ebs"]["encrypted"] == "true"
    script = base64.b64decode(template["user_data"]).decode()
    assert "amazon-cloudwatch-agent" in script and "xray" in script


def test_the_instance_profile_has_ssm_cloudwatch_agent_and_xray_only(doc):
    attached = sorted(
        a["policy_arn"].rsplit("/", 1)[1] for a in rules_of(doc, "aws_iam_role_policy_attachment", "Web_")
    )
    assert attached == ["AWSXrayWriteOnlyAccess", "AmazonSSMManagedInstanceCore", "CloudWatchAgentServerPolicy"]
    assert not rules_of(doc, "aws_iam_role_policy", "Web_")


def test_the_group_runs_in_private_subnets_behind_the_alb(doc):
    group = named(doc, "aws_autoscaling_group", "Web_")
    assert all("PrivateSubnet" in s for s in group["vpc_zone_identifier"])
    assert group["health_check_type"] == "ELB"
    assert {t["key"] for t in group["tag"]} >= {"Environment", "Owner", "Project"}


def test_web_scales_on_cpu_memory_and_latency_alarms_plus_target_tracking(doc):
    alarms = {a["metric_name"]: a for a in rules_of(doc, "aws_cloudwatch_metric_alarm", "Web_")}
    assert set(alarms) == {"CPUUtilization", "mem_used_percent", "TargetResponseTime"}
    assert alarms["mem_used_percent"]["namespace"] == "CWAgent"
    assert all(a["alarm_actions"][0].startswith("${aws_autoscaling_policy.Web_StepUp") for a in alarms.values())
    types = sorted(p["policy_type"] for p in rules_of(doc, "aws_autoscaling_policy", "Web_"))
    assert types == ["StepScaling", "TargetTrackingScaling"]


def test_fails_when_desired_capacity_is_outside_min_and_max():
    with pytest.raises(ValueError, match="desired_capacity: 5 must lie between"):
        WebProps(
            label=label(),
            deployment=DEPLOYMENT,
            network=None,
            edge=None,
            redis=None,
            database=None,  # type: ignore[arg-type]
            min_size=2,
            max_size=3,
            desired_capacity=5,
        )


# --- observability ---------------------------------------------------------------------------


def test_alarms_go_to_an_encrypted_topic(doc):
    topic = named(doc, "aws_sns_topic", "Observability_")
    assert topic["kms_master_key_id"].startswith("${aws_kms_key.Kms_LogsKey")
    alarms = rules_of(doc, "aws_cloudwatch_metric_alarm", "Observability_")
    metrics = {a["metric_name"] for a in alarms}
    assert {
        "HTTPCode_Target_5XX_Count",
        "UnHealthyHostCount",
        "CPUUtilization",
        "FreeStorageSpace",
        "EngineCPUUtilization",
        "Evictions",
        "MemoryUtilization",
    } <= metrics
    for alarm in alarms:
        [action] = alarm["alarm_actions"]
        assert action.startswith("${aws_sns_topic.Observability_Alarms_") and action.endswith(".arn}")


def test_xray_sampling_and_group_exist(doc):
    assert named(doc, "aws_xray_sampling_rule", "Observability_")["fixed_rate"] == 0.05
    assert named(doc, "aws_xray_group", "Observability_")["insights_configuration"]["insights_enabled"] is True
