"""Data planes: what answers on a resource's endpoint here, beside moto's control plane.

Each plane runs in the emulator's own process (threads, loopback addresses of its own),
starts when its resource is created, and stops when it is deleted or the process ends.
They run only in the emulator the launcher starts (it names the CA that issues their
certificates); moto used in-process by the tests creates resources without them.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar


def enabled() -> bool:
    """Whether this process may start data planes: the launcher named the CA."""
    from infra.emulator.launcher import DATA_PLANE_CA, DATA_PLANE_CA_KEY

    return bool(os.environ.get(DATA_PLANE_CA) and os.environ.get(DATA_PLANE_CA_KEY))


def ca() -> tuple[bytes, bytes]:
    """The emulator's CA (certificate PEM, key PEM), which issues the planes' certificates."""
    from infra.emulator.launcher import DATA_PLANE_CA, DATA_PLANE_CA_KEY

    return Path(os.environ[DATA_PLANE_CA]).read_bytes(), Path(os.environ[DATA_PLANE_CA_KEY]).read_bytes()


def loopback_address(name: str, attempt: int = 0) -> str:
    """A resource's own loopback address, `127.a.b.c` from a hash of its name (never
    127.0.0.x): the same for the same name and attempt (the next attempt when taken)."""
    digest = hashlib.sha256(f"{name}/{attempt}".encode()).digest()
    return f"127.{1 + digest[0] % 254}.{digest[1]}.{1 + digest[2] % 254}"


def server_tls(name: str, ip: str, authority: tuple[bytes, bytes]) -> ssl.SSLContext:
    """A server-side TLS context (1.2 or newer) with a certificate for `ip` (and `name`)
    issued by the emulator's CA: clients trusting AWS_CA_BUNDLE verify it."""
    from infra.emulator.tls import issue

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    cert, key = issue(*authority, name=name, ip=ip)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "cert.pem").write_bytes(cert)
        (Path(folder) / "key.pem").write_bytes(key)
        context.load_cert_chain(Path(folder) / "cert.pem", Path(folder) / "key.pem")
    return context


class Plane(Protocol):
    def stop(self) -> None: ...


P = TypeVar("P", bound=Plane)


class Planes(Generic[P]):
    """The running planes of one kind in this process, by (account, region, resource id):
    a plane put in place of another stops the other; all stop when the process ends."""

    def __init__(self) -> None:
        self._planes: dict[tuple[str, str, str], P] = {}
        self._lock = threading.Lock()
        atexit.register(self.stop_all)

    @staticmethod
    def key(backend: Any, resource_id: str) -> tuple[str, str, str]:
        return (backend.account_id, backend.region_name, resource_id)

    def put(self, backend: Any, resource_id: str, plane: P) -> None:
        with self._lock:
            old = self._planes.pop(self.key(backend, resource_id), None)
            self._planes[self.key(backend, resource_id)] = plane
        if old is not None:
            old.stop()

    def get(self, backend: Any, resource_id: str) -> P | None:
        with self._lock:
            return self._planes.get(self.key(backend, resource_id))

    def stop(self, backend: Any, resource_id: str) -> None:
        """The resource was deleted: its plane stops."""
        with self._lock:
            plane = self._planes.pop(self.key(backend, resource_id), None)
        if plane is not None:
            plane.stop()

    def stop_all(self) -> None:
        with self._lock:
            planes = list(self._planes.values())
            self._planes.clear()
        for plane in planes:
            plane.stop()
