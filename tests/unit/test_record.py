"""The last-applied record moves forward only, and only over the record a run read: two runs
that read the same record cannot both move it (S3's conditional writes, on moto in this
process), and a late run of an older commit cannot move it back."""

from __future__ import annotations

import subprocess

import boto3
import pytest

from infra.paths import REPO
from infra.pipeline.merge import Superseded, move_record
from infra.runner.record import RecordMoved, read_record, write_record

REGION, BUCKET, ENV = "sa-east-1", "state", "dev"


def _commits() -> tuple[str, str]:
    """(an older commit, a newer one) of this repository's history."""
    out = subprocess.run(["git", "rev-list", "-2", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
    newer, older = out.stdout.split()
    return older, newer


@pytest.fixture
def bucket(in_process_aws):
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )


def test_a_first_record_is_written_once(bucket):
    write_record(BUCKET, REGION, ENV, "a" * 40, over=None)
    with pytest.raises(RecordMoved, match=f"it is now {'a' * 12} "):
        write_record(BUCKET, REGION, ENV, "b" * 40, over=None)  # another run also saw no record
    assert read_record(BUCKET, REGION, ENV).commit == "a" * 40


def test_of_two_runs_that_read_the_same_record_only_the_first_moves_it(bucket):
    write_record(BUCKET, REGION, ENV, "a" * 40)
    first, second = read_record(BUCKET, REGION, ENV), read_record(BUCKET, REGION, ENV)
    write_record(BUCKET, REGION, ENV, "b" * 40, "run-1", over=first)
    with pytest.raises(RecordMoved) as moved:
        write_record(BUCKET, REGION, ENV, "c" * 40, "run-2", over=second)
    assert f"while this run applied {'c' * 12}: it is now {'b' * 12} (" in str(moved.value)
    assert "run-1" in str(moved.value)
    assert read_record(BUCKET, REGION, ENV).commit == "b" * 40


def test_the_record_moves_forward_and_never_back(bucket):
    older, newer = _commits()
    assert move_record(BUCKET, REGION, ENV, older).commit == older  # the first record
    assert move_record(BUCKET, REGION, ENV, newer).commit == newer
    with pytest.raises(Superseded, match=f"the record stays at {newer[:12]} "):
        move_record(BUCKET, REGION, ENV, older)  # a late re-run of the older merge's job
    assert read_record(BUCKET, REGION, ENV).commit == newer
    assert move_record(BUCKET, REGION, ENV, newer).commit == newer  # already there: nothing written


def test_a_record_deleted_since_it_was_read_is_not_written_over(bucket):
    write_record(BUCKET, REGION, ENV, "a" * 40)
    read = read_record(BUCKET, REGION, ENV)
    boto3.client("s3", region_name=REGION).delete_object(Bucket=BUCKET, Key=f"{ENV}/last-applied.json")
    with pytest.raises(RecordMoved, match="it is now gone"):
        write_record(BUCKET, REGION, ENV, "b" * 40, over=read)
