"""Fleet PKI: the fleet CA, per-device TLS client certificates, broker certificates,
and the fleet's Ed25519 update-signing key.

Private keys are written owner-only (0600) and never logged. Every function
that creates a file leaves an existing one untouched, so running twice
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lineguard_provision.errors import BundleError
from lineguard_provision.files import write_private, write_public

log = logging.getLogger(__name__)

CA_DAYS = 3650 * 2
DEVICE_DAYS = 3650
ORG = "LineGuard fleet"


@dataclass(frozen=True)
class FleetCa:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_path: Path


def ensure_ca(fleet_dir: Path) -> FleetCa:
    """Load the fleet CA from ``fleet_dir``, creating it (P-256, 20 years) if absent."""
    cert_path, key_path = fleet_dir / "ca.crt", fleet_dir / "ca.key"
    if cert_path.exists() != key_path.exists():
        raise BundleError(f"{fleet_dir}: only one of ca.crt / ca.key exists; restore the other or remove both")
    if not key_path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
                          x509.NameAttribute(NameOID.COMMON_NAME, "LineGuard fleet CA")])
        cert = (_builder(name, name, key.public_key(), CA_DAYS)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                               critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        write_private(key_path, _key_pem(key))
        write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        log.info("created fleet CA %s", cert_path)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise BundleError(f"{key_path}: fleet CA key is not an EC key")
    return FleetCa(cert, key, cert_path)


def ensure_client_cert(ca: FleetCa, device_id: str, cert_path: Path, key_path: Path) -> x509.Certificate:
    """The device's TLS client certificate (CN = device id); issued only if absent."""
    if not key_path.exists():
        write_private(key_path, _key_pem(ec.generate_private_key(ec.SECP256R1())))
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if cert_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if cert.public_key() != key.public_key():
            raise BundleError(f"{cert_path}: certificate does not match {key_path.name}; remove the certificate")
        return cert
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
                         x509.NameAttribute(NameOID.COMMON_NAME, device_id)])
    cert = (_issued(ca, subject, key.public_key(), DEVICE_DAYS)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca.key, hashes.SHA256()))
    write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    log.info("issued client certificate for %s", device_id)
    return cert


def issue_server_cert(ca: FleetCa, hostnames: list[str], cert_path: Path, key_path: Path) -> x509.Certificate:
    """A broker (server) certificate for the central Mosquitto; issued only if absent."""
    if cert_path.exists() and key_path.exists():
        return x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])])
    cert = (_issued(ca, subject, key.public_key(), DEVICE_DAYS)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca.key, hashes.SHA256()))
    write_private(key_path, _key_pem(key))
    write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert


def ensure_update_key(fleet_dir: Path) -> bytes:
    """The fleet's Ed25519 update-signing key pair; returns the public key PEM."""
    key_path, pub_path = fleet_dir / "update_signing.key", fleet_dir / "update_signing.pub"
    if not key_path.exists():
        key = ed25519.Ed25519PrivateKey.generate()
        write_private(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
        log.info("created update-signing key %s", key_path)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise BundleError(f"{key_path}: not an Ed25519 key")
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    write_public(pub_path, pem)
    return pem


def fingerprint_sha256(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":")


def _issued(ca: FleetCa, subject: x509.Name, public_key, days: int) -> x509.CertificateBuilder:
    return (_builder(subject, ca.cert.subject, public_key, days)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, True, False, False, False, False),
                           critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                           critical=False))


def _builder(subject: x509.Name, issuer: x509.Name, public_key, days: int) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days)))


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
