"""The account bootstrap: what an administrator makes once per account, before any CI job
can run (`infra bootstrap ENV`).

- The state bucket: versioned, KMS-encrypted by default, private, TLS-only; old state
  versions expire (the newest are always kept), and its server access logs go to a bucket
  of their own. It holds this stack's own state too, so it exists before the first apply:
  `infra bootstrap` creates it bare when missing and this stack imports it.
- GitHub's OIDC provider, the apply role's permissions boundary, and the plan, queue and
  apply roles, each with the trust and the policies of documents.py (the one source; the
  emulator's tests make the same documents with boto3).

The roles carry fixed names (the workflows name them) and only the apply role carries the
boundary: the boundary's guards deny writing saved plans, which is the queue role's job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from modules.ci_identities import documents
from modules.ci_identities.documents import CiAccount
from modules.common import buckets
from modules.common.cdk import Construct, aws
from modules.common.iam import deny_insecure_transport, document

# State versions: each apply writes one; old ones expire, the newest are always kept.
NONCURRENT_STATE_DAYS = 90
NEWER_STATE_VERSIONS_KEPT = 10
ACCESS_LOG_DAYS = 365
# GitHub's OIDC certificate thumbprints. AWS trusts GitHub's provider through its own CA
# library and ignores them; they are given so that the provider's reads match.
GITHUB_THUMBPRINTS = ("6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd")


@dataclass(frozen=True)
class AccountBootstrapProps:
    account: CiAccount


def _json(doc: documents.Document) -> str:
    return json.dumps(doc)


class AccountBootstrap(Construct):
    """The state bucket and the CI identities of one account."""

    def __init__(self, scope: Construct, construct_id: str, props: AccountBootstrapProps) -> None:
        super().__init__(scope, construct_id)
        account = props.account
        self.state_bucket = self._state_bucket(account)
        provider = aws.iam_openid_connect_provider.IamOpenidConnectProvider(
            self,
            "GitHubOidc",
            url=account.provider_url,
            client_id_list=[documents.AUDIENCE],
            thumbprint_list=list(GITHUB_THUMBPRINTS),
            tags={"Name": documents.OIDC_HOST},
        )
        boundary = aws.iam_policy.IamPolicy(
            self,
            "ApplyBoundary",
            name=documents.BOUNDARY_NAME,
            description="What any role the apply role makes, and the apply role itself, may do at most",
            policy=_json(documents.boundary_policy(account)),
            tags={"Name": documents.BOUNDARY_NAME},
        )
        self.roles: dict[str, aws.iam_role.IamRole] = {}
        own = documents.own_policies(account)
        for purpose, name in documents.ROLE_NAMES.items():
            construct = purpose.capitalize()
            role = aws.iam_role.IamRole(
                self,
                f"{construct}Role",
                name=name,
                assume_role_policy=_json(documents.trust(account, purpose)),
                max_session_duration=3600,
                # the boundary's own ARN from its resource: made before the role that names it
                permissions_boundary=boundary.arn if purpose == "apply" else None,
                depends_on=[provider],
                tags={"Name": name},
            )
            policy_name, policy = own[purpose]
            aws.iam_role_policy.IamRolePolicy(
                self, f"{construct}Policy", role=role.id, name=policy_name, policy=_json(policy)
            )
            for managed in documents.MANAGED_POLICIES[purpose]:
                aws.iam_role_policy_attachment.IamRolePolicyAttachment(
                    self, f"{construct}{managed}", role=role.id, policy_arn=account.managed(managed)
                )
            self.roles[purpose] = role

    def _state_bucket(self, account: CiAccount) -> aws.s3_bucket.S3Bucket:
        bucket = buckets.private_bucket(
            self, "StateBucket", name=account.bucket, sse="aws:kms", tags={"Name": account.bucket}
        )
        bucket.import_from(account.bucket)  # made bare by `infra bootstrap` (it holds this state)
        bucket.add_override("lifecycle.prevent_destroy", True)
        buckets.lifecycle(
            self,
            "StateBucket",
            bucket,
            noncurrent_days=NONCURRENT_STATE_DAYS,
            expire_days=None,
            newer_versions_kept=NEWER_STATE_VERSIONS_KEPT,
        )
        aws.s3_bucket_policy.S3BucketPolicy(
            self,
            "StateBucketPolicy",
            bucket=bucket.id,
            policy=document(deny_insecure_transport("s3:*", [bucket.arn, f"{bucket.arn}/*"])),
        )
        buckets.access_logs(
            self,
            bucket,
            construct_id="AccessLogs",
            logging_id="StateBucketLogging",
            name=account.access_logs,
            account_id=account.account_id,
            expire_days=ACCESS_LOG_DAYS,
            prefix=f"{account.bucket}/",
            tags={"Name": account.access_logs},
        )
        return bucket
