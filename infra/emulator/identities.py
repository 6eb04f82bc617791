"""A CI role assumed as a GitHub job assumes it, this process acting as it, and (for tests
without Terraform) the CI identities made directly with boto3.

`infra bootstrap` makes the identities with Terraform (the account's bootstrap stack,
modules/ci_identities/construct.py); `create` makes the same documents in one process, for
the tests that prove the roles on in-process moto or on tiny stacks, where a Terraform
apply of the bootstrap would add a minute (tests/ci_roles.py adds their administrator and
the bucket's write count). tests/e2e/test_loop.py checks the stack's roles against the same
documents.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any

import boto3

from modules.ci_identities import documents
from modules.ci_identities.documents import CiAccount

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def create(iam: Any, account: CiAccount, *, managed: bool) -> None:
    """The boundary, the OIDC provider and the three roles with their trust and policies.
    `managed`: attach the AWS managed policies the documents name (ReadOnlyAccess for what
    Terraform refreshes), which the emulator has and in-process moto does not load;
    otherwise the roles hold only their own documents (the apply role an allow-all in
    AdministratorAccess's place)."""
    iam.create_policy(PolicyName=documents.BOUNDARY_NAME, PolicyDocument=json.dumps(documents.boundary_policy(account)))
    iam.create_open_id_connect_provider(
        Url=account.provider_url, ClientIDList=[documents.AUDIENCE], ThumbprintList=["0" * 40]
    )
    own = documents.own_policies(account)
    for purpose, name in documents.ROLE_NAMES.items():
        bounded = {"PermissionsBoundary": account.boundary_arn} if purpose == "apply" else {}
        trust = json.dumps(documents.trust(account, purpose))
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, **bounded)
        policy_name, policy = own[purpose]
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
        if not managed:
            if purpose == "apply":  # in AdministratorAccess's place
                iam.put_role_policy(RoleName=name, PolicyName="allow-all", PolicyDocument=json.dumps(ALLOW_ALL))
            continue
        for attached in documents.MANAGED_POLICIES[purpose]:
            iam.attach_role_policy(RoleName=name, PolicyArn=account.managed(attached))


def assume(account: CiAccount, purpose: str) -> dict[str, str]:
    """The role's credentials, from AssumeRoleWithWebIdentity (unsigned, as GitHub's job does)."""
    credentials = boto3.client("sts", region_name=account.region).assume_role_with_web_identity(
        RoleArn=account.role_arn(purpose), RoleSessionName=f"test-{purpose}", WebIdentityToken="github-oidc-token"
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


@contextlib.contextmanager
def acting_as(credentials: dict[str, str]) -> Iterator[None]:
    """This process, and the Terraform it starts, with these credentials while the block runs.
    boto3's default session keeps the credentials it first found: it is made anew on entering
    and dropped on leaving, and the environment is put back."""
    saved = dict(os.environ)
    os.environ.update(credentials)
    boto3.setup_default_session()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        boto3.DEFAULT_SESSION = None
