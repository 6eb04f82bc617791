"""A small GitHub REST client: the sticky plan comment and the drift issues.

Token from GITHUB_TOKEN, API from GITHUB_API_URL (GitHub Enterprise and the tests' local
server use it), repository from GITHUB_REPOSITORY. Errors say what GitHub said and what
usually causes it; rate limits are waited out when the wait is short, and fail otherwise.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "2022-11-28"
HINTS = {
    401: "the token is missing or expired",
    403: "the token lacks a permission (the job needs `pull-requests: write` or `issues: write`)",
    404: "no such repository, pull request or comment, or the token cannot see it",
    422: "GitHub rejected the request (a body over 65,536 characters, or a field it does not accept)",
}


class GitHubError(RuntimeError):
    def __init__(self, status: int, method: str, url: str, message: str) -> None:
        hint = HINTS.get(status, "")
        super().__init__(f"GitHub {status} on {method} {url}: {message}" + (f" ({hint})" if hint else ""))
        self.status = status


@dataclass
class GitHub:
    repository: str  # owner/name
    token: str
    api_url: str = "https://api.github.com"
    max_wait: float = 60.0  # longest rate-limit wait before giving up
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    @classmethod
    def from_env(cls) -> GitHub:
        missing = [v for v in ("GITHUB_TOKEN", "GITHUB_REPOSITORY") if not os.environ.get(v)]
        if missing:
            raise GitHubError(0, "-", "-", f"{' and '.join(missing)} not set")
        return cls(
            repository=os.environ["GITHUB_REPOSITORY"],
            token=os.environ["GITHUB_TOKEN"],
            api_url=os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
        )

    def request(self, method: str, path: str, body: Any = None) -> tuple[Any, dict[str, str]]:
        url = path if path.startswith("http") else f"{self.api_url}{path}"
        data = json.dumps(body).encode() if body is not None else None
        for _attempt in range(5):
            req = urllib.request.Request(url, data=data, method=method)
            req.add_header("Authorization", f"Bearer {self.token}")
            req.add_header("Accept", "application/vnd.github+json")
            req.add_header("X-GitHub-Api-Version", API_VERSION)
            req.add_header("User-Agent", "infra-gitops")
            if data is not None:
                req.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    raw = resp.read()
                    return (json.loads(raw) if raw else None), dict(resp.headers.items())
            except urllib.error.HTTPError as exc:
                headers = dict(exc.headers.items())
                text = exc.read().decode(errors="replace")
                wait = _rate_limit_wait(exc.code, headers)
                if wait is None:
                    raise GitHubError(exc.code, method, url, _message(text)) from None
                if wait > self.max_wait:
                    raise GitHubError(
                        exc.code, method, url, f"rate limited for {wait:.0f} s more: {_message(text)}"
                    ) from None
                self.sleep(wait)
        raise GitHubError(429, method, url, "still rate limited after 5 attempts")

    def paginate(self, path: str) -> list[Any]:
        items: list[Any] = []
        url: str | None = f"{path}{'&' if '?' in path else '?'}per_page=100"
        while url:
            page, headers = self.request("GET", url)
            items += page
            url = _next_link(headers.get("Link") or headers.get("link") or "")
        return items

    # --- the sticky comment -----------------------------------------------------------

    def upsert_comment(self, number: int, marker: str, body: str) -> tuple[str, str]:
        """Update the comment that carries the marker, or create it. Returns (action, url)."""
        if marker not in body:
            body = f"{marker}\n{body}"
        repo = f"/repos/{self.repository}"
        for comment in self.paginate(f"{repo}/issues/{number}/comments"):
            if marker in (comment.get("body") or ""):
                updated, _ = self.request("PATCH", f"{repo}/issues/comments/{comment['id']}", {"body": body})
                return "updated", updated["html_url"]
        created, _ = self.request("POST", f"{repo}/issues/{number}/comments", {"body": body})
        return "created", created["html_url"]

    def pull_for_commit(self, sha: str) -> int | None:
        """The pull request a commit on the default branch came from (apply's comment)."""
        pulls, _ = self.request("GET", f"/repos/{self.repository}/commits/{sha}/pulls")
        merged = [p for p in pulls if p.get("merged_at")] or pulls
        return int(merged[0]["number"]) if merged else None

    # --- issues (drift) ---------------------------------------------------------------

    def open_issues(self, label: str) -> list[dict[str, Any]]:
        found = self.paginate(f"/repos/{self.repository}/issues?state=open&labels={label}")
        return [i for i in found if "pull_request" not in i]

    def sync_issues(self, label: str, wanted: dict[str, tuple[str, str]], checked: set[str]) -> list[str]:
        """One open issue per key in `wanted` ({key: (title, body)}), found by a hidden marker:
        updated when it exists, created when not; issues for checked keys no longer wanted
        are closed with a comment. Returns what was done, one line each."""
        repo = f"/repos/{self.repository}"
        existing = {}
        for issue in self.open_issues(label):
            match = re.search(r"<!-- infra:issue:(\S+) -->", issue.get("body") or "")
            if match:
                existing[match.group(1)] = issue
        done = []
        for key, (title, body) in sorted(wanted.items()):
            text = f"<!-- infra:issue:{key} -->\n{body}"
            if key in existing:
                self.request("PATCH", f"{repo}/issues/{existing[key]['number']}", {"title": title, "body": text})
                done.append(f"updated #{existing[key]['number']} {title}")
            else:
                created, _ = self.request("POST", f"{repo}/issues", {"title": title, "body": text, "labels": [label]})
                done.append(f"opened #{created['number']} {title}")
        for key, issue in sorted(existing.items()):
            if key in checked and key not in wanted:
                number = issue["number"]
                self.request("POST", f"{repo}/issues/{number}/comments", {"body": "No drift any more: closing."})
                self.request("PATCH", f"{repo}/issues/{number}", {"state": "closed", "state_reason": "completed"})
                done.append(f"closed #{number} {issue['title']}")
        return done


def _rate_limit_wait(status: int, headers: dict[str, str]) -> float | None:
    """Seconds to wait when GitHub says "rate limited" (primary or secondary), else None."""
    lower = {k.lower(): v for k, v in headers.items()}
    if status not in (403, 429):
        return None
    if "retry-after" in lower:
        return float(lower["retry-after"])
    if lower.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in lower:
        return max(0.0, float(lower["x-ratelimit-reset"]) - time.time()) + 1.0
    return None


def _message(text: str) -> str:
    try:
        doc = json.loads(text)
    except ValueError:
        return text[:300]
    errors = doc.get("errors")
    return str(doc.get("message", text[:300])) + (f" {json.dumps(errors)}" if errors else "")


def _next_link(link: str) -> str | None:
    for part in link.split(","):
        match = re.match(r'\s*<([^>]+)>;\s*rel="next"', part)
        if match:
            return match.group(1)
    return None
