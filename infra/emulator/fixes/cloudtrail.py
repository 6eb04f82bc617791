"""CloudTrail: what stock moto 5.2.5 reports of a trail differs from AWS where a compliance
scanner (Prowler's CIS checks) and the provider look.

- A trail that never had PutEventSelectors reads no event selectors; AWS reads the default
  one (all management events, read and write), so "logging management events" fails.
  Ours returns that default.
- HasCustomEventSelectors and HasInsightSelectors are always false, so the provider never
  reads the selectors back (no drift seen). Ours sets them once selectors are put.
  PutEventSelectors keeps the other kind of selectors when the kind changes; AWS replaces
  them, and so does ours.
- GetTrailStatus has no LatestCloudWatchLogsDeliveryTime, so a trail sending to CloudWatch
  Logs reads as not delivering there. A logging trail with a log group delivers
  continuously on AWS; ours reports delivery now, as moto does for LatestDeliveryTime.
- A multi-region trail is listed in every region, but GetEventSelectors,
  GetInsightSelectors and GetTrail by its ARN fail outside its home region
  (TrailNotFound). On AWS they answer from any region; ours looks the ARN up among the
  trails every region sees. Writes still need the home region, as on AWS.
"""

from __future__ import annotations

import json
import time
from typing import Any

from infra.emulator.fixes import replace

DEFAULT_SELECTOR = {
    "ReadWriteType": "All",
    "IncludeManagementEvents": True,
    "DataResources": [],
    "ExcludeManagementEventSources": [],
}


def readable(backend: Any, name_or_arn: str) -> Any:
    """The trail a read may name: one of this region's, or one every region sees, by ARN."""
    from moto.cloudtrail.exceptions import TrailNotFoundException

    try:
        return backend.get_trail(name_or_arn)
    except TrailNotFoundException:
        for trail in backend.describe_trails(include_shadow_trails=True):
            if trail.arn == name_or_arn:
                return trail
        raise


def put_event_selectors(self: Any, event_selectors: list[dict[str, Any]], advanced: list[dict[str, Any]]) -> None:
    self.event_selectors = list(event_selectors or [])
    self.advanced_event_selectors = list(advanced or [])
    self.has_custom_event_selectors = True


def get_event_selectors(self: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if not getattr(self, "has_custom_event_selectors", False):
        return [dict(DEFAULT_SELECTOR)], []
    return self.event_selectors, self.advanced_event_selectors


def _description(stock: Any) -> Any:
    def description(self: Any, include_region: bool = False) -> dict[str, Any]:
        answer: dict[str, Any] = stock(self, include_region)
        answer["HasCustomEventSelectors"] = getattr(self, "has_custom_event_selectors", False)
        answer["HasInsightSelectors"] = bool(self.insight_selectors)
        return answer

    return description


def backend_get_event_selectors(self: Any, trail_name: str) -> tuple[str, list[Any], list[Any]]:
    trail = readable(self, trail_name)
    selectors, advanced = trail.get_event_selectors()
    return trail.arn, selectors, advanced


def backend_get_insight_selectors(self: Any, trail_name: str) -> tuple[str, list[Any]]:
    trail = readable(self, trail_name)
    return trail.arn, trail.get_insight_selectors()


def get_trail(self: Any) -> str:
    trail = readable(self.cloudtrail_backend, self._get_param("Name"))
    return json.dumps({"Trail": trail.description()})


def _status(stock: Any) -> Any:
    def get_trail_status(self: Any) -> str:
        answer = json.loads(stock(self))
        name = self._get_param("Name")
        trails = self.cloudtrail_backend.describe_trails(include_shadow_trails=True)
        trail = next(t for t in trails if name in (t.trail_name, t.arn))
        if answer.get("IsLogging") and trail.cw_log_group_arn:
            answer["LatestCloudWatchLogsDeliveryTime"] = int(time.time())
        return json.dumps(answer)

    return get_trail_status


def apply() -> None:
    from moto.cloudtrail.models import CloudTrailBackend, Trail
    from moto.cloudtrail.responses import CloudTrailResponse

    replace(Trail, "put_event_selectors", put_event_selectors)
    replace(Trail, "get_event_selectors", get_event_selectors)
    replace(Trail, "description", _description(Trail.description))
    replace(CloudTrailBackend, "get_event_selectors", backend_get_event_selectors)
    replace(CloudTrailBackend, "get_insight_selectors", backend_get_insight_selectors)
    replace(CloudTrailResponse, "get_trail", get_trail)
    replace(CloudTrailResponse, "get_trail_status", _status(CloudTrailResponse.get_trail_status))
