"""The in-VPC probe: what `infra probe` runs as a one-off ECS task in the LMS's place.

Shipped as the command of a public Python image (`python -c <this file>`), in the private
subnets, with a security group, the LMS's task role, its secrets and its EFS access
point. It prints one JSON line per check, `{"check": ..., "ok": ..., "found": ..., "reached": ...}`,
then a last `_done` line, and exits 0: `ok` is this program's verdict for a task in the
LMS's place, `found` what it saw, `reached` whether the server was reached at all (False:
no TCP connection, or closed before the server spoke, as a security group's drop shows).
The caller (tests/post_apply/test_in_vpc.py) judges: e.g. a task in the outsider group must
find the stores not reached.

The environment (the task definition's): REDIS_HOST, REDIS_PORT, REDIS_GROUP_ID,
REDIS_USER; DB_HOST, DB_PORT, MASTER_USERNAME and MASTER_PASSWORD (the RDS-managed
secret); CONTENT_PATH and EXPECTED_OWNER (`uid:gid`) when the EFS volume is mounted;
AWS_REGION (Fargate sets it). AWS_CA_BUNDLE, when set, is the CA the endpoints' certificates
chain to (the SDKs' setting); otherwise Redis is verified against the system's store and
MySQL against the RDS global bundle.

Only the standard library at first; redis, PyMySQL and botocore (the versions below) are
installed into /tmp when the image does not have them. Imports nothing of this repository.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REQUIREMENTS = ("redis==5.3.1", "PyMySQL==1.2.4", "botocore==1.35.99")
LIBRARIES = "/tmp/probe-libs"
RDS_BUNDLE = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
TIMEOUT = 5.0
INSECURE_TRANSPORT = 3159  # MySQL's ER_SECURE_TRANSPORT_REQUIRED
RESP_TYPES = (b"+", b"-", b":", b"$", b"*")  # the first byte of a Redis reply


DONE = "_done"  # the last line: the caller reads the log until it sees it
CONTAINER = "probe"  # the container's name in the task definitions (modules/lms/probe.py)
STREAM_PREFIX = "probe"  # its awslogs stream prefix: the stream is probe/probe/<task id>
# MySQL client errors that mean the server never spoke: can't connect, lost the connection
UNREACHED_MYSQL = {2003, 2006, 2013}


def report(check: str, ok: bool, found: object, reached: bool) -> None:
    line = {"check": check, "ok": bool(ok), "found": str(found)[:600], "reached": reached}
    print(json.dumps(line), flush=True)


def unreached(exc: BaseException) -> bool:
    """Whether a failure means the server was never reached: no TCP connection (a security
    group drops the SYN: a timeout), or the connection closed before the server spoke."""
    if isinstance(exc, TimeoutError | ConnectionError | ssl.SSLEOFError):
        return True
    code = exc.args[0] if getattr(exc, "args", None) else None
    if type(exc).__name__ == "OperationalError" and code in UNREACHED_MYSQL:
        return True
    return isinstance(exc.__cause__ or exc.__context__, TimeoutError | ConnectionError | ssl.SSLEOFError)


def run(check: str, probe: Callable[[], tuple[bool, object]]) -> None:
    """One check: its verdict, what it found, and whether it reached the server at all."""
    try:
        ok, found = probe()
        reached = True
    except Exception as exc:  # noqa: BLE001  (every failure is a finding, reported as such)
        ok, found, reached = False, f"{type(exc).__name__}: {exc}", not unreached(exc)
    report(check, ok, found, reached)


def libraries() -> None:
    try:
        import botocore  # noqa: F401
        import pymysql  # type: ignore[import-untyped]  # noqa: F401
        import redis  # noqa: F401
    except ImportError:
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-cache-dir"]
        subprocess.run([*pip, "--target", LIBRARIES, *REQUIREMENTS], check=True, timeout=300)
        sys.path.insert(0, LIBRARIES)


def ca_bundle(fallback_url: str | None = None) -> str | None:
    if os.environ.get("AWS_CA_BUNDLE"):
        return os.environ["AWS_CA_BUNDLE"]
    if fallback_url is None:
        return None
    path = Path("/tmp") / fallback_url.rsplit("/", 1)[-1]
    if not path.exists():
        urllib.request.urlretrieve(fallback_url, path)  # a fixed https URL
    return str(path)


# --- EFS ----------------------------------------------------------------------------------


def efs(path: str, expected_owner: str) -> None:
    folder = Path(path)
    nonce = uuid.uuid4().hex
    probe_file = folder / f".probe-{nonce}"
    written: list[os.stat_result] = []

    def write_read() -> tuple[bool, object]:
        mounted = folder.is_mount()
        probe_file.write_text(nonce)
        read = probe_file.read_text()
        written.append(probe_file.stat())
        return mounted and read == nonce, f"mounted={mounted}, wrote {nonce}, read back {read}"

    def owner() -> tuple[bool, object]:
        if not written:
            return False, "no file was written to look at"
        uid, gid = written[0].st_uid, written[0].st_gid
        return f"{uid}:{gid}" == expected_owner, f"owner {uid}:{gid}"

    run("efs.write_read", write_read)
    run("efs.owner", owner)
    probe_file.unlink(missing_ok=True)


# --- Redis --------------------------------------------------------------------------------


def iam_token(group_id: str, user: str, region: str, credentials: Any = None) -> str:
    """An ElastiCache IAM auth token, as the AWS docs make it: a SigV4-presigned `connect`
    request for the cache (lower case) and the user id, valid 15 minutes, without its
    scheme; signed with the session's credentials (in the task: its role's) unless others
    are given. The runner's probes (tests/post_apply) use it too."""
    from urllib.parse import urlencode

    import botocore.session
    from botocore.model import ServiceId
    from botocore.signers import RequestSigner

    session = botocore.session.get_session()
    signer = RequestSigner(
        ServiceId("elasticache"),
        region,
        "elasticache",
        "v4",
        credentials or session.get_credentials(),
        session.get_component("event_emitter"),
    )
    url = signer.generate_presigned_url(
        {
            "method": "GET",
            "url": f"https://{group_id.lower()}/?{urlencode({'Action': 'connect', 'User': user})}",
            "body": {},
            "headers": {},
            "context": {},
        },
        operation_name="connect",
        expires_in=900,
        region_name=region,
    )
    return str(url).removeprefix("https://")


def redis_checks(env: dict[str, str]) -> None:
    import redis

    host, port = env["REDIS_HOST"], int(env.get("REDIS_PORT", "6379"))
    ca = ca_bundle()

    def tls() -> tuple[bool, object]:
        context = ssl.create_default_context(cafile=ca)
        with (
            socket.create_connection((host, port), timeout=TIMEOUT) as raw,
            context.wrap_socket(raw, server_hostname=host) as wrapped,
        ):
            subject: Any = (wrapped.getpeercert() or {}).get("subject", ())
            names = [value for rdn in subject for _, value in rdn]
            source = wrapped.getsockname()[0]
            return True, f"{wrapped.version()} handshake from {source}, certificate for {names} verified"

    def plaintext() -> tuple[bool, object]:
        # The server must be reached (a connection, not reset), else this says nothing; then
        # any Redis reply, even an error, means it speaks plaintext (a TLS alert is no reply).
        with socket.create_connection((host, port), timeout=TIMEOUT) as raw:
            raw.sendall(b"PING\r\n")
            try:
                answer = raw.recv(64)
            except TimeoutError:
                return True, "connected, no answer"
        if answer[:1] in RESP_TYPES:
            return False, f"answered {answer!r}"
        return True, f"connected, closed without a Redis reply ({answer[:8]!r})"

    def client(token: str) -> redis.Redis:
        sign_in: dict[str, Any] = {"username": env["REDIS_USER"], "password": token}
        return redis.Redis(
            host=host,
            port=port,
            ssl=True,
            ssl_ca_certs=ca,
            socket_timeout=TIMEOUT,
            socket_connect_timeout=TIMEOUT,
            **sign_in,
        )

    def token() -> str:
        return iam_token(env["REDIS_GROUP_ID"], env["REDIS_USER"], env["AWS_REGION"])

    def login() -> tuple[bool, object]:
        answer = client(token()).ping()
        return answer is True, f"AUTH {env['REDIS_USER']} with an IAM token, PING answered {answer!r}"

    def wrong_token() -> tuple[bool, object]:
        forged = token()[:-8] + "00000000"
        try:
            answer = client(forged).ping()
        except redis.AuthenticationError as exc:
            return True, f"refused: {exc}"
        return False, f"a forged token was let in: PING answered {answer!r}"

    run("redis.tls", tls)
    run("redis.plaintext", plaintext)
    run("redis.login", login)
    run("redis.wrong_token", wrong_token)


# --- MySQL --------------------------------------------------------------------------------


def mysql_checks(env: dict[str, str]) -> None:
    import pymysql

    def connect(**tls: object) -> pymysql.connections.Connection:
        return pymysql.connect(
            host=env["DB_HOST"],
            port=int(env.get("DB_PORT", "3306")),
            user=env["MASTER_USERNAME"],
            password=env["MASTER_PASSWORD"],
            connect_timeout=TIMEOUT,
            read_timeout=TIMEOUT,
            **tls,
        )

    def tls_login() -> tuple[bool, object]:
        connection = connect(ssl_ca=ca_bundle(RDS_BUNDLE), ssl_verify_cert=True, ssl_verify_identity=True)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                rows = cursor.fetchall()
        finally:
            connection.close()
        return rows == ((1,),), f"logged in over TLS, SELECT 1 answered {rows}"

    def plaintext() -> tuple[bool, object]:
        try:
            connect(ssl_disabled=True).close()
        except pymysql.err.OperationalError as exc:
            code = exc.args[0] if exc.args else None
            return code == INSECURE_TRANSPORT, f"refused: {exc}"
        return False, "a login without TLS was let in"

    run("mysql.tls_login", tls_login)
    run("mysql.plaintext", plaintext)


def main() -> int:
    env = dict(os.environ)
    if env.get("CONTENT_PATH"):
        efs(env["CONTENT_PATH"], env.get("EXPECTED_OWNER", ""))
    libraries()
    redis_checks(env)
    mysql_checks(env)
    report(DONE, True, "every check ran", True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
