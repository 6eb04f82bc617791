"""X-Ray: sampling rules, groups and their tags.

Stock moto 5.2.5 routes only the trace APIs; CreateSamplingRule, CreateGroup and the rest
answer 404. Ours adds their routes and keeps rules, groups and tags on the backend.
"""

from __future__ import annotations

import json
import time
from typing import Any

from infra.emulator.fixes import replace

ROUTES = (
    "CreateSamplingRule",
    "GetSamplingRules",
    "UpdateSamplingRule",
    "DeleteSamplingRule",
    "CreateGroup",
    "GetGroup",
    "Groups",  # GetGroups is POST /Groups
    "UpdateGroup",
    "DeleteGroup",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
)


def _state(self: Any) -> Any:
    backend = self.xray_backend
    if not hasattr(backend, "sampling_rules"):
        backend.sampling_rules, backend.groups, backend.resource_tags = {}, {}, {}
    return backend


def _arn(self: Any, kind: str, name: str) -> str:
    backend = self.xray_backend
    return f"arn:aws:xray:{backend.region_name}:{backend.account_id}:{kind}/{name}"


def _record(rule: dict[str, Any]) -> dict[str, Any]:
    return {"SamplingRule": rule, "CreatedAt": time.time(), "ModifiedAt": time.time()}


def _not_found(message: str) -> tuple[str, dict[str, int]]:
    return json.dumps({"__type": "InvalidRequestException", "message": message}), {"status": 400}


def create_sampling_rule(self: Any) -> Any:
    state = _state(self)
    rule = dict(self._get_param("SamplingRule"))
    rule["RuleARN"] = _arn(self, "sampling-rule", rule["RuleName"])
    state.sampling_rules[rule["RuleName"]] = rule
    state.resource_tags[rule["RuleARN"]] = {t["Key"]: t["Value"] for t in self._get_param("Tags", [])}
    return json.dumps({"SamplingRuleRecord": _record(rule)})


def get_sampling_rules(self: Any) -> Any:
    return json.dumps({"SamplingRuleRecords": [_record(r) for r in _state(self).sampling_rules.values()]})


def update_sampling_rule(self: Any) -> Any:
    update = self._get_param("SamplingRuleUpdate")
    name = update.get("RuleName") or update["RuleARN"].rsplit("/", 1)[1]
    rule = _state(self).sampling_rules.get(name)
    if rule is None:
        return _not_found(f"Sampling rule {name} not found")
    rule.update({k: v for k, v in update.items() if k not in ("RuleName", "RuleARN")})
    return json.dumps({"SamplingRuleRecord": _record(rule)})


def delete_sampling_rule(self: Any) -> Any:
    name = self._get_param("RuleName") or self._get_param("RuleARN").rsplit("/", 1)[1]
    rule = _state(self).sampling_rules.pop(name, None)
    if rule is None:
        return _not_found(f"Sampling rule {name} not found")
    return json.dumps({"SamplingRuleRecord": _record(rule)})


def create_group(self: Any) -> Any:
    state = _state(self)
    name = self._get_param("GroupName")
    group = {
        "GroupName": name,
        "GroupARN": _arn(self, "group", name),
        "FilterExpression": self._get_param("FilterExpression"),
        "InsightsConfiguration": self._get_param("InsightsConfiguration")
        or {"InsightsEnabled": False, "NotificationsEnabled": False},
    }
    state.groups[name] = group
    state.resource_tags[group["GroupARN"]] = {t["Key"]: t["Value"] for t in self._get_param("Tags", [])}
    return json.dumps({"Group": group})


def _group(self: Any) -> dict[str, Any] | None:
    name = self._get_param("GroupName") or (self._get_param("GroupARN") or "/").rsplit("/", 1)[1]
    group: dict[str, Any] | None = _state(self).groups.get(name)
    return group


def get_group(self: Any) -> Any:
    group = _group(self)
    return json.dumps({"Group": group}) if group else _not_found("Group not found")


def get_groups(self: Any) -> Any:
    return json.dumps({"Groups": list(_state(self).groups.values())})


def update_group(self: Any) -> Any:
    group = _group(self)
    if group is None:
        return _not_found("Group not found")
    for key in ("FilterExpression", "InsightsConfiguration"):
        if self._get_param(key) is not None:
            group[key] = self._get_param(key)
    return json.dumps({"Group": group})


def delete_group(self: Any) -> Any:
    group = _group(self)
    if group is None:
        return _not_found("Group not found")
    _state(self).groups.pop(group["GroupName"])
    return "{}"


def tag_resource(self: Any) -> Any:
    tags = _state(self).resource_tags.setdefault(self._get_param("ResourceARN"), {})
    tags.update({t["Key"]: t["Value"] for t in self._get_param("Tags", [])})
    return "{}"


def untag_resource(self: Any) -> Any:
    tags = _state(self).resource_tags.get(self._get_param("ResourceARN"), {})
    for key in self._get_param("TagKeys", []):
        tags.pop(key, None)
    return "{}"


def list_tags_for_resource(self: Any) -> Any:
    tags = _state(self).resource_tags.get(self._get_param("ResourceARN"), {})
    return json.dumps({"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]})


def apply() -> None:
    from moto.xray import urls
    from moto.xray.responses import XRayResponse

    replace(XRayResponse, "groups", get_groups)
    replace(urls, "url_paths", {**urls.url_paths, **{"{0}/" + r + "$": XRayResponse.dispatch for r in ROUTES}})
    for handler in (
        create_sampling_rule,
        get_sampling_rules,
        update_sampling_rule,
        delete_sampling_rule,
        create_group,
        get_group,
        update_group,
        delete_group,
        tag_resource,
        untag_resource,
        list_tags_for_resource,
    ):
        replace(XRayResponse, handler.__name__, handler)
