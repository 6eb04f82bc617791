"""Application load balancer data plane: an HTTPS endpoint per ALB that asks its web ACL
before answering.

Where: each application load balancer gets a loopback address of its own, `127.a.b.c`
from a hash of its name (the next hash when port 443 is taken there), chosen and held (port
443 bound) when the ALB is created, so that another emulator's ALB of the same name cannot
take it before the HTTPS listener serves it. The ALB's `DNSName` reports that address, so
that a probe connects to the DNS name as it would on AWS, with no resolver to set up (an
IP literal resolves as itself). An HTTPS listener makes it listen on the listener's port (443; the emulator runs
as root, and says so in its log when it may not bind); deleting the listener or the ALB
stops it, and so does the end of the emulator's process. Other listener protocols (HTTP)
get no endpoint.

TLS: the listener's ACM certificate is served when its private key is in ACM (imported,
as the seeds do) and it was issued by the emulator's CA, so clients trusting
AWS_CA_BUNDLE verify it, as on AWS for `*.<domain>` (the seeds issue theirs so). Otherwise
(a certificate ACM "issued" here, whose key it keeps but which no client trusts) the plane
issues one from the emulator's CA for the same names plus the ALB's name and address.
The certificate is read when the listener is created or modified. The listener's TLS
policy sets the oldest protocol version: TLS 1.3 for `...TLS13-1-3...` policies, else
TLS 1.2 (every policy our rules allow); cipher suites are Python's defaults.

Each request is read (method, target, headers, the body up to 1 MB), and the web ACL
associated with the ALB at that moment (WAFV2 AssociateWebACL) is evaluated on it
(infra/emulator/planes/waf.py says what is evaluated); a block is answered 403 with the
page AWS's ALB sends; without an associated web ACL everything is allowed. An allowed
request gets the listener's default action: a fixed response as configured, a redirect
(301/302 to the configured place), or, for forward, 503 (no targets run here). Listener
rules (host and path conditions) are not evaluated; nor are security groups (anything on
this machine can connect), HTTP/2 (HTTP/1.1 only), access logs and WAF logs.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import socketserver
import ssl
import sys
import threading
from typing import Any

from infra.emulator.planes import Planes, bind, ca, enabled, server_context
from infra.emulator.planes.waf import RateCounter, Request, Verdict, evaluate

HTTPS_PORT = 443
HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0  # the ALB's default idle timeout
MAX_BODY = 1 << 20
FORBIDDEN = (
    b"<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n"
    b"<center><h1>403 Forbidden</h1></center>\r\n</body>\r\n</html>\r\n"
)


def _minimum(policy: str | None) -> ssl.TLSVersion:
    return ssl.TLSVersion.TLSv1_3 if "TLS13-1-3" in (policy or "") else ssl.TLSVersion.TLSv1_2


# --- one listener's server ---------------------------------------------------------------------


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    plane: AlbPlane
    tls: ssl.SSLContext

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a failed handshake or a dropped connection is the client's business


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "awselb/2.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    def setup(self) -> None:
        # The head and the body go out in separate writes: without TCP_NODELAY each answer
        # on a kept-alive connection waits for the client's delayed ACK (40 ms).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request.settimeout(HANDSHAKE_TIMEOUT)
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def answer(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        if not 0 <= size <= MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(size) if size else b""
        request = Request(
            method=self.command,
            target=self.path,
            headers=tuple(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        verdict = self.server.plane.verdict(request)
        if verdict.blocked:
            self.respond(verdict.status, "text/html", FORBIDDEN, {})
            return
        self.respond(*self.server.plane.default_answer(self.server.server_address[1]))

    def respond(self, status: int, content_type: str, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_PROPFIND = answer


# --- one load balancer --------------------------------------------------------------------------


class AlbPlane:
    """The HTTPS endpoints of one application load balancer (see the module docstring)."""

    def __init__(self, backend: Any, lb: Any) -> None:
        self.backend, self.lb = backend, lb
        self.name = str(lb.dns_name)  # the DNS name AWS would give it (moto's)
        # Bound (and listening) from now on: another emulator's ALB of the same name must not
        # take the address before this one's HTTPS listener serves it (its probes would then
        # reach the other emulator). The listener on 443 serves on this very socket.
        self._reserved: _Server | None = bind(lambda where: _Server(where, _Handler), lb.name, HTTPS_PORT)
        self.address = str(self._reserved.server_address[0])
        self.rates = RateCounter()
        self._servers: dict[str, _Server] = {}  # by listener ARN
        self._lock = threading.Lock()

    # --- listeners -------------------------------------------------------------------------

    def listen(self, listener: Any) -> None:
        """Serve an HTTPS listener (again, with its current certificate and policy)."""
        self.close(listener.arn)
        tls = self._context(listener)
        with self._lock:
            reserved = self._reserved if int(listener.port) == HTTPS_PORT else None
            if reserved is not None:
                self._reserved = None
        server = reserved or _Server((self.address, int(listener.port)), _Handler)
        server.plane, server.tls = self, tls
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"alb-{self.lb.name}", daemon=True
        ).start()
        with self._lock:
            self._servers[listener.arn] = server

    def close(self, listener_arn: str) -> None:
        with self._lock:
            server = self._servers.pop(listener_arn, None)
        if server is not None:
            server.shutdown()
            server.server_close()

    def stop(self) -> None:
        with self._lock:
            arns = list(self._servers)
            reserved, self._reserved = self._reserved, None
        for arn in arns:
            self.close(arn)
        if reserved is not None:
            reserved.server_close()

    def _context(self, listener: Any) -> ssl.SSLContext:
        minimum = _minimum(listener.ssl_policy)
        authority = ca()
        names: list[str] = []
        for arn in listener.certificates or []:
            bundle = self._certificate(arn)
            if bundle is None:
                continue
            cert, key, names_of = bundle
            if _issued_by(cert, authority[0]) and key:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.minimum_version = minimum
                _load(context, cert, key)
                return context
            names += names_of
        return server_context(self.name, self.address, also=names, minimum=minimum, authority=authority)

    def _certificate(self, arn: str) -> tuple[bytes, bytes | None, list[str]] | None:
        """The ACM certificate's PEM, its key's PEM and its names, when ACM has it."""
        from cryptography import x509
        from moto.acm.models import acm_backends

        with contextlib.suppress(Exception):  # not in ACM (an IAM server certificate): none
            bundle = acm_backends[self.backend.account_id][self.backend.region_name].get_certificate(arn)
            cert = bundle.cert if isinstance(bundle.cert, bytes) else str(bundle.cert).encode()
            key = bundle.key if isinstance(bundle.key, bytes | None) else str(bundle.key).encode()
            parsed = x509.load_pem_x509_certificate(cert)
            try:
                alt = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                names = [str(n) for n in alt.get_values_for_type(x509.DNSName)]
            except x509.ExtensionNotFound:
                names = []
            return cert, key, names
        return None

    # --- requests --------------------------------------------------------------------------

    def verdict(self, request: Request) -> Verdict:
        """What the ALB's web ACL, as it is now, decides."""
        acl = _web_acl(self.backend, self.lb.arn)
        if acl is None:
            return Verdict("ALLOW", None, 200)
        rules = [rule.to_dict() for rule in list(acl.rules)]
        return evaluate(rules, acl.default_action, request, self.rates, scope=acl.arn)

    def default_answer(self, port: int) -> tuple[int, str, bytes, dict[str, str]]:
        listener = next((x for x in list(self.lb.listeners.values()) if int(x.port) == port), None)
        actions = list(listener.default_actions) if listener is not None else []
        action = actions[-1].data if actions else {}
        kind = action.get("Type", "")
        if kind == "fixed-response":
            config = action.get("FixedResponseConfig") or {}
            body = str(config.get("MessageBody") or "").encode()
            return int(config.get("StatusCode", 200)), str(config.get("ContentType") or "text/plain"), body, {}
        if kind == "redirect":
            config = action.get("RedirectConfig") or {}
            where = f"{str(config.get('Protocol', 'HTTPS')).lower()}://{config.get('Host', '#{host}')}"
            where += f":{config.get('Port', port)}{config.get('Path', '/')}"
            status = 301 if config.get("StatusCode") == "HTTP_301" else 302
            return status, "text/html", b"", {"Location": where}
        return 503, "text/html", b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>", {}


def _issued_by(cert_pem: bytes, ca_pem: bytes) -> bool:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    cert, authority = x509.load_pem_x509_certificate(cert_pem), x509.load_pem_x509_certificate(ca_pem)
    try:
        cert.verify_directly_issued_by(authority)
    except (ValueError, TypeError, InvalidSignature):  # not signed by it, or another key type
        return False
    return True


def _load(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "cert.pem").write_bytes(cert)
        (Path(folder) / "key.pem").write_bytes(key)
        context.load_cert_chain(Path(folder) / "cert.pem", Path(folder) / "key.pem")


def _web_acl(backend: Any, resource_arn: str) -> Any:
    from moto.wafv2.models import wafv2_backends

    wafv2 = wafv2_backends[backend.account_id][backend.region_name]
    for acl in list(wafv2.wacls.values()):
        if resource_arn in acl.associated_resources:
            return acl
    return None


# --- the planes of this process -----------------------------------------------------------------

_planes: Planes[AlbPlane] = Planes()  # by load balancer ARN


def created(backend: Any, lb: Any) -> None:
    """An application load balancer was created: its address becomes its DNS name."""
    if not enabled() or lb.type != "application":
        return
    try:
        plane = AlbPlane(backend, lb)
    except OSError as exc:  # the API call still succeeds; the probes will say what is missing
        print(f"alb {lb.name}: no data plane: {exc}", file=sys.stderr)
        return
    _planes.put(lb.arn, plane)
    lb.dns_name = plane.address
    print(f"alb {lb.name}: DNS name {plane.address} ({plane.name})", file=sys.stderr)


def listener_changed(listener: Any) -> None:
    """An HTTPS listener was created or modified: serve it (again); any other protocol is
    not served (a listener changed from HTTPS stops)."""
    plane = _planes.get(listener.load_balancer_arn)
    if plane is None:
        return
    if listener.protocol != "HTTPS":
        plane.close(listener.arn)
        return
    try:
        plane.listen(listener)
    except OSError as exc:
        print(f"alb {plane.lb.name}: no HTTPS endpoint on port {listener.port}: {exc}", file=sys.stderr)
        return
    print(f"alb {plane.lb.name}: serving HTTPS on {plane.address}:{listener.port}", file=sys.stderr)


def listener_deleted(listener: Any) -> None:
    plane = _planes.get(listener.load_balancer_arn)
    if plane is not None:
        plane.close(listener.arn)


def deleted(arn: str) -> None:
    _planes.stop(arn)
