"""What the seeds call "existing": the LMS database credentials secret and a certificate.

Real environments have these before this repository runs; the emulator starts empty, so the
launcher creates them. The secret's value is random and is never printed. The certificate
(`*.<domain>`) is issued by the emulator's CA and imported with its key, so the ALB data
plane serves it and clients trusting AWS_CA_BUNDLE verify it, as a public one on AWS.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator

import boto3

from infra.config import EnvConfig
from infra.emulator import launcher
from infra.emulator.tls import issue


def seed(cfg: EnvConfig) -> list[str]:
    """Create the existing resources if missing. Returns what was created."""
    created = []
    sm = boto3.client("secretsmanager", region_name=cfg.region)
    name = cfg.components.lms.db_secret_name
    if not sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]:
        value = {"username": "lms_app", "password": secrets.token_urlsafe(24)}
        sm.create_secret(Name=name, SecretString=json.dumps(value), Description="LMS database credentials")
        created.append(f"secret {name}")
    edge = cfg.components.edge
    if edge.certificate == "existing" and not edge.certificate_arn:
        acm = boto3.client("acm", region_name=cfg.region)
        wildcard = f"*.{edge.domain}"
        existing = [c for c in acm.list_certificates()["CertificateSummaryList"] if c["DomainName"] == wildcard]
        if not existing:
            ca = launcher.CERT_FILE.read_bytes(), launcher.KEY_FILE.read_bytes()
            cert, key = issue(*ca, name=wildcard, ip=None, days=365)
            acm.import_certificate(Certificate=cert, PrivateKey=key)
            created.append(f"certificate {wildcard}")
    return created


def emulate(cfg: EnvConfig, *, fresh: bool = False) -> tuple[launcher.Emulator, list[str]]:
    """The emulator for the environment's account, this process pointed at it, and seeded;
    left running (interactive use: `--emulator`). Returns it and what seeding created."""
    emulator = launcher.start(cfg.account.id, cfg.region, fresh=fresh)
    emulator.activate()
    return emulator, seed(cfg)


@contextlib.contextmanager
def emulated(
    cfg: EnvConfig, *, fresh: bool = False, keep: bool = False
) -> Iterator[tuple[launcher.Emulator, list[str]]]:
    """`emulate` for a block: stopped (and the environment restored) on leaving, unless `keep`."""
    with launcher.running(cfg.account.id, cfg.region, fresh=fresh, keep=keep) as emulator:
        yield emulator, seed(cfg)
