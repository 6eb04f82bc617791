"""`infra bootstrap` in an account as it may be found: credentials of the wrong account are
refused before anything is made (the state bucket's name is global, and one made in the
wrong account is hard to get back); CI identities made by hand are adopted, not created
again."""

from __future__ import annotations

import json

import boto3
import pytest

from infra.config import load_environment
from infra.emulator import identities
from infra.errors import BadInput
from infra.pipeline.deploy import apply_bootstrap
from infra.runner import operations
from infra.runner.bootstrap import ADOPTIONS, adoptions, create_state_bucket
from infra.runner.terraform import Workspace
from infra.synth import synthesize
from infra.synth.accounts import ci_account

pytestmark = pytest.mark.terraform


def test_bootstrapping_prod_with_nonprod_credentials_is_refused_and_makes_nothing():
    from infra.emulator import launcher

    dev, prod = load_environment("dev").config, load_environment("prod").config
    with launcher.running(dev.account.id, dev.region, fresh=True):
        with pytest.raises(BadInput) as refused:
            apply_bootstrap("prod")
        names = [b["Name"] for b in boto3.client("s3", region_name=prod.region).list_buckets()["Buckets"]]
    assert str(refused.value).endswith(
        f"are for account {dev.account.id}; prod's account prod is {prod.account.id}: nothing was changed"
    )
    assert prod.account.state_bucket not in names


def test_ci_identities_made_by_hand_are_adopted_not_created_again(tmp_path):
    """An account set up by the README's old manual steps (the identities and the access-log
    bucket exist, the bootstrap has no state): without adoption the plan would create them
    again (EntityAlreadyExists on AWS); with the import blocks `infra bootstrap` writes, it
    imports each one and creates none."""
    from infra.emulator import launcher

    cfg = load_environment("dev").config
    account = ci_account("dev")
    graph = synthesize(["dev"]).graph
    node = graph.nodes[graph.bootstrap_of(cfg.account.name)]
    doc = json.loads(node.json_path.read_text())
    with launcher.running(cfg.account.id, cfg.region, fresh=True):
        create_state_bucket(account.bucket, cfg.region)
        identities.create(boto3.client("iam"), account, managed=True)
        boto3.client("s3").create_bucket(
            Bucket=account.access_logs, CreateBucketConfiguration={"LocationConstraint": cfg.region}
        )
        adopted = adoptions(doc, cfg.account.id, cfg.region)
        adopt = Workspace(node).dir / ADOPTIONS

        def planned(run: str) -> dict[str, str]:
            operations.plan(graph, [node.name], run_dir=tmp_path / run, lock=False)
            plan = json.loads((tmp_path / run / node.name / "plan.json").read_text())
            kinds = ("aws_iam_", "aws_s3_bucket.")
            return {
                c["address"]: "import" if "importing" in c["change"] else "+".join(c["change"]["actions"])
                for c in plan["resource_changes"]
                if c["address"].startswith(kinds) and not c["type"].startswith("aws_s3_bucket_")
            }

        adopt.unlink(missing_ok=True)
        unadopted = planned("without")
        adopt.parent.mkdir(parents=True, exist_ok=True)
        adopt.write_text(json.dumps({"import": adopted}))
        with_adoption = planned("with")
    identities_and_buckets = len(unadopted)
    assert identities_and_buckets == 1 + 1 + 3 + 3 + 5 + 2  # provider, boundary, roles, policies, attachments, buckets
    assert sorted(unadopted.values()).count("create") == identities_and_buckets - 1  # the state bucket is imported
    assert len(adopted) == identities_and_buckets - 1
    assert set(with_adoption.values()) <= {"import", "no-op", "update"}, with_adoption
