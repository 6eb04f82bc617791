"""Data planes: what answers on a resource's endpoint here, beside moto's control plane.

Each plane runs in the emulator's own process (threads, loopback addresses of its own),
starts when its resource is created, and stops when it is deleted or the process ends.
They run only in the emulator the launcher starts (it names the CA that issues their
certificates); moto used in-process by the tests creates resources without them.

What the planes share is here: whether they run (`enabled`), a resource's loopback address
(`loopback`), binding a server on it (`bind`), a TLS server context with a certificate
from the emulator's CA (`server_context`), and the registry of running planes (`Planes`).
"""

from __future__ import annotations

import atexit
import errno
import hashlib
import os
import ssl
import tempfile
import threading
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

ADDRESS_TRIES = 8
S = TypeVar("S")


def enabled() -> bool:
    from infra.emulator.launcher import DATA_PLANE_CA, DATA_PLANE_CA_KEY

    return bool(os.environ.get(DATA_PLANE_CA) and os.environ.get(DATA_PLANE_CA_KEY))


def loopback(key: str, attempt: int = 0) -> str:
    """A resource's loopback address, `127.a.b.c` from a hash of its key (never 127.0.0.x):
    the same for the same key (and attempt)."""
    digest = hashlib.sha256(f"{key}/{attempt}".encode()).digest()
    return f"127.{1 + digest[0] % 254}.{digest[1]}.{1 + digest[2] % 254}"


def bind(make: Callable[[tuple[str, int]], S], key: str, port: int) -> S:
    """`make((address, port))` on the key's loopback address, the next hash's when that
    address's port is taken (e.g. by another emulator). A port we may not bind (below 1024
    without root) is an error that says so."""
    for attempt in range(ADDRESS_TRIES):
        try:
            return make((loopback(key, attempt), port))
        except PermissionError as exc:
            raise PermissionError(
                exc.errno, f"cannot bind port {port} on {loopback(key, attempt)} (ports below 1024 need root): {exc}"
            ) from exc
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, f"no free loopback address for {key} on port {port} after {ADDRESS_TRIES} tries")


def ca() -> tuple[bytes, bytes]:
    """The emulator's CA: (certificate PEM, private key PEM)."""
    from infra.emulator.launcher import DATA_PLANE_CA, DATA_PLANE_CA_KEY

    return Path(os.environ[DATA_PLANE_CA]).read_bytes(), Path(os.environ[DATA_PLANE_CA_KEY]).read_bytes()


def server_context(
    name: str,
    ip: str,
    *,
    also: Sequence[str] = (),
    minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
    authority: tuple[bytes, bytes] | None = None,
) -> ssl.SSLContext:
    """A TLS server context with a certificate for `name`, `ip` and the names `also`,
    issued by the emulator's CA (or `authority`), accepting `minimum` or newer."""
    from infra.emulator.tls import issue

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = minimum
    cert, key = issue(*(authority or ca()), name=name, ip=ip, also=also)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "cert.pem").write_bytes(cert)
        (Path(folder) / "key.pem").write_bytes(key)
        context.load_cert_chain(Path(folder) / "cert.pem", Path(folder) / "key.pem")
    return context


class Plane(Protocol):
    def stop(self) -> None: ...


P = TypeVar("P", bound=Plane)


def resource_key(backend: Any, resource_id: str) -> tuple[str, str, str]:
    """A resource's key among the planes: (account, region, id); an ARN holds all three."""
    return (backend.account_id, backend.region_name, resource_id)


class Planes(Generic[P]):
    """The running planes of one kind in this process, by their resource's key (an ARN, or
    `resource_key`): a plane put in place of another stops the other; all stop when the
    process ends."""

    def __init__(self) -> None:
        self._planes: dict[Hashable, P] = {}
        self._lock = threading.Lock()
        atexit.register(self.stop_all)

    def put(self, key: Hashable, plane: P) -> None:
        with self._lock:
            old = self._planes.pop(key, None)
            self._planes[key] = plane
        if old is not None:
            old.stop()

    def get(self, key: Hashable) -> P | None:
        with self._lock:
            return self._planes.get(key)

    def stop(self, key: Hashable) -> None:
        """The resource was deleted: its plane stops."""
        with self._lock:
            plane = self._planes.pop(key, None)
        if plane is not None:
            plane.stop()

    def stop_all(self) -> None:
        with self._lock:
            planes = list(self._planes.values())
            self._planes.clear()
        for plane in planes:
            plane.stop()
