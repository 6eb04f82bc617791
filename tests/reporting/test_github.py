"""The GitHub client against a local server that answers like GitHub (tests/reporting/fake_github.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest

from infra.paths import REPO
from infra.report.github import GitHub, GitHubError
from tests.reporting.fake_github import FakeGitHub

MARKER = "<!-- infra:plan:dev:pr-7 -->"  # what `infra comment --target dev --pr 7` writes


def infra(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a workflow step runs it (a new process, the environment inherited)."""
    command = [sys.executable, "-c", "from infra.cli import main; main()", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)


def client(fake: FakeGitHub, **kwargs: Any) -> GitHub:
    return GitHub(repository=fake.repository, token=fake.token, api_url=fake.url, **kwargs)


def test_second_post_updates_the_first_comment(github):
    gh = client(github)
    for i in range(1, 4):
        github.comment(7, f"someone else {i}", login="a-reviewer")
    action, url = gh.upsert_comment(7, MARKER, "first plan")
    assert action == "created" and url.endswith(f"/issues/7#issuecomment-{github.comments[7][-1]['id']}")
    assert gh.upsert_comment(7, MARKER, "second plan") == ("updated", url)
    ours = [c for c in github.comments[7] if MARKER in c["body"]]
    assert len(ours) == 1 and ours[0]["body"].endswith("second plan")
    assert len(github.comments[7]) == 4  # the others untouched
    # our comment is the 4th: on page 2 of the listing, so pagination was followed
    assert any("page=2" in r.path for r in github.requests if r.method == "GET")
    assert [r.method for r in github.requests].count("POST") == 1


def test_a_marker_planted_in_someone_elses_comment_is_ignored(github):
    """Anyone who can comment can paste the marker: their comment is never overwritten."""
    github.comment(7, f"{MARKER}\nplanted by a commenter", login="a-commenter")
    gh = client(github)
    assert gh.upsert_comment(7, MARKER, "the plan")[0] == "created"
    assert gh.upsert_comment(7, MARKER, "the plan, again")[0] == "updated"
    planted, ours = github.comments[7]
    assert planted["body"].endswith("planted by a commenter")
    assert ours["body"].endswith("the plan, again")


def test_a_different_target_gets_its_own_comment(github):
    gh = client(github)
    gh.upsert_comment(7, MARKER, "dev plan")
    gh.upsert_comment(7, "<!-- infra:plan:prod:pr-7 -->", "prod plan")
    assert len(github.comments[7]) == 2


def test_requests_carry_the_token_and_api_version(github):
    client(github).upsert_comment(7, MARKER, "x")
    assert github.requests
    for request in github.requests:
        assert request.headers["authorization"] == "token test-token"
        assert request.headers["x-github-api-version"] == "2026-03-10"
        assert request.headers["user-agent"] == "infra-gitops"


@pytest.mark.parametrize(
    ("status", "hint"),
    [(403, "pull-requests: write"), (404, "cannot see it"), (422, "65,536 characters")],
)
def test_errors_say_what_github_said_and_the_usual_cause(github, status, hint):
    github.fail_next(status, {"message": "Resource not accessible by integration"})
    with pytest.raises(GitHubError) as caught:
        client(github).upsert_comment(7, MARKER, "x")
    assert caught.value.status == status
    assert "Resource not accessible by integration" in str(caught.value) and hint in str(caught.value)


def test_a_short_rate_limit_is_waited_out(github):
    waits: list[float] = []
    github.fail_next(403, {"message": "You have exceeded a secondary rate limit"}, retry_after="2")
    github.fail_next(
        429,
        {"message": "API rate limit exceeded"},
        x_ratelimit_remaining="0",
        x_ratelimit_reset=str(int(time.time()) + 3),
    )
    assert client(github, sleep=waits.append).upsert_comment(7, MARKER, "x")[0] == "created"
    assert waits[0] == 2.0 and 1.0 <= waits[1] <= 3.0  # Retry-After, then until X-RateLimit-Reset
    assert len(github.comments[7]) == 1


def test_a_long_rate_limit_fails_at_once(github):
    github.fail_next(
        403,
        {"message": "API rate limit exceeded"},
        x_ratelimit_remaining="0",
        x_ratelimit_reset=str(int(time.time()) + 3600),
    )
    with pytest.raises(GitHubError, match=r"403 .*rate limited for 3\d\d\d s more: API rate limit exceeded"):
        client(github, sleep=lambda s: pytest.fail("must not sleep an hour")).upsert_comment(7, MARKER, "x")
    assert len(github.requests) == 1 and 7 not in github.comments


def test_a_server_error_is_retried_and_then_succeeds(github):
    waits: list[float] = []
    github.fail_next(502, {"message": "Server Error"})
    github.fail_next(503, {"message": "Service Unavailable"})
    assert client(github, sleep=waits.append).upsert_comment(7, MARKER, "x")[0] == "created"
    assert len(waits) == 2 and waits[0] < waits[1]  # backing off
    assert len(github.comments[7]) == 1


def test_a_server_error_that_lasts_fails_with_what_github_said(github):
    for _ in range(4):
        github.fail_next(502, {"message": "Server Error"})
    with pytest.raises(GitHubError, match="502 on GET .*/issues/7/comments.*Server Error") as caught:
        client(github, sleep=lambda s: None).upsert_comment(7, MARKER, "x")
    assert caught.value.status == 502 and len(github.requests) == 4  # one try and three retries


def test_a_bad_token_is_reported(github):
    gh = GitHub(repository=github.repository, token="wrong", api_url=github.url)
    with pytest.raises(GitHubError, match="401.*Bad credentials.*missing or expired"):
        gh.upsert_comment(7, MARKER, "x")


def test_missing_settings_are_named_in_one_line_not_a_traceback(github, monkeypatch, tmp_path):
    monkeypatch.delenv("GITHUB_TOKEN")
    proc = infra("comment", str(tmp_path), "--target", "dev", "--post", "--pr", "7")
    assert proc.returncode == 1 and "GITHUB_TOKEN not set" in proc.stderr
    assert "Traceback" not in proc.stderr and not github.requests


def test_drift_issues_are_opened_updated_and_closed(github):
    gh = client(github)
    done = gh.sync_issues("drift", {"dev-kms": ("Drift: dev-kms", "one")}, checked={"dev-kms", "dev-web"})
    assert done == ["opened #1 Drift: dev-kms"]
    done = gh.sync_issues(
        "drift",
        {"dev-kms": ("Drift: dev-kms", "two"), "dev-web": ("Drift: dev-web", "three")},
        checked={"dev-kms", "dev-web"},
    )
    assert done == ["updated #1 Drift: dev-kms", "opened #2 Drift: dev-web"]
    assert github.issues[1]["body"].endswith("two")
    done = gh.sync_issues("drift", {}, checked={"dev-kms"})  # dev-web not checked this time: left open
    assert done == ["closed #1 Drift: dev-kms"]
    assert github.issues[1]["state"] == "closed" and github.issues[2]["state"] == "open"
    assert github.comments[1][-1]["body"] == "No drift any more: closing."
    assert [label["name"] for label in github.issues[2]["labels"]] == ["drift"]


@pytest.mark.terraform
def test_infra_comment_posts_once_and_updates_on_the_second_run(github, sample_run, tmp_path):
    """The CLI as the workflow calls it: two runs, one comment, and the check fails (stateful)."""

    def run() -> subprocess.CompletedProcess[str]:
        args = ["--target", "dev", "--post", "--pr", "7", "--out", str(tmp_path / "comment.md")]
        return infra("comment", str(sample_run), *args)

    github.open_pull(7, author="dev", head="c" * 40)  # the gate reads its label and reviews: none
    first, second = run(), run()
    assert first.returncode == 1 and "check fails: 1 stateful delete/replace" in first.stderr
    assert "stateful deletes/replaces blocked: PR #7 lacks the label" in first.stderr
    assert "comment created" in first.stderr and "comment updated" in second.stderr
    assert len(github.comments[7]) == 1
    assert github.comments[7][0]["body"].startswith("<!-- infra:plan:dev:pr-7 -->")
    assert github.comments[7][0]["body"] == (tmp_path / "comment.md").read_text()


@pytest.mark.terraform
def test_the_merge_queues_plan_is_a_comment_of_its_own_beside_the_reviewed_one(github, sample_run, tmp_path):
    """The queue plans the commit that will land: its report must not replace the plan the
    reviewers saw (nor become "the reviewed plan" the apply compares with)."""
    github.open_pull(7, author="dev", head="c" * 40)
    common = ["--target", "dev", "--post", "--pr", "7"]
    reviewed = infra("comment", str(sample_run), *common, "--sha", "c" * 40, "--out", str(tmp_path / "pr.md"))
    queued = infra("comment", str(sample_run), *common, "--sha", "d" * 40, "--queue", "--out", str(tmp_path / "q.md"))
    assert "comment created" in reviewed.stderr and "comment created" in queued.stderr, queued.stderr
    assert queued.returncode == reviewed.returncode == 1  # the same gate: a stateful replace, no approval
    first, second = (c["body"] for c in github.comments[7])
    assert first == (tmp_path / "pr.md").read_text() and "<!-- infra:reviewed " in first
    assert second.startswith("<!-- infra:queue:dev:pr-7 -->") and "<!-- infra:reviewed " not in second
    assert f"**Merge queue:** the plan of `{'d' * 12}`, the commit that will land" in second


@pytest.mark.terraform
def test_apply_comments_on_the_merged_pull_request_with_the_probe_results(github, sample_run, tmp_path):
    github.pulls["abc123"] = [42]
    probes = tmp_path / "probes.md"
    probes.write_text("**Probes:** 21 passed, 2 skipped")
    args = ["--kind", "apply", "--target", "dev", "--sha", "abc123", "--extra", str(probes), "--post"]
    proc = infra("comment", str(sample_run), *args, "--out", str(tmp_path / "c.md"))
    assert proc.returncode == 0, proc.stderr  # an apply report does not block on stateful changes
    body = github.comments[42][0]["body"]
    assert body.startswith("<!-- infra:apply:dev:pr-42 -->")
    assert "Apply for `dev`: applied" in body and "**Probes:** 21 passed, 2 skipped" in body
