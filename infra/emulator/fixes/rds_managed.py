"""RDS: what RDS decides for you, which stock moto 5.2.5 leaves out.

- DescribeDBEngineVersions is not implemented (HTTP 500): a scanner that checks an
  instance's version against the versions RDS offers (Prowler's
  `rds_instance_deprecated_engine_version`) finds every instance "deprecated". Ours
  answers from ENGINES below, a small copy of what RDS offers for the engines we use.
- A major version asked for ("8.4") stays "8.4"; RDS runs, and reports, that major's
  default minor version ("8.4.7"). The provider accepts either (it compares prefixes).
- The master user secret that RDS manages (ManageMasterUserPassword) is reported with
  rotation off; RDS turns rotation on for it, every 7 days, when it creates it.
- That secret holds `{"username": "admin", "password": "P@55w0rd!"}` whatever the master
  user is; RDS stores the instance's master username and a password it generates. Ours
  does too (the MySQL data plane signs the master user in with the secret's value).
"""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

from moto.core.responses import ActionResult

from infra.emulator.fixes import replace

# engine -> major -> (minor versions offered, oldest first; the default is the last)
ENGINES: dict[str, dict[str, tuple[str, ...]]] = {
    "mysql": {
        "8.0": ("8.0.40", "8.0.41", "8.0.42", "8.0.43", "8.0.44"),
        "8.4": ("8.4.4", "8.4.5", "8.4.6", "8.4.7"),
    },
}
DESCRIPTIONS = {"mysql": "MySQL Community Edition"}
MANAGED_SECRET_ROTATION_DAYS = 7


def resolved(engine: str, version: str | None) -> str | None:
    """The version RDS runs for what was asked: a major resolves to its default minor."""
    offered = ENGINES.get((engine or "").lower(), {}).get(version or "")
    return offered[-1] if offered else version


def _versions(engine: str | None, version: str | None, default_only: bool) -> list[dict[str, Any]]:
    found = []
    for name, majors in ENGINES.items():
        if engine and engine.lower() != name:
            continue
        for major, minors in majors.items():
            for minor in minors[-1:] if default_only else minors:
                if version and not (minor == version or minor.startswith(f"{version}.") or major == version):
                    continue
                found.append(
                    {
                        "Engine": name,
                        "EngineVersion": minor,
                        "MajorEngineVersion": major,
                        "DBParameterGroupFamily": f"{name}{major}",
                        "DBEngineDescription": DESCRIPTIONS[name],
                        "DBEngineVersionDescription": f"{DESCRIPTIONS[name].split()[0]} {minor}",
                        "Status": "available",
                        "SupportsLogExportsToCloudwatchLogs": True,
                        "ExportableLogTypes": ["audit", "error", "general", "slowquery"],
                    }
                )
    return found


def describe_db_engine_versions(self: Any) -> ActionResult:
    default_only = str(self.params.get("DefaultOnly", "false")).lower() == "true"
    return ActionResult(
        {"DBEngineVersions": _versions(self.params.get("Engine"), self.params.get("EngineVersion"), default_only)}
    )


def _get_version(self: Any) -> str | None:
    version: str | None = self.__dict__.get("_engine_version")
    return version


def _set_version(self: Any, value: str | None) -> None:
    self.__dict__["_engine_version"] = resolved(getattr(self, "engine", ""), value)


def _rotating(stock: Any) -> Any:
    def create_secret(self: Any, kms_key_id: str | None) -> Any:
        secret = stock(self, kms_key_id)
        secret.rotation_requested = True  # moto reports rotation fields only after this
        secret.rotation_enabled = True
        secret.auto_rotate_after_days = MANAGED_SECRET_ROTATION_DAYS
        return secret

    return create_secret


PASSWORD_LENGTH = 28
# RDS leaves out characters that need quoting in a connection string (/ @ " and space).
PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#$%&()*+,-.:;<=>?[]^_{|}~"


def _secret_string(self: Any) -> str:
    password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
    return json.dumps({"username": self.resource.master_username, "password": password})


def apply() -> None:
    from moto.rds.models import DBInstance, MasterUserSecret
    from moto.rds.responses import RDSResponse

    replace(RDSResponse, "describe_db_engine_versions", describe_db_engine_versions)
    replace(DBInstance, "engine_version", property(_get_version, _set_version))
    replace(MasterUserSecret, "_create_secret", _rotating(MasterUserSecret._create_secret))
    replace(MasterUserSecret, "_generate_secret_string", _secret_string)
