"""Shared fixtures: a loopback bridge in a temp data directory; ICE kept on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aioice.ice
import pytest

from web.config import Settings, load_settings

LOOPBACK = "127.0.0.1"


def keep_ice_on(addresses: list[str]) -> None:
    """Make aioice offer only `addresses` as host candidates, in this process.

    aioice otherwise offers every interface except loopback, and tests must
    not send a packet anywhere but loopback or their own namespaces.
    """

    def host_addresses(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
        return list(addresses)

    aioice.ice.get_host_addresses = host_addresses  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def ice_addresses() -> Iterator[list[str]]:
    """The addresses ICE may use; a test may add its own namespace's link address."""
    original = aioice.ice.get_host_addresses
    addresses = [LOOPBACK]
    keep_ice_on(addresses)
    yield addresses
    aioice.ice.get_host_addresses = original


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "data"),
            "server": {"host": "127.0.0.1", "port": 18443, "tls": "off"},
        },
    )
