"""Certificates: the emulator's own (a CA that also serves its HTTPS endpoint), the seeded
ACM certificate, and the data planes' per-endpoint certificates issued by the emulator's.

Clients trust the emulator's certificate (AWS_CA_BUNDLE); since it is a CA (basic
constraints, key usage `keyCertSign`, a subject key identifier), they also trust what it
issues: a data plane's certificate for its own loopback address verifies as a real
endpoint's would, with no second bundle to distribute.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _names(name: str, ip: str | None, also: Sequence[str] = ()) -> x509.SubjectAlternativeName:
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in dict.fromkeys([name, *also])]
    if ip:
        alt.append(x509.IPAddress(ipaddress.ip_address(ip)))
    return x509.SubjectAlternativeName(alt)


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _pem(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[bytes, bytes]:
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def self_signed(name: str, *, ip: str | None = None, days: int = 365) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for `name` (and `ip`, when given); a CA that can
    issue certificates (`issue`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(_names(name, ip), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _pem(cert, key)


def can_issue(cert_pem: bytes) -> bool:
    """Whether this certificate may sign others (older working copies made one that cannot)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return usage.key_cert_sign


def issue(
    ca_cert_pem: bytes, ca_key_pem: bytes, *, name: str, ip: str | None, also: Sequence[str] = (), days: int = 30
) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for a server named `name` (and `also`), at `ip`
    when given, signed by the CA given."""
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey), "the emulator's key is an EC key (self_signed)"
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(min(now + datetime.timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(_names(name, ip, also), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return _pem(cert, key)
