"""State locks: who holds one, and how to say so.

With `use_lockfile`, the S3 backend locks a state by writing `<key>.tflock` next to it, a
JSON document (ID, Operation, Who, Version, Created, Path) that only a missing object can
be overwritten with. A run that is killed leaves it behind, and every later plan waits for
it, then fails with "Error acquiring the state lock" and the same fields. This module reads
them from either place; `infra unlock ENV STACK` releases a lock with Terraform's own
`force-unlock`.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.config import ConfigError, environment_names, load_environment
from infra.synth.graph import StackNode

LOCK_SUFFIX = ".tflock"
_FIELD = re.compile(r"^[\s│]*(ID|Path|Operation|Who|Version|Created|Info):[ \t]*(.*?)\s*$")


@dataclass(frozen=True)
class LockInfo:
    id: str
    who: str = "?"
    operation: str = "?"
    created: str = "?"
    path: str = ""
    version: str = ""

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LockInfo:
        return cls(
            id=str(doc.get("ID", "")),
            who=str(doc.get("Who") or "?"),
            operation=str(doc.get("Operation") or "?"),
            created=str(doc.get("Created") or "?"),
            path=str(doc.get("Path") or ""),
            version=str(doc.get("Version") or ""),
        )

    @property
    def verb(self) -> str:
        """ "OperationTypeApply" -> "apply"."""
        return self.operation.removeprefix("OperationType").lower() or "?"

    def age(self, now: datetime.datetime | None = None) -> str:
        """How long ago it was taken ("3h12m ago"), or "" when Created cannot be read."""
        try:
            created = datetime.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", self.created.replace(" UTC", "")))
        except ValueError:
            return ""
        if created.tzinfo is None:
            created = created.replace(tzinfo=datetime.UTC)
        seconds = int(((now or datetime.datetime.now(datetime.UTC)) - created).total_seconds())
        if seconds < 0:
            return ""
        hours, rest = divmod(seconds, 3600)
        return (f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s") + " ago"

    def describe(self) -> str:
        """One line: who, since when, doing what, and the lock's ID."""
        age = self.age()
        return f"{self.who} since {self.created}" + (f" ({age})" if age else "") + f", {self.verb}, ID {self.id}"


def from_terraform_output(output: str) -> LockInfo | None:
    """The lock named in Terraform's "Error acquiring the state lock" message, if it is one."""
    if "Error acquiring the state lock" not in output:
        return None
    fields: dict[str, str] = {}
    for line in output.split("Lock Info:", 1)[-1].splitlines():
        found = _FIELD.match(line)
        if found and found[1] not in fields:
            fields[found[1]] = found[2]
    return LockInfo.from_json(fields) if fields.get("ID") else LockInfo(id="?")


def state_location(node: StackNode) -> tuple[str, str, str]:
    """(bucket, key, region) of the stack's state, from its backend block."""
    backend = json.loads(node.json_path.read_text())["terraform"]["backend"]["s3"]
    return backend["bucket"], backend["key"], backend["region"]


def lock_location(node: StackNode) -> tuple[str, str, str]:
    """(bucket, key, region) of the stack's lock file: next to its state."""
    bucket, key, region = state_location(node)
    return bucket, key + LOCK_SUFFIX, region


def held(node: StackNode) -> LockInfo | None:
    """The lock on the stack's state, read from its lock file; None when it is not locked."""
    bucket, key, region = lock_location(node)
    try:
        body = boto3.client("s3", region_name=region).get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    try:
        return LockInfo.from_json(json.loads(body))
    except ValueError:
        return LockInfo(id="?", who=f"unreadable lock file s3://{bucket}/{key}")


def unlock_command(stack: str) -> str:
    """The command that releases a stack's lock. A stack's name starts with its
    environment's (`dev-kms`, `dev-pr42-kms`), or with its account's name for an account's
    stack, which any environment of that account selects."""
    try:
        names = environment_names()
        envs = [n for n in names if stack.startswith(f"{n}-")]
        if not envs:
            envs = [n for n in names if stack.startswith(f"{load_environment(n).config.account.name}-")]
    except ConfigError:
        envs = []
    return f"infra unlock {max(envs, key=len) if envs else 'ENV'} {stack}"
