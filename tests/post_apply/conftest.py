"""Post-apply probes (Terratest's shape): read the stacks' outputs, call the AWS APIs, poll
with a timeout, and say what was expected and what was found.

Run by `infra probe ENV`, which sets INFRA_PROBE_ENV and INFRA_OUTPUTS (the JSON of
`infra output ENV`) and points boto3 at the deployment (real AWS or the emulator).
Without them there is nothing to probe, and every probe is skipped saying so.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest

from infra.config import EnvConfig, load_environment
from infra.emulator.launcher import EMULATED_VARIABLE
from modules.lms.probe_program import iam_token as elasticache_iam_token  # one token maker, the probe task's

__all__ = ["elasticache_iam_token"]

T = TypeVar("T")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow",
        action="store_true",
        default=False,
        help="also run the slow probes (the WAF rate rule's bounded burst): `infra probe ENV --slow`",
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow probes run last (the rate burst gets this machine blocked for minutes), and
    only with --slow."""
    items.sort(key=lambda item: "slow" in item.keywords)
    if config.getoption("--slow", default=False):  # only known when this suite is what runs
        return
    skip = pytest.mark.skip(reason="a slow probe: run it with `infra probe ENV --slow` (pytest --slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def probe_env() -> str:
    env = os.environ.get("INFRA_PROBE_ENV")
    if not env or not os.environ.get("INFRA_OUTPUTS"):
        pytest.skip("post-apply probes need a deployment: run them with `infra probe ENV`")
    return env


@pytest.fixture(scope="session")
def cfg(probe_env: str) -> EnvConfig:
    return load_environment(probe_env).config


@pytest.fixture(scope="session")
def outputs(probe_env: str) -> dict[str, Any]:
    """Every stack's outputs merged into one mapping (output names are unique)."""
    by_stack = json.loads(Path(os.environ["INFRA_OUTPUTS"]).read_text())
    merged: dict[str, Any] = {}
    for values in by_stack.values():
        merged.update(values)
    return merged


@pytest.fixture(scope="session")
def aws(cfg: EnvConfig) -> Callable[[str], Any]:
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = boto3.client(service, region_name=cfg.region)
        return clients[service]

    return client


EMULATOR_SETTLE = 5.0  # seconds: the emulator's state is what its last answer said, no lag to wait out


def eventually(check: Callable[[], T], *, timeout: float = 60, interval: float = 2, what: str = "") -> T:
    """Call `check` until it stops raising AssertionError, or fail with its last message.
    `timeout` is AWS's lag (a mount target becoming available); on the emulator a state is
    there or not, so a failing check fails within EMULATOR_SETTLE instead of the whole wait."""
    if os.environ.get(EMULATED_VARIABLE):
        timeout = min(timeout, EMULATOR_SETTLE)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} still not true after {timeout:.0f} s: {exc}") from None
            time.sleep(interval)


def ca_bundle() -> str | None:
    """The CA the SDKs trust (AWS_CA_BUNDLE: the emulator's), else the system store."""
    return os.environ.get("AWS_CA_BUNDLE") or None


def reachable(what: str, host: str, port: int, *, timeout: float, log_hint: str, unreachable: str) -> None:
    """Connect once to `what` at host:port. On the emulator, no answer fails the probe (its
    data plane should answer; the emulator's log says why, under `log_hint`); on AWS it skips
    it, saying from where to run the probes (`unreachable`)."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        if os.environ.get(EMULATED_VARIABLE):
            pytest.fail(
                f"{what} {host}:{port}: expected the emulator's data plane to accept connections, found {exc} "
                f"(the emulator's log, .infra/emulator/moto.log, says why: look for '{log_hint}')"
            )
        pytest.skip(f"{what} {host}:{port} is not reachable from this machine ({exc}): {unreachable}")


def expect(found: object, expected: object, what: str) -> None:
    assert found == expected, f"{what}: expected {expected!r}, found {found!r}"


class HttpsTo(http.client.HTTPSConnection):
    """HTTPS to `address` (a load balancer's DNS name) for the site `host`: TLS with
    `host` as the server name (SNI, and the name the certificate must be valid for) and as
    the Host header, as a browser asking for https://<host>/ after DNS says `address`."""

    def __init__(
        self, address: str, host: str, *, ca: str | None, timeout: float = 10.0, source: str | None = None
    ) -> None:
        super().__init__(host, 443, timeout=timeout, context=ssl.create_default_context(cafile=ca))
        self.address = address
        self.source = source  # the local address to send from (None: the system's choice)

    def connect(self) -> None:
        source = (self.source, 0) if self.source else None
        raw = socket.create_connection((self.address, self.port), self.timeout, source_address=source)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]
