"""Plans never write (issues 10 and 11): a pull request's plan, as the read-only plan role
with IAM enforced, reads the state bucket and writes nothing, not even a lock file; an apply
as that role is refused in one line naming the role and the action; a missing bucket is an
administrator's `infra bootstrap`, said in one line, never created (or "hardened") by a plan.
Saved plans have one writer: the merge queue's role saves them under `plans/` and nowhere
else, the plan role cannot, and the apply role applies exactly those plan files (issue 10's
merge sequence, which tests/pipeline/test_merge_apply.py runs in full without IAM).

Real Terraform on the emulator, with the two tiny stacks (tests/pipeline/tiny.py). The
bucket is versioned, so even a lock file Terraform writes and deletes at once leaves versions
behind: counting them shows any write. The administrator's set-up runs first,
unauthenticated as an account's bootstrap is its owner's: the state bucket, a first
deployment, the CI identities from `modules/ci_identities/documents.py` (with the AWS managed
policies they name) and an administrator user. Then every request is authenticated and
authorised, and each role runs what its GitHub job runs.
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.config import load_environment
from infra.emulator import identities
from infra.pipeline.deploy import deploy
from infra.pipeline.merge import apply_merge, move_record
from infra.report.plan import OUTCOMES_FILE
from infra.runner import operations, saved
from infra.runner.bootstrap import NoStateBucket, create_state_bucket
from infra.runner.operations import OperationFailed
from infra.runner.record import record_key
from modules.ci_identities import documents
from modules.ci_identities.documents import CiAccount
from tests import ci_roles
from tests.pipeline import tiny

pytestmark = pytest.mark.terraform

COMMIT = "c1"  # the commit the merge queue planned and the push to main applies
ACCOUNT = CiAccount(
    account_id=tiny.ACCOUNT,
    region=tiny.REGION,
    bucket=tiny.BUCKET,
    environments=(tiny.ENV,),
    organization="edutech-br",
    repository="infra",
)


def test_the_plan_role_writes_nothing_the_queue_role_only_saved_plans_and_the_apply_role_applies_them(tmp_path):
    from infra.emulator import launcher

    with launcher.running(tiny.ACCOUNT, tiny.REGION, fresh=True) as emulator:
        create_state_bucket(tiny.BUCKET, tiny.REGION)
        base = tiny.graph(tiny.synth(tmp_path, "base", tiny.producer("v1"), tiny.consumer()))
        operations.apply(base, base.nodes, run_dir=tmp_path / "first")
        iam = boto3.client("iam")
        identities.create(iam, ACCOUNT, managed=True)
        admin = ci_roles.administrator(iam, ACCOUNT)
        emulator.enforce_iam()
        s3, ssm = admin.client("s3"), admin.client("ssm")
        before = ci_roles.bucket_writes(s3, tiny.BUCKET)
        head_out = tiny.synth(tmp_path, "head", tiny.producer("v2"), tiny.consumer())
        head = tiny.graph(head_out)

        with identities.acting_as(identities.assume(ACCOUNT, "plan")):
            operations.plan(head, head.nodes, run_dir=tmp_path / "plan", lock=False)
            assert (tmp_path / "plan" / "t-producer" / "plan.json").is_file()  # it planned the change
            assert ci_roles.bucket_writes(s3, tiny.BUCKET) == before  # and wrote nothing, not even a lock file

            with pytest.raises(OperationFailed) as refused:
                operations.apply(head, head.nodes, run_dir=tmp_path / "refused")
        [failure] = [o for o in refused.value.outcomes if o.status == "failed"]
        headline = failure.detail.splitlines()[0]
        assert headline.startswith(
            f"t-producer: access denied: arn:aws:sts::{tiny.ACCOUNT}:assumed-role/{documents.ROLE_NAMES['plan']}/"
        ), failure.detail
        assert " may not s3:PutObject (`terraform plan`, full log: " in headline  # its lock file: the first write
        assert "Traceback" not in str(refused.value)
        assert ci_roles.bucket_writes(s3, tiny.BUCKET) == before  # nothing half-applied
        assert ssm.get_parameter(Name="/t/source")["Parameter"]["Value"] == "v1"

        # the merge queue's run: its role plans the commit that will land and saves the plans,
        # under plans/ and nowhere else
        with identities.acting_as(identities.assume(ACCOUNT, "queue")):
            operations.plan(head, head.nodes, run_dir=tmp_path / "queue", lock=False)
            saved.save(head, tmp_path / "queue", bucket=tiny.BUCKET, region=tiny.REGION, env=tiny.ENV, commit=COMMIT)
        queued, after_queue = _written(s3, before), ci_roles.bucket_writes(s3, tiny.BUCKET)
        assert f"{saved.prefix(tiny.ENV, COMMIT)}t-producer/plan.tfplan" in queued
        assert all(key.startswith(saved.prefix(tiny.ENV, COMMIT)) for key in queued), queued

        # a pull request's plan role cannot put a plan where the apply would take it
        with identities.acting_as(identities.assume(ACCOUNT, "plan")), pytest.raises(ClientError) as forged:
            saved.save(head, tmp_path / "plan", bucket=tiny.BUCKET, region=tiny.REGION, env=tiny.ENV, commit="c2")
        assert forged.value.response["Error"]["Code"] == "AccessDenied"
        assert ci_roles.bucket_writes(s3, tiny.BUCKET) == after_queue

        # the push to main: the apply role applies exactly the saved plans, then moves the record
        with identities.acting_as(identities.assume(ACCOUNT, "apply")):
            merged = apply_merge(
                tiny.ENV,
                commit=COMMIT,
                graph=head,
                head_out=head_out,
                synth_ref=lambda ref: pytest.fail(f"no record yet: nothing to compare {ref} with"),
                bucket=tiny.BUCKET,
                region=tiny.REGION,
                run_dir=tmp_path / "applied",
            )
            move_record(tiny.BUCKET, tiny.REGION, tiny.ENV, COMMIT)
        assert f"the merge queue's plans for {COMMIT}: 2 stacks" in merged.said
        outcomes = json.loads((tmp_path / "applied" / OUTCOMES_FILE).read_text())
        assert outcomes["t-producer"]["detail"].startswith("applied the saved plan"), outcomes
        assert "reads t-producer" in outcomes["t-consumer"]["detail"], outcomes  # re-planned after its upstream
        assert ssm.get_parameter(Name="/t/source")["Parameter"]["Value"] == "v2"
        assert ssm.get_parameter(Name="/t/copy")["Parameter"]["Value"] == "v2"
        written = _written(s3, after_queue)
        assert {"t/producer/terraform.tfstate", "t/producer/terraform.tfstate.tflock", record_key(tiny.ENV)} <= written
        assert not any(key.startswith(f"{saved.PREFIX}/") for key in written), written  # the apply saves no plan


def _written(s3, before: list[str]) -> set[str]:
    """The keys of the state bucket's object versions written since `before` (its versions then)."""
    return {w.split("@")[0] for w in set(ci_roles.bucket_writes(s3, tiny.BUCKET)) - set(before)}


def test_fails_when_the_state_bucket_is_missing_and_the_plan_does_not_create_it():
    from infra.emulator import launcher

    cfg = load_environment("dev").config
    with launcher.running(cfg.account.id, cfg.region, fresh=True):
        with pytest.raises(NoStateBucket, match=r"does not exist: an administrator runs `infra bootstrap dev` once"):
            deploy("plan", "dev")
        names = [b["Name"] for b in boto3.client("s3", region_name=cfg.region).list_buckets()["Buckets"]]
        assert cfg.account.state_bucket not in names
