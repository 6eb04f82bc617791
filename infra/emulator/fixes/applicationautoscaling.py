"""Application Auto Scaling: tags on scalable targets.

Stock moto 5.2.5 has no ListTagsForResource, TagResource or UntagResource, and drops the
Tags given to RegisterScalableTarget. The provider lists tags after every read, so apply,
plan and destroy of ECS service scaling all fail. Ours keeps tags per ARN on the backend.
"""

from __future__ import annotations

import json
from typing import Any

from infra.emulator.fixes import replace


def _tags(backend: Any) -> dict[str, dict[str, str]]:
    if not hasattr(backend, "resource_tags"):
        backend.resource_tags = {}
    tags: dict[str, dict[str, str]] = backend.resource_tags
    return tags


def _register(stock: Any) -> Any:
    def register_scalable_target(self: Any) -> str:
        answer: str = stock(self)
        arn = json.loads(answer)["ScalableTargetARN"]
        _tags(self.applicationautoscaling_backend).setdefault(arn, {}).update(self._get_param("Tags") or {})
        return answer

    return register_scalable_target


def list_tags_for_resource(self: Any) -> str:
    arn = self._get_param("ResourceARN")
    return json.dumps({"Tags": _tags(self.applicationautoscaling_backend).get(arn, {})})


def tag_resource(self: Any) -> str:
    arn = self._get_param("ResourceARN")
    _tags(self.applicationautoscaling_backend).setdefault(arn, {}).update(self._get_param("Tags") or {})
    return "{}"


def untag_resource(self: Any) -> str:
    tags = _tags(self.applicationautoscaling_backend).get(self._get_param("ResourceARN"), {})
    for key in self._get_param("TagKeys") or []:
        tags.pop(key, None)
    return "{}"


def apply() -> None:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

    replace(
        ApplicationAutoScalingResponse,
        "register_scalable_target",
        _register(ApplicationAutoScalingResponse.register_scalable_target),
    )
    for handler in (list_tags_for_resource, tag_resource, untag_resource):
        replace(ApplicationAutoScalingResponse, handler.__name__, handler)
