"""The CI roles' documents (modules/ci_identities/documents.py) under enforced IAM: moto in
this process with authentication and authorisation on, the roles made from those documents
by an administrator, then each role assumed and tried, allowed and refused.

moto evaluates identity policies (and our fix's conditions and NotResource); it does not
evaluate permissions boundaries or trust policies, so the apply role's guards are proven by
their copy in its own policy, and the trust policies by their conditions (below).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.emulator import fixes, identities
from modules.ci_identities import documents
from modules.ci_identities.documents import CiAccount

ACCOUNT = CiAccount(
    account_id="123456789012",
    region="sa-east-1",
    bucket="edutech-tfstate-123456789012",
    environments=("dev", "staging"),
    organization="edutech-br",
    repository="infra",
)
STATE = "dev/redis/terraform.tfstate"
ALLOW_ALL = identities.ALLOW_ALL


def denied(call: Callable[[], object]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


@pytest.fixture
def roles(in_process_aws, monkeypatch) -> Iterator[Callable[[str], boto3.Session]]:
    """The account as the bootstrap leaves it (made with authentication off), then
    authentication on: a function that assumes a CI role as a GitHub job does
    (AssumeRoleWithWebIdentity, unsigned) and returns its session."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 10_000)
    monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)
    fixes.apply("iam_conditions")
    fixes.apply("iam_enforcement")
    fixes.apply("s3")  # the IAM actions of the bucket's settings, as AWS names them
    iam, s3 = boto3.client("iam"), boto3.client("s3", region_name=ACCOUNT.region)
    identities.create(iam, ACCOUNT, managed=False)
    iam.create_role(RoleName="legacy", AssumeRolePolicyDocument=json.dumps(documents.trust(ACCOUNT, "plan")))
    s3.create_bucket(Bucket=ACCOUNT.bucket, CreateBucketConfiguration={"LocationConstraint": ACCOUNT.region})
    for object_key in (STATE, "plans/dev/abc/plan.json", "elsewhere/notes.txt"):
        s3.put_object(Bucket=ACCOUNT.bucket, Key=object_key, Body=b"{}")
    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", ActionAuthenticatorMixin.request_count)

    def assume(purpose: str) -> boto3.Session:
        credentials = identities.assume(ACCOUNT, purpose)
        return boto3.Session(
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
            region_name=ACCOUNT.region,
        )

    yield assume
    fixes.undo()


def test_the_plan_role_reads_the_states_and_writes_nothing(roles):
    s3 = roles("plan").client("s3")
    assert s3.get_object(Bucket=ACCOUNT.bucket, Key=STATE)["Body"].read() == b"{}"
    assert s3.list_objects_v2(Bucket=ACCOUNT.bucket, Prefix="dev/")["KeyCount"] == 1
    assert denied(lambda: s3.put_object(Bucket=ACCOUNT.bucket, Key=STATE, Body=b"x")) == "AccessDenied"
    assert denied(lambda: s3.put_object(Bucket=ACCOUNT.bucket, Key=f"{STATE}.tflock", Body=b"x")) == "AccessDenied"
    assert denied(lambda: s3.put_object(Bucket=ACCOUNT.bucket, Key="plans/dev/x", Body=b"x")) == "AccessDenied"


def test_the_plan_role_reads_nothing_outside_the_state_prefixes(roles):
    s3 = roles("plan").client("s3")
    assert denied(lambda: s3.get_object(Bucket=ACCOUNT.bucket, Key="elsewhere/notes.txt")) == "AccessDenied"


def test_a_plan_policy_one_action_too_narrow_fails_the_read(roles, monkeypatch):
    """The read test above can fail: without s3:GetObject the plan role cannot read a state."""
    narrow = documents.plan_policy(ACCOUNT)
    for statement in narrow["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != "s3:GetObject"]
    from moto.iam.models import iam_backends  # as the account's administrator (the bootstrap) would

    name, _ = documents.own_policies(ACCOUNT)["plan"]  # replaced in place
    iam_backends[ACCOUNT.account_id]["global"].put_role_policy(documents.ROLE_NAMES["plan"], name, json.dumps(narrow))
    s3 = roles("plan").client("s3")
    assert denied(lambda: s3.get_object(Bucket=ACCOUNT.bucket, Key=STATE)) == "AccessDenied"


def test_the_queue_role_writes_saved_plans_and_nothing_else(roles):
    s3 = roles("queue").client("s3")
    s3.put_object(Bucket=ACCOUNT.bucket, Key="plans/dev/def/plan.tfplan", Body=b"plan")
    assert s3.get_object(Bucket=ACCOUNT.bucket, Key=STATE)["Body"].read() == b"{}"
    for elsewhere in (STATE, "elsewhere/x", "dev/last-applied.json"):
        assert denied(lambda key=elsewhere: s3.put_object(Bucket=ACCOUNT.bucket, Key=key, Body=b"x")) == "AccessDenied"


def test_the_apply_role_changes_the_account_but_not_the_ci_identities(roles):
    session = roles("apply")
    s3, iam = session.client("s3"), session.client("iam")
    s3.put_object(Bucket=ACCOUNT.bucket, Key=STATE, Body=b'{"serial": 2}')  # it applies: it writes states
    trust = json.dumps(documents.trust(ACCOUNT, "plan"))
    iam.create_role(RoleName="lms-task", AssumeRolePolicyDocument=trust, PermissionsBoundary=ACCOUNT.boundary_arn)
    iam.put_role_policy(RoleName="lms-task", PolicyName="reads", PolicyDocument=json.dumps(ALLOW_ALL))  # bounded
    plan_role = documents.ROLE_NAMES["plan"]
    other = "arn:aws:iam::aws:policy/AdministratorAccess"
    refused = {
        "change the plan role's trust": lambda: iam.update_assume_role_policy(
            RoleName=plan_role, PolicyDocument=json.dumps(ALLOW_ALL)
        ),
        "widen the plan role": lambda: iam.put_role_policy(
            RoleName=plan_role, PolicyName="more", PolicyDocument=json.dumps(ALLOW_ALL)
        ),
        "delete the OIDC provider": lambda: iam.delete_open_id_connect_provider(
            OpenIDConnectProviderArn=ACCOUNT.provider_arn
        ),
        "replace the bucket policy": lambda: s3.put_bucket_policy(
            Bucket=ACCOUNT.bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": []})
        ),
        "make an IAM user": lambda: iam.create_user(UserName="backdoor"),
        "loosen its own boundary": lambda: iam.create_policy_version(
            PolicyArn=ACCOUNT.boundary_arn, PolicyDocument=json.dumps(ALLOW_ALL), SetAsDefault=True
        ),
        "drop its own boundary": lambda: iam.delete_role_permissions_boundary(RoleName=documents.ROLE_NAMES["apply"]),
        "write a saved plan": lambda: s3.put_object(Bucket=ACCOUNT.bucket, Key="plans/dev/x", Body=b"x"),
        "rewrite the bootstrap's state": lambda: s3.put_object(
            Bucket=ACCOUNT.bucket, Key="_account/bootstrap/terraform.tfstate", Body=b"{}"
        ),
        "roll the bootstrap's state back": lambda: s3.delete_object(
            Bucket=ACCOUNT.bucket, Key="_account/bootstrap/terraform.tfstate", VersionId="v1"
        ),
        "switch the state bucket's access logs off": lambda: s3.put_bucket_logging(
            Bucket=ACCOUNT.bucket, BucketLoggingStatus={}
        ),
        "turn ACLs back on": lambda: s3.put_bucket_ownership_controls(
            Bucket=ACCOUNT.bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
        ),
        "grant a state to another account": lambda: s3.put_object_acl(
            Bucket=ACCOUNT.bucket, Key=STATE, GrantRead="id=0123456789abcdef"
        ),
        "delete an access log": lambda: s3.delete_object(Bucket=ACCOUNT.access_logs, Key="log"),
        "make a role without the boundary": lambda: iam.create_role(RoleName="admin", AssumeRolePolicyDocument=trust),
        "make a role with another boundary": lambda: iam.create_role(
            RoleName="admin", AssumeRolePolicyDocument=trust, PermissionsBoundary=other
        ),
        "swap a role's boundary": lambda: iam.put_role_permissions_boundary(
            RoleName="lms-task", PermissionsBoundary=other
        ),
        "take a role's boundary off": lambda: iam.delete_role_permissions_boundary(RoleName="lms-task"),
        "widen a role without the boundary": lambda: iam.put_role_policy(
            RoleName="legacy", PolicyName="more", PolicyDocument=json.dumps(ALLOW_ALL)
        ),
        "attach a policy to a role without the boundary": lambda: iam.attach_role_policy(
            RoleName="legacy", PolicyArn=other
        ),
        "make a group": lambda: iam.create_group(GroupName="admins"),
    }
    outcomes = {}
    for what, call in refused.items():
        try:
            call()
            outcomes[what] = "allowed"
        except ClientError as exc:
            outcomes[what] = str(exc.response["Error"]["Code"])
    assert {w: o for w, o in outcomes.items() if o != "AccessDenied"} == {}


def _trusted(document: dict, subject: str, audience: str = documents.AUDIENCE) -> bool:
    """Whether a GitHub OIDC token with this `sub` and `aud` meets the trust policy's
    conditions (StringEquals exact, StringLike with * and ?, as IAM compares them)."""
    [statement] = document["Statement"]
    equals = statement["Condition"]["StringEquals"]
    like = statement["Condition"]["StringLike"][f"{documents.OIDC_HOST}:sub"]
    return equals[f"{documents.OIDC_HOST}:aud"] == audience and any(fnmatch.fnmatchcase(subject, p) for p in like)


@pytest.mark.parametrize(
    ("purpose", "subject", "trusted"),
    [
        ("plan", "repo:edutech-br/infra:pull_request", True),
        ("plan", "repo:edutech-br/infra:ref:refs/heads/main", True),
        ("plan", "repo:edutech-br/infra:ref:refs/heads/feature", False),
        ("plan", "repo:someone/fork:pull_request", False),
        ("queue", "repo:edutech-br/infra:ref:refs/heads/gh-readonly-queue/main/pr-7-abc", True),
        ("queue", "repo:edutech-br/infra:pull_request", False),
        ("queue", "repo:edutech-br/infra:ref:refs/heads/main", False),
        ("apply", "repo:edutech-br/infra:environment:dev", True),
        ("apply", "repo:edutech-br/infra:environment:staging", True),
        ("apply", "repo:edutech-br/infra:environment:prod", False),  # another account's
        ("apply", "repo:edutech-br/infra:pull_request", False),
        ("apply", "repo:edutech-br/infra:ref:refs/heads/main", False),
    ],
)
def test_who_may_assume_each_role(purpose, subject, trusted):
    document = documents.trust(ACCOUNT, purpose)
    assert document["Statement"][0]["Principal"] == {"Federated": ACCOUNT.provider_arn}
    assert document["Statement"][0]["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert _trusted(document, subject) is trusted


def test_a_token_for_another_audience_is_not_trusted():
    assert not _trusted(documents.trust(ACCOUNT, "plan"), "repo:edutech-br/infra:pull_request", audience="other")


@pytest.mark.parametrize(("env", "environments"), [("dev", ("dev", "staging")), ("prod", ("prod",))])
def test_each_accounts_roles_come_from_the_layers(env, environments):
    """The account, its bucket, its environments and the repository: from the layers."""
    from infra.config import load_environment
    from infra.pipeline.ci import role_arn
    from infra.synth.accounts import ci_account

    cfg = load_environment(env).config
    account = ci_account(env)
    assert (account.account_id, account.bucket, account.environments) == (
        cfg.account.id,
        cfg.account.state_bucket,
        environments,
    )
    assert (account.organization, account.repository) == (cfg.github.organization, cfg.github.repository)
    assert role_arn(env, "apply") == f"arn:aws:iam::{cfg.account.id}:role/infra-github-apply"
    assert documents.subjects(account, "apply") == [f"{account.repo}:environment:{e}" for e in environments]
