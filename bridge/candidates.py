"""Trims the ICE candidates of an offer, so an offer cannot aim the bridge's checks at strangers.

The bridge sends STUN checks to every address an offer names. Without a
limit one offer with hundreds of candidates makes it send thousands of packets
to addresses of the sender's choosing. Kept: at most a few candidates per
media section, at most a few distinct addresses per session, and only
addresses that can be the peer's: the signalling client's own address, a
private, link-local or loopback one, an mDNS name, or one named as allowed
(a TURN server's). Behind NAT an operator may allow any address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CandidatePolicy:
    per_section: int = 10
    addresses: int = 4  # distinct addresses checked per session
    public: bool = False  # any address at all (deployments whose halls sit behind NAT)
    allowed: frozenset[str] = field(default_factory=frozenset)  # e.g. TURN servers


@dataclass
class Trimmed:
    sdp: str
    kept: int = 0
    dropped: int = 0
    addresses: list[str] = field(default_factory=list)


def _usable(address: str, client: str | None, policy: CandidatePolicy) -> bool:
    if address.endswith(".local"):
        return True  # a browser's mDNS name for its own LAN address
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False  # a DNS name: the bridge would have to look it up, and for whom?
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return False
    if str(ip) == client or str(ip) in policy.allowed or address in policy.allowed:
        return True
    return policy.public or ip.is_private or ip.is_loopback or ip.is_link_local


def trim_candidates(sdp: str, client: str | None, policy: CandidatePolicy) -> Trimmed:
    """The offer with only the candidates the bridge may check (see the module docstring)."""
    if client is not None:
        try:
            ip = ipaddress.ip_address(client.split("%")[0])
        except ValueError:
            client = None
        else:  # a dual-stack listener sees an IPv4 client as ::ffff:a.b.c.d
            mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
            client = str(mapped or ip)
    trimmed = Trimmed("")
    lines: list[str] = []
    in_section = 0
    for line in sdp.splitlines():
        if line.startswith("m="):
            in_section = 0
        if line.startswith("a=candidate:"):
            parts = line.split()
            address = parts[4] if len(parts) > 7 else ""
            known = address in trimmed.addresses
            if (
                in_section < policy.per_section
                and address
                and _usable(address, client, policy)
                and (known or len(trimmed.addresses) < policy.addresses)
            ):
                in_section += 1
                trimmed.kept += 1
                if not known:
                    trimmed.addresses.append(address)
            else:
                trimmed.dropped += 1
                continue
        lines.append(line)
    trimmed.sdp = "\r\n".join(lines) + "\r\n"
    return trimmed
