"""RDS: values the provider reads back but stock moto 5.2.5 does not keep.

- Performance Insights (enabled, KMS key, retention) is dropped: a plan after apply wants
  to enable it again. Ours keeps it from create and modify.
- DescribeDBParameters returns parameters without `Source`; the provider keeps only
  user-set ones, so it sees none and wants to add them again. Ours marks them "user".

And values a compliance scanner (Prowler) reads:

- Instances get CA "rds-ca-default", which is no CA of AWS's; AWS gives new instances
  "rds-ca-rsa2048-g1". Ours reports that for instances created without a CA.
- DescribeCertificates is not implemented (HTTP 500), and it is where Prowler reads a CA's
  validity: with nothing read, it reports the certificate as expired. Ours lists the CAs
  AWS offers for new instances: rds-ca-rsa2048-g1 (valid 40 years, to 2061),
  rds-ca-rsa4096-g1 and rds-ca-ecc384-g1 (100 years, to 2121).
- DescribeDBInstances has no CertificateDetails (the CA and the expiry of the instance's
  server certificate). Ours gives the instance's CA and, as expiry, a year after the
  instance was created: RDS issues the server certificate itself and, with these CAs,
  rotates it before it expires (the year is our choice; we do not model the rotation).
- DescribeDBInstances has no EnhancedMonitoringResourceArn although MonitoringInterval is
  above 0. AWS gives the RDSOSMetrics log stream of the instance; ours too (none at 0).

And the data plane (a MySQL server per MySQL instance, infra/emulator/planes/mysql.py),
started and stopped from here (`mysql_plane.created/deleted`): the instance's endpoint
reports the server's loopback address instead of moto's `<id>.aaaaaaaaaa.<region>.rds...`
name, which resolves nowhere.

And what a probe reads of Multi-AZ, beyond the flag:

- A Multi-AZ instance has no SecondaryAvailabilityZone (the standby's zone). AWS places the
  standby in another zone of the DB subnet group; ours reports the first such zone (none
  for a Single-AZ instance, as AWS).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from moto.core.responses import ActionResult

from infra.emulator.fixes import replace
from infra.emulator.planes import mysql as mysql_plane

INSIGHTS = {
    "EnablePerformanceInsights": "performance_insights_enabled",
    "PerformanceInsightsKMSKeyId": "performance_insights_kms_key_id",
    "PerformanceInsightsRetentionPeriod": "performance_insights_retention_period",
}


def _keep_insights(stock: Any) -> Any:
    def handler(self: Any) -> Any:
        answer = stock(self)
        database = answer.result["DBInstance"]
        for param, attribute in INSIGHTS.items():
            if param in self.params:
                value = self.params[param]
                setattr(
                    database,
                    attribute,
                    value
                    if not isinstance(value, str) or param != "EnablePerformanceInsights"
                    else value.lower() == "true",
                )
        if getattr(database, "performance_insights_enabled", False) and not getattr(
            database, "performance_insights_retention_period", None
        ):
            database.performance_insights_retention_period = 7
        return answer

    return handler


def describe_db_parameters(self: Any) -> ActionResult:
    from moto.rds.exceptions import DBParameterGroupNotFoundError

    name = self.params.get("DBParameterGroupName")
    groups = self.backend.describe_db_parameter_groups({"db_parameter_group_name": name})
    if not groups:
        raise DBParameterGroupNotFoundError(name)
    source = self.params.get("Source")
    parameters = [{"Source": "user", **p} for p in groups[0].parameters.values()]
    return ActionResult({"Parameters": [p for p in parameters if source in (None, p["Source"])]})


DEFAULT_CA = "rds-ca-rsa2048-g1"
MOTO_DEFAULT_CA = "rds-ca-default"
VALID_FROM = datetime(2021, 5, 25, tzinfo=UTC)  # AWS issued these CAs in 2021; the day is ours
CERTIFICATE_AUTHORITIES = {
    "rds-ca-rsa2048-g1": VALID_FROM.replace(year=2061),
    "rds-ca-rsa4096-g1": VALID_FROM.replace(year=2121),
    "rds-ca-ecc384-g1": VALID_FROM.replace(year=2121),
}
SERVER_CERTIFICATE_LIFETIME = timedelta(days=365)


def _get_ca(self: Any) -> str:
    ca: str | None = vars(self).get("_ca_certificate_identifier")
    return DEFAULT_CA if ca is None or ca == MOTO_DEFAULT_CA else ca


def _set_ca(self: Any, value: str | None) -> None:
    self._ca_certificate_identifier = value


def _certificate_details(self: Any) -> dict[str, Any]:
    return {"CAIdentifier": self.ca_certificate_identifier, "ValidTill": self.created + SERVER_CERTIFICATE_LIFETIME}


def _enhanced_monitoring_arn(self: Any) -> str | None:
    if not int(self.monitoring_interval or 0):
        return None
    group = f"arn:{self.partition}:logs:{self.region}:{self.account_id}:log-group:RDSOSMetrics"
    return f"{group}:log-stream:{self.dbi_resource_id}"


def _secondary_zone(self: Any) -> str | None:
    if not self.multi_az or getattr(self, "db_subnet_group", None) is None:
        return None
    zones = sorted({s["SubnetAvailabilityZone"]["Name"] for s in self.db_subnet_group.subnets})
    return next((zone for zone in zones if zone != self.availability_zone), None)


def certificate(self: Any, identifier: str, valid_till: datetime) -> dict[str, Any]:
    return {
        "CertificateIdentifier": identifier,
        "CertificateType": "CA",
        "ValidFrom": VALID_FROM,
        "ValidTill": valid_till,
        "CertificateArn": f"arn:{self.partition}:rds:{self.region}::cert:{identifier}",
        "CustomerOverride": False,
    }


def describe_certificates(self: Any) -> ActionResult:
    from moto.rds.exceptions import RDSClientError

    wanted = self.params.get("CertificateIdentifier")
    if wanted is not None and wanted not in CERTIFICATE_AUTHORITIES:
        raise RDSClientError("CertificateNotFound", f"Certificate {wanted} not found.")
    found = [certificate(self, i, t) for i, t in CERTIFICATE_AUTHORITIES.items() if wanted in (None, i)]
    return ActionResult({"DefaultCertificateForNewLaunches": DEFAULT_CA, "Certificates": found})


def _address(stock: Any) -> Any:
    def address(self: Any) -> str:
        return str(vars(self).get("data_plane_address") or stock.fget(self))

    return property(address)


def _create_instance(stock: Any) -> Any:
    def create_db_instance(self: Any, db_kwargs: dict[str, Any]) -> Any:
        database = stock(self, db_kwargs)
        mysql_plane.created(self, database)
        return database

    return create_db_instance


def _delete_instance(stock: Any) -> Any:
    def delete_db_instance(self: Any, db_instance_identifier: str, *args: Any, **kwargs: Any) -> Any:
        database = stock(self, db_instance_identifier, *args, **kwargs)
        mysql_plane.deleted(self, db_instance_identifier)
        return database

    return delete_db_instance


def apply() -> None:
    from moto.rds.models import DBInstance, RDSBackend
    from moto.rds.responses import RDSResponse

    replace(DBInstance, "address", _address(DBInstance.address))
    replace(RDSBackend, "create_db_instance", _create_instance(RDSBackend.create_db_instance))
    replace(RDSBackend, "delete_db_instance", _delete_instance(RDSBackend.delete_db_instance))

    replace(DBInstance, "ca_certificate_identifier", property(_get_ca, _set_ca))
    replace(DBInstance, "certificate_details", property(_certificate_details))
    replace(DBInstance, "enhanced_monitoring_resource_arn", property(_enhanced_monitoring_arn))
    replace(DBInstance, "secondary_availability_zone", property(_secondary_zone))
    replace(RDSResponse, "describe_certificates", describe_certificates)

    replace(RDSResponse, "create_db_instance", _keep_insights(RDSResponse.create_db_instance))
    replace(RDSResponse, "modify_db_instance", _keep_insights(RDSResponse.modify_db_instance))
    replace(RDSResponse, "describe_db_parameters", describe_db_parameters)
