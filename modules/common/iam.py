"""IAM and key policy documents as plain data, rendered to JSON in one place."""

from __future__ import annotations

import json
from typing import Any

Statement = dict[str, Any]


def statement(
    sid: str,
    actions: list[str],
    resources: list[str] | str | None,
    *,
    principal: dict[str, Any] | None = None,
    condition: dict[str, Any] | None = None,
) -> Statement:
    """An Allow statement. Trust policies have no Resource: pass None."""
    st: Statement = {"Sid": sid, "Effect": "Allow", "Action": actions}
    if resources is not None:
        st["Resource"] = resources
    if principal is not None:
        st["Principal"] = principal
    if condition is not None:
        st["Condition"] = condition
    return st


def deny_insecure_transport(
    actions: list[str] | str,
    resources: list[str] | str,
    *,
    principal: dict[str, Any] | str = "*",
    sid: str = "TlsOnly",
) -> Statement:
    """A resource-policy statement that denies `actions` on `resources` to any request made
    without TLS (aws:SecureTransport is false)."""
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": principal,
        "Action": actions,
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def document(*statements: Statement) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role(service: str, *, source_account: str | None = None) -> str:
    """Trust policy for an AWS service, pinned to our account (confused-deputy guard)."""
    condition = {"StringEquals": {"aws:SourceAccount": source_account}} if source_account else None
    return document(
        statement("AssumeByService", ["sts:AssumeRole"], None, principal={"Service": service}, condition=condition)
    )
