"""Self-signed certificates: made once, verified by the CA, re-issued only when needed."""

from __future__ import annotations

import ipaddress
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.verification import PolicyBuilder, Store

from web.tls import CertificatePaths, ensure_certificate, local_addresses

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def san(cert: x509.Certificate) -> x509.SubjectAlternativeName:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


@pytest.fixture
def paths(tmp_path: Path) -> CertificatePaths:
    return ensure_certificate(tmp_path, ["192.0.2.10", "bridge.lan"], now=NOW)


def test_certificate_is_signed_by_the_local_ca(paths: CertificatePaths) -> None:
    ca, cert = load(paths.ca_cert), load(paths.cert)

    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert ca.subject.rfc4514_string().startswith("CN=Commune bridge local CA ")
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.not_valid_after_utc - NOW == timedelta(days=397)


def test_certificate_passes_browser_style_verification_for_each_host(
    paths: CertificatePaths,
) -> None:
    store = Store([load(paths.ca_cert)])
    leaf = load(paths.cert)
    subjects: list[x509.verification.Subject] = [
        x509.DNSName("bridge.lan"),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("192.0.2.10")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    for subject in subjects:
        verifier = PolicyBuilder().store(store).time(NOW).build_server_verifier(subject)
        verifier.verify(leaf, [])


def test_certificate_names_requested_hosts_and_this_machine(paths: CertificatePaths) -> None:
    names = san(load(paths.cert))

    assert {"bridge.lan", "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    assert {
        ipaddress.ip_address("192.0.2.10"),
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    } <= set(names.get_values_for_type(x509.IPAddress))


def test_private_keys_are_readable_by_the_owner_only(paths: CertificatePaths) -> None:
    tls_dir = paths.cert.parent

    assert stat.S_IMODE(tls_dir.stat().st_mode) == 0o700
    for private in (paths.key, tls_dir / "ca-key.pem"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert sorted(p.name for p in tls_dir.iterdir()) == [
        "ca-key.pem",
        "ca.pem",
        "server-key.pem",
        "server.pem",
    ]


def test_second_start_keeps_the_same_certificate(tmp_path: Path, paths: CertificatePaths) -> None:
    before = load(paths.cert).serial_number
    again = ensure_certificate(tmp_path, ["bridge.lan"], now=NOW + timedelta(days=10))

    assert again == paths
    assert load(again.cert).serial_number == before


def test_new_host_reissues_the_certificate_under_the_same_ca(
    tmp_path: Path, paths: CertificatePaths
) -> None:
    ca_before, cert_before = paths.ca_cert.read_bytes(), load(paths.cert)
    again = ensure_certificate(tmp_path, ["192.0.2.10", "bridge.lan", "10.20.30.40"], now=NOW)
    cert = load(again.cert)

    assert again.ca_cert.read_bytes() == ca_before
    assert cert.serial_number != cert_before.serial_number
    assert ipaddress.ip_address("10.20.30.40") in san(cert).get_values_for_type(x509.IPAddress)
    cert.verify_directly_issued_by(load(again.ca_cert))


def test_certificate_near_expiry_is_reissued_under_the_same_ca(
    tmp_path: Path, paths: CertificatePaths
) -> None:
    ca_before, serial_before = paths.ca_cert.read_bytes(), load(paths.cert).serial_number
    later = NOW + timedelta(days=380)
    again = ensure_certificate(tmp_path, ["192.0.2.10", "bridge.lan"], now=later)
    cert = load(again.cert)

    assert again.ca_cert.read_bytes() == ca_before
    assert cert.serial_number != serial_before
    assert cert.not_valid_after_utc - later == timedelta(days=397)
    cert.verify_directly_issued_by(load(again.ca_cert))


def test_wildcard_bind_address_is_not_put_in_the_certificate(tmp_path: Path) -> None:
    paths = ensure_certificate(tmp_path, ["0.0.0.0", "::"], now=NOW)
    addresses = san(load(paths.cert)).get_values_for_type(x509.IPAddress)

    assert ipaddress.ip_address("0.0.0.0") not in addresses
    assert ipaddress.ip_address("::") not in addresses


def test_a_server_key_that_does_not_match_is_replaced(
    tmp_path: Path, paths: CertificatePaths
) -> None:
    serial_before = load(paths.cert).serial_number
    paths.key.write_bytes((tmp_path / "tls" / "ca-key.pem").read_bytes())
    again = ensure_certificate(tmp_path, ["192.0.2.10", "bridge.lan"], now=NOW)

    assert load(again.cert).serial_number != serial_before


def test_local_addresses_are_ip_literals_without_link_local() -> None:
    addresses = [ipaddress.ip_address(a) for a in local_addresses()]

    assert not any(a.version == 6 and a.is_link_local for a in addresses)
    assert len(set(addresses)) == len(addresses)
