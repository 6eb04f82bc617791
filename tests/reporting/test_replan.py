"""A change of the stateful label or a review re-runs the pull request's last plan run (a
local server that answers like GitHub's Actions API), so the required checks report the new
verdict; a run still in progress is cancelled first."""

from __future__ import annotations

import time

from infra.pipeline.ci import replan
from infra.report.github import GitHub

HEAD, OLD = "a" * 40, "b" * 40


def test_the_last_plan_run_of_the_head_commit_is_re_run(github):
    github.run(head_sha=OLD)
    older = github.run(head_sha=HEAD)
    last = github.run(head_sha=HEAD)
    github.run(head_sha=HEAD, path=".github/workflows/compliance.yml")
    said = replan(GitHub.from_env(), HEAD, sleep=lambda s: None)
    assert said == f"re-ran plan run {last['id']} for {HEAD[:12]}: its checks report the new verdict"
    assert last["run_attempt"] == 2 and last["status"] == "queued" and older["run_attempt"] == 1
    posts = [r.path for r in github.requests if r.method == "POST"]
    assert posts == [f"/repos/edutech/infra/actions/runs/{last['id']}/rerun"]


def test_a_plan_run_in_progress_is_cancelled_then_re_run(github):
    running = github.run(head_sha=HEAD, status="in_progress")
    replan(GitHub.from_env(), HEAD, wait=1.0, sleep=lambda s: time.sleep(0.05))
    posts = [r.path.rsplit("/", 1)[-1] for r in github.requests if r.method == "POST"]
    assert posts == ["cancel", "rerun"] and running["run_attempt"] == 2


def test_no_plan_run_yet_re_runs_nothing(github):
    assert "no plan run for aaaaaaaaaaaa yet" in replan(GitHub.from_env(), HEAD)
    assert not [r for r in github.requests if r.method == "POST"]
