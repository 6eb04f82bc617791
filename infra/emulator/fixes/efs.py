"""EFS: PutBackupPolicy and DeleteFileSystemPolicy are routed by moto but not implemented,
and DescribeBackupPolicy answers PolicyNotFound for a disabled policy where AWS answers
DISABLED (destroy waits for that answer).

moto already keeps a file system's backup flag and policy (DescribeBackupPolicy and
PutFileSystemPolicy work); these two handlers set and clear them.
"""

from __future__ import annotations

import json
from typing import Any

from infra.emulator.fixes import replace


def put_backup_policy(self: Any) -> Any:
    file_system_id = self._get_param("FileSystemId")
    status = self._get_param("BackupPolicy")["Status"]
    file_system = self.efs_backend.file_systems_by_id[file_system_id]
    file_system._backup = status in ("ENABLED", "ENABLING")
    return json.dumps({"BackupPolicy": {"Status": "ENABLED" if file_system._backup else "DISABLED"}}), {
        "Content-Type": "application/json"
    }


def describe_backup_policy(self: Any) -> Any:
    file_system = self.efs_backend.file_systems_by_id.get(self._get_param("FileSystemId"))
    if file_system is None:
        from moto.efs.exceptions import FileSystemNotFound

        raise FileSystemNotFound(self._get_param("FileSystemId"))
    status = "ENABLED" if file_system._backup else "DISABLED"
    return json.dumps({"BackupPolicy": {"Status": status}}), {"Content-Type": "application/json"}


def delete_file_system_policy(self: Any) -> Any:
    file_system_id = self._get_param("FileSystemId")
    self.efs_backend.file_systems_by_id[file_system_id].file_system_policy = None
    return "{}", {"status": 200, "Content-Type": "application/json"}


def apply() -> None:
    from moto.efs.responses import EFSResponse

    replace(EFSResponse, "put_backup_policy", put_backup_policy)
    replace(EFSResponse, "delete_file_system_policy", delete_file_system_policy)
    replace(EFSResponse, "describe_backup_policy", describe_backup_policy)
