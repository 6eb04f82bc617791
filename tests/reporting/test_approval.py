"""The stateful gate reads the pull request through GitHub's API (a local server that
answers like GitHub): the label and an approving review by a member or collaborator other than the author,
of the last commit, are both needed; a later "changes requested" withdraws an approval."""

from __future__ import annotations

import pytest

from infra.report.approval import stateful_approval
from infra.report.github import GitHub

HEAD, OLD = "a" * 40, "b" * 40
LABEL = "allow-stateful-changes"


def _approval(fake):
    return stateful_approval(GitHub.from_env(), 7)


def test_the_label_and_an_approval_of_the_last_commit_by_another_person_allow(github):
    github.open_pull(7, author="dev", head=HEAD, labels=(LABEL, "docs"))
    github.review(7, login="reviewer", state="APPROVED", commit=HEAD)
    found = _approval(github)
    assert found.allowed and found.why == f"PR #7: label `{LABEL}`, approved by reviewer at {HEAD[:12]}"


def test_an_approval_by_an_account_outside_the_repository_does_not_count(github):
    """On a public repository anyone can review: a second account of the author's would do."""
    github.open_pull(7, author="dev", head=HEAD, labels=(LABEL,))
    github.review(7, login="a-friend", state="APPROVED", commit=HEAD, association="NONE")
    found = _approval(github)
    assert not found.allowed and "by a member or collaborator other than dev" in found.why
    github.review(7, login="reviewer", state="APPROVED", commit=HEAD, association="COLLABORATOR")
    assert _approval(github).allowed


@pytest.mark.parametrize(
    ("labels", "reviews", "missing"),
    [
        ((), [("reviewer", "APPROVED", HEAD)], f"the label `{LABEL}`"),
        (
            (LABEL,),
            [("dev", "APPROVED", HEAD)],
            "an approving review of aaaaaaaaaaaa by a member or collaborator other than dev",
        ),
        ((LABEL,), [("reviewer", "APPROVED", OLD)], "an approving review of aaaaaaaaaaaa"),
        ((LABEL,), [("reviewer", "APPROVED", HEAD), ("reviewer", "CHANGES_REQUESTED", HEAD)], "an approving review"),
        ((LABEL,), [("reviewer", "COMMENTED", HEAD)], "an approving review"),
    ],
    ids=["label-missing", "author-approves-own", "approval-of-an-older-commit", "approval-withdrawn", "comment-only"],
)
def test_fails_when_the_label_or_an_independent_approval_of_the_last_commit_is_missing(
    github, labels, reviews, missing
):
    github.open_pull(7, author="dev", head=HEAD, labels=labels)
    for _ in range(2):  # more than one page of reviews (the fake pages two at a time)
        github.review(7, login="someone", state="COMMENTED", commit=HEAD)
    for login, state, commit in reviews:
        github.review(7, login=login, state=state, commit=commit)
    found = _approval(github)
    assert not found.allowed
    assert missing in found.why
