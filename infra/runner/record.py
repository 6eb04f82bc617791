"""Each environment's last successfully applied (and probed) commit, kept in its state bucket.

A small JSON object next to the environment's states (`<env>/last-applied.json`). The apply
of a merge computes the stacks affected since this commit, not since the push's previous
head: a run that GitHub cancelled (a newer one queued) or that failed leaves the record
where it was, so the next run applies its change too. Written only after the apply and the
probes succeeded, by the apply's own role.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass

import boto3
from botocore.exceptions import ClientError

RECORD = "last-applied.json"


@dataclass(frozen=True)
class Record:
    environment: str
    commit: str
    applied_at: str = ""
    run: str = ""  # the workflow run that applied it (a URL), when known


def record_key(env: str) -> str:
    return f"{env}/{RECORD}"


def read_record(bucket: str, region: str, env: str) -> Record | None:
    """The environment's record, or None when nothing was ever recorded (a first apply)."""
    s3 = boto3.client("s3", region_name=region)
    try:
        body = s3.get_object(Bucket=bucket, Key=record_key(env))["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    doc = json.loads(body)
    return Record(doc["environment"], doc["commit"], doc.get("applied_at", ""), doc.get("run", ""))


def write_record(bucket: str, region: str, env: str, commit: str, run: str = "") -> Record:
    """Move the environment's record to `commit` (after its apply and probes succeeded)."""
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    record = Record(env, commit, stamp, run)
    boto3.client("s3", region_name=region).put_object(
        Bucket=bucket,
        Key=record_key(env),
        Body=json.dumps(asdict(record), indent=1).encode(),
        ContentType="application/json",
        ServerSideEncryption="aws:kms",
    )
    return record
