"""RDS MySQL data plane: a MySQL-protocol server per DB instance.

Where: each MySQL instance gets a loopback address of its own, `127.a.b.c` from a hash of
`rds/<identifier>` (the next hash if that address's port is taken), on the instance's
port (3306). DescribeDBInstances reports that address as `Endpoint.Address`, so clients
and probes connect as on AWS. The standby of a Multi-AZ instance is not modelled.

What answers: mysql-mimic's protocol (handshake, TLS upgrade, authentication exchange,
commands) and its session, which answers statements without tables (`SELECT 1`,
`SELECT @@version`, `SET ...`, `SHOW VARIABLES`) with sqlglot's executor; a statement on
a table is answered "not supported" (there is no storage). This module owns the socket
server, the credentials and the transport rule.

Enforced, read from the control plane at each login, so that changes apply at once:
- TLS: offered on every connection (the client upgrades with an SSL request), with a
  certificate for the endpoint's address issued by the emulator's CA (the certificate in
  AWS_CA_BUNDLE), TLS 1.2 or newer.
- credentials: the instance's master user and password; with ManageMasterUserPassword,
  the RDS-managed secret's AWSCURRENT `username` and `password` in the emulator's Secrets
  Manager (a rotation or PutSecretValue applies to the next login). Authentication is
  `caching_sha2_password` (MySQL 8.4's default): the client's scramble of the password
  against the server's nonce, checked with the password in hand (its fast path; the full
  exchange and the RSA key exchange are never needed). Anything else is refused with
  error 1045 and the connection closed.
- `require_secure_transport` from the instance's DB parameter group (1/ON or 0/OFF; OFF
  when the group does not set it, as RDS for MySQL 8.4 and lower): ON refuses a login
  that did not upgrade to TLS with error 3159, after the password was checked (as MySQL's
  acl_authenticate does), and closes the connection.

Security groups: a connection from a task the emulator runs (its own loopback address) is
reset unless the groups' rules admit it (planes/network.py); anything else on this machine
(Terraform, the runner's probes) is outside the model and connects. Not enforced: subnets, IAM
database authentication (no `mysql_clear_password` with IAM tokens), `mysql_native_password`
(a client that asks for it is switched to caching_sha2_password), accounts other than the
master user, grants, storage, replication and failover.

Each instance's server is an asyncio loop in a daemon thread of its own; deleting the
instance stops it and ends its connections, and so does the end of the emulator's process.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import hmac
import json
import ssl
import sys
import threading
from collections.abc import AsyncGenerator
from typing import Any

from infra.emulator.planes import ADDRESS_TRIES, Planes, ca, enabled, loopback, network, resource_key, server_context

START_TIMEOUT = 10.0  # seconds to bind the server
HANDSHAKE_TIMEOUT = 10.0  # seconds for a client's TLS handshake
STOP_TIMEOUT = 5.0  # seconds to end the connections and the loop's thread
MYSQL_PORT = 3306
SECURE_TRANSPORT_REQUIRED = 3159  # ER_SECURE_TRANSPORT_REQUIRED, SQLSTATE HY000
INSECURE = "Connections using insecure transport are prohibited while --require_secure_transport=ON."
PLUGIN = "caching_sha2_password"


def address(identifier: str, attempt: int = 0) -> str:
    """The instance's loopback address: the same for the same identifier (and attempt)."""
    return loopback(f"rds/{identifier}", attempt)


# --- settings read from the control plane -----------------------------------------------------


def credentials(database: Any) -> tuple[str, str] | None:
    """The master user's (username, password) now: the managed secret's current value, or
    the password the instance was created with; None when there is none to check."""
    secret = getattr(database, "master_user_secret", None)
    if getattr(database, "manage_master_user_password", False) and secret is not None:
        try:
            value = database.backend.secretsmanager.get_secret_value(secret.secret_arn, None, None)
            fields = json.loads(value.get("SecretString") or "{}")
        except Exception:  # noqa: BLE001  (moto's internals: a secret gone or malformed refuses every login)
            return None
        if not isinstance(fields, dict) or not fields.get("username") or not fields.get("password"):
            return None
        return str(fields["username"]), str(fields["password"])
    if database.master_username and getattr(database, "master_user_password", None):
        return str(database.master_username), str(database.master_user_password)
    return None


def require_secure_transport(database: Any) -> bool:
    """The parameter as the instance's DB parameter group sets it (OFF when it does not)."""
    groups = getattr(database.backend, "db_parameter_groups", {})
    group = groups.get((database.db_parameter_group_name or "").lower())
    parameter = group.parameters.get("require_secure_transport", {}) if group is not None else {}
    value = str(parameter.get("ParameterValue", "0")).strip().upper()
    return value in ("1", "ON", "TRUE")


def scramble(password: bytes, nonce: bytes) -> bytes:
    """caching_sha2_password's client answer: SHA256(p) XOR SHA256(SHA256(SHA256(p)) + nonce)."""
    first = hashlib.sha256(password).digest()
    second = hashlib.sha256(hashlib.sha256(first).digest() + nonce).digest()
    return bytes(a ^ b for a, b in zip(first, second, strict=True))


# --- the protocol, by mysql-mimic ------------------------------------------------------------------


class _Refused(BaseException):
    """A login refused and answered: the connection ends. A BaseException, because
    mysql-mimic answers any Exception in the connection phase with a second error packet."""


class _InsecureTransport(Exception):
    pass


def _classes() -> dict[str, type]:
    """mysql-mimic's classes, subclassed on first use (importing it and sqlglot takes about a second)."""
    from mysql_mimic import Session
    from mysql_mimic.auth import AuthInfo, AuthPlugin, Forbidden, IdentityProvider, Success, User
    from mysql_mimic.connection import Connection
    from mysql_mimic.errors import ErrorCode, MysqlError
    from mysql_mimic.utils import nonce
    from mysql_mimic.variables import SYSTEM_VARIABLES, GlobalVariables, SessionVariables

    class CachingSha2(AuthPlugin):  # type: ignore[misc]  # mysql-mimic is not analysed (no stubs here)
        """caching_sha2_password's fast path, with the password read at this login."""

        name = PLUGIN
        client_plugin_name = PLUGIN

        def __init__(self, plane: MysqlPlane, secure: Any) -> None:
            self.plane, self.secure = plane, secure

        async def auth(self, auth_info: AuthInfo | None = None) -> AsyncGenerator[Any, AuthInfo]:
            if auth_info and auth_info.handshake_plugin_name == PLUGIN and auth_info.handshake_auth_data:
                challenge = auth_info.handshake_auth_data.rstrip(b"\x00")
            else:
                challenge = nonce(20)
                auth_info = yield challenge + b"\x00"
            assert auth_info is not None
            login = credentials(self.plane.database)
            answer = auth_info.data
            if login is None or auth_info.username != login[0] or not answer:
                yield Forbidden(_denied(auth_info.username, bool(answer)))
                return
            if not hmac.compare_digest(answer, scramble(login[1].encode(), challenge)):
                yield Forbidden(_denied(auth_info.username, True))
                return
            if not self.secure() and require_secure_transport(self.plane.database):
                raise _InsecureTransport
            yield Success(auth_info.username)

    class Identity(IdentityProvider):  # type: ignore[misc]
        """Every user name goes through the plugin, which knows the master user: an unknown
        user is refused as a wrong password is (1045), as MySQL does."""

        def __init__(self, plugin: CachingSha2) -> None:
            self.plugin = plugin

        def get_plugins(self) -> list[AuthPlugin]:
            return [self.plugin]

        async def get_user(self, username: str) -> User:
            return User(name=username, auth_plugin=PLUGIN)

    class MimicConnection(Connection):  # type: ignore[misc]
        async def authenticate(self, *args: Any, **kwargs: Any) -> None:
            try:
                await super().authenticate(*args, **kwargs)
            except _InsecureTransport:
                await self.stream.write(self.error(msg=INSECURE, code=SECURE_TRANSPORT_REQUIRED))
                raise _Refused from None
            if self.session.username is None:
                raise _Refused  # 1045 was answered; MySQL closes the connection

    class MimicSession(Session):  # type: ignore[misc]
        def __init__(self, plane: MysqlPlane) -> None:
            schema = {
                **SYSTEM_VARIABLES,
                "version": (str, plane.database.engine_version or "8.4", False),
                "version_comment": (str, "Source distribution (emulator)", False),
                "require_secure_transport": (bool, require_secure_transport(plane.database), False),
            }
            super().__init__(SessionVariables(GlobalVariables(schema)))

        async def query(self, expression: Any, sql: str, attrs: dict[str, str]) -> Any:
            raise MysqlError(
                f"the emulator's MySQL has no tables: only statements without them are answered ({sql[:80]!r})",
                code=ErrorCode.NOT_SUPPORTED_YET,
            )

    return {"plugin": CachingSha2, "identity": Identity, "connection": MimicConnection, "session": MimicSession}


class _Stream:
    """mysql-mimic's packet stream, with a TLS upgrade that keeps what the client sent
    right after its SSL request. A client sends its TLS ClientHello at once, so it often
    arrives in the same read as the request, and sits in the stream reader's buffer:
    asyncio's `loop.start_tls` (which mysql-mimic 3.0.5 calls) never sees it, and the
    handshake stalls until the client gives up. Here those bytes are handed to the TLS
    protocol first (asyncio's own SSLProtocol, as start_tls makes it)."""

    def __init__(self, stream: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._stream, self._reader, self._writer = stream, reader, writer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    async def start_tls(self, context: ssl.SSLContext) -> None:
        from asyncio import sslproto

        loop = asyncio.get_running_loop()
        transport = self._writer.transport
        buffered = bytes(self._reader._buffer)  # type: ignore[attr-defined]
        self._reader._buffer.clear()  # type: ignore[attr-defined]
        handshake = loop.create_future()
        protocol = sslproto.SSLProtocol(
            loop, transport.get_protocol(), context, handshake, server_side=True, call_connection_made=False
        )
        transport.pause_reading()  # type: ignore[attr-defined]
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if buffered:
            view = protocol.get_buffer(len(buffered))
            view[: len(buffered)] = buffered
            protocol.buffer_updated(len(buffered))
        transport.resume_reading()  # type: ignore[attr-defined]
        await asyncio.wait_for(handshake, HANDSHAKE_TIMEOUT)
        upgraded = protocol._app_transport
        self._writer._transport = upgraded  # type: ignore[attr-defined]  # as mysql-mimic's start_tls does
        self._reader._transport = upgraded  # type: ignore[attr-defined]


def _denied(username: str, with_password: bool) -> str:
    return f"Access denied for user '{username}'@'%' (using password: {'YES' if with_password else 'NO'})"


# --- one instance's server ---------------------------------------------------------------------


class MysqlPlane:
    """The MySQL server of one DB instance (see the module docstring)."""

    def __init__(self, database: Any, authority: tuple[bytes, bytes]) -> None:
        from mysql_mimic.control import LocalControl

        self.database = database
        self.identifier = str(database.db_instance_identifier)
        self.port = int(database.port or MYSQL_PORT)
        self.classes = _classes()
        self.control = LocalControl()
        self._tasks: set[asyncio.Task[None]] = set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"mysql-{self.identifier}", daemon=True)
        self.thread.start()
        try:
            self.server = self._call(self._bind(), START_TIMEOUT)
            self.address = str(self.server.sockets[0].getsockname()[0])
            self.tls = server_context(self.identifier, self.address, authority=authority)
            self._call(self.server.start_serving(), START_TIMEOUT)
        except BaseException:
            self.stop()  # no thread or listening socket without its server
            raise

    def _call(self, coroutine: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _bind(self) -> asyncio.Server:
        for attempt in range(ADDRESS_TRIES):
            try:
                return await asyncio.start_server(
                    self._serve, address(self.identifier, attempt), self.port, start_serving=False
                )
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
        raise OSError(errno.EADDRINUSE, f"no free loopback address for {self.identifier} after {ADDRESS_TRIES} tries")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from mysql_mimic.stream import MysqlStream

        peer = writer.get_extra_info("peername")[0]
        backend = self.database.backend
        groups = self.database.vpc_security_group_ids or []
        dropped = network.refusal(peer, backend.account_id, backend.region_name, groups, self.port)
        if dropped:
            print(f"mysql {self.identifier}: connection from {peer} dropped: {dropped}", file=sys.stderr)
            network.reset_on_close(writer.get_extra_info("socket"))
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        classes = self.classes
        plugin = classes["plugin"](self, lambda: writer.get_extra_info("ssl_object") is not None)
        connection = classes["connection"](
            stream=_Stream(MysqlStream(reader, writer), reader, writer),
            session=classes["session"](self),
            control=self.control,
            identity_provider=classes["identity"](plugin),
            ssl=self.tls,
        )
        connection.connection_id = await self.control.add(connection)
        try:
            await connection.start()
        except (_Refused, asyncio.CancelledError):
            pass  # answered already, or the server stops
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # the client went away or its TLS handshake failed
        except Exception as exc:  # noqa: BLE001  (a client that went away mid-handshake, a malformed packet)
            if type(exc).__name__ != "ConnectionClosed":
                print(f"mysql {self.identifier}: connection ended: {exc!r}", file=sys.stderr)
        finally:
            self._tasks.discard(task)
            writer.close()
            await self.control.remove(connection.connection_id)

    def stop(self) -> None:
        async def close() -> None:
            server = getattr(self, "server", None)
            if server is not None:
                server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        if self.loop.is_running():
            with contextlib.suppress(Exception):
                self._call(close(), STOP_TIMEOUT)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(STOP_TIMEOUT)
        if not self.thread.is_alive():
            self.loop.close()


# --- the planes of this process -----------------------------------------------------------------

_planes: Planes[MysqlPlane] = Planes()  # by the instance's identifier, lower case (as RDS keeps it)


def created(backend: Any, database: Any) -> None:
    """A DB instance was created (moto's are available at once): a MySQL one gets its server,
    and its endpoint reports the server's address."""
    if not enabled() or (database.engine or "").lower() != "mysql":
        return
    try:
        plane = MysqlPlane(database, ca())
    except (OSError, TimeoutError) as exc:  # the API call still succeeds; the probes will say what is missing
        print(f"mysql {database.db_instance_identifier}: no data plane: {exc}", file=sys.stderr)
        return
    _planes.put(resource_key(backend, plane.identifier.lower()), plane)
    database.data_plane_address = plane.address
    print(f"mysql {plane.identifier}: serving on {plane.address}:{plane.port}", file=sys.stderr)


def deleted(backend: Any, identifier: str) -> None:
    _planes.stop(resource_key(backend, identifier.lower()))
