"""EFS: encrypted with our key, mountable in every zone, mounted by the LMS with TLS."""

from __future__ import annotations

import pytest

from tests.post_apply.conftest import eventually, expect


@pytest.fixture(scope="module")
def file_system(aws, outputs, cfg):
    if not cfg.workloads.lms:
        pytest.skip("the LMS (and its course content) is switched off in this environment")
    return aws("efs").describe_file_systems(FileSystemId=outputs["efs_file_system_id"])["FileSystems"][0]


def test_encrypted_with_the_data_key(file_system, outputs):
    expect(file_system.get("Encrypted"), True, "EFS encryption")
    expect(file_system.get("KmsKeyId"), outputs["data_key_arn"], "EFS KMS key")


def test_a_mount_target_is_available_in_every_private_subnet(aws, outputs, file_system):
    def check() -> None:
        targets = aws("efs").describe_mount_targets(FileSystemId=file_system["FileSystemId"])["MountTargets"]
        available = sorted(t["SubnetId"] for t in targets if t["LifeCycleState"] == "available")
        expect(available, sorted(outputs["private_subnet_ids"]), "subnets with an available mount target")

    eventually(check, what="a mount target in every private subnet")


def test_the_lms_tasks_mount_it_with_tls_through_the_access_point(aws, outputs, file_system):
    task = aws("ecs").describe_task_definition(taskDefinition=outputs["lms_task_definition_arn"])["taskDefinition"]
    volumes = [v["efsVolumeConfiguration"] for v in task["volumes"] if "efsVolumeConfiguration" in v]
    assert volumes, f"no EFS volume in the task definition (volumes: {task['volumes']})"
    efs = volumes[0]
    expect(efs["fileSystemId"], file_system["FileSystemId"], "mounted file system")
    expect(efs.get("transitEncryption"), "ENABLED", "EFS transit encryption in the task")
    expect(efs.get("authorizationConfig", {}).get("accessPointId"), outputs["efs_access_point_id"], "access point")
