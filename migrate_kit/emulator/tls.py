"""A private certificate authority and the emulator's server certificate.

The CA is created once per state folder (``ca.pem`` + ``ca-key.pem``) and reused on every
restart, so a client that trusts it once keeps trusting the emulator. The server certificate
(``server.pem`` + ``server-key.pem``) is signed by that CA for ``127.0.0.1``, ``localhost``,
``*.blob.localhost`` and ``<account>.blob.localhost``; it is reissued when it is missing, about
to expire, or lacks one of those names.

Clients trust the emulator through ``REQUESTS_CA_BUNDLE`` (requests, azure-core) and
``SSL_CERT_FILE`` (urllib, used by the v1 SDK's cloud-metadata fetch), both set to ``ca.pem``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TlsFiles", "ensure_certificates"]

logger = logging.getLogger(__name__)

_CA_DAYS = 3650
_SERVER_DAYS = 825
_RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files in the state folder."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def ensure_certificates(folder: Path, *, storage_account: str = "stdemo") -> TlsFiles:
    """Create (or reuse) the CA and a server certificate under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_cert_path, ca_key_path = folder / "ca.pem", folder / "ca-key.pem"
    files = TlsFiles(ca_cert_path, folder / "server.pem", folder / "server-key.pem")

    if ca_cert_path.is_file() and ca_key_path.is_file():
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(
                f"{ca_key_path} holds a {type(loaded).__name__}, expected the EC key this module "
                "writes; delete ca.pem and ca-key.pem to create a new CA (clients must then "
                "trust the new ca.pem)"
            )
        ca_key = loaded
    else:
        logger.info("Creating the emulator CA in %s", folder)
        ca_cert, ca_key = _new_ca()
        _write_key(ca_key_path, ca_key)
        ca_cert_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))

    names = ["localhost", "*.blob.localhost", f"{storage_account}.blob.localhost"]
    if not _server_cert_usable(files.server_cert, ca_cert, names):
        logger.info("Issuing the emulator server certificate in %s", folder)
        cert, key = _new_server_cert(ca_cert, ca_key, names)
        _write_key(files.server_key, key)
        files.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    path.chmod(0o600)


def _new_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "migrate_kit emulator CA")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _new_server_cert(
    ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, names: list[str]
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    sans += [x509.DNSName(n) for n in names]
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=_SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _server_cert_usable(path: Path, ca_cert: x509.Certificate, names: list[str]) -> bool:
    """True when ``path`` holds a certificate from this CA, valid for a while, with all names."""
    key_path = path.with_name("server-key.pem")
    if not (path.is_file() and key_path.is_file()):
        return False

    cert = x509.load_pem_x509_certificate(path.read_bytes())
    if cert.issuer != ca_cert.subject or cert.not_valid_after_utc - _RENEW_BEFORE < _now():
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False

    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(names) <= set(sans.get_values_for_type(x509.DNSName))
