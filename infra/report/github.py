"""GitHub through githubkit: the sticky plan comment and the drift issues.

Token from GITHUB_TOKEN, API from GITHUB_API_URL (GitHub Enterprise and the tests' local
server use it), repository from GITHUB_REPOSITORY. Errors say what GitHub said and what
usually causes it. githubkit retries rate limits (primary and secondary) and 5xx answers;
a rate limit is waited out when the wait is short, and fails at once otherwise.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final, cast

import githubkit
from githubkit.exception import GitHubException, RateLimitExceeded, RequestError, RequestFailed
from githubkit.retry import RetryChainDecision, RetryOption, RetryRateLimit, RetryServerError
from githubkit.typing import Missing
from githubkit_schemas.v2026_03_10.models import Issue, IssueComment

from infra.errors import Failed

API_VERSION: Final = "2026-03-10"  # pinned: a githubkit upgrade must not switch API versions silently
HINTS = {
    401: "the token is missing or expired",
    403: "the token lacks a permission (the job needs `pull-requests: write` or `issues: write`)",
    404: "no such repository, pull request or comment, or the token cannot see it",
    422: "GitHub rejected the request (a body over 65,536 characters, or a field it does not accept)",
}
ACTIONS_LOGIN: Final = "github-actions[bot]"  # the author of what a workflow's GITHUB_TOKEN writes
# githubkit's own decisions: a rate limit is retried after the wait GitHub asks for, a 5xx after 1, 4, 9 s.
RETRY = RetryChainDecision(RetryRateLimit(max_retry=4), RetryServerError(max_retry=3))
# githubkit sleeps 60 s when told to retry after no time at all, so "now" is one microsecond.
NOW = timedelta(microseconds=1)


class GitHubError(Failed):
    """A call GitHub refused or never answered (status 0): exit 1 with this message, no traceback."""

    def __init__(self, status: int, method: str, url: str, message: str) -> None:
        hint = HINTS.get(status, "")
        super().__init__(f"GitHub {status} on {method} {url}: {message}" + (f" ({hint})" if hint else ""))
        self.status = status


@dataclass
class GitHub:
    repository: str  # owner/name
    token: str
    api_url: str = "https://api.github.com"
    max_wait: float = 60.0  # longest wait before a retry; a longer rate limit fails at once
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    owner: str = field(init=False, repr=False)
    name: str = field(init=False, repr=False)
    _kit: githubkit.GitHub[githubkit.TokenAuthStrategy] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.owner, _, self.name = self.repository.partition("/")
        self._kit = githubkit.GitHub(
            self.token,
            base_url=self.api_url,
            user_agent="infra-gitops",
            timeout=30.0,
            http_cache=False,  # a handful of calls per run: nothing to gain, and no stale listing
            auto_retry=self._retry,
        )

    @classmethod
    def from_env(cls) -> GitHub:
        missing = [v for v in ("GITHUB_TOKEN", "GITHUB_REPOSITORY") if not os.environ.get(v)]
        if missing:
            raise GitHubError(0, "-", "-", f"{' and '.join(missing)} not set")
        return cls(
            repository=os.environ["GITHUB_REPOSITORY"],
            token=os.environ["GITHUB_TOKEN"],
            api_url=(os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        )

    def _retry(self, exc: GitHubException, retry_count: int) -> RetryOption:
        """githubkit's decision, with the wait capped at max_wait and spent through `sleep` (tests pass a fake)."""
        decision = RETRY(exc, retry_count)
        if not decision.do_retry:
            return decision
        wait = decision.retry_after.total_seconds() if decision.retry_after is not None else 60.0
        if wait > self.max_wait:
            return RetryOption(False)
        self.sleep(wait)
        return RetryOption(True, NOW)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """githubkit's exceptions as GitHubError: the status, the request, what GitHub said."""
        try:
            yield
        except RateLimitExceeded as exc:
            wait = exc.retry_after.total_seconds()
            message = f"rate limited for {wait:.0f} s more: {_message(exc.response.text)}"
            raise GitHubError(exc.response.status_code, exc.request.method, str(exc.request.url), message) from None
        except RequestFailed as exc:
            message = _message(exc.response.text)
            raise GitHubError(exc.response.status_code, exc.request.method, str(exc.request.url), message) from None
        except RequestError as exc:  # no answer at all: connection refused, timeout, TLS
            raise GitHubError(0, "-", self.api_url, f"no answer: {exc.exc!r}") from None

    # --- the sticky comment -----------------------------------------------------------

    def upsert_comment(self, number: int, marker: str, body: str) -> tuple[str, str]:
        """Update the comment that carries the marker, or create it. Returns (action, url)."""
        if marker not in body:
            body = f"{marker}\n{body}"
        issues = self._kit.rest(API_VERSION).issues
        me = ""
        with self._errors():
            comments: Iterable[IssueComment] = self._kit.rest.paginate(
                issues.list_comments, owner=self.owner, repo=self.name, issue_number=number, per_page=100
            )
            for comment in comments:
                if marker not in _text(comment.body) or comment.user is None:
                    continue
                me = me or self.login()  # only our own comment: anyone can paste the marker into theirs
                if comment.user.login == me:
                    updated = issues.update_comment(self.owner, self.name, comment.id, body=body).parsed_data
                    return "updated", updated.html_url
            created = issues.create_comment(self.owner, self.name, number, body=body).parsed_data
        return "created", created.html_url

    def pull_for_commit(self, sha: str) -> int | None:
        """The pull request a commit on the default branch came from (apply's comment)."""
        repos = self._kit.rest(API_VERSION).repos
        with self._errors():
            answer = repos.list_pull_requests_associated_with_commit(self.owner, self.name, sha)
            pulls = cast(list[dict[str, Any]], answer.json())
        # the pull request merged as this very commit; never an open one that merely contains it
        merged = [p for p in pulls if p.get("merged_at") and p.get("merge_commit_sha") == sha]
        return int(merged[0]["number"]) if merged else None

    def pull(self, number: int) -> dict[str, Any]:
        """A pull request as GitHub sends it (labels, author, head commit)."""
        pulls = self._kit.rest(API_VERSION).pulls
        with self._errors():
            found = cast(dict[str, Any], pulls.get(self.owner, self.name, number).json())
        return found

    def reviews(self, number: int) -> list[dict[str, Any]]:
        """Every review of a pull request, oldest first, as GitHub sends them."""
        pulls = self._kit.rest(API_VERSION).pulls
        found: list[dict[str, Any]] = []
        with self._errors():
            for page in range(1, 100):
                batch = cast(
                    list[dict[str, Any]],
                    pulls.list_reviews(self.owner, self.name, number, per_page=100, page=page).json(),
                )
                if not batch:
                    break
                found += batch
        return found

    def comments(self, number: int) -> list[dict[str, Any]]:
        """Every comment of an issue or pull request, oldest first, as GitHub sends them."""
        issues = self._kit.rest(API_VERSION).issues
        found: list[dict[str, Any]] = []
        with self._errors():
            for page in range(1, 100):
                batch = cast(
                    list[dict[str, Any]],
                    issues.list_comments(self.owner, self.name, number, per_page=100, page=page).json(),
                )
                if not batch:
                    break
                found += batch
        return found

    def login(self) -> str:
        """Who this token writes as. A workflow's GITHUB_TOKEN may not read /user (403): it
        writes as ACTIONS_LOGIN."""
        users = self._kit.rest(API_VERSION).users
        try:
            with self._errors():
                return str(users.get_authenticated().json()["login"])
        except GitHubError as exc:
            if exc.status == 403:
                return ACTIONS_LOGIN
            raise

    # --- workflow runs (the plan re-run on a label or a review) ------------------------

    def workflow_runs(self, workflow: str, head_sha: str, event: str) -> list[dict[str, Any]]:
        """The runs of a workflow file for a commit and event, newest first."""
        actions = self._kit.rest(API_VERSION).actions
        with self._errors():
            found = actions.list_workflow_runs(
                self.owner, self.name, workflow, head_sha=head_sha, event=event, per_page=100
            ).json()
        runs = cast(list[dict[str, Any]], found.get("workflow_runs", []))
        return sorted(runs, key=lambda r: (r.get("run_number", 0), r.get("run_attempt", 0)), reverse=True)

    def workflow_run(self, run_id: int) -> dict[str, Any]:
        actions = self._kit.rest(API_VERSION).actions
        with self._errors():
            return cast(dict[str, Any], actions.get_workflow_run(self.owner, self.name, run_id).json())

    def cancel_run(self, run_id: int) -> None:
        actions = self._kit.rest(API_VERSION).actions
        with self._errors():
            actions.cancel_workflow_run(self.owner, self.name, run_id)

    def rerun(self, run_id: int) -> None:
        actions = self._kit.rest(API_VERSION).actions
        with self._errors():
            actions.re_run_workflow(self.owner, self.name, run_id)

    # --- issues (drift) ---------------------------------------------------------------

    def open_issues(self, label: str) -> list[Issue]:
        """Open issues with the label (pull requests, which GitHub lists as issues too, left out)."""
        issues = self._kit.rest(API_VERSION).issues
        with self._errors():
            found: Iterable[Issue] = self._kit.rest.paginate(
                issues.list_for_repo, owner=self.owner, repo=self.name, state="open", labels=label, per_page=100
            )
            return [i for i in found if not i.pull_request]

    def sync_issues(self, label: str, wanted: dict[str, tuple[str, str]], checked: set[str]) -> list[str]:
        """One open issue per key in `wanted` ({key: (title, body)}), found by a hidden marker:
        updated when it exists, created when not; issues for checked keys no longer wanted
        are closed with a comment. Returns what was done, one line each."""
        existing: dict[str, Issue] = {}
        for issue in self.open_issues(label):
            match = re.search(r"<!-- infra:issue:(\S+) -->", _text(issue.body))
            if match:
                existing[match.group(1)] = issue
        issues = self._kit.rest(API_VERSION).issues
        done: list[str] = []
        with self._errors():
            for key, (title, body) in sorted(wanted.items()):
                text = f"<!-- infra:issue:{key} -->\n{body}"
                if key in existing:
                    number = existing[key].number
                    issues.update(self.owner, self.name, number, title=title, body=text)
                    done.append(f"updated #{number} {title}")
                else:
                    created = issues.create(self.owner, self.name, title=title, body=text, labels=[label]).parsed_data
                    done.append(f"opened #{created.number} {title}")
            for key, issue in sorted(existing.items()):
                if key in checked and key not in wanted:
                    issues.create_comment(self.owner, self.name, issue.number, body="No drift any more: closing.")
                    issues.update(self.owner, self.name, issue.number, state="closed", state_reason="completed")
                    done.append(f"closed #{issue.number} {issue.title}")
        return done


def _text(body: Missing[str]) -> str:
    """A body GitHub may leave out (unset) or send as null, as text."""
    return body if isinstance(body, str) else ""


def _message(text: str) -> str:
    try:
        doc = json.loads(text)
    except ValueError:
        return text[:300]
    if not isinstance(doc, dict):
        return text[:300]
    errors = doc.get("errors")
    return str(doc.get("message", text[:300])) + (f" {json.dumps(errors)}" if errors else "")
