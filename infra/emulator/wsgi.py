"""The emulator as a WSGI application: moto with our fixes, one request at a time.

Served by gunicorn (see launcher.py) over HTTPS: the state bucket (and the ALB log
bucket) deny requests without TLS, and the emulator must not need a weaker policy than
AWS. werkzeug's development server lost responses under load (a request answered 200 was
retried by the client, creating duplicates); gunicorn handles connections properly.

A retry can still follow a request that was carried out: on a loaded machine the client
may give up on a connection before the answer arrives. The AWS SDKs name every attempt
(`amz-sdk-invocation-id`, the same for all attempts of one call, and `amz-sdk-request:
attempt=N`), so a retry of a call this emulator already answered with success gets that
same answer again instead of running twice (a second `RevokeSecurityGroupEgress` of the
default rule fails with InvalidPermission.NotFound and aborts the whole apply). Only
successful answers are kept; an error or a first attempt always runs. Every retry is
written to the log.

What moto does not implement is answered `501 Not Implemented`, not the 500 that moto's
uncaught NotImplementedError became: the SDKs retry 500 (botocore and the Go SDK retry 500,
502, 503 and 504, never 501), so a client waited through its back-off to learn the same
thing (a Prowler scan spent ~50 s retrying a handful of unimplemented reads). So is a
service moto has no backend for (WAF Classic's `waf-regional`).
"""

from __future__ import annotations

import collections
import json
import sys
import threading
from typing import Any
from xml.sax.saxutils import escape

from infra.emulator import fixes

fixes.apply_all()

from moto.backends import SERVICE_NAMES  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402


def _backend_app(service: SERVICE_NAMES | None) -> Any:
    """moto's application for a service; for a service moto has no backend for (it logs
    "Unable to find appropriate backend", then failed with an AttributeError, a 500), a
    NotImplementedError like an unimplemented action's."""
    if service is None:
        raise NotImplementedError("The emulator (moto) has no backend for this service")
    return create_backend_app(service)


_moto = DomainDispatcherApplication(_backend_app)
_lock = threading.Lock()

KEEP = 256  # answered calls remembered for their retries
LARGEST = 1 << 20  # bytes; a larger answer (a big state file) is not kept


class Answer:
    """One WSGI response, captured so that it can be sent again."""

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status, self.headers = status, list(headers)
        return lambda data: None


_answered: collections.OrderedDict[str, tuple[Answer, list[bytes]]] = collections.OrderedDict()


def _attempt(environ: dict[str, Any]) -> int:
    for part in environ.get("HTTP_AMZ_SDK_REQUEST", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == "attempt" and value.isdigit():
            return int(value)
    return 1


def app(environ: dict[str, Any], start_response: Any) -> Any:
    call = environ.get("HTTP_AMZ_SDK_INVOCATION_ID", "")
    attempt = _attempt(environ)
    # moto's backends are plain dictionaries, not safe for concurrent requests; several
    # Terraform processes at once must not interleave inside them.
    with _lock:
        if call and attempt > 1:
            kept = _answered.get(call)
            print(f"retry: call {call} attempt {attempt}: {'answered again' if kept else 'runs'}", file=sys.stderr)
            if kept is not None:
                answer, body = kept
                start_response(answer.status, answer.headers)
                return body
        answer = Answer()
        try:
            body = list(_moto(environ, answer.start_response))
        except NotImplementedError as exc:
            answer, body = _not_implemented(environ, str(exc))
        if call and answer.status.startswith("2") and sum(map(len, body)) <= LARGEST:
            _answered[call] = (answer, body)
            while len(_answered) > KEEP:
                _answered.popitem(last=False)
    start_response(answer.status, answer.headers)
    return body


def _not_implemented(environ: dict[str, Any], message: str) -> tuple[Answer, list[bytes]]:
    """A 501 with an error body in the request's protocol (JSON when it names an
    X-Amz-Target, XML otherwise): code `NotImplemented`, and moto's message naming the action."""
    print(f"not implemented (501): {message}", file=sys.stderr)
    if "HTTP_X_AMZ_TARGET" in environ:
        body = json.dumps({"__type": "NotImplemented", "message": message}).encode()
        kind = "application/x-amz-json-1.1"
    else:
        error = f"<Error><Code>NotImplemented</Code><Message>{escape(message)}</Message></Error>"
        body = f"<ErrorResponse>{error}</ErrorResponse>".encode()
        kind = "text/xml"
    answer = Answer()
    answer.start_response("501 Not Implemented", [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return answer, [body]
