"""Which ICE candidate addresses the bridge checks: the limits, plus the TURN/STUN servers'.

A hall behind NAT that relays through TURN offers the TURN server's public
address; that address is allowed by name here, looked up once at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from bridge.candidates import CandidatePolicy

from .config import Settings

logger = logging.getLogger(__name__)


def server_hosts(settings: Settings) -> list[str]:
    """The host part of every STUN/TURN URL in the config."""
    urls: list[str] = list(settings.turn.urls) if settings.turn else []
    for server in settings.ice_servers:
        value = server["urls"]
        urls += [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    hosts = []
    for url in urls:
        rest = url.split(":", 1)[1].split("?", 1)[0]  # turn:HOST:PORT?transport=udp
        host = urlsplit(f"//{rest}").hostname
        if host and host not in hosts:
            hosts.append(host)
    return hosts


async def candidate_policy(settings: Settings) -> CandidatePolicy:
    limits = settings.limits
    allowed: set[str] = set()
    loop = asyncio.get_running_loop()
    for host in server_hosts(settings):
        try:
            allowed.add(str(ipaddress.ip_address(host)))
            continue
        except ValueError:
            pass
        before = len(allowed)
        with contextlib.suppress(OSError, UnicodeError):  # TimeoutError is an OSError
            async with asyncio.timeout(5):
                for *_, sockaddr in await loop.getaddrinfo(host, None, type=socket.SOCK_DGRAM):
                    allowed.add(str(sockaddr[0]))
        if len(allowed) == before:
            logger.warning("cannot look up %s; its relay candidates will be ignored", host)
    return CandidatePolicy(
        per_section=limits.candidates_per_section,
        addresses=limits.candidate_addresses,
        public=limits.public_candidates,
        allowed=frozenset(allowed),
    )
