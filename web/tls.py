"""Self-signed HTTPS for `tls: auto`: a local CA made once, and a server certificate it signs.

Browsers give camera and microphone only to HTTPS pages. A hall TV installs `ca.pem` once and
from then on trusts every server certificate re-issued here, so the CA is rarely replaced
(`commune-bridge rotate-ca`). The CA may sign only this bridge's names and private addresses
(critical name constraints), so its key cannot impersonate any website to the TVs; and that
key may be kept off the server while the server certificate is valid.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from web.errors import ConfigError
from web.files import make_private_dir, write_file_atomically

CA_LIFETIME = timedelta(days=3650)
SERVER_LIFETIME = timedelta(days=397)
RENEW_BEFORE = timedelta(days=30)
# TV boxes often boot with a clock a little behind; a certificate "not yet valid" is refused.
BACKDATE = timedelta(hours=1)
ALWAYS_NAMES = ("localhost", "127.0.0.1", "::1")

# Addresses a LAN bridge may be reached at, whatever the configured host: the CA may
# always sign for these (RFC 1918, CGNAT, loopback, link-local, IPv6 ULA).
PRIVATE_NETWORKS = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
)
# Names no public website can have (RFC 8375, RFC 6762, common router defaults): a LAN
# bridge may be renamed under these without a new CA.
PRIVATE_SUFFIXES = ("lan", "local", "home.arpa", "internal", "localdomain")

SanName = x509.DNSName | x509.IPAddress
T = TypeVar("T")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CertificatePaths:
    ca_cert: Path
    cert: Path
    key: Path


def ensure_certificate(
    data_dir: Path, hosts: Sequence[str], *, now: datetime | None = None
) -> CertificatePaths:
    """Make or reuse the CA and a server certificate covering `hosts`; return their paths."""
    now = datetime.now(UTC) if now is None else _as_utc(now)
    tls_dir = data_dir / "tls"
    make_private_dir(data_dir)
    make_private_dir(tls_dir)
    paths = CertificatePaths(tls_dir / "ca.pem", tls_dir / "server.pem", tls_dir / "server-key.pem")
    ca_key_path = tls_dir / "ca-key.pem"

    wanted = _san_names([*hosts, *ALWAYS_NAMES, socket.gethostname()])
    ca_cert, ca_key = _load_or_create_ca(paths.ca_cert, ca_key_path, now, wanted)
    wanted = _permitted(ca_cert, wanted)
    if not _server_cert_usable(paths, ca_cert, wanted, now):
        if ca_key is None:
            return _without_ca_key(paths, ca_cert, ca_key_path, now)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue_server_cert(key, ca_cert, ca_key, wanted, now)
        # Key first: a crash between the two writes leaves a mismatch that the next start
        # detects and repairs, never a certificate whose key is gone.
        write_file_atomically(paths.key, _private_pem(key), 0o600)
        write_file_atomically(paths.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return paths


def local_addresses() -> list[str]:
    """This machine's IP addresses, found from local state only (no packet is sent)."""
    found: list[str] = []
    try:
        for *_, sockaddr in socket.getaddrinfo(socket.gethostname(), None):
            found.append(str(sockaddr[0]))
    except OSError:
        pass
    ip_tool = shutil.which("ip")
    if ip_tool is not None:
        try:
            result = subprocess.run(
                [ip_tool, "-o", "addr"], capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.SubprocessError):
            result = None
        for line in result.stdout.splitlines() if result is not None else ():
            words = line.split()
            for family, value in zip(words, words[1:], strict=False):
                if family in ("inet", "inet6"):
                    found.append(value.split("/")[0])
    addresses: list[str] = []
    for text in found:
        try:
            address = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            continue
        # Link-local IPv6 needs a zone id in the URL, which browsers do not accept.
        if address.version == 6 and address.is_link_local:
            continue
        if str(address) not in addresses:
            addresses.append(str(address))
    return sorted(addresses, key=lambda a: ipaddress.ip_address(a).version)


def rotate_ca(data_dir: Path, hosts: Sequence[str], *, now: datetime | None = None) -> list[Path]:
    """Set the current CA and server certificate aside (renamed, never deleted) and make new
    ones; returns the paths the old files were kept at."""
    now = datetime.now(UTC) if now is None else _as_utc(now)
    tls_dir = data_dir / "tls"
    stamp = now.strftime("%Y%m%d-%H%M%S")
    kept: list[Path] = []
    for name in ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem"):
        path = tls_dir / name
        if path.exists():
            old = path.with_name(f"{path.stem}-{stamp}.old{path.suffix}")
            path.rename(old)
            kept.append(old)
    ensure_certificate(data_dir, hosts, now=now)
    return kept


def _without_ca_key(
    paths: CertificatePaths, ca_cert: x509.Certificate, ca_key_path: Path, now: datetime
) -> CertificatePaths:
    """The CA key is kept elsewhere: serve the certificate already issued while it is valid."""
    try:
        cert = x509.load_pem_x509_certificate(paths.cert.read_bytes())
        key = _load_ec_key(paths.key.read_bytes())
        cert.verify_directly_issued_by(ca_cert)
        valid = cert.public_key() == key.public_key() and (
            cert.not_valid_before_utc <= now < cert.not_valid_after_utc
        )
    except (OSError, ValueError, TypeError, InvalidSignature):
        valid = False
    if not valid:
        raise ConfigError(
            str(ca_key_path),
            "-",
            f"file not found, and {paths.cert.name} is missing or no longer valid; put the CA "
            f"key back to issue a new one (or run rotate-ca: every TV must then install the "
            f"new {paths.ca_cert.name})",
        )
    logger.warning(
        "%s is not on this server: serving %s until %s; put the CA key back before then "
        "(or when the address changes) so it can be renewed",
        ca_key_path.name,
        paths.cert.name,
        cert.not_valid_after_utc.date(),
    )
    return paths


def _load_or_create_ca(
    cert_path: Path, key_path: Path, now: datetime, names: set[SanName]
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey | None]:
    if cert_path.exists():
        cert = _read_pem(cert_path, x509.load_pem_x509_certificate)
        if not key_path.exists():
            return cert, None  # kept off the server (README); ensure_certificate decides
        key = _read_pem(key_path, _load_ec_key)
        if cert.public_key() != key.public_key():
            raise ConfigError(str(key_path), "-", f"does not belong to {cert_path.name}")
        return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"Commune bridge local CA {secrets.token_hex(4)}"
            ),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_name_constraints(names), critical=True)
        .sign(key, hashes.SHA256())
    )
    write_file_atomically(key_path, _private_pem(key), 0o600)
    write_file_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert, key


def _name_constraints(names: set[SanName]) -> x509.NameConstraints:
    """The CA may sign only the bridge's own names and addresses, and private addresses."""
    networks = {ipaddress.ip_network(n) for n in PRIVATE_NETWORKS}
    permitted: list[x509.GeneralName] = [x509.DNSName(s) for s in PRIVATE_SUFFIXES]
    for name in _sorted_names(names):
        if isinstance(name, x509.DNSName):
            if not any(name.value == s or name.value.endswith("." + s) for s in PRIVATE_SUFFIXES):
                permitted.append(name)
        elif isinstance(name, x509.IPAddress) and not any(
            name.value in network
            for network in networks  # type: ignore[operator]
        ):
            networks.add(ipaddress.ip_network(name.value))  # a public address of this bridge
    ordered = sorted(networks, key=lambda n: (n.version, str(n)))
    permitted += [x509.IPAddress(network) for network in ordered]
    return x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None)


def _permitted(ca_cert: x509.Certificate, names: set[SanName]) -> set[SanName]:
    """The names the CA may sign for; a TV would refuse a certificate naming any other."""
    try:
        constraints = ca_cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return names  # a CA made before name constraints: it may sign anything
    subtrees = constraints.permitted_subtrees or []
    dns = [n.value.lower() for n in subtrees if isinstance(n, x509.DNSName)]
    nets = [n.value for n in subtrees if isinstance(n, x509.IPAddress)]
    kept: set[SanName] = set()
    for name in names:
        if isinstance(name, x509.DNSName):
            value = name.value.lower()
            ok = any(value == d or value.endswith("." + d) for d in dns)
        else:
            ok = any(name.value in net for net in nets)  # type: ignore[operator]
        if ok:
            kept.add(name)
        else:
            logger.warning(
                "the CA may not sign for %s (made before this address or name was in use); "
                "run `commune-bridge rotate-ca` to include it",
                name.value,
            )
    return kept


def _server_cert_usable(
    paths: CertificatePaths, ca_cert: x509.Certificate, wanted: set[SanName], now: datetime
) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(paths.cert.read_bytes())
        key = _load_ec_key(paths.key.read_bytes())
        cert.verify_directly_issued_by(ca_cert)
        names = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    return (
        cert.public_key() == key.public_key()
        and cert.not_valid_before_utc <= now
        and cert.not_valid_after_utc - now > RENEW_BEFORE
        and wanted <= names
    )


def _issue_server_cert(
    key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    names: set[SanName],
    now: datetime,
) -> x509.Certificate:
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"Commune bridge {socket.gethostname()}"[:64])]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + SERVER_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_sorted_names(names)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _san_names(hosts: Iterable[str]) -> set[SanName]:
    names: set[SanName] = set()
    for host in hosts:
        text = host.strip().strip("[]").split("%")[0].rstrip(".").lower()
        if not text:
            continue
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            try:
                names.add(x509.DNSName(text.encode("idna").decode("ascii")))
            except (UnicodeError, ValueError):
                continue  # not a name a browser could type either
            continue
        # 0.0.0.0 and :: are what the server binds to, never what a browser connects to.
        if not address.is_unspecified:
            names.add(x509.IPAddress(address))
    return names


def _sorted_names(names: set[SanName]) -> list[x509.GeneralName]:
    # A stable order keeps the certificate readable and diffs of `openssl x509 -text` quiet.
    return sorted(names, key=lambda n: (isinstance(n, x509.IPAddress), str(n.value)))


def _load_ec_key(data: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("not an EC private key")
    return key


def _read_pem(path: Path, load: Callable[[bytes], T]) -> T:
    try:
        return load(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(str(path), "-", f"cannot read PEM: {exc}") from exc


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
