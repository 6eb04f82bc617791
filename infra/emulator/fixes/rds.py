"""RDS: values the provider reads back but stock moto 5.2.5 does not keep.

- Performance Insights (enabled, KMS key, retention) is dropped: a plan after apply wants
  to enable it again. Ours keeps it from create and modify.
- DescribeDBParameters returns parameters without `Source`; the provider keeps only
  user-set ones, so it sees none and wants to add them again. Ours marks them "user".
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult

from infra.emulator.fixes import replace

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


def apply() -> None:
    from moto.rds.responses import RDSResponse

    replace(RDSResponse, "create_db_instance", _keep_insights(RDSResponse.create_db_instance))
    replace(RDSResponse, "modify_db_instance", _keep_insights(RDSResponse.modify_db_instance))
    replace(RDSResponse, "describe_db_parameters", describe_db_parameters)
