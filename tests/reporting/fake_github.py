"""A local HTTP server that answers like GitHub's REST API for what we call, and records requests.

It keeps issues and comments in memory and answers with objects shaped like GitHub's (ids,
node ids, urls, users, timestamps: what githubkit's models require). It pages lists with Link
headers, two items per page whatever per_page asks, so pagination is exercised. It checks the
token and the API version, and can be told to answer the next requests with an error (403,
404, 422, 5xx, rate limits) before going back to normal.
"""

from __future__ import annotations

import json
import re
import threading
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

PAGE = 2
API_VERSIONS = {"2022-11-28", "2026-03-10"}  # what GitHub accepts in X-GitHub-Api-Version
HTML = "https://github.example"
NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}
# The repository's *_url fields GitHub sends (templates shortened to plain paths).
REPO_URLS = (
    "archive assignees blobs branches collaborators comments commits compare contents contributors deployments"
    " downloads events forks git_commits git_refs git_tags issue_comment issue_events issues keys labels"
    " languages merges milestones notifications pulls releases stargazers statuses subscribers subscription"
    " tags teams trees hooks"
).split()


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    headers: dict[str, str]  # names in lower case


@dataclass
class FakeGitHub:
    repository: str = "edutech/infra"
    token: str = "test-token"
    requests: list[Recorded] = field(default_factory=list)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # issue number -> comments
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    failures: list[tuple[int, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    pulls: dict[str, list[int]] = field(default_factory=dict)  # commit sha -> pull requests
    open_pulls: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> labels, author, head
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # number -> reviews, oldest first
    runs: list[dict[str, Any]] = field(default_factory=list)  # workflow runs: id, path, head_sha, event, status
    login: str | None = None  # who the token is (GET /user); None: a workflow's token, which may not ask
    url: str = "http://127.0.0.1"  # the API's address, set when the server starts
    _next_id: int = 1000

    def fail_next(self, status: int, body: dict[str, Any] | None = None, **headers: str) -> None:
        self.failures.append((status, {k.replace("_", "-"): v for k, v in headers.items()}, body or {}))

    def __enter__(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                headers = {key.lower(): value for key, value in self.headers.items()}  # names are case-blind
                fake.requests.append(Recorded(self.command, self.path, body, headers))
                status, answer_headers, payload = fake.answer(self.command, self.path, body, headers)
                data = json.dumps(payload).encode()
                self.send_response(status)
                for key, value in answer_headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- objects as GitHub shapes them ----------------------------------------------

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def user(self, login: str = "github-actions[bot]") -> dict[str, Any]:
        api = f"{self.url}/users/{login}"
        return {
            "login": login,
            "id": 41898282,
            "node_id": "MDM6Qm90NDE4OTgyODI=",
            "avatar_url": "https://avatars.example/u/41898282",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{HTML}/{login}",
            **{f"{name}_url": f"{api}/{name}" for name in ("followers", "following", "gists", "starred")},
            **{f"{name}_url": f"{api}/{name}" for name in ("subscriptions", "organizations", "repos", "events")},
            "received_events_url": f"{api}/received_events",
            "type": "Bot" if login.endswith("[bot]") else "User",
            "site_admin": False,
        }

    def repo(self) -> dict[str, Any]:
        owner, name = self.repository.split("/")
        api = f"{self.url}/repos/{self.repository}"
        return {
            "id": 7001,
            "node_id": "R_kgDOfake",
            "name": name,
            "full_name": self.repository,
            "owner": self.user(owner),
            "private": True,
            "html_url": f"{HTML}/{self.repository}",
            "description": None,
            "fork": False,
            "url": api,
            **{f"{name}_url": f"{api}/{name}" for name in REPO_URLS},
            "git_url": f"git://github.example/{self.repository}.git",
            "ssh_url": f"git@github.example:{self.repository}.git",
            "clone_url": f"{HTML}/{self.repository}.git",
            "svn_url": f"{HTML}/{self.repository}",
            "mirror_url": None,
            "homepage": None,
            "language": "Python",
            "license": None,
            **dict.fromkeys(("forks", "forks_count", "stargazers_count", "watchers", "watchers_count"), 0),
            **dict.fromkeys(("open_issues", "open_issues_count"), len(self.issues)),
            "size": 1024,
            "default_branch": "main",
            "has_pages": False,
            "disabled": False,
            **dict.fromkeys(("pushed_at", "created_at", "updated_at"), "2026-01-05T09:00:00Z"),
        }

    def comment(self, number: int, body: str, login: str = "github-actions[bot]") -> dict[str, Any]:
        """Add a comment to an issue or pull request, as whoever `login` is; returns it."""
        cid, now = self._id(), _now()
        new = {
            "id": cid,
            "node_id": f"IC_fake{cid}",
            "url": f"{self.url}/repos/{self.repository}/issues/comments/{cid}",
            "html_url": f"{HTML}/{self.repository}/issues/{number}#issuecomment-{cid}",
            "issue_url": f"{self.url}/repos/{self.repository}/issues/{number}",
            "body": body,
            "user": self.user(login),
            "author_association": "NONE",
            "created_at": now,
            "updated_at": now,
        }
        self.comments.setdefault(number, []).append(new)
        return new

    def _issue(self, number: int, title: str, body: str | None, labels: list[str]) -> dict[str, Any]:
        api, now = f"{self.url}/repos/{self.repository}/issues/{number}", _now()
        return {
            "id": self._id(),
            "node_id": f"I_fake{number}",
            "url": api,
            "repository_url": f"{self.url}/repos/{self.repository}",
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{HTML}/{self.repository}/issues/{number}",
            "number": number,
            "state": "open",
            "state_reason": None,
            "title": title,
            "body": body,
            "user": self.user(),
            "labels": [self._label(name) for name in labels],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "comments": 0,
            "closed_at": None,
            "created_at": now,
            "updated_at": now,
            "author_association": "NONE",
        }

    def _label(self, name: str) -> dict[str, Any]:
        return {
            "id": zlib.crc32(name.encode()),
            "node_id": f"LA_{name}",
            "url": f"{self.url}/repos/{self.repository}/labels/{name}",
            "name": name,
            "description": None,
            "color": "ededed",
            "default": False,
        }

    def _pull(self, number: int, sha: str) -> dict[str, Any]:
        repo = f"{self.url}/repos/{self.repository}"
        api, issue = f"{repo}/pulls/{number}", f"{repo}/issues/{number}"
        html = f"{HTML}/{self.repository}/pull/{number}"
        links = {
            "self": api,
            "html": html,
            "issue": issue,
            "comments": f"{issue}/comments",
            "review_comments": f"{api}/comments",
            "review_comment": f"{repo}/pulls/comments{{/number}}",
            "commits": f"{api}/commits",
            "statuses": f"{repo}/statuses/{sha}",
        }
        owner = self.repository.split("/")[0]

        def ref(name: str) -> dict[str, Any]:
            return {"label": f"{owner}:{name}", "ref": name, "sha": sha, "user": self.user(owner), "repo": self.repo()}

        return {
            "id": self._id(),
            "node_id": f"PR_fake{number}",
            "url": api,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue,
            "commits_url": links["commits"],
            "review_comments_url": links["review_comments"],
            "review_comment_url": links["review_comment"],
            "comments_url": links["comments"],
            "statuses_url": links["statuses"],
            "number": number,
            "state": "closed",
            "locked": False,
            "title": f"Change #{number}",
            "user": self.user("a-developer"),
            "body": None,
            "labels": [],
            "milestone": None,
            "created_at": "2026-11-21T10:00:00Z",
            "updated_at": "2026-11-22T00:00:00Z",
            "closed_at": "2026-11-22T00:00:00Z",
            "merged_at": "2026-11-22T00:00:00Z",
            "merge_commit_sha": sha,
            "head": ref(f"feature-{number}"),
            "base": ref("main"),
            "_links": {key: {"href": href} for key, href in links.items()},
            "author_association": "MEMBER",
            "auto_merge": None,
        }

    def open_pull(self, number: int, *, author: str, head: str, labels: tuple[str, ...] = ()) -> None:
        """A pull request as `GET /pulls/N` answers (the fields the gate reads, and more)."""
        self.open_pulls[number] = {
            **self._pull(number, head),
            "merged_at": None,
            "closed_at": None,
            "state": "open",
            "user": self.user(author),
            "head": {**self._pull(number, head)["head"], "sha": head},
            "labels": [self._label(name) for name in labels],
        }

    def run(
        self, *, head_sha: str, status: str = "completed", path: str = ".github/workflows/plan.yml"
    ) -> dict[str, Any]:
        """A workflow run as the Actions API lists it (the fields read, and a few more)."""
        rid = self._id()
        new = {
            "id": rid,
            "name": path.rsplit("/", 1)[-1].removesuffix(".yml"),
            "path": path,
            "head_sha": head_sha,
            "event": "pull_request",
            "status": status,
            "conclusion": "failure" if status == "completed" else None,
            "run_number": len(self.runs) + 1,
            "run_attempt": 1,
            "html_url": f"{HTML}/{self.repository}/actions/runs/{rid}",
        }
        self.runs.append(new)
        return new

    def review(self, number: int, *, login: str, state: str, commit: str, association: str = "MEMBER") -> None:
        rid = self._id()
        self.reviews.setdefault(number, []).append(
            {
                "id": rid,
                "node_id": f"PRR_fake{rid}",
                "user": self.user(login),
                "body": "",
                "state": state,
                "html_url": f"{HTML}/{self.repository}/pull/{number}#pullrequestreview-{rid}",
                "pull_request_url": f"{self.url}/repos/{self.repository}/pulls/{number}",
                "_links": {},
                "submitted_at": _now(),
                "commit_id": commit,
                "author_association": association,
            }
        )

    # --- GitHub's behaviour ---------------------------------------------------------

    def _page(self, path: str, items: list[Any]) -> tuple[int, dict[str, str], Any]:
        route, _, query = path.partition("?")
        params = dict(parse_qsl(query))
        page = int(params.get("page", "1"))
        headers = {}
        if page * PAGE < len(items):
            headers["Link"] = f'<{self.url}{route}?{urlencode({**params, "page": page + 1})}>; rel="next"'
        return 200, headers, items[(page - 1) * PAGE : page * PAGE]

    def answer(self, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        if scheme.lower() not in ("token", "bearer") or token != self.token:  # GitHub takes either scheme
            return 401, {}, {"message": "Bad credentials", "status": "401"}
        version = headers.get("x-github-api-version", "2022-11-28")
        if version not in API_VERSIONS:
            return 400, {}, {"message": f"Invalid API version '{version}'", "status": "400"}
        if self.failures:
            return self.failures.pop(0)
        repo = f"/repos/{self.repository}"
        route = urlsplit(path).path
        query = dict(parse_qsl(urlsplit(path).query))
        if method == "GET" and (m := re.fullmatch(rf"{repo}/issues/(\d+)/comments", route)):
            return self._page(path, self.comments.get(int(m[1]), []))
        if method == "POST" and (m := re.fullmatch(rf"{repo}/issues/(\d+)/comments", route)):
            if len(body["body"]) > 65536:
                return 422, {}, {"message": "Validation Failed", "errors": [{"field": "body", "code": "too_long"}]}
            if int(m[1]) in self.issues:
                self.issues[int(m[1])]["comments"] += 1
            return 201, {}, self.comment(int(m[1]), body["body"], login=self.login or "github-actions[bot]")
        if method == "PATCH" and (m := re.fullmatch(rf"{repo}/issues/comments/(\d+)", route)):
            for comment in (c for items in self.comments.values() for c in items):
                if comment["id"] == int(m[1]):
                    if comment["user"]["login"] != (self.login or "github-actions[bot]"):
                        return 403, {}, {"message": "Resource not accessible by integration", "status": "403"}
                    comment.update(body=body["body"], updated_at=_now())
                    return 200, {}, comment
            return 404, {}, NOT_FOUND
        if method == "GET" and (m := re.fullmatch(rf"{repo}/actions/workflows/([\w.-]+)/runs", route)):
            found = [
                r
                for r in self.runs
                if r["path"].endswith(m[1])
                and r["head_sha"] == query.get("head_sha", r["head_sha"])
                and r["event"] == query.get("event", r["event"])
            ]
            return 200, {}, {"total_count": len(found), "workflow_runs": found}
        if m := re.fullmatch(rf"{repo}/actions/runs/(\d+)(/rerun|/cancel)?", route):
            run = next((r for r in self.runs if r["id"] == int(m[1])), None)
            if run is None:
                return 404, {}, NOT_FOUND
            if method == "GET" and not m[2]:
                return 200, {}, run
            if method == "POST" and m[2] == "/cancel":
                if run["status"] == "completed":
                    return 409, {}, {"message": "Cannot cancel a workflow run that is completed.", "status": "409"}
                run.update(status="completed", conclusion="cancelled")
                return 202, {}, {}
            if method == "POST" and m[2] == "/rerun":
                if run["status"] != "completed":
                    return 403, {}, {"message": "This workflow is already running", "status": "403"}
                run.update(status="queued", conclusion=None, run_attempt=run["run_attempt"] + 1)
                return 201, {}, {}
        if method == "GET" and route == "/user":  # a workflow's GITHUB_TOKEN may not read it
            if self.login is None:
                return 403, {}, {"message": "Resource not accessible by integration", "status": "403"}
            return 200, {}, self.user(self.login)
        if method == "GET" and (m := re.fullmatch(rf"{repo}/commits/(\w+)/pulls", route)):
            return 200, {}, [self._pull(n, m[1]) for n in self.pulls.get(m[1], [])]
        if method == "GET" and (m := re.fullmatch(rf"{repo}/pulls/(\d+)", route)):
            found = self.open_pulls.get(int(m[1]))
            return (200, {}, found) if found else (404, {}, NOT_FOUND)
        if method == "GET" and (m := re.fullmatch(rf"{repo}/pulls/(\d+)/reviews", route)):
            return self._page(path, self.reviews.get(int(m[1]), []))
        if method == "GET" and route == f"{repo}/issues":
            wanted = set(filter(None, query.get("labels", "").split(",")))
            state = query.get("state", "open")
            found = [
                i
                for i in self.issues.values()
                if state in ("all", i["state"]) and wanted <= {label["name"] for label in i["labels"]}
            ]
            return self._page(path, found)
        if method == "POST" and route == f"{repo}/issues":
            if not body.get("title"):
                return 422, {}, {"message": "Validation Failed", "errors": [{"field": "title", "code": "missing"}]}
            number = len(self.issues) + 1
            self.issues[number] = self._issue(number, body["title"], body.get("body"), body.get("labels", []))
            return 201, {}, self.issues[number]
        if method == "PATCH" and (m := re.fullmatch(rf"{repo}/issues/(\d+)", route)):
            issue = self.issues.get(int(m[1]))
            if issue is None:
                return 404, {}, NOT_FOUND
            issue.update({k: v for k, v in body.items() if k in ("title", "body", "state", "state_reason")})
            issue["updated_at"] = _now()
            if body.get("state") == "closed":
                issue["closed_at"] = issue["updated_at"]
            return 200, {}, issue
        return 404, {}, NOT_FOUND


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
