"""WAFv2: ListResourcesForWebACL is not implemented in stock moto 5.2.5 (the server answers
HTTP 500), although AssociateWebACL records the associations it would list. A compliance
scanner then reports every load balancer as unprotected by WAF. Ours lists the associated
resources of the asked type, an empty list when there are none, and
WAFNonexistentItemException for an unknown web ACL, as AWS does.
"""

from __future__ import annotations

import json
from typing import Any

from infra.emulator.fixes import replace

# ResourceType -> what the ARN of such a resource contains.
KINDS: dict[str, tuple[str, ...]] = {
    "APPLICATION_LOAD_BALANCER": (":elasticloadbalancing:", ":loadbalancer/app/"),
    "API_GATEWAY": (":apigateway:", "/restapis/"),
    "APPSYNC": (":appsync:",),
    "COGNITO_USER_POOL": (":cognito-idp:",),
    "APP_RUNNER_SERVICE": (":apprunner:",),
    "VERIFIED_ACCESS_INSTANCE": (":ec2:", ":verified-access-instance/"),
    "AMPLIFY": (":amplify:",),
}


def is_kind(arn: str, resource_type: str) -> bool:
    return all(part in arn for part in KINDS.get(resource_type, ("\0",)))


def list_resources_for_web_acl(self: Any) -> tuple[int, dict[str, str], str]:
    from moto.wafv2.exceptions import WAFNonexistentItemException

    body = json.loads(self.body)
    web_acl = self.wafv2_backend.wacls.get(body["WebACLArn"])
    if web_acl is None:
        raise WAFNonexistentItemException
    resource_type = body.get("ResourceType", "APPLICATION_LOAD_BALANCER")
    arns = [arn for arn in web_acl.associated_resources if is_kind(arn, resource_type)]
    return 200, {"Content-Type": "application/json"}, json.dumps({"ResourceArns": arns})


def apply() -> None:
    from moto.wafv2.responses import WAFV2Response

    replace(WAFV2Response, "list_resources_for_web_acl", list_resources_for_web_acl)
