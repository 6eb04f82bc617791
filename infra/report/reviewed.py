"""The plan reviewed on a pull request, carried in its sticky plan comment.

The pull request's plan job runs with a read-only role: it cannot save its plans anywhere
the apply could trust. So the comment people review carries, hidden, what they reviewed: the
commit and each stack's set of (address, action),

    <!-- infra:reviewed {"commit": "…", "environment": "dev", "stacks": {"dev-kms": [["aws_kms_key.x", "update"]]}} -->

(a stack that was deferred or failed at plan time is `null`: nothing of it was reviewed).

Without a merge queue, the apply of the merged commit reads it back through the API: only
from comments written by the job's own token identity (anyone can paste the marker into a
comment of their own), only when the reviewed commit is the pull request's last head commit
(a plan of an earlier push reviewed other code), and compares each stack's fresh plan with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from infra.errors import Failed
from infra.report.github import GitHub
from infra.report.plan import StackPlan

Actions = frozenset[tuple[str, str]]
PATTERN = re.compile(r"<!-- infra:reviewed (\{.*?\}) -->")


class NotReviewed(Failed):
    """No trustworthy reviewed plan for this commit: nothing is applied without an override."""


@dataclass(frozen=True)
class Reviewed:
    pr: int
    commit: str  # the pull request's head commit the plan was made for
    stacks: Mapping[str, Actions | None]  # None: deferred/failed at plan time, nothing reviewed
    comment_url: str = ""


def block(plans: Sequence[StackPlan], *, commit: str, environment: str) -> str:
    """The hidden line that carries what the report shows, for the apply to compare with."""
    stacks: dict[str, list[list[str]] | None] = {}
    for plan in plans:
        reviewed = plan.status == "ok"
        stacks[plan.stack] = sorted([c.address, c.action] for c in plan.changes) if reviewed else None
    doc = {"commit": commit, "environment": environment, "stacks": stacks}
    text = json.dumps(doc, separators=(",", ":"), sort_keys=True).replace("--", "\\u002d\\u002d")
    return f"<!-- infra:reviewed {text} -->"


def parse(body: str) -> dict[str, object] | None:
    match = PATTERN.search(body)
    if match is None:
        return None
    try:
        doc = json.loads(match.group(1))
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def reviewed_plan(github: GitHub, pr: int, environment: str, marker: str) -> Reviewed:
    """The plan reviewed on pull request `pr` for `environment`: from the comment that carries
    `marker`, written by this token's own identity, made for the pull request's head commit."""
    me = github.login()
    head = github.pull(pr)["head"]["sha"]
    ours = [c for c in github.comments(pr) if c["user"]["login"] == me and marker in (c.get("body") or "")]
    if not ours:
        raise NotReviewed(f"PR #{pr}: no plan comment for {environment} by {me} (the plan job's report)")
    if len(ours) > 1:  # one sticky comment per environment: a second one is not ours to trust
        raise NotReviewed(f"PR #{pr}: {len(ours)} plan comments for {environment} by {me}: none is trusted")
    comment = ours[0]
    doc = parse(comment.get("body") or "")
    listed = doc.get("stacks") if doc is not None else None
    if doc is None or doc.get("environment") != environment or not isinstance(listed, dict):
        raise NotReviewed(f"PR #{pr}: the plan comment for {environment} carries no reviewed plan")
    if doc.get("commit") != head:
        raise NotReviewed(
            f"PR #{pr}: the reviewed plan is of {str(doc.get('commit'))[:12]}, not of the pull request's "
            f"last commit {head[:12]} (its plan failed or never ran): nothing reviewed to compare with"
        )
    stacks: dict[str, Actions | None] = {}
    for name, items in listed.items():
        stacks[str(name)] = None if items is None else frozenset((str(a), str(b)) for a, b in items)
    return Reviewed(pr, head, stacks, str(comment.get("html_url", "")))
