"""The plan reviewed on a pull request travels in its sticky comment (a hidden block), and the
apply reads it back through the API (a local server that answers like GitHub): only from
the job's own comments, only for the pull request's last commit."""

from __future__ import annotations

import pytest

from infra.pipeline.merge import from_pull_request
from infra.report.github import GitHub
from infra.report.plan import ResourceChange, StackPlan
from infra.report.publish import marker
from infra.report.reviewed import NotReviewed, block, reviewed_plan

HEAD, OLD = "a" * 40, "b" * 40
MARKER = marker("plan", "dev", 7)


def _change(address: str, action: str) -> ResourceChange:
    return ResourceChange(address, address.split(".")[0], action, "", ())


PLANS = [
    StackPlan(
        "dev-kms", "dev", "kms", changes=(_change("aws_kms_key.x", "update"), _change("aws_kms_alias.a--b", "create"))
    ),
    StackPlan("dev-app", "dev", "app", status="deferred", detail="reads dev-kms, never applied"),
    StackPlan("dev-dns", "dev", "dns"),
]
WANT = {
    "dev-kms": frozenset({("aws_kms_key.x", "update"), ("aws_kms_alias.a--b", "create")}),
    "dev-app": None,  # deferred: nothing of it was reviewed
    "dev-dns": frozenset(),
}


def _post(github, commit: str, login: str = "github-actions[bot]") -> None:
    github.comment(7, f"{MARKER}\n{block(PLANS, commit=commit, environment='dev')}\n## Plan for dev\n…", login=login)


def test_the_reviewed_plan_is_read_back_from_the_jobs_own_comment(github):
    github.open_pull(7, author="dev", head=HEAD)
    github.comment(7, "looks good", login="reviewer")
    _post(github, HEAD)
    found = reviewed_plan(GitHub.from_env(), 7, "dev", MARKER)
    assert found.commit == HEAD and dict(found.stacks) == WANT
    assert "-->" not in block(PLANS, commit=HEAD, environment="dev")[:-3]  # an address cannot end the comment


def test_fails_when_the_marker_is_only_in_another_users_comment(github):
    github.open_pull(7, author="dev", head=HEAD)
    _post(github, HEAD, login="dev")  # the author pastes a "reviewed" block of their own
    with pytest.raises(NotReviewed, match=r"no plan comment for dev by github-actions\[bot\]"):
        reviewed_plan(GitHub.from_env(), 7, "dev", MARKER)


def test_fails_when_the_reviewed_commit_is_not_the_pull_requests_head(github):
    github.open_pull(7, author="dev", head=HEAD)
    _post(github, OLD)  # the plan of an earlier push; the last push's plan never reported
    _post(github, HEAD, login="dev")  # and a planted one for the head, which must not count
    with pytest.raises(NotReviewed, match=r"reviewed plan is of bbbbbbbbbbbb, not of the pull request's last commit"):
        reviewed_plan(GitHub.from_env(), 7, "dev", MARKER)


def test_a_token_that_can_say_who_it_is_reads_only_its_own_comments(github):
    github.login = "infra-bot"
    github.open_pull(7, author="dev", head=HEAD)
    _post(github, HEAD)  # github-actions[bot] is not this token
    with pytest.raises(NotReviewed, match="by infra-bot"):
        reviewed_plan(GitHub.from_env(), 7, "dev", MARKER)
    _post(github, HEAD, login="infra-bot")
    assert reviewed_plan(GitHub.from_env(), 7, "dev", MARKER).stacks["dev-dns"] == frozenset()


def test_the_apply_reads_the_merged_pull_request_of_its_commit(github):
    merged = "c" * 40
    github.pulls[merged] = [7]
    github.open_pull(7, author="dev", head=HEAD)
    _post(github, HEAD)
    pulled = from_pull_request(GitHub.from_env(), "dev", merged)
    assert pulled.pr == 7 and pulled.reviewed == WANT and not pulled.allow_stateful
    assert any(f"/commits/{merged}/pulls" in r.path for r in github.requests)
    stale = from_pull_request(GitHub.from_env(), "staging", merged)  # no comment for staging
    assert stale.reviewed is None and "no plan comment for staging" in stale.unreviewed


def test_the_sticky_comment_is_never_another_users(github):
    """A planted marker is not updated (GitHub would refuse: 403) nor trusted: ours is created."""
    gh = GitHub.from_env()
    github.comment(7, f"{MARKER}\nplanted", login="dev")
    action, _ = gh.upsert_comment(7, MARKER, "the plan")
    assert action == "created" and github.comments[7][0]["body"].endswith("planted")
