"""S3: what stock moto 5.2.5 gets wrong for the state bucket.

- It drops NewerNoncurrentVersions from a lifecycle rule's NoncurrentVersionExpiration
  ("keep the newest N old versions"): it is not kept at PutBucketLifecycleConfiguration and
  not returned by GetBucketLifecycleConfiguration. The provider waits after a put until
  the rules it reads back equal the rules it sent, so a rule with NewerNoncurrentVersions
  (the state bucket's: modules/ci_identities/construct.py) times out after 3 minutes. Ours
  keeps it on the rule and returns it.
- With IAM enforced it authorises several bucket settings as `s3:CreateBucket` (its
  default for a PUT on a bucket whose sub-resource it does not know), so a Deny on the IAM
  action AWS checks does not hold: ownership controls (ACLs back on), default encryption,
  the public access block (moto looks for `public_access_block`; the query names
  `publicAccessBlock`), replication, inventory, object lock and request payment. Ours
  names the actions AWS checks (the apply role's guards deny them on the state bucket).
"""

from __future__ import annotations

from typing import Any

from infra.emulator.fixes import replace

# The IAM action of a PUT or DELETE on a bucket sub-resource (by its query key), as AWS
# checks it; moto's own map lacks these.
BUCKET_SETTINGS = {
    "ownershipControls": "PutBucketOwnershipControls",  # deleting them too
    "encryption": "PutEncryptionConfiguration",  # deleting it too
    "publicAccessBlock": "PutBucketPublicAccessBlock",
    "replication": "PutReplicationConfiguration",
    "inventory": "PutInventoryConfiguration",
    "object-lock": "PutBucketObjectLockConfiguration",
    "requestPayment": "PutBucketRequestPayment",
}


def apply() -> None:
    from moto.s3 import responses
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    actions = {
        kind: {method: dict(names) for method, names in methods.items()}
        for kind, methods in responses.ACTION_MAP.items()
    }
    for method in ("PUT", "DELETE"):
        actions["BUCKET"][method].update(BUCKET_SETTINGS)
    actions["BUCKET"]["DELETE"]["publicAccessBlock"] = "PutBucketPublicAccessBlock"
    replace(responses, "ACTION_MAP", actions)

    set_lifecycle = FakeBucket.set_lifecycle
    get_bucket_lifecycle = S3Response.get_bucket_lifecycle

    def keeping_newer_versions(self: Any, rules: list[dict[str, Any]]) -> None:
        set_lifecycle(self, rules)
        for kept, sent in zip(self.rules, rules, strict=True):
            kept.nve_newer_versions = (sent.get("NoncurrentVersionExpiration") or {}).get("NewerNoncurrentVersions")

    def returning_newer_versions(self: Any) -> Any:
        serialized = self.serialized

        def with_newer_versions(result: Any) -> Any:
            rules = self.backend.get_bucket_lifecycle(self.bucket_name)
            for rule, shown in zip(rules, result.result["Rules"], strict=True):
                newer = getattr(rule, "nve_newer_versions", None)
                if newer is not None and "NoncurrentVersionExpiration" in shown:
                    shown["NoncurrentVersionExpiration"]["NewerNoncurrentVersions"] = newer
            return serialized(result)

        self.serialized = with_newer_versions
        try:
            return get_bucket_lifecycle(self)
        finally:
            del self.serialized

    replace(FakeBucket, "set_lifecycle", keeping_newer_versions)
    replace(S3Response, "get_bucket_lifecycle", returning_newer_versions)
