"""An offer cannot aim the bridge's connectivity checks at addresses of its choosing."""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from typing import Any

import aioice.ice
import pytest
from aiohttp.test_utils import TestClient

from bridge.candidates import CandidatePolicy, trim_candidates
from tests.bridgeproc import whep_offer
from tests.edge import bearer

OWN = "203.0.113.50"  # the signalling client, as the bridge sees it


def candidate(address: str, port: int = 5000, n: int = 1) -> str:
    return f"a=candidate:{n} 1 udp 2130706431 {address} {port} typ host"


def offer_with(*sections: list[str]) -> str:
    lines = ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0"]
    for index, candidates in enumerate(sections):
        lines += ["m=audio 9 UDP/TLS/RTP/SAVPF 111", f"a=mid:{index}", *candidates]
    return "\r\n".join(lines) + "\r\n"


def kept(sdp: str) -> list[str]:
    return [line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate:")]


def test_only_the_clients_own_and_private_addresses_are_kept() -> None:
    addresses = [OWN, "192.168.1.20", "10.1.2.3", "fe80::1", "abcd-1234.local", "8.8.8.8"]
    addresses += ["1.1.1.1", "100.64.0.9", "224.0.0.251", "0.0.0.0", "dns.example.vn"]
    trimmed = trim_candidates(
        offer_with([candidate(a) for a in addresses]), OWN, CandidatePolicy(addresses=10)
    )
    assert kept(trimmed.sdp) == [OWN, "192.168.1.20", "10.1.2.3", "fe80::1", "abcd-1234.local"]
    assert trimmed.dropped == 6


def test_an_ipv4_client_seen_through_a_dual_stack_socket_keeps_its_own_address() -> None:
    trimmed = trim_candidates(offer_with([candidate(OWN)]), f"::ffff:{OWN}", CandidatePolicy())
    assert kept(trimmed.sdp) == [OWN]


def test_at_most_ten_candidates_per_section_and_four_addresses_per_session() -> None:
    first = [candidate(f"192.168.1.{n % 3 + 1}", 5000 + n) for n in range(30)]
    second = [candidate(f"10.0.0.{n}", 6000 + n) for n in range(30)]
    trimmed = trim_candidates(offer_with(first, second), OWN, CandidatePolicy())
    found = kept(trimmed.sdp)
    assert len([a for a in found if a.startswith("192.168.")]) == 10
    assert set(found) == {"192.168.1.1", "192.168.1.2", "192.168.1.3", "10.0.0.0"}


def test_behind_nat_an_operator_may_allow_public_addresses_and_turn_servers() -> None:
    offer = offer_with([candidate("198.18.0.1"), candidate("1.1.1.1"), candidate("9.9.9.9")])
    assert kept(trim_candidates(offer, OWN, CandidatePolicy(public=True)).sdp) == [
        "198.18.0.1",
        "1.1.1.1",
        "9.9.9.9",
    ]
    turn = CandidatePolicy(allowed=frozenset({"9.9.9.9"}))
    assert kept(trim_candidates(offer, OWN, turn).sdp) == ["198.18.0.1", "9.9.9.9"]


class _Counter(asyncio.DatagramProtocol):
    def __init__(self, address: str, seen: Counter[str]) -> None:
        self.address, self.seen = address, seen

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if data[:2] == b"\x00\x01":  # a STUN binding request
            self.seen[self.address] += 1


@pytest.mark.asyncio
async def test_an_offer_with_400_candidates_gets_checks_to_at_most_four_loopback_addresses(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # A safety net, not a stand-in: the bridge must never even try a public address here.
    given: list[str] = []
    original = aioice.ice.Connection.add_remote_candidate

    async def add_remote_candidate(self: Any, remote: Any) -> None:
        if remote is not None:
            given.append(remote.host)
            assert remote.host.startswith("127."), f"would check {remote.host}"
        await original(self, remote)

    monkeypatch.setattr(aioice.ice.Connection, "add_remote_candidate", add_remote_candidate)
    loop = asyncio.get_running_loop()
    seen: Counter[str] = Counter()
    listeners = []
    for k in range(1, 9):
        address = f"127.0.0.{k}"
        transport, _ = await loop.create_datagram_endpoint(
            functools.partial(_Counter, address, seen), local_addr=(address, 0)
        )
        listeners.append((address, transport.get_extra_info("sockname")[1], transport))
    try:
        lines = [line for line in (await whep_offer()).splitlines() if "a=candidate:" not in line]
        ours = []
        for n in range(200):
            address, port, _ = listeners[n % len(listeners)]
            ours.append(candidate(address, port, n))
            ours.append(candidate(f"100.64.{n // 250}.{n % 250 + 1}", 3478, 1000 + n))
        offer = []
        for line in lines:
            offer.append(line)
            if line.startswith("a=mid:"):
                offer += ours
        response = await client.post(
            "/whep", data="\r\n".join(offer) + "\r\n", headers=bearer(settings.keys.viewer)
        )
        assert response.status == 201, await response.text()
        await asyncio.sleep(3)  # aioice checks each pair within its first few seconds
    finally:
        for _, _, transport in listeners:
            transport.close()
    assert given, "the bridge took no candidate at all"
    assert len(given) <= 20  # ten per section, two sections
    assert len(set(given)) <= 4
    assert seen and set(seen) <= set(given)
    assert len(seen) <= 4
