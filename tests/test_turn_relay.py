"""A real coturn relays for the credentials the bridge hands out, and carries a hall behind NAT.

The hall's Chromium runs in a network namespace (tests/netlab.py) whose only UDP path
to the bridge's machine is the TURN port; iptables drops the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aioice import stun
from aioice.turn import create_turn_endpoint

from tests.chromium import CHROMIUM, require_chromium
from tests.edge import bearer
from tests.netlab import Netns, netns
from tests.peers import start_publisher
from tests.test_network import launch
from tests.test_turn import SECRET, TTL, make_settings
from tests.tv_picture import judge_tv
from web.app import create_app
from web.config import Settings, TurnConfig
from web.turn import turn_server

PICTURES_JUDGED = 5  # pictures of the chair judged at the hall behind NAT, 0.4 s apart

# --- a real coturn --------------------------------------------------------------


def _require(tools: tuple[str, ...], why: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    problem = f"missing {', '.join(missing)}" if missing else ""
    if not problem and "ip" in tools and os.geteuid() != 0:
        problem = "network namespaces need root"
    if not problem:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem}; CI must {why}")
    pytest.skip(problem)


def free_udp_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def answers_stun(address: str, port: int) -> bool:
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.2)
        probe.sendto(bytes(request), (address, port))
        try:
            reply = stun.parse_message(probe.recv(2048))
        except (TimeoutError, ConnectionError, ValueError):
            return False
    return reply.transaction_id == request.transaction_id


@dataclass
class TurnServer:
    address: str
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"turn:{self.address}:{self.port}?transport=udp"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def run_turnserver(address: str, peer: str | None, directory: Path) -> Iterator[TurnServer]:
    """coturn on `address`, sharing SECRET, relaying to `peer` only (as the README advises)."""
    _require(("turnserver",), "install coturn")
    port = free_udp_port(address)
    relay_ports = 40000 + (os.getpid() % 200) * 50
    server = TurnServer(address, port, directory / "turnserver.log")
    command = [
        "turnserver",
        "-n",  # no turnserver.conf: everything is on this command line
        "--no-cli",
        "--no-tls",
        "--no-dtls",
        "--fingerprint",
        "--use-auth-secret",
        f"--static-auth-secret={SECRET}",
        "--realm=bridge.test",
        f"--listening-ip={address}",
        f"--listening-port={port}",
        f"--relay-ip={address}",
        f"--min-port={relay_ports}",
        f"--max-port={relay_ports + 49}",
        "--denied-peer-ip=0.0.0.0-255.255.255.255",
        *([f"--allowed-peer-ip={peer}"] if peer else []),
        # Its own file, which coturn flushes line by line (its stdout would be block-buffered).
        f"--log-file={server.log}",
        "--simple-log",
        "--no-stdout-log",
        "--verbose",  # one line per allocation and permission: who relayed to whom
        f"--pidfile={directory / 'turnserver.pid'}",
        f"--db={directory / 'turndb'}",
    ]
    output = directory / "turnserver.out"
    with output.open("wb") as early:  # what it says before its log file is open
        process = subprocess.Popen(command, stdout=early, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not answers_stun(address, port):
            if process.poll() is not None or time.monotonic() > deadline:
                said = output.read_text(errors="replace")
                pytest.fail(f"turnserver did not start:\n{said[-2000:]}")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def allocate(turn: TurnServer, username: str, password: str) -> tuple[str, int]:
    transport, _ = await create_turn_endpoint(
        asyncio.DatagramProtocol, (turn.address, turn.port), username, password
    )
    try:
        return transport.get_extra_info("sockname")  # type: ignore[no-any-return]
    finally:
        transport.close()


async def test_coturn_relays_for_the_credentials_the_bridge_hands_out_and_refuses_stale_ones(
    tmp_path: Path,
) -> None:
    with run_turnserver("127.0.0.1", None, tmp_path) as turn:
        config = TurnConfig(urls=(turn.url,), secret=SECRET, ttl=TTL)
        fresh = turn_server(config, "hall-thon-1", now=time.time())
        stale = turn_server(config, "hall-thon-1", now=time.time() - TTL - 60)
        forged = turn_server(
            TurnConfig(urls=(turn.url,), secret="some-other-secret-0000", ttl=TTL),
            "hall-thon-1",
            now=time.time(),
        )

        relayed = await allocate(turn, str(fresh["username"]), str(fresh["credential"]))
        assert relayed[0] == "127.0.0.1"
        for refused in (stale, forged):
            with pytest.raises(stun.TransactionFailed) as caught:
                await allocate(turn, str(refused["username"]), str(refused["credential"]))
            assert caught.value.response.attributes["ERROR-CODE"][0] == 401


# --- a hall behind NAT ----------------------------------------------------------


def allow_only_turn(hall: Netns, port: int) -> None:
    """Leave the hall one UDP path to the bridge's machine: the TURN port."""
    for chain, interface, peer, peer_port in (
        ("OUTPUT", "-o", "-d", "--dport"),
        ("INPUT", "-i", "-s", "--sport"),
    ):
        hall.run("iptables", "-A", chain, interface, "lo", "-j", "ACCEPT")
        hall.run(
            "iptables", "-A", chain, "-p", "udp", peer, hall.host_address, peer_port, str(port),
            "-j", "ACCEPT",
        )  # fmt: skip
        hall.run("iptables", "-A", chain, "-p", "udp", "-j", "DROP")


@pytest.fixture
def natted_hall(ice_addresses: list[str]) -> Iterator[Netns]:
    _require(("ip", "iptables"), "install iproute2 and iptables and run as root")
    with netns("turn-", 0, f"10.234.{os.getpid() % 250}") as hall:
        # The bridge offers this address, the one coturn is allowed to relay to; the
        # hall could reach it directly, were it not for its iptables rules.
        ice_addresses.append(hall.host_address)
        yield hall


@pytest.fixture
def hall_turn(natted_hall: Netns, tmp_path: Path) -> Iterator[TurnServer]:
    with run_turnserver(natted_hall.host_address, natted_hall.host_address, tmp_path) as turn:
        allow_only_turn(natted_hall, turn.port)
        yield turn


@pytest.fixture
async def natted_bridge(
    natted_hall: Netns, hall_turn: TurnServer, tmp_path: Path, unused_tcp_port: int
) -> AsyncIterator[tuple[Settings, int]]:
    """The bridge on loopback (for the chair) and on the hall's link (for its pages)."""
    turn = {"urls": [hall_turn.url], "secret": SECRET, "ttl": TTL}
    # No STUN server: nothing answers one here, and gathering would wait for it.
    settings = make_settings(tmp_path, turn, ice_servers=[])
    runner = web.AppRunner(create_app(settings, bridge_options={"idle_timeout": 5.0}))
    await runner.setup()
    for address in ("127.0.0.1", natted_hall.host_address):
        await web.TCPSite(runner, address, unused_tcp_port).start()
    yield settings, unused_tcp_port
    await runner.cleanup()


# Every peer connection a page makes, so the test can ask it which path it took.
RECORD_PEER_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.testPeerConnections = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.testPeerConnections.push(this); }
  };
})();
"""

SELECTED_PAIR = """async () => {
  const pc = window.testPeerConnections.filter((p) => p.connectionState === "connected").pop();
  if (!pc) return null;
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((r) => {
    if (r.type === "transport" && r.selectedCandidatePairId) {
      pair = stats.get(r.selectedCandidatePairId);
    }
  });
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId);
  const remote = stats.get(pair.remoteCandidateId);
  return {local: local.candidateType, relayProtocol: local.relayProtocol || null,
          remote: remote.candidateType, remoteAddress: remote.address,
          bytesReceived: pair.bytesReceived};
}"""


async def publish_over_loopback(port: int, key: str) -> Any:
    async def signal(offer: str) -> str:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"http://127.0.0.1:{port}/whip", data=offer, headers=bearer(key)) as r,
        ):
            assert r.status == 201, await r.text()
            return await r.text()

    return await start_publisher(signal)


@pytest.mark.browser
async def test_a_hall_behind_nat_plays_the_chair_through_the_turn_relay(
    natted_hall: Netns,
    hall_turn: TurnServer,
    natted_bridge: tuple[Settings, int],
    tmp_path: Path,
) -> None:
    require_chromium()
    from playwright.async_api import async_playwright

    settings, port = natted_bridge
    hall = settings.halls[0]
    wrapper = tmp_path / "chromium-behind-nat"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {natted_hall.name} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    chair = await publish_over_loopback(port, settings.keys.chair)
    try:
        async with async_playwright() as playwright:
            village = await launch(playwright, str(wrapper))
            try:
                context = await village.new_context(viewport={"width": 640, "height": 360})
                await context.add_init_script(RECORD_PEER_CONNECTIONS)
                tv = await context.new_page()
                errors: list[str] = []
                tv.on("pageerror", lambda exc: errors.append(str(exc)))
                address = f"http://{natted_hall.host_address}:{port}/hall/{hall.id}?key={hall.key}"
                await tv.goto(address)
                await tv.wait_for_function(
                    "() => window.hallStats.framesRendered > 30", timeout=60_000
                )
                await tv.wait_for_function(
                    "() => window.hallStats.state === 'live'", timeout=10_000
                )

                pair = await tv.evaluate(SELECTED_PAIR)
                verdicts = []
                for n in range(PICTURES_JUDGED):
                    if n:
                        await tv.wait_for_timeout(400)
                    verdicts.append(
                        await judge_tv(
                            tv, lambda: chair.video.frames_sent, tmp_path / f"damaged-{n}.png"
                        )
                    )
            finally:
                await village.close()
    finally:
        await chair.close()

    # The media came through coturn: the hall's end of the pair is a relayed address,
    # the far end the bridge's own candidate, allocated with the hall's credential.
    assert pair is not None, "no connected peer connection on the hall page"
    assert (pair["local"], pair["relayProtocol"]) == ("relay", "udp"), pair
    assert pair["remoteAddress"] == natted_hall.host_address, pair
    assert pair["bytesReceived"] > 0
    # coturn agrees: the hall's credential allocated, and it was let through to the bridge.
    log = hall_turn.log_text()
    user = f":hall-{hall.id}>: incoming packet"
    assert f"{user} ALLOCATE processed, success" in log, log[-3000:]
    assert f"{user} CREATE_PERMISSION processed, success" in log, log[-3000:]
    assert f"peer {natted_hall.host_address} lifetime updated" in log, log[-3000:]
    # And it is the chair's picture, each one a recent frame decoded whole, moving on.
    # A damaged picture is kept as a PNG, to see why.
    assert None not in verdicts, verdicts
    intact = [v for v in verdicts if v is not None and v.intact]
    assert len(intact) == PICTURES_JUDGED, (verdicts, f"damaged pictures kept in {tmp_path}")
    numbers = [v.number for v in intact]
    assert numbers == sorted(set(numbers)), verdicts
    assert errors == []
