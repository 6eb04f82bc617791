"""ECS: Container Insights, Fargate in private subnets, the existing secret, scaling, running."""

from __future__ import annotations

import os

import pytest

from tests.post_apply.conftest import eventually, expect


@pytest.fixture(scope="module")
def service(aws, outputs, cfg):
    if not cfg.workloads.lms:
        pytest.skip("the LMS is switched off in this environment")
    return aws("ecs").describe_services(cluster=outputs["ecs_cluster_name"], services=[outputs["ecs_service_name"]])[
        "services"
    ][0]


def test_container_insights_is_on(aws, outputs, service):
    cluster = aws("ecs").describe_clusters(clusters=[outputs["ecs_cluster_name"]], include=["SETTINGS"])["clusters"][0]
    settings = {s["name"]: s["value"] for s in cluster.get("settings", [])}
    expect(settings.get("containerInsights"), "enabled", "Container Insights")


def test_the_service_runs_on_fargate_in_private_subnets(service, outputs):
    expect(service.get("launchType"), "FARGATE", "launch type")
    network = service["networkConfiguration"]["awsvpcConfiguration"]
    expect(sorted(network["subnets"]), sorted(outputs["private_subnet_ids"]), "service subnets")
    expect(network.get("assignPublicIp"), "DISABLED", "public IP")


def test_running_count_reaches_desired(aws, outputs, service):
    if os.environ.get("INFRA_EMULATED"):
        pytest.skip("the emulator runs no containers: its running count is a constant, not an observation")

    def check() -> None:
        current = aws("ecs").describe_services(
            cluster=outputs["ecs_cluster_name"], services=[outputs["ecs_service_name"]]
        )["services"][0]
        expect(current["runningCount"], current["desiredCount"], "running tasks")

    eventually(check, timeout=300, interval=10, what="running count equals desired")


def test_db_credentials_come_from_the_existing_secret(aws, outputs, cfg, service):
    secret_arn = aws("secretsmanager").describe_secret(SecretId=cfg.components.lms.db_secret_name)["ARN"]
    task = aws("ecs").describe_task_definition(taskDefinition=outputs["lms_task_definition_arn"])["taskDefinition"]
    secrets = [s for c in task["containerDefinitions"] for s in c.get("secrets", [])]
    assert secrets, "the task definition injects no secrets"
    for secret in secrets:
        assert secret["valueFrom"].startswith(secret_arn), f"{secret['name']} comes from {secret['valueFrom']}"


def test_scaling_policies_track_cpu_and_memory(aws, outputs, service):
    resource = f"service/{outputs['ecs_cluster_name']}/{outputs['ecs_service_name']}"
    policies = aws("application-autoscaling").describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource)[
        "ScalingPolicies"
    ]
    metrics = {
        p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"]
        for p in policies
        if "TargetTrackingScalingPolicyConfiguration" in p
    }
    assert {
        "ECSServiceAverageCPUUtilization",
        "ECSServiceAverageMemoryUtilization",
    } <= metrics, f"scaling metrics: {sorted(metrics)}"
