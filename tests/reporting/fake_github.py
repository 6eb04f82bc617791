"""A local HTTP server that answers like GitHub's REST API for what we call, and records requests.

It keeps issues and comments in memory, pages lists (Link headers, two per page, so
pagination is exercised), checks the token, and can be told to answer the next requests
with an error (403, 404, 422, rate limits) before going back to normal.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PAGE = 2


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    headers: dict[str, str]


@dataclass
class FakeGitHub:
    repository: str = "edutech/infra"
    token: str = "test-token"
    requests: list[Recorded] = field(default_factory=list)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # issue number -> comments
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    failures: list[tuple[int, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    pulls: dict[str, list[int]] = field(default_factory=dict)  # commit sha -> pull requests
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
                fake.requests.append(Recorded(self.command, self.path, body, dict(self.headers.items())))
                status, headers, payload = fake.answer(self.command, self.path, body, dict(self.headers.items()))
                data = json.dumps(payload).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- GitHub's behaviour ---------------------------------------------------------

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _page(self, path: str, items: list[Any]) -> tuple[int, dict[str, str], Any]:
        page = int((re.search(r"[?&]page=(\d+)", path) or [None, "1"])[1])
        chunk = items[(page - 1) * PAGE : page * PAGE]
        headers = {}
        if page * PAGE < len(items):
            base = re.sub(r"([?&])page=\d+&?", r"\1", path).rstrip("?&")
            joiner = "&" if "?" in base else "?"
            headers["Link"] = f'<{self.url}{base}{joiner}page={page + 1}>; rel="next"'
        return 200, headers, chunk

    def answer(self, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {}, {"message": "Bad credentials"}
        if self.failures:
            return self.failures.pop(0)
        repo = f"/repos/{self.repository}"
        route = path.split("?")[0]
        if method == "GET" and (m := re.fullmatch(rf"{repo}/issues/(\d+)/comments", route)):
            return self._page(path, self.comments.get(int(m[1]), []))
        if method == "POST" and (m := re.fullmatch(rf"{repo}/issues/(\d+)/comments", route)):
            if len(body["body"]) > 65536:
                return 422, {}, {"message": "Validation Failed", "errors": [{"field": "body", "code": "too_long"}]}
            new = {"id": self._id(), "body": body["body"], "html_url": f"https://github.example/c/{self._next_id}"}
            self.comments.setdefault(int(m[1]), []).append(new)
            return 201, {}, new
        if method == "PATCH" and (m := re.fullmatch(rf"{repo}/issues/comments/(\d+)", route)):
            for comment in (c for items in self.comments.values() for c in items):
                if comment["id"] == int(m[1]):
                    comment["body"] = body["body"]
                    return 200, {}, comment
            return 404, {}, {"message": "Not Found"}
        if method == "GET" and (m := re.fullmatch(rf"{repo}/commits/(\w+)/pulls", route)):
            return 200, {}, [{"number": n, "merged_at": "2026-11-22T00:00:00Z"} for n in self.pulls.get(m[1], [])]
        if method == "GET" and route == f"{repo}/issues":
            label = (re.search(r"labels=([^&]+)", path) or [None, ""])[1]
            found = [i for i in self.issues.values() if i["state"] == "open" and label in i["labels"]]
            return self._page(path, found)
        if method == "POST" and route == f"{repo}/issues":
            number = len(self.issues) + 1
            self.issues[number] = {"number": number, "state": "open", **body}
            return 201, {}, self.issues[number]
        if method == "PATCH" and (m := re.fullmatch(rf"{repo}/issues/(\d+)", route)):
            if int(m[1]) not in self.issues:
                return 404, {}, {"message": "Not Found"}
            self.issues[int(m[1])].update(body)
            return 200, {}, self.issues[int(m[1])]
        return 404, {}, {"message": "Not Found"}
