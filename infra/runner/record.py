"""Each environment's last successfully applied (and probed) commit, kept in its state bucket.

A small JSON object next to the environment's states (`<env>/last-applied.json`). The apply
of a merge computes the stacks affected since this commit, not since the push's previous
head: a run that GitHub cancelled (a newer one queued) or that failed leaves the record
where it was, so the next run applies its change too. Written only after the apply and the
probes succeeded, by the apply's own role, and only over the record it read (S3's
conditional write, `If-Match` its ETag, or `If-None-Match: *` for a first record): two runs
that read the same record cannot both move it, and neither can lose the other's move.
"""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass, field
from types import EllipsisType

import boto3
from botocore.exceptions import ClientError

from infra.errors import Failed

RECORD = "last-applied.json"
CONFLICT_TRIES = 3  # S3 answers 409 to a conditional write racing another: retried


@dataclass(frozen=True)
class Record:
    environment: str
    commit: str
    applied_at: str = ""
    run: str = ""  # the workflow run that applied it (a URL), when known
    etag: str = field(default="", compare=False)  # the object's, as read: what a write over it expects

    def describe(self) -> str:
        return f"{self.commit[:12]} ({self.applied_at}" + (f", {self.run}" if self.run else "") + ")"


class RecordMoved(Failed):
    """Another run moved the record after this one read it: this run's write is refused."""


def record_key(env: str) -> str:
    return f"{env}/{RECORD}"


def read_record(bucket: str, region: str, env: str) -> Record | None:
    """The environment's record, or None when nothing was ever recorded (a first apply)."""
    s3 = boto3.client("s3", region_name=region)
    try:
        found = s3.get_object(Bucket=bucket, Key=record_key(env))
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    body = found["Body"].read()
    doc = json.loads(body)
    return Record(doc["environment"], doc["commit"], doc.get("applied_at", ""), doc.get("run", ""), found["ETag"])


def write_record(
    bucket: str, region: str, env: str, commit: str, run: str = "", *, over: Record | None | EllipsisType = ...
) -> Record:
    """Move the environment's record to `commit` (after its apply and probes succeeded), only
    over the record `over` as it was read (None: only when there is none yet); `...` writes
    whatever is there (set-up, tests). RecordMoved when another run moved it in between."""
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    record = Record(env, commit, stamp, run)
    condition = {} if over is ... else {"IfNoneMatch": "*"} if over is None else {"IfMatch": over.etag}
    body = {"environment": env, "commit": commit, "applied_at": stamp, "run": run}
    s3 = boto3.client("s3", region_name=region)
    for attempt in range(CONFLICT_TRIES):
        try:
            s3.put_object(
                Bucket=bucket,
                Key=record_key(env),
                Body=json.dumps(body, indent=1).encode(),
                ContentType="application/json",
                ServerSideEncryption="aws:kms",
                **condition,
            )
            return record
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in {"ConditionalRequestConflict", "409"} and attempt + 1 < CONFLICT_TRIES:
                time.sleep(1)  # another write to the key was in flight: S3 asks to retry
                continue
            if code not in {"PreconditionFailed", "412", "ConditionalRequestConflict", "409", "NoSuchKey", "404"}:
                raise
            break
    now = read_record(bucket, region, env)
    raise RecordMoved(
        f"{env}: the last-applied record moved while this run applied {commit[:12]}: it is now "
        f"{now.describe() if now else 'gone'}, written by another run; left as that run wrote it"
    )
