"""Merge applies exactly what was reviewed, and no merge is ever lost (issue 10).

The whole sequence on the emulator with two tiny real stacks (tests/pipeline/tiny.py):
the merge queue plans a commit read-only and saves the plans in the state bucket; the apply
of that commit uses those plan files, refuses any that no longer match, keeps the stateful
gate, and computes its stacks from the environment's last-applied record, so a run that was
cancelled is caught up by the next. The tests run in order on one emulator: each starts
from where the previous one left the deployment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.pipeline import ci
from infra.pipeline.merge import NothingReviewed, apply_merge, from_pull_request
from infra.pipeline.phases import Loop, PhaseFailed
from infra.report.github import GitHub
from infra.report.plan import OUTCOMES_FILE
from infra.report.publish import publish
from infra.runner import affected, operations, saved
from infra.runner.bootstrap import create_state_bucket
from infra.runner.operations import OperationFailed
from infra.runner.record import read_record, write_record
from infra.runner.terraform import WORKSPACES
from tests.pipeline import tiny
from tests.reporting.fake_github import FakeGitHub

# the whole merge sequence on the emulator, several minutes: an e2e test, so not in the fast
# part (`-m "not e2e"`); in the full suite it runs beside the environments' loops
pytestmark = [pytest.mark.terraform, pytest.mark.e2e]


class World:
    """Commits (synth folders by label), the merge queue's run, and the merge's apply."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.commits: dict[str, Path] = {}
        self.runs = 0

    def commit(self, label: str, producer: dict[str, Any], consumer: dict[str, Any]) -> None:
        self.commits[label] = tiny.synth(self.root / "synth", label, producer, consumer)

    def run_dir(self, what: str) -> Path:
        self.runs += 1
        return self.root / "runs" / f"{self.runs}-{what}"

    def queue(self, label: str, base: str) -> Path:
        """The merge queue's run: plan what changed since base (read-only), save the plans."""
        head_out = self.commits[label]
        graph = tiny.graph(head_out)
        chosen = affected.compare(self.commits[base], graph, head_out, [tiny.ENV])
        run_dir = self.run_dir(f"queue-{label}")
        downstream = [a.stack for a in chosen if not a.direct]
        operations.plan(graph, [a.stack for a in chosen], run_dir=run_dir, only_if_inputs_change=downstream, lock=False)
        saved.save(graph, run_dir, bucket=tiny.BUCKET, region=tiny.REGION, env=tiny.ENV, commit=label)
        return run_dir

    def plan(self, label: str, base: str) -> Path:
        """The pull request's plan job: plan what changed since base, read-only, nothing saved."""
        head_out = self.commits[label]
        graph = tiny.graph(head_out)
        chosen = affected.compare(self.commits[base], graph, head_out, [tiny.ENV])
        run_dir = self.run_dir(f"pr-{label}")
        downstream = [a.stack for a in chosen if not a.direct]
        operations.plan(graph, [a.stack for a in chosen], run_dir=run_dir, only_if_inputs_change=downstream, lock=False)
        return run_dir

    def merge(self, label: str, *, head: str | None = None, **options: Any) -> Path:
        """The push-to-main run for commit `label` (synth `head`, default the same): apply,
        then move the record (the probes would run between)."""
        head_out = self.commits[head or label]
        run_dir = self.run_dir(f"apply-{label}")
        apply_merge(
            tiny.ENV,
            commit=label,
            graph=tiny.graph(head_out),
            head_out=head_out,
            synth_ref=self.commits.__getitem__,
            bucket=tiny.BUCKET,
            region=tiny.REGION,
            run_dir=run_dir,
            **options,
        )
        write_record(tiny.BUCKET, tiny.REGION, tiny.ENV, label)
        return run_dir


def _log_since(stack: str, size: int) -> list[str]:
    # bytes, as _log_size counts them: Terraform's diagnostics hold multibyte box characters
    text = (WORKSPACES / stack / "terraform.log").read_bytes()[size:].decode(errors="replace")
    return re.findall(r"^\$ terraform (\w+)", text, flags=re.MULTILINE)


def _log_size(stack: str) -> int:
    log = WORKSPACES / stack / "terraform.log"
    return log.stat().st_size if log.is_file() else 0


def _record() -> str | None:
    record = read_record(tiny.BUCKET, tiny.REGION, tiny.ENV)
    return record.commit if record else None


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from infra.emulator import launcher

    with launcher.running(tiny.ACCOUNT, tiny.REGION, fresh=True):
        create_state_bucket(tiny.BUCKET, tiny.REGION)  # the administrator's bootstrap
        here = World(tmp_path_factory.mktemp("merge"))
        here.commit("c0", tiny.producer("v1", bucket=True), tiny.consumer())
        here.merge("c0", override=True)  # the first deployment: no record, every stack
        yield here


def test_a_first_apply_without_a_record_applies_every_stack_and_records_it(world):
    assert _record() == "c0"
    assert tiny.parameter("/t/copy") == "v1"


def test_a_merged_change_is_applied_from_the_reviewed_plan_files(world):
    world.commit("c1", tiny.producer("v2", bucket=True), tiny.consumer())
    queued = world.queue("c1", base="c0")
    objects = boto3.client("s3", region_name=tiny.REGION).list_objects_v2(Bucket=tiny.BUCKET, Prefix="plans/t/c1/")
    keys = {o["Key"] for o in objects["Contents"]}
    assert "plans/t/c1/t-producer/plan.tfplan" in keys
    head = boto3.client("s3", region_name=tiny.REGION).head_object(
        Bucket=tiny.BUCKET, Key="plans/t/c1/t-producer/plan.tfplan"
    )
    assert head["ServerSideEncryption"] == "aws:kms"

    before = _log_size("t-producer")
    run_dir = world.merge("c1")
    assert _log_since("t-producer", before) == ["apply"]  # the saved plan file: no plan made at apply
    outcomes = {name: o["detail"] for name, o in json.loads((run_dir / OUTCOMES_FILE).read_text()).items()}
    assert outcomes["t-producer"].startswith("applied the saved plan")
    assert (run_dir / "t-producer" / "plan.tfplan").read_bytes() == (queued / "t-producer" / "plan.tfplan").read_bytes()
    # the consumer reads the output that changed: its queue plan saw the old value, so it is planned after
    assert "planned at apply (reads t-producer.cross-stack-output-name" in outcomes["t-consumer"]
    assert tiny.parameter("/t/source") == "v2" and tiny.parameter("/t/copy") == "v2"
    assert _record() == "c1"


def test_a_saved_plan_for_another_synth_is_refused(world):
    world.commit("c2", tiny.producer("v3", bucket=True), tiny.consumer())
    world.commit("c2-edited", tiny.producer("v4", bucket=True), tiny.consumer())
    world.queue("c2", base="c1")
    with pytest.raises(OperationFailed, match="differs from the one the merge queue planned: re-plan needed"):
        world.merge("c2", head="c2-edited")
    assert tiny.parameter("/t/source") == "v2" and _record() == "c1"


def test_a_stale_saved_plan_is_reported_as_stale_not_as_a_crash(world):
    world.commit("c3", tiny.producer("v3", bucket=True), tiny.consumer())
    world.queue("c3", base="c1")
    # the state moves after the queue planned (someone applied c2-edited by hand)
    graph = tiny.graph(world.commits["c2-edited"])
    operations.apply(graph, ["t-producer"], run_dir=world.run_dir("by-hand"))
    with pytest.raises(OperationFailed) as failed:
        world.merge("c3")
    assert f"t-producer: {saved.STALE}: the state changed after the merge queue planned it" in str(failed.value)
    assert tiny.parameter("/t/source") == "v4" and _record() == "c1"


def test_a_stateful_delete_is_refused_at_apply_without_approval(world):
    world.commit("c4", tiny.producer("v4"), tiny.consumer())  # the bucket is removed from the code
    world.queue("c4", base="c1")
    with pytest.raises(
        OperationFailed, match=r"stateful delete/replace not approved: delete aws_s3_bucket.data \(S3\)"
    ):
        world.merge("c4")
    assert boto3.client("s3", region_name=tiny.REGION).head_bucket(Bucket="tiny-data")  # still there
    assert _record() == "c1"
    world.merge("c4", allow_stateful=True)  # label and approval: the same saved plan applies
    assert _record() == "c4"


def test_a_cancelled_runs_change_is_applied_by_the_next_run(world):
    world.commit("c5", tiny.producer("v5"), tiny.consumer())  # change A (producer)
    world.queue("c5", base="c4")
    # c5's apply is cancelled (a newer run queued): nothing applied, the record stays at c4
    world.commit("c6", tiny.producer("v5"), tiny.consumer("-b"))  # change B (consumer)
    world.queue("c6", base="c5")
    # what `--affected-since ${{ github.event.before }}` chose: only B, so A was lost
    assert [
        a.stack
        for a in affected.compare(world.commits["c5"], tiny.graph(world.commits["c6"]), world.commits["c6"], [tiny.ENV])
    ] == ["t-consumer"]
    world.merge("c6")
    assert tiny.parameter("/t/source") == "v5"  # change A, from the cancelled run
    assert tiny.parameter("/t/copy") == "v5-b"  # change B, planned after A (its input moved)
    assert _record() == "c6"


def test_without_saved_plans_the_apply_matches_the_reviewed_plan_or_stops(world):
    world.commit("c7", tiny.producer("v7"), tiny.consumer("-b"))
    with pytest.raises(NothingReviewed, match="no plan saved by the merge queue for c7"):
        world.merge("c7")
    reviewed = {"t-producer": frozenset({("aws_ssm_parameter.source", "delete")})}
    with pytest.raises(OperationFailed) as failed:
        world.merge("c7", reviewed=reviewed)
    message = str(failed.value)
    assert "differs from the plan reviewed on the pull request" in message
    assert "only reviewed: delete aws_ssm_parameter.source" in message
    assert "only now: update aws_ssm_parameter.source" in message
    assert tiny.parameter("/t/source") == "v5" and _record() == "c6"
    world.merge("c7", reviewed={"t-producer": frozenset({("aws_ssm_parameter.source", "update")})})
    assert tiny.parameter("/t/source") == "v7" and _record() == "c7"


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_TOKEN", fake.token)
        monkeypatch.setenv("GITHUB_REPOSITORY", fake.repository)
        yield fake


def _review(github: FakeGitHub, world: World, label: str, base: str, *, number: int, head: str) -> None:
    """A pull request whose last commit `head` is `label`'s code: its plan job comments."""
    github.open_pull(number, author="dev", head=head)
    publish([world.plan(label, base)], kind="plan", target=tiny.ENV, sha=head, post=True, pr=number)
    assert "<!-- infra:reviewed " in github.comments[number][-1]["body"]


def test_without_a_merge_queue_the_plan_in_the_pull_requests_comment_is_what_applies(world, github):
    world.commit("c8", tiny.producer("v8"), tiny.consumer("-b"))
    _review(github, world, "c8", base="c7", number=8, head="c8head")
    github.pulls["c8"] = [8]  # squash-merged: main's commit c8 came from pull request 8
    pulled = from_pull_request(GitHub.from_env(), tiny.ENV, "c8")
    assert pulled.reviewed == {
        "t-producer": frozenset({("aws_ssm_parameter.source", "update")}),
        "t-consumer": frozenset(),
    }
    run_dir = world.merge("c8", reviewed=pulled.reviewed)
    outcomes = {name: o["detail"] for name, o in json.loads((run_dir / OUTCOMES_FILE).read_text()).items()}
    assert outcomes["t-producer"].startswith("re-planned, same as reviewed")
    assert tiny.parameter("/t/source") == "v8" and _record() == "c8"


def test_without_a_merge_queue_a_plan_that_moved_since_review_stops_before_applying(world, github):
    world.commit("c9", tiny.producer("v9"), tiny.consumer("-b"))
    world.commit("c9-merged", tiny.producer("v9", bucket=True), tiny.consumer("-b"))  # not what was reviewed
    _review(github, world, "c9", base="c8", number=9, head="c9head")
    github.pulls["c9"] = [9]
    pulled = from_pull_request(GitHub.from_env(), tiny.ENV, "c9")
    with pytest.raises(OperationFailed) as failed:
        world.merge("c9", head="c9-merged", reviewed=pulled.reviewed)
    assert "only now: create aws_s3_bucket.data" in str(failed.value)
    assert "only reviewed" not in str(failed.value)  # the update is in both
    assert tiny.parameter("/t/source") == "v8" and _record() == "c8"
    github.open_pull(9, author="dev", head="c9later")  # a later push whose plan never reported
    stale = from_pull_request(GitHub.from_env(), tiny.ENV, "c9")
    assert stale.reviewed is None and "not of the pull request's last commit" in stale.unreviewed
    with pytest.raises(NothingReviewed, match="not of the pull request's last commit"):
        world.merge("c9", reviewed=stale.reviewed, unreviewed=stale.unreviewed)


def _plan_job(world: World, label: str) -> dict[str, Any]:
    """deploy.yml's plan job: the same steps as the apply, read-only, nothing applied."""
    head_out = world.commits[label]
    merged = apply_merge(
        tiny.ENV,
        commit=label,
        graph=tiny.graph(head_out),
        head_out=head_out,
        synth_ref=world.commits.__getitem__,
        bucket=tiny.BUCKET,
        region=tiny.REGION,
        run_dir=world.run_dir(f"plan-job-{label}"),
        dry_run=True,
    )
    return json.loads(json.dumps(merged.sets))  # through JSON, as the job output carries it


def test_the_approved_job_applies_only_the_plan_the_plan_job_showed(world):
    world.commit("c10", tiny.producer("v10"), tiny.consumer("-b"))
    world.queue("c10", base="c8")
    before = _log_size("t-producer")
    shown = _plan_job(world, "c10")
    assert _log_since("t-producer", before) == []  # the saved plan was read, nothing planned or applied
    assert shown == {"t-producer": [["aws_ssm_parameter.source", "update"]], "t-consumer": None}
    assert tiny.parameter("/t/source") == "v8" and _record() == "c8"
    with pytest.raises(OperationFailed) as failed:  # not what the approver saw
        world.merge("c10", approved=saved.parse_sets('{"t-producer": [["aws_ssm_parameter.source", "delete"]]}'))
    assert "differs from the one the plan job showed the approver" in str(failed.value)
    assert "only now: update aws_ssm_parameter.source" in str(failed.value)
    assert tiny.parameter("/t/source") == "v8" and _record() == "c8"
    world.merge("c10", approved=saved.parse_sets(json.dumps(shown)))
    assert tiny.parameter("/t/source") == "v10" and _record() == "c10"


def _ci_apply(world: World, label: str) -> Loop:
    """`infra ci apply` (the apply workflow's steps, locally) on the tiny stacks."""
    head_out = world.commits[label]
    return ci.apply_steps(
        tiny.ENV,
        commit=label,
        graph=tiny.graph(head_out),
        head_out=head_out,
        synth_ref=world.commits.__getitem__,
        bucket=tiny.BUCKET,
        region=tiny.REGION,
        out=world.run_dir(f"ci-apply-{label}"),
    )


def test_ci_apply_plans_merges_applies_the_saved_plans_and_moves_the_record(world):
    world.commit("c11", tiny.producer("v11"), tiny.consumer("-b"))
    world.queue("c11", base="c10")  # the branch planned as the merge queue does, saved; then "merged"
    loop = _ci_apply(world, "c11")
    assert [(p.name, p.status) for p in loop.phases] == [
        ("plan t (read-only, nothing applied)", "ok"),
        ("apply t (only the sets shown)", "ok"),
        ("record t", "ok"),
    ]
    assert "the merge queue's plans for c11" in loop.phases[0].detail
    assert tiny.parameter("/t/source") == "v11" and tiny.parameter("/t/copy") == "v11-b" and _record() == "c11"


def test_ci_apply_refuses_a_change_between_plan_and_apply(world):
    world.commit("c12", tiny.producer("v12"), tiny.consumer("-b"))
    world.queue("c12", base="c11")
    world.commit("by-hand", tiny.producer("v-hand"), tiny.consumer("-b"))
    operations.apply(tiny.graph(world.commits["by-hand"]), ["t-producer"], run_dir=world.run_dir("by-hand-2"))
    with pytest.raises(PhaseFailed) as failed:
        _ci_apply(world, "c12")
    assert f"t-producer: {saved.STALE}" in str(failed.value)
    assert [p.status for p in failed.value.loop.phases] == ["ok", "failed"]  # the record never moved
    assert tiny.parameter("/t/source") == "v-hand" and _record() == "c11"
