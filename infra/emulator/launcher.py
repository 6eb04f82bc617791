"""Start, find and stop the emulator process; the environment that points clients at it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from infra.emulator.errors import EmulatorError
from infra.paths import REPO, WORK

STATE_DIR = WORK / "emulator"
STATE_FILE = STATE_DIR / "state.json"
LOG_FILE = STATE_DIR / "moto.log"
CERT_FILE = STATE_DIR / "tls.crt"
KEY_FILE = STATE_DIR / "tls.key"
READY_TIMEOUT = 60.0
THREADS = 64
EMULATED_VARIABLE = "INFRA_EMULATED"
# The credentials clients use here (the data planes verify IAM auth tokens signed with them).
ACCESS_KEY_ID = SECRET_ACCESS_KEY = "emulator"
# Set in the emulator's process only: where the CA that issues the data planes' certificates is.
DATA_PLANE_CA = "INFRA_DATA_PLANE_CA"
DATA_PLANE_CA_KEY = "INFRA_DATA_PLANE_CA_KEY"
SELF_ENDPOINT = "INFRA_EMULATOR_ENDPOINT"  # the emulator's own URL, for the tasks it runs
# Credentials that would point clients at a real account: removed while emulating.
UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


@dataclass(frozen=True)
class Emulator:
    pid: int
    port: int
    account_id: str
    region: str

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def client_env(self) -> dict[str, str]:
        """What makes Terraform, its S3 backend and boto3 talk to the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            # What moto does not implement gets a 501, which no SDK retries (wsgi.py); a moto
            # failure is still a 500, and the Go SDK's 25 attempts with back-off would look
            # like a hang.
            "AWS_MAX_ATTEMPTS": "2",
            "AWS_RETRY_MODE": "standard",
            "AWS_EC2_METADATA_DISABLED": "true",
            # The emulator's own certificate (Terraform's AWS SDK and boto3 both read this).
            "AWS_CA_BUNDLE": str(CERT_FILE),
            # Tells the probes what cannot be observed here (nothing runs containers).
            EMULATED_VARIABLE: "moto",
        }

    def activate(self) -> None:
        """Point this process, and every client and Terraform it starts, at the emulator."""
        for name in UNSET:
            os.environ.pop(name, None)
        os.environ.update(self.client_env())

    def enforce_iam(self, enforced: bool = True) -> None:
        """From now on every request is authenticated and authorised against IAM, as in an
        account (what ran before, the administrator's set-up, was not); `enforced=False`
        turns that off again. moto's own switch: the number of unauthenticated requests
        left, none or unlimited."""
        context = ssl.create_default_context(cafile=str(CERT_FILE))
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=b"0" if enforced else b"inf",  # a form body would be parsed away: not one
            headers={"Content-Type": "application/octet-stream"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10, context=context) as answer:
            if answer.status != 200:
                raise EmulatorError(f"the emulator did not switch IAM enforcement: HTTP {answer.status}")

    def alive(self) -> bool:
        """Any HTTP answer from our process means alive (not /moto-api/data.json: it dumps
        the whole emulated account and gets slow as a deployment grows)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        context = ssl.create_default_context(cafile=str(CERT_FILE))
        try:
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=5, context=context):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False


def _certificate() -> None:
    """A self-signed CA certificate for 127.0.0.1, made once per working copy (again when an
    older copy's cannot issue the data planes' certificates)."""
    from infra.emulator.tls import can_issue, self_signed

    if CERT_FILE.is_file() and KEY_FILE.is_file() and can_issue(CERT_FILE.read_bytes()):
        return

    cert, key = self_signed("localhost", ip="127.0.0.1")
    KEY_FILE.write_bytes(key)
    KEY_FILE.chmod(0o600)
    CERT_FILE.write_bytes(cert)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def current() -> Emulator | None:
    """The running emulator this working copy started, if it is still alive."""
    if not STATE_FILE.is_file():
        return None
    emulator = Emulator(**json.loads(STATE_FILE.read_text()))
    return emulator if emulator.alive() else None


def start(account_id: str, region: str, *, fresh: bool = False) -> Emulator:
    """Start moto (with our fixes) on a free loopback port, for one account.

    A running emulator of the same account is reused (interactive use), unless `fresh`:
    `infra up` always starts from an empty account.
    """
    running = current()
    if running is not None:
        if not fresh and running.account_id == account_id and running.region == region:
            return running
        stop()
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    _certificate()
    port = _free_port()
    env = {
        **os.environ,
        "MOTO_ACCOUNT_ID": account_id,
        # RDS enhanced monitoring attaches an AWS-managed policy: moto must know them.
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
        "PYTHONPATH": str(REPO),
        DATA_PLANE_CA: str(CERT_FILE),
        DATA_PLANE_CA_KEY: str(KEY_FILE),
        SELF_ENDPOINT: f"https://127.0.0.1:{port}",
    }
    log = LOG_FILE.open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            # One thread per open connection being served: four Terraform runs at once,
            # each with up to ten requests in flight. With fewer threads the TLS handshakes
            # of new connections queue behind the dispatch lock and the provider gives up
            # ("TLS handshake timeout", 10 s).
            "--threads",
            str(THREADS),
            "--certfile",
            str(CERT_FILE),
            "--keyfile",
            str(KEY_FILE),
            "--timeout",
            "300",
            "--access-logfile",
            "-",
            "--access-logformat",
            '%(h)s "%(r)s" %(s)s %(b)s %(L)ss',  # with each request's seconds
            "--log-level",
            "info",
            "infra.emulator.wsgi:app",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=REPO,
    )
    emulator = Emulator(pid=proc.pid, port=port, account_id=account_id, region=region)
    deadline = time.monotonic() + READY_TIMEOUT
    while not emulator.alive():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise EmulatorError(f"the emulator did not start (log: {LOG_FILE}):\n{LOG_FILE.read_text()[-2000:]}")
        time.sleep(0.2)
    STATE_FILE.write_text(json.dumps(asdict(emulator)))
    return emulator


@contextlib.contextmanager
def running(account_id: str, region: str, *, fresh: bool = False, keep: bool = False) -> Iterator[Emulator]:
    """The emulator (started, or reused unless `fresh`) with this process pointed at it.

    On leaving, it is stopped and the process's environment restored, unless `keep`: then
    both stay, for what runs next against the same deployment.
    """
    saved = dict(os.environ)
    emulator = start(account_id, region, fresh=fresh)
    try:
        emulator.activate()
        yield emulator
    finally:
        if not keep:
            stop()
            os.environ.clear()
            os.environ.update(saved)


def stop() -> bool:
    """Stop the emulator this working copy started. Returns whether one was running."""
    if not STATE_FILE.is_file():
        return False
    emulator = Emulator(**json.loads(STATE_FILE.read_text()))
    STATE_FILE.unlink()
    try:
        os.killpg(emulator.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _gone(emulator.pid):
            return True
        time.sleep(0.1)
    os.killpg(emulator.pid, signal.SIGKILL)
    return True


def _gone(pid: int) -> bool:
    """Whether the process has ended. A child of ours that ended stays a zombie (and answers
    signal 0) until it is reaped: reap it; another process's child cannot be reaped here."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        return reaped == pid
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
