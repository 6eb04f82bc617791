"""Whether a pull request may delete or replace stateful resources: read through GitHub's
API by the job itself, never taken from an input.

A label alone is weak: anyone with triage rights, the author included, can add it, and it
survives later pushes. So it takes both the label `allow-stateful-changes` and an approving
review, by a member or collaborator other than the author, of the pull request's last commit (a review of an
earlier commit approved other code). A reviewer's latest review counts: an approval
followed by "changes requested" or a dismissal is no approval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.report.comment import ALLOW_LABEL
from infra.report.github import GitHub

# who may approve a stateful change: the repository's people, not any GitHub account
TRUSTED = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


@dataclass(frozen=True)
class Approval:
    allowed: bool
    why: str


def stateful_approval(github: GitHub, number: int) -> Approval:
    pull = github.pull(number)
    author = pull["user"]["login"]
    head = pull["head"]["sha"]
    labelled = ALLOW_LABEL in {label["name"] for label in pull.get("labels", [])}
    latest: dict[str, dict[str, Any]] = {}
    for review in github.reviews(number):
        if review.get("state") in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):  # comments change nothing
            latest[review["user"]["login"]] = review
    approvers = sorted(
        login
        for login, review in latest.items()
        if review["state"] == "APPROVED"
        and review.get("commit_id") == head
        and login != author
        and review.get("author_association") in TRUSTED  # not any account that can comment
    )
    missing = [] if labelled else [f"the label `{ALLOW_LABEL}`"]
    if not approvers:
        missing.append(f"an approving review of {head[:12]} by a member or collaborator other than {author}")
    if missing:
        return Approval(False, f"PR #{number} lacks " + " and ".join(missing))
    return Approval(True, f"PR #{number}: label `{ALLOW_LABEL}`, approved by {', '.join(approvers)} at {head[:12]}")
