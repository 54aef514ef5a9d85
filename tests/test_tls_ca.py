"""The local CA can sign only for this bridge, can be rotated, and its key can live elsewhere."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from web.errors import ConfigError
from web.tls import CertificatePaths, ensure_certificate, rotate_ca

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
HOSTS = ["bridge.example.vn", "203.0.113.7"]  # a public name and address the operator set


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture
def paths(tmp_path: Path) -> CertificatePaths:
    return ensure_certificate(tmp_path, HOSTS, now=NOW)


def _sign_with_the_ca(tmp_path: Path, name: x509.GeneralName) -> x509.Certificate:
    """What someone holding ca-key.pem could make: a server certificate for any name."""
    ca = load(tmp_path / "tls" / "ca.pem")
    ca_key = serialization.load_pem_private_key(
        (tmp_path / "tls" / "ca-key.pem").read_bytes(), password=None
    )
    key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(hours=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([name]), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )


def _verify(
    ca: x509.Certificate, leaf: x509.Certificate, subject: x509.verification.Subject
) -> None:
    PolicyBuilder().store(Store([ca])).time(NOW).build_server_verifier(subject).verify(leaf, [])


def test_the_ca_has_critical_name_constraints_for_this_bridge_and_private_ranges(
    paths: CertificatePaths,
) -> None:
    extension = load(paths.ca_cert).extensions.get_extension_for_class(x509.NameConstraints)
    permitted = extension.value.permitted_subtrees or []
    assert extension.critical
    assert x509.DNSName("bridge.example.vn") in permitted
    assert x509.IPAddress(ipaddress.ip_network("203.0.113.7/32")) in permitted
    assert x509.IPAddress(ipaddress.ip_network("192.168.0.0/16")) in permitted
    assert x509.IPAddress(ipaddress.ip_network("10.0.0.0/8")) in permitted
    assert not [n for n in permitted if isinstance(n, x509.DNSName) and n.value == "example.com"]


def test_a_certificate_the_ca_signs_for_another_website_fails_verification(
    tmp_path: Path, paths: CertificatePaths
) -> None:
    ca = load(paths.ca_cert)
    forged = _sign_with_the_ca(tmp_path, x509.DNSName("example.com"))
    with pytest.raises(VerificationError):
        _verify(ca, forged, x509.DNSName("example.com"))
    forged_ip = _sign_with_the_ca(tmp_path, x509.IPAddress(ipaddress.ip_address("8.8.8.8")))
    with pytest.raises(VerificationError):
        _verify(ca, forged_ip, x509.IPAddress(ipaddress.ip_address("8.8.8.8")))
    # The bridge's own certificate, for its names and a LAN address, passes.
    for subject in (x509.DNSName("bridge.example.vn"), x509.DNSName("localhost")):
        _verify(ca, load(paths.cert), subject)


def _openssl_verify(ca: Path, leaf: Path) -> subprocess.CompletedProcess[str]:
    at = str(int(NOW.timestamp()))
    return subprocess.run(
        ["openssl", "verify", "-attime", at, "-CAfile", str(ca), str(leaf)],
        capture_output=True,
        text=True,
        timeout=10,
    )


def test_openssl_refuses_the_forged_certificate_too(
    tmp_path: Path, paths: CertificatePaths
) -> None:
    forged = _sign_with_the_ca(tmp_path, x509.DNSName("example.com"))
    leaf = tmp_path / "forged.pem"
    leaf.write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    refused = _openssl_verify(paths.ca_cert, leaf)
    assert refused.returncode != 0
    assert "permitted subtree violation" in refused.stdout + refused.stderr
    assert _openssl_verify(paths.ca_cert, paths.cert).returncode == 0


def test_the_bridge_starts_without_the_ca_key_while_its_certificate_is_valid(
    tmp_path: Path, paths: CertificatePaths
) -> None:
    serial = load(paths.cert).serial_number
    (tmp_path / "tls" / "ca-key.pem").unlink()
    again = ensure_certificate(tmp_path, HOSTS, now=NOW + timedelta(days=100))
    assert load(again.cert).serial_number == serial
    with pytest.raises(ConfigError, match="ca-key.pem"):
        ensure_certificate(tmp_path, HOSTS, now=NOW + timedelta(days=400))


def test_rotating_keeps_the_old_ca_and_makes_a_new_constrained_one(
    tmp_path: Path, paths: CertificatePaths
) -> None:
    old_ca = paths.ca_cert.read_bytes()
    kept = rotate_ca(tmp_path, HOSTS, now=NOW + timedelta(days=1))
    new_ca = load(paths.ca_cert)
    assert paths.ca_cert.read_bytes() != old_ca
    assert any(p.read_bytes() == old_ca for p in kept)
    load(paths.cert).verify_directly_issued_by(new_ca)
    assert new_ca.extensions.get_extension_for_class(x509.NameConstraints).critical


def test_rotate_ca_is_a_command(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\nserver: {{host: 127.0.0.1}}\n")
    result = subprocess.run(
        [sys.executable, "-m", "web.cli", "--config", str(config), "rotate-ca"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "New CA" in result.stdout
    assert load(tmp_path / "data" / "tls" / "ca.pem").extensions.get_extension_for_class(
        x509.NameConstraints
    )
