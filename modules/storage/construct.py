"""EFS for course content: encrypted, a mount target per private subnet, one access point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from modules.common.cdk import Construct, aws
from modules.common.deployment import Deployment
from modules.common.iam import deny_insecure_transport, document, statement
from modules.common.label import Label
from modules.common.security import DataStore, owner_scope
from modules.network import Network

NFS_PORT = 2049
CONTENT_UID = 1000  # the LMS container's user


@dataclass(frozen=True, kw_only=True)
class StorageProps:
    label: Label
    deployment: Deployment
    network: Network
    key: aws.kms_key.KmsKey
    # generalPurpose gives the lowest latency per read; it now scales as far as maxIO did.
    performance_mode: Literal["generalPurpose", "maxIO"] = "generalPurpose"
    # elastic follows spikes (exam periods) with no provisioning; bursting earns credits.
    throughput_mode: Literal["elastic", "bursting"] = "elastic"
    # Files not read for this long move to Infrequent Access; a read moves them back.
    transition_to_ia: str = "AFTER_30_DAYS"


class Storage(DataStore):
    """An encrypted file system that only TLS clients can use, with daily backups.

    Creates a security group that admits nothing; `allow_from(group)` opens NFS to one
    group and `grant_read_write(role)` lets a task role mount through the access point.
    """

    port = NFS_PORT
    protocol = "NFS"
    rule_prefix = "Nfs"

    def __init__(self, scope: Construct, construct_id: str, props: StorageProps) -> None:
        super().__init__(scope, construct_id, label=props.label)
        label = props.label
        self._props = props
        self.file_system = aws.efs_file_system.EfsFileSystem(
            self,
            "FileSystem",
            creation_token=label.name("efs-content"),
            encrypted=True,
            kms_key_id=props.key.arn,
            performance_mode=props.performance_mode,
            throughput_mode=props.throughput_mode,
            lifecycle_policy=[
                aws.efs_file_system.EfsFileSystemLifecyclePolicy(transition_to_ia=props.transition_to_ia),
                aws.efs_file_system.EfsFileSystemLifecyclePolicy(transition_to_primary_storage_class="AFTER_1_ACCESS"),
            ],
            tags=label.name_tag("efs-content"),
        )
        aws.efs_backup_policy.EfsBackupPolicy(
            self,
            "Backups",
            file_system_id=self.file_system.id,
            backup_policy=aws.efs_backup_policy.EfsBackupPolicyBackupPolicy(status="ENABLED"),
        )
        aws.efs_file_system_policy.EfsFileSystemPolicy(
            self,
            "TlsOnly",
            file_system_id=self.file_system.id,
            policy=document(
                deny_insecure_transport("*", self.file_system.arn, principal={"AWS": "*"}, sid="DenyWithoutTls")
            ),
        )
        self.security_group = aws.security_group.SecurityGroup(
            self,
            "SecurityGroup",
            name=label.name("secgroup-efs"),
            vpc_id=props.network.vpc_id,
            description="EFS mount targets: NFS only from the groups allowed by allow_from",
            tags=label.name_tag("secgroup-efs"),
        )
        self.mount_targets = [
            aws.efs_mount_target.EfsMountTarget(
                self,
                f"MountTarget{i + 1}",
                file_system_id=self.file_system.id,
                subnet_id=subnet.id,
                security_groups=[self.security_group.id],
            )
            for i, subnet in enumerate(props.network.private_subnets)
        ]
        self.access_point = aws.efs_access_point.EfsAccessPoint(
            self,
            "ContentAccessPoint",
            file_system_id=self.file_system.id,
            posix_user=aws.efs_access_point.EfsAccessPointPosixUser(uid=CONTENT_UID, gid=CONTENT_UID),
            root_directory=aws.efs_access_point.EfsAccessPointRootDirectory(
                path="/content",
                creation_info=aws.efs_access_point.EfsAccessPointRootDirectoryCreationInfo(
                    owner_uid=CONTENT_UID, owner_gid=CONTENT_UID, permissions="750"
                ),
            ),
            tags=label.name_tag("efsap-content"),
        )

    def grant_read_write(self, role: aws.iam_role.IamRole, name: str) -> None:
        """Let `role` mount and write, only through the content access point."""
        aws.iam_role_policy.IamRolePolicy(
            owner_scope(role),
            f"{name}EfsReadWrite",
            role=role.id,
            name=self._props.label.name("policy-efs-rw", max_length=128),
            policy=document(
                statement(
                    "MountContentThroughAccessPoint",
                    ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                    [self.file_system.arn],
                    condition={"StringEquals": {"elasticfilesystem:AccessPointArn": self.access_point.arn}},
                )
            ),
        )

    # --- read-only attributes ----------------------------------------------------------
    # The AWS bindings are not analysed by mypy (pyproject), so their attributes are cast.

    @property
    def file_system_id(self) -> str:
        return cast(str, self.file_system.id)

    @property
    def file_system_arn(self) -> str:
        return cast(str, self.file_system.arn)

    @property
    def access_point_id(self) -> str:
        return cast(str, self.access_point.id)
