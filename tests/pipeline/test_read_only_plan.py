"""Plans never write (issue 10): a pull request's plan reads the state bucket and writes
nothing, not even a lock file; a missing bucket is an administrator's `infra bootstrap`,
said in one line, never created (or "hardened") by a plan.

On the emulator with two tiny real stacks: the bucket is versioned, so even a lock file
Terraform writes and deletes at once leaves versions behind; counting them shows any write.
"""

from __future__ import annotations

import boto3
import pytest

from infra.config import load_environment
from infra.pipeline.deploy import deploy
from infra.runner import operations
from infra.runner.bootstrap import NoStateBucket, ensure_state_bucket
from tests.pipeline import tiny

pytestmark = pytest.mark.terraform


def _writes(bucket: str) -> list[str]:
    """Every object version and delete marker in the bucket: what was ever written."""
    found = boto3.client("s3", region_name=tiny.REGION).list_object_versions(Bucket=bucket)
    return sorted(f"{v['Key']}@{v['VersionId']}" for v in found.get("Versions", []) + found.get("DeleteMarkers", []))


def test_a_pull_request_plan_writes_nothing_to_the_state_bucket(tmp_path):
    from infra.emulator import launcher

    with launcher.running(tiny.ACCOUNT, tiny.REGION, fresh=True):
        ensure_state_bucket(tiny.BUCKET, tiny.REGION)
        base = tiny.graph(tiny.synth(tmp_path, "base", tiny.producer("v1"), tiny.consumer()))
        operations.apply(base, base.nodes, run_dir=tmp_path / "apply")
        head = tiny.graph(tiny.synth(tmp_path, "head", tiny.producer("v2"), tiny.consumer()))
        before = _writes(tiny.BUCKET)

        operations.plan(head, head.nodes, run_dir=tmp_path / "plan", lock=False)
        assert _writes(tiny.BUCKET) == before
        assert (tmp_path / "plan" / "t-producer" / "plan.json").is_file()  # it did plan the change

        # the same plan with a lock (what plans did before) writes: this test can see a write
        operations.plan(head, head.nodes, run_dir=tmp_path / "locked", lock=True)
        assert any(".tflock@" in w for w in set(_writes(tiny.BUCKET)) - set(before))


def test_fails_when_the_state_bucket_is_missing_and_the_plan_does_not_create_it():
    from infra.emulator import launcher

    cfg = load_environment("dev").config
    with launcher.running(cfg.account.id, cfg.region, fresh=True):
        with pytest.raises(NoStateBucket, match=r"does not exist: an administrator runs `infra bootstrap dev` once"):
            deploy("plan", "dev")
        names = [b["Name"] for b in boto3.client("s3", region_name=cfg.region).list_buckets()["Buckets"]]
        assert cfg.account.state_bucket not in names
