"""ElastiCache Redis data plane: a Redis-protocol server per replication group.

Where: each group gets a loopback address of its own, `127.a.b.c` from a hash of its id
(never 127.0.0.x; the next hash if that address's port is taken, e.g. by another
emulator), on the group's port (6379). The group's primary and reader endpoints and its
members' endpoints report that address, so clients and probes connect as on AWS. One
server answers for the whole group (replicas are not modelled: no replication, no
failover).

What answers: fakeredis's `FakeServer` (commands and data, in memory), driven per
connection through fakeredis's `FakeRedisConnection`; this module only reads the Redis
protocol off the socket, decides who may talk, and writes the answers back (RESP2).

Enforced, read from the group at each new connection (and each `AUTH`), so that
ModifyReplicationGroup applies at once (it also drops the open connections, as AWS's
node restarts do):
- transit encryption: `required` -> TLS only (a connection that does not start a TLS
  handshake is closed without an answer); `preferred` -> TLS and plaintext; off ->
  plaintext only (a TLS handshake is closed). The certificate is issued for the endpoint's
  address by the emulator's CA (the certificate in AWS_CA_BUNDLE), TLS 1.2 or newer.
- authentication, with a user group (RBAC): a connection starts as the group's `default`
  user when that user is on and needs no password, and otherwise must `AUTH` first
  (`-NOAUTH`). `AUTH <user> <token>` (or `HELLO 2 AUTH ...`) succeeds for a user of the
  group that is on and whose authentication is met: IAM -> the token is an ElastiCache IAM
  auth token (a SigV4-presigned `connect` request) for this group and this user's id,
  signed with an access key the emulator knows (its client credentials, IAM users' keys,
  STS sessions), signature verified, not expired (at most 15 minutes), region and service
  right; password -> one of the user's passwords; no-password -> any. Anything else is
  `-WRONGPASS` and the connection stays unauthenticated.
- authentication, without a user group: the group's auth token, when it has one
  (`AUTH <token>` or `AUTH default <token>`, constant-time comparison), else none.
- the user's access string, read at each command: `on`/`off`, and its command rules
  (`+@all -@dangerous`, `+get`, in order, the last matching one deciding; categories as
  fakeredis's `ACL CAT` lists them).

Not enforced: the IAM policy (`elasticache:Connect` on the group and the user; any key
the emulator knows signs in), the 12-hour limit of IAM-authenticated connections, subnets,
security groups for anything but the tasks the emulator runs (planes/network.py resets a
task's connection its groups' rules do not admit; the rest of this machine connects), the
access string's key and
channel patterns (`~*`, `&*`: every key and channel is allowed), RESP3 (`HELLO 3` is answered
NOPROTO), pub/sub pushes outside a command's own answers, cluster mode.

Each server is a daemon thread (and one daemon thread per connection); deleting the group
stops it and closes its connections, and so does the end of the emulator's process.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hmac
import socket
import socketserver
import ssl
import sys
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any, BinaryIO

from infra.emulator.planes import Planes, bind, ca, enabled, loopback, network, resource_key, server_context

HANDSHAKE_TIMEOUT = 10.0  # seconds for a new connection's first byte and TLS handshake
IDLE_TIMEOUT = 300.0  # seconds a connection may stay silent
MAX_ARGS = 1 << 20
MAX_BULK = 64 << 20  # bytes in one argument
TOKEN_LIFETIME = 900  # seconds: ElastiCache IAM auth tokens are valid for 15 minutes
CLOCK_SKEW = 300  # seconds a token's date may be ahead of ours

NOAUTH = b"-NOAUTH Authentication required.\r\n"
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"


def address(group_id: str, attempt: int = 0) -> str:
    """The group's loopback address: the same for the same id (and attempt)."""
    return loopback(group_id, attempt)


# --- settings read from the control plane -----------------------------------------------------


def transit_mode(group: Any) -> str | None:
    """'required', 'preferred', or None (plaintext only), as AWS reports them."""
    if not group.transit_encryption_enabled:
        return None
    return "preferred" if group.transit_encryption_mode == "preferred" else "required"


def _group_users(backend: Any, group: Any) -> list[Any]:
    user_groups = getattr(backend, "user_groups", {})
    ids = [u for g in group.user_group_ids for u in user_groups.get(g, {}).get("UserIds", [])]
    return [backend.users[i] for i in ids if i in backend.users]


def _auth_tokens(group: Any) -> list[str]:
    """The group's auth tokens (two while one is rotated), kept by our ElastiCache fix."""
    return list(getattr(group, "auth_tokens", []))


def _is_on(user: Any) -> bool:
    return "on" in user.access_string.split() and user.status == "active"


def _authentication(user: Any) -> str:
    """'no-password', 'iam' or 'password' (moto keeps the first in two ways)."""
    if user.no_password_required or user.authentication_type == "no-password-required":
        return "no-password"
    return "iam" if user.authentication_type == "iam" else "password"


# --- IAM auth tokens ---------------------------------------------------------------------------


def _known_secret(account_id: str, access_key_id: str) -> str | None:
    """The secret of an access key this emulator knows: its clients' own, an IAM user's, an
    STS session's."""
    from infra.emulator.launcher import ACCESS_KEY_ID, SECRET_ACCESS_KEY

    if access_key_id == ACCESS_KEY_ID:
        return SECRET_ACCESS_KEY
    with contextlib.suppress(Exception):  # moto's internals: a missing backend knows no key
        from moto.iam.models import iam_backends

        for user in iam_backends[account_id]["global"].users.values():
            for key in user.access_keys:
                if key.access_key_id == access_key_id:
                    return str(key.secret_access_key)
    with contextlib.suppress(Exception):
        from moto.sts.models import sts_backends

        for role in sts_backends[account_id]["global"].assumed_roles:
            if role.access_key_id == access_key_id:
                return str(role.secret_access_key)
    return None


def verify_iam_token(
    token: str,
    *,
    group_id: str,
    user_id: str,
    region: str,
    secret: Callable[[str], str | None],
    now: datetime.datetime | None = None,
) -> str | None:
    """Why this ElastiCache IAM auth token is refused, or None when it is good.

    The token is a SigV4-presigned GET of `<group id>/?Action=connect&User=<user id>` for
    the service `elasticache`, without its scheme (as the AWS SDKs and docs make it).
    """
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    parts = urllib.parse.urlsplit(f"https://{token}")
    fields = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    param = {k: v[0] for k, v in fields.items() if len(v) == 1}
    if (parts.hostname or "") != group_id.lower() or parts.path != "/":
        return f"the token is for {parts.hostname!r}, not this group"
    if param.get("Action") != "connect" or param.get("User") != user_id:
        return "the token is not a connect request for this user"
    if param.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or param.get("X-Amz-SignedHeaders") != "host":
        return "the token is not SigV4-presigned"
    scope = param.get("X-Amz-Credential", "").split("/")
    if len(scope) != 5 or scope[2:] != [region, "elasticache", "aws4_request"]:
        return "the token's credential scope is not elasticache in this region"
    stamp = param.get("X-Amz-Date", "")
    try:
        signed_at = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        expires = int(param.get("X-Amz-Expires", ""))
    except ValueError:
        return "the token's date or expiry is malformed"
    now = now or datetime.datetime.now(datetime.UTC)
    if scope[1] != stamp[:8] or not 0 < expires <= TOKEN_LIFETIME:
        return "the token's validity is not that of an auth token"
    if now > signed_at + datetime.timedelta(seconds=expires):
        return "the token has expired"
    if signed_at > now + datetime.timedelta(seconds=CLOCK_SKEW):
        return "the token is dated in the future"
    key = secret(scope[0])
    if key is None:
        return "the token is signed with an unknown access key"
    unsigned = "&".join(p for p in parts.query.split("&") if not p.startswith("X-Amz-Signature="))
    request = AWSRequest(method="GET", url=f"https://{parts.netloc}/?{unsigned}")
    request.context["timestamp"] = stamp
    signer = SigV4QueryAuth(Credentials(scope[0], key), "elasticache", region, expires=expires)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, param.get("X-Amz-Signature", "")):
        return "the token's signature does not match"
    return None


# --- the Redis protocol -----------------------------------------------------------------------


class ProtocolError(Exception):
    pass


def read_command(rfile: BinaryIO) -> list[bytes] | None:
    """One command (an array of bulk strings, or an inline command); None at the end."""
    line = rfile.readline(MAX_BULK)
    if not line:
        return None
    if not line.startswith(b"*"):
        return line.split()
    try:
        count = int(line[1:])
    except ValueError:
        raise ProtocolError("invalid multibulk length") from None
    if not 0 <= count <= MAX_ARGS:
        raise ProtocolError("invalid multibulk length")
    args = []
    for _ in range(count):
        head = rfile.readline(64)
        if not head.startswith(b"$"):
            raise ProtocolError(f"expected '$', got '{head[:1].decode(errors='replace')}'")
        try:
            size = int(head[1:])
        except ValueError:
            raise ProtocolError("invalid bulk length") from None
        if not 0 <= size <= MAX_BULK:
            raise ProtocolError("invalid bulk length")
        data = rfile.read(size + 2)
        if len(data) != size + 2:
            return None
        args.append(data[:-2])
    return args


def _error_prefix(exc: Exception) -> str:
    from redis.connection import DefaultParser

    for prefix, kind in DefaultParser.EXCEPTION_CLASSES.items():
        if isinstance(kind, type) and type(exc) is kind:
            return prefix
    return "ERR"


def encode(value: Any, *, top: bool = True) -> bytes:
    """A reply as RESP2 (fakeredis hands replies over as Python values)."""
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, Exception):
        message = str(value)
        first = message.split(" ", 1)[0]
        if not (first.isupper() and first.isalpha() and len(first) > 2):
            message = f"{_error_prefix(value)} {message}"
        return b"-" + message.replace("\r", " ").replace("\n", " ").encode() + b"\r\n"
    if isinstance(value, bool):
        return b":1\r\n" if value else b":0\r\n"
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, float):
        value = repr(value).encode()
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        if top and value in (b"OK", b"PONG", b"QUEUED"):
            return b"+" + value + b"\r\n"
        return b"$%d\r\n%s\r\n" % (len(value), value)
    if isinstance(value, dict):
        value = [item for pair in value.items() for item in pair]
    if isinstance(value, list | tuple | set | frozenset):
        return b"*%d\r\n" % len(value) + b"".join(encode(item, top=False) for item in value)
    raise TypeError(f"cannot encode a reply of type {type(value).__name__}")


# --- one replication group's server ------------------------------------------------------------


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    plane: RedisPlane


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.plane.serve(self.request)


class RedisPlane:
    """The Redis server of one replication group (see the module docstring)."""

    def __init__(self, backend: Any, group: Any, ca: tuple[bytes, bytes]) -> None:
        import fakeredis

        self.backend, self.group = backend, group
        self.port = int(group.port or 6379)
        self.fake = fakeredis.FakeServer(version=_version(group.engine_version))
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self.server = bind(self._server, group.replication_group_id, self.port)
        self.address = str(self.server.server_address[0])
        try:
            self.tls = server_context(f"master.{group.replication_group_id}", self.address, authority=ca)
        except BaseException:
            self.server.server_close()  # no listening socket without its server
            raise
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"redis-{group.replication_group_id}",
            daemon=True,
        )
        self.thread.start()

    def _server(self, where: tuple[str, int]) -> _Server:
        server = _Server(where, _Handler)
        server.plane = self
        return server

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.drop_connections()

    def drop_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    # --- one connection ----------------------------------------------------------------------

    def serve(self, raw: socket.socket) -> None:
        peer = raw.getpeername()[0]
        groups = self.group.security_group_ids or []
        dropped = network.refusal(peer, self.backend.account_id, self.backend.region_name, groups, self.port)
        if dropped:
            print(
                f"redis {self.group.replication_group_id}: connection from {peer} dropped: {dropped}", file=sys.stderr
            )
            network.reset_on_close(raw)
            raw.close()  # before socketserver's shutdown(SHUT_WR), which would send a FIN
            return
        raw.settimeout(HANDSHAKE_TIMEOUT)
        try:
            first = raw.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        tls = first == b"\x16"  # a TLS record: the handshake
        mode = transit_mode(self.group)
        if not first or (tls and mode is None) or (not tls and mode == "required"):
            return  # closed without an answer (socketserver closes it)
        connection = raw
        if tls:
            try:
                connection = self.tls.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):
                return
        connection.settimeout(IDLE_TIMEOUT)
        with self._lock:
            self._connections.add(connection)
        try:
            _Session(self, connection).run()
        except (OSError, ProtocolError):
            pass
        finally:
            with self._lock:
                self._connections.discard(connection)
            with contextlib.suppress(OSError):
                connection.close()

    # --- who may talk ------------------------------------------------------------------------

    def access_string(self, name: str) -> str | None:
        """The user's access string now (None without a user group: everything allowed);
        a user switched off or removed since it signed in may run nothing."""
        if not self.group.user_group_ids:
            return None
        users = [u for u in _group_users(self.backend, self.group) if u.name == name]
        return str(users[0].access_string) if users and _is_on(users[0]) else ""

    def initial_user(self) -> str | None:
        """Who a new connection is before any AUTH: None when it must authenticate."""
        if self.group.user_group_ids:
            default = [u for u in _group_users(self.backend, self.group) if u.name == "default"]
            ok = default and _is_on(default[0]) and _authentication(default[0]) == "no-password"
            return "default" if ok else None
        return None if _auth_tokens(self.group) else "default"

    def authenticate(self, username: str | None, secret: str) -> str | None:
        """The user these credentials sign in, or None when they are refused."""
        if not self.group.user_group_ids:
            tokens = _auth_tokens(self.group)
            ok = username in (None, "default") and any(hmac.compare_digest(t.encode(), secret.encode()) for t in tokens)
            return "default" if ok else None
        name = username or "default"
        users = [u for u in _group_users(self.backend, self.group) if u.name == name]
        if not users or not _is_on(users[0]):
            return None
        user = users[0]
        kind = _authentication(user)
        if kind == "no-password":
            return name
        if kind == "iam":
            why = verify_iam_token(
                secret,
                group_id=self.group.replication_group_id,
                user_id=user.id,
                region=self.backend.region_name,
                secret=lambda key: _known_secret(self.backend.account_id, key),
            )
            if why:
                print(f"redis {self.group.replication_group_id}: AUTH {name} refused: {why}", file=sys.stderr)
            return None if why else name
        ok = any(hmac.compare_digest(p.encode(), secret.encode()) for p in user.passwords)
        return name if ok else None


@functools.cache
def _category(name: str) -> frozenset[str]:
    """The commands of an ACL category (`dangerous`), as fakeredis's `ACL CAT` lists them."""
    import fakeredis

    client = fakeredis.FakeStrictRedis(server=fakeredis.FakeServer())
    listed = client.execute_command("ACL", "CAT", name)  # type: ignore[no-untyped-call]
    return frozenset(c.decode().lower() for c in listed)


def command_allowed(access_string: str, command: list[bytes]) -> bool:
    """Whether an access string's command rules let this command run: the last rule that
    names the command (`+get`, `-config|set`) or a category holding it (`-@dangerous`) or
    all commands (`+@all`, `allcommands`) decides, as in Redis; none -> refused."""
    name = command[0].decode(errors="replace").lower()
    full = f"{name}|{command[1].decode(errors='replace').lower()}" if len(command) > 1 else name
    allowed = False
    for token in access_string.lower().split():
        sign, rule = token[:1], token[1:]
        if token in ("allcommands", "nocommands"):
            allowed = token == "allcommands"
        elif sign not in ("+", "-"):
            continue
        elif rule == "@all" or rule in (name, full) or (rule.startswith("@") and {name, full} & _category(rule[1:])):
            allowed = sign == "+"
    return allowed


def _version(engine_version: str | None) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in (engine_version or "7.1").split(".")[:2])
    except ValueError:
        return (7, 1)


class _Session:
    """One client connection: commands read, checked, run by fakeredis, answered."""

    def __init__(self, plane: RedisPlane, connection: socket.socket) -> None:
        import fakeredis

        self.plane, self.connection = plane, connection
        self.user = plane.initial_user()
        self.fake = fakeredis.FakeRedisConnection(server=plane.fake, protocol=2)

    def run(self) -> None:
        rfile = self.connection.makefile("rb")
        try:
            while (command := read_command(rfile)) is not None:
                if not command:
                    continue
                name = command[0].upper()
                self.connection.sendall(self.answer(name, command))
                if name == b"QUIT":
                    return
        except ProtocolError as exc:
            self.connection.sendall(f"-ERR Protocol error: {exc}\r\n".encode())
        finally:
            rfile.close()
            with contextlib.suppress(Exception):
                self.fake.disconnect()  # type: ignore[no-untyped-call]

    def answer(self, name: bytes, command: list[bytes]) -> bytes:
        if name == b"QUIT":
            return b"+OK\r\n"
        if name == b"AUTH":
            if len(command) not in (2, 3):
                return b"-ERR wrong number of arguments for 'auth' command\r\n"
            return self.auth(*(a.decode(errors="replace") for a in command[1:])) or b"+OK\r\n"
        if name == b"HELLO":
            return self.hello(command[1:])
        if self.user is None:
            return NOAUTH
        access = self.plane.access_string(self.user)
        if access is not None and not command_allowed(access, command):
            what = command[0].decode(errors="replace").lower()
            return f"-NOPERM User {self.user} has no permissions to run the '{what}' command\r\n".encode()
        return self.run_command(command)

    def auth(self, *credentials: str) -> bytes | None:
        """None when signed in, else the error to answer."""
        username, secret = (None, credentials[0]) if len(credentials) == 1 else credentials
        user = self.plane.authenticate(username, secret)
        if user is None:
            if not self.plane.group.user_group_ids and not _auth_tokens(self.plane.group):
                return b"-ERR AUTH <password> called without any password configured for the default user.\r\n"
            return WRONGPASS
        self.user = user
        return None

    def hello(self, args: list[bytes]) -> bytes:
        if args and args[0] != b"2":
            return b"-NOPROTO sorry, this protocol version is not supported.\r\n"
        rest = args[1:]
        if len(rest) >= 3 and rest[0].upper() == b"AUTH":
            refused = self.auth(rest[1].decode(errors="replace"), rest[2].decode(errors="replace"))
            if refused:
                return refused
            rest = rest[3:]
        if self.user is None:
            return NOAUTH
        return self.run_command([b"HELLO", b"2", *rest])

    def run_command(self, command: list[bytes]) -> bytes:
        import redis

        self.fake.send_command(*command)  # type: ignore[no-untyped-call]
        replies = []
        while True:
            try:
                replies.append(encode(self.fake.read_response()))
            except redis.RedisError as exc:
                replies.append(encode(exc))
            if not self.fake.can_read(0):
                return b"".join(replies)


# --- the planes of this process -----------------------------------------------------------------

_planes: Planes[RedisPlane] = Planes()


def _report(group: Any, host: str, port: int) -> None:
    """The group's (and its members') endpoints: the data plane's address."""
    for node_group in group.node_groups:
        node_group["primary_endpoint"] = {"address": host, "port": port}
        node_group["reader_endpoint"] = {"address": host, "port": port}
        node_group["primary_endpoint_address"] = node_group["reader_endpoint_address"] = host
        for member in node_group["node_group_members"]:
            member["read_endpoint"] = {"address": host, "port": port}


def created(backend: Any, group: Any) -> None:
    """A replication group was created (moto's are available at once): start its server."""
    if not enabled():
        return
    try:
        plane = RedisPlane(backend, group, ca())
    except OSError as exc:  # the API call still succeeds; the probes will say what is missing
        print(f"redis {group.replication_group_id}: no data plane: {exc}", file=sys.stderr)
        return
    _planes.put(resource_key(backend, group.replication_group_id), plane)
    _report(group, plane.address, plane.port)
    print(f"redis {group.replication_group_id}: serving on {plane.address}:{plane.port}", file=sys.stderr)


def changed(backend: Any, group: Any) -> None:
    """Transit encryption or authentication changed: open connections end (new ones meet
    the new settings, which are read per connection)."""
    plane = _planes.get(resource_key(backend, group.replication_group_id))
    if plane is not None:
        plane.drop_connections()


def deleted(backend: Any, group_id: str) -> None:
    _planes.stop(resource_key(backend, group_id))
