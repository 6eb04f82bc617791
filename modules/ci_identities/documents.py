"""The CI roles' documents as data: who may assume each role, and what it may do.

One set per account (docs/trust-model.md says it for a reviewer):
- plan (`infra-github-plan`): trusted by this repository's pull requests and by its pushes
  to main (the apply workflow's read-only `plan ENV` job). Reads the account's state objects
  (`<env>/...`, `_account/...`), the saved plans (`plans/...`) and lists the bucket, and
  decrypts through S3; writes nothing (plans run with `-lock=false`). With the AWS managed
  ReadOnlyAccess and SecurityAudit for what Terraform and Prowler read.
- queue (`infra-github-queue`): trusted by the merge queue's refs only. The plan role's
  reads, plus writing saved plans under `plans/`, and nothing else.
- apply (`infra-github-apply`): trusted by jobs in one of the account's GitHub environments
  (which GitHub lets deploy from `main` only: the environments' deployment-branch rule).
  AdministratorAccess, bounded by the boundary `infra-github-apply-boundary`, and the same
  guards as explicit denies in its own policy: it may not touch the CI roles or the
  boundary, the OIDC provider, the state bucket's policy and settings or its access logs,
  IAM users, the saved plans, or the bootstrap stack's state; it may create a role only
  with the boundary on it, which no role may lose, and change the policies only of roles
  that carry it (every role the modules make carries the boundary: infra/synth/stack.py).

Pure data and no CDKTF: the account's bootstrap stack (construct.py) applies them, and the
emulator's enforced-IAM tests create them directly (infra/emulator/identities.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
ROLE_NAMES = {
    "plan": "infra-github-plan",  # read-only: plans take no lock and write nothing
    "queue": "infra-github-queue",  # the plan role's reads, plus writing plans/ (merge queue refs only)
    "apply": "infra-github-apply",  # may change the account's resources, within the guards
}
BOUNDARY_NAME = "infra-github-apply-boundary"
ACCESS_LOGS_SUFFIX = "-access-logs"
SAVED_PLANS = "plans"
ACCOUNT_SCOPE = "_account"
BOOTSTRAP = "bootstrap"  # the bootstrap stack's state: `<ACCOUNT_SCOPE>/bootstrap/terraform.tfstate`
READ_ONLY_MANAGED = ("ReadOnlyAccess", "SecurityAudit")
ADMIN_MANAGED = "AdministratorAccess"
Document = dict[str, Any]


@dataclass(frozen=True)
class CiAccount:
    """What the documents of one account depend on."""

    account_id: str
    region: str
    bucket: str
    environments: tuple[str, ...]
    organization: str
    repository: str
    partition: str = "aws"

    @property
    def repo(self) -> str:
        return f"repo:{self.organization}/{self.repository}"

    @property
    def provider_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:oidc-provider/{OIDC_HOST}"

    def role_arn(self, purpose: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{ROLE_NAMES[purpose]}"

    @property
    def boundary_arn(self) -> str:
        return boundary_arn(self.account_id, self.partition)

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.bucket}"

    @property
    def access_logs(self) -> str:
        """The state bucket's server access-log bucket (the account layer leaves room for it)."""
        return f"{self.bucket}{ACCESS_LOGS_SUFFIX}"

    @property
    def access_logs_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.access_logs}"

    @property
    def provider_url(self) -> str:
        return f"https://{OIDC_HOST}"

    def objects(self, *prefixes: str) -> list[str]:
        return [f"{self.bucket_arn}/{prefix}/*" for prefix in prefixes]

    def managed(self, name: str) -> str:
        return f"arn:{self.partition}:iam::aws:policy/{name}"


def boundary_arn(account_id: str, partition: str = "aws") -> str:
    """The permissions boundary every role in the account carries (the apply role's too)."""
    return f"arn:{partition}:iam::{account_id}:policy/{BOUNDARY_NAME}"


def _document(*statements: Document) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def subjects(account: CiAccount, purpose: str) -> list[str]:
    """The OIDC subjects (`sub` claims, GitHub's default format) a role trusts."""
    if purpose == "plan":
        return [f"{account.repo}:pull_request", f"{account.repo}:ref:refs/heads/main"]
    if purpose == "queue":
        return [f"{account.repo}:ref:refs/heads/gh-readonly-queue/main/*"]
    if purpose == "apply":
        return [f"{account.repo}:environment:{env}" for env in account.environments]
    raise ValueError(f"no CI role {purpose!r}: one of {', '.join(ROLE_NAMES)}")


def trust(account: CiAccount, purpose: str) -> Document:
    """AssumeRoleWithWebIdentity from GitHub's OIDC provider, for this audience and these subjects."""
    return _document(
        {
            "Sid": "GitHubActions",
            "Effect": "Allow",
            "Principal": {"Federated": account.provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{OIDC_HOST}:aud": AUDIENCE},
                "StringLike": {f"{OIDC_HOST}:sub": subjects(account, purpose)},
            },
        }
    )


def _through_s3(account: CiAccount, sid: str, action: str) -> Document:
    """A KMS action allowed only when S3 makes it for this account (the bucket's key)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": [action],
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:ViaService": f"s3.{account.region}.amazonaws.com",
                "kms:CallerAccount": account.account_id,
            }
        },
    }


def _state_reads(account: CiAccount) -> list[Document]:
    return [
        {"Sid": "ListStateBucket", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [account.bucket_arn]},
        {
            "Sid": "ReadStatesPlansAndRecords",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": account.objects(*account.environments, ACCOUNT_SCOPE, SAVED_PLANS),
        },
        _through_s3(account, "DecryptThroughS3", "kms:Decrypt"),
    ]


def plan_policy(account: CiAccount) -> Document:
    return _document(*_state_reads(account))


def queue_policy(account: CiAccount) -> Document:
    write = {
        "Sid": "WriteSavedPlans",
        "Effect": "Allow",
        "Action": ["s3:PutObject"],
        "Resource": account.objects(SAVED_PLANS),
    }
    encrypt = _through_s3(account, "EncryptThroughS3", "kms:GenerateDataKey")
    return _document(*_state_reads(account), write, encrypt)


def guards(account: CiAccount) -> list[Document]:
    """What the apply role may never do: Deny statements (its policy's and its boundary's)."""
    return [
        {
            "Sid": "DenyCiIdentities",
            "Effect": "Deny",
            "Action": ["iam:*"],
            "Resource": [*(account.role_arn(p) for p in ROLE_NAMES), account.boundary_arn, account.provider_arn],
        },
        {
            "Sid": "DenyOidcProviders",
            "Effect": "Deny",
            "Action": [
                "iam:CreateOpenIDConnectProvider",
                "iam:DeleteOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint",
                "iam:AddClientIDToOpenIDConnectProvider",
                "iam:RemoveClientIDFromOpenIDConnectProvider",
            ],
            "Resource": "*",
        },
        {
            "Sid": "DenyStateBucketSettings",
            "Effect": "Deny",
            "Action": [
                "s3:PutBucketPolicy",
                "s3:DeleteBucketPolicy",
                "s3:PutBucketAcl",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketOwnershipControls",  # and deleting them: ACLs would be back
                "s3:PutEncryptionConfiguration",
                "s3:PutBucketVersioning",
                "s3:PutLifecycleConfiguration",
                "s3:PutBucketLogging",
                "s3:PutReplicationConfiguration",
                "s3:PutInventoryConfiguration",
                "s3:PutBucketObjectLockConfiguration",
                "s3:PutBucketRequestPayment",
                "s3:DeleteBucket",
            ],
            "Resource": [account.bucket_arn, account.access_logs_arn],
        },
        {
            "Sid": "DenyStateAcls",  # a grant to another account is not "public": the block would not stop it
            "Effect": "Deny",
            "Action": ["s3:PutObjectAcl", "s3:PutObjectVersionAcl"],
            "Resource": [f"{account.bucket_arn}/*"],
        },
        {
            "Sid": "DenyAccessLogObjects",  # the record of who wrote a state
            "Effect": "Deny",
            "Action": ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Resource": [f"{account.access_logs_arn}/*"],
        },
        {
            "Sid": "DenyIamUsers",
            "Effect": "Deny",
            "Action": [
                "iam:CreateUser",
                "iam:CreateAccessKey",
                "iam:CreateLoginProfile",
                "iam:UpdateLoginProfile",
                "iam:AttachUserPolicy",
                "iam:PutUserPolicy",
                "iam:CreateGroup",
                "iam:AddUserToGroup",
                "iam:AttachGroupPolicy",
                "iam:PutGroupPolicy",
            ],
            "Resource": "*",
        },
        {
            "Sid": "DenyRolesWithoutTheBoundary",  # else a new role could do what the boundary forbids
            "Effect": "Deny",
            "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": account.boundary_arn}},
        },
        {
            "Sid": "DenyRemovingTheBoundary",
            "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary"],
            "Resource": "*",
        },
        {
            "Sid": "DenyPoliciesOfUnboundedRoles",  # iam:PermissionsBoundary: the target role's
            "Effect": "Deny",
            "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": account.boundary_arn}},
        },
        {
            "Sid": "DenySavedPlans",
            "Effect": "Deny",
            "Action": ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Resource": account.objects(SAVED_PLANS),
        },
        {
            "Sid": "DenyBootstrapState",  # the administrator's: what `infra bootstrap` applies next
            "Effect": "Deny",
            "Action": ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Resource": account.objects(f"{ACCOUNT_SCOPE}/{BOOTSTRAP}"),
        },
    ]


def boundary_policy(account: CiAccount) -> Document:
    """The apply role's permissions boundary: everything except the guards."""
    return _document({"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}, *guards(account))


def apply_guard_policy(account: CiAccount) -> Document:
    """The guards again, in the apply role's own policy: a boundary is one layer, and moto
    (the emulator) evaluates no boundaries, so these are what its tests can prove."""
    return _document(*guards(account))


# The AWS managed policies each role carries: ReadOnlyAccess and SecurityAudit for what
# Terraform's refresh and Prowler read; AdministratorAccess within the boundary and guards.
MANAGED_POLICIES = {"plan": READ_ONLY_MANAGED, "queue": READ_ONLY_MANAGED, "apply": (ADMIN_MANAGED,)}


def own_policies(account: CiAccount) -> dict[str, tuple[str, Document]]:
    """Each role's own (inline) policy, by purpose: (its name, its document)."""
    return {
        "plan": (f"{ROLE_NAMES['plan']}-state-reads", plan_policy(account)),
        "queue": (f"{ROLE_NAMES['queue']}-state-reads-and-saved-plans", queue_policy(account)),
        "apply": (f"{ROLE_NAMES['apply']}-guards", apply_guard_policy(account)),
    }
