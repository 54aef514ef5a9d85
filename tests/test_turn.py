"""TURN: short-lived credentials for media keys only, checked by a real coturn, and a hall
behind NAT whose TV plays the chair through the relay.

The NAT test runs Debian's `turnserver` (coturn) from the command line, with no
system config, on the host side of a veth pair. The hall's Chromium sits in a
network namespace of its own where iptables drops every UDP packet except those
to and from the TURN port, so media can only flow through the relay. Nothing
leaves this machine.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
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
from aiohttp.test_utils import TestClient
from aioice import stun
from aioice.turn import create_turn_endpoint

from rooms import permissions
from tests.edge import bearer, ws_messages
from tests.netlab import sh
from tests.peers import start_publisher, start_viewer
from tests.test_browser import CHROMIUM, _require_chromium
from tests.test_network import launch
from web.app import create_app
from web.auth import Identity
from web.config import Settings, TurnConfig, load_settings
from web.turn import credential, ice_servers_for, turn_server

SECRET = "static-turn-secret-never-sent-4711"
STUN_SERVER = {"urls": "stun:127.0.0.1:3478"}
TURN_URLS = ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"]
TTL = 3600


def make_settings(
    tmp_path: Path, turn: dict[str, object] | None, ice_servers: list[object] | None = None
) -> Settings:
    overrides: dict[str, object] = {
        "data_dir": str(tmp_path / "data"),
        "server": {"host": "127.0.0.1", "port": 18443, "tls": "off"},
        "ice_servers": [STUN_SERVER] if ice_servers is None else ice_servers,
    }
    if turn is not None:
        overrides["turn"] = turn
    return load_settings(None, overrides=overrides)


def expiry_if_valid(server: dict[str, Any], label: str) -> int:
    """The expiry of a TURN entry, after checking it the way coturn does."""
    username = server["username"]
    expiry, _, named = username.partition(":")
    assert named == label
    digest = hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()
    assert server["credential"] == base64.b64encode(digest).decode()
    return int(expiry)


def parse_links(values: list[str]) -> list[dict[str, str]]:
    """RFC 9725 Link header values as {url, rel, username, ...}."""
    parsed = []
    for value in values:
        url, *params = [part.strip() for part in value.split(";")]
        entry = {"url": url.strip("<>")}
        for param in params:
            name, _, quoted = param.partition("=")
            entry[name] = quoted.strip('"')
        parsed.append(entry)
    return parsed


# --- the credentials ------------------------------------------------------------


def test_a_credential_is_the_base64_hmac_sha1_of_its_username_under_the_secret() -> None:
    # Cross-checked with: printf %s 1800086400:hall-thon-1 |
    #   openssl dgst -sha1 -hmac north-hall-shared-secret -binary | base64
    assert credential("north-hall-shared-secret", "1800086400:hall-thon-1") == (
        "CvREBBhw/JxB0H6gH67R/tfeW/E="
    )


def test_a_turn_entry_expires_ttl_seconds_after_it_is_made_and_names_its_key() -> None:
    turn = TurnConfig(urls=("turn:t.example:3478",), secret=SECRET, ttl=600)

    server = turn_server(turn, "hall-thon-2", now=1_800_000_000.7)

    assert server["urls"] == ["turn:t.example:3478"]
    assert server["username"] == "1800000600:hall-thon-2"
    assert expiry_if_valid(server, "hall-thon-2") == 1_800_000_600


def test_static_servers_come_first_then_a_fresh_turn_entry(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, {"urls": TURN_URLS, "secret": SECRET, "ttl": TTL})

    early = ice_servers_for(settings, Identity("viewer"), now=1_800_000_000)
    later = ice_servers_for(settings, Identity("viewer"), now=1_800_000_100)

    assert early[0] == STUN_SERVER and later[0] == STUN_SERVER
    assert expiry_if_valid(early[1], "viewer") == 1_800_000_000 + TTL
    assert expiry_if_valid(later[1], "viewer") == 1_800_000_100 + TTL


def test_without_a_turn_section_only_the_static_servers_are_given(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, None)

    assert ice_servers_for(settings, Identity("hall", "thon-1")) == [STUN_SERVER]


# --- what the edge hands out ----------------------------------------------------


@pytest.fixture
def turn_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, {"urls": TURN_URLS, "secret": SECRET, "ttl": TTL})


@pytest.fixture
async def turn_client(aiohttp_client: Any, turn_settings: Settings) -> TestClient:
    client: TestClient = await aiohttp_client(create_app(turn_settings))
    return client


async def test_hall_and_public_viewer_welcomes_carry_short_lived_credentials(
    turn_client: TestClient, turn_settings: Settings
) -> None:
    hall = turn_settings.halls[0]
    for key, label in ((hall.key, f"hall-{hall.id}"), (turn_settings.keys.viewer, "viewer")):
        before = int(time.time())
        ws = await turn_client.ws_connect(f"/ws?key={key}")
        raw = (await ws.receive(timeout=5)).data
        after = int(time.time())
        await ws.close()

        welcome = json.loads(raw)
        assert welcome["type"] == "welcome"
        stun_entry, turn_entry = welcome["ice_servers"]
        assert stun_entry == STUN_SERVER
        assert turn_entry["urls"] == TURN_URLS
        assert before + TTL <= expiry_if_valid(turn_entry, label) <= after + TTL
        assert SECRET not in raw


async def test_a_whep_answer_links_the_turn_urls_with_credentials_that_verify(
    turn_client: TestClient, turn_settings: Settings
) -> None:
    hall = turn_settings.halls[1]
    answered: list[aiohttp.ClientResponse] = []

    async def signal(offer: str) -> str:
        response = await turn_client.post("/whep", data=offer, headers=bearer(hall.key))
        assert response.status == 201, await response.text()
        answered.append(response)
        return await response.text()

    before = int(time.time())
    viewer = await start_viewer(signal)
    await viewer.close()

    response = answered[0]
    links = parse_links(response.headers.getall("Link"))
    assert [link["url"] for link in links] == [STUN_SERVER["urls"], *TURN_URLS]
    assert all(link["rel"] == "ice-server" for link in links)
    assert "username" not in links[0]
    for link in links[1:]:
        assert link["credential-type"] == "password"
        assert expiry_if_valid(link, f"hall-{hall.id}") >= before + TTL
    assert all(SECRET not in value for value in response.headers.values())
    assert SECRET not in await response.text()


async def test_a_key_without_media_permission_gets_no_ice_servers(
    turn_client: TestClient, turn_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A screen that may only see the hall list, as a wall display of who is watching would.
    roles = dict(permissions.ROLES)
    roles["viewer"] = permissions.Role(frozenset({permissions.SEE_HALLS}))
    monkeypatch.setattr(permissions, "ROLES", roles)

    ws = await turn_client.ws_connect(f"/ws?key={turn_settings.keys.viewer}")
    welcome, _ = await ws_messages(ws, 2)
    await ws.close()

    assert welcome["permissions"] == ["see_halls"]
    assert welcome["ice_servers"] == []
    assert ice_servers_for(turn_settings, Identity("viewer")) == []


async def test_the_static_secret_is_in_no_page_or_answer(
    turn_client: TestClient, turn_settings: Settings
) -> None:
    hall = turn_settings.halls[0]
    paths = [
        "/",
        "/healthz",
        f"/chair?key={turn_settings.keys.chair}",
        f"/view?key={turn_settings.keys.viewer}",
        f"/hall/{hall.id}?key={hall.key}",
        "/static/protocol.js",
        "/static/hall.js",
    ]
    for path in paths:
        response = await turn_client.get(path)
        assert response.status == 200, path
        assert SECRET not in await response.text()
        assert all(SECRET not in value for value in response.headers.values())
    for key in (turn_settings.keys.chair, turn_settings.keys.secretary, hall.key):
        ws = await turn_client.ws_connect(f"/ws?key={key}")
        for _ in range(2):
            assert SECRET not in (await ws.receive(timeout=5)).data
        await ws.close()


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


@dataclass
class NattedHall:
    """A namespace whose only UDP path to the bridge's machine is the TURN port."""

    name: str
    bridge_address: str
    hall_address: str

    def iptables(self, *args: str) -> None:
        sh("ip", "netns", "exec", self.name, "iptables", *args)

    def allow_only_turn(self, port: int) -> None:
        for chain, interface, peer, peer_port in (
            ("OUTPUT", "-o", "-d", "--dport"),
            ("INPUT", "-i", "-s", "--sport"),
        ):
            self.iptables("-A", chain, interface, "lo", "-j", "ACCEPT")
            self.iptables(
                "-A", chain, "-p", "udp", peer, self.bridge_address, peer_port, str(port),
                "-j", "ACCEPT",
            )  # fmt: skip
            self.iptables("-A", chain, "-p", "udp", "-j", "DROP")


@pytest.fixture
def natted_hall(ice_addresses: list[str]) -> Iterator[NattedHall]:
    _require(("ip", "iptables"), "install iproute2 and iptables and run as root")
    tag = f"{os.getpid() % 10000}"
    name, host_if, hall_if = f"turn-hall-{tag}", f"turn{tag}a", f"turn{tag}b"
    subnet = f"10.234.{os.getpid() % 250}"
    hall = NattedHall(name, f"{subnet}.1", f"{subnet}.2")
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", hall_if)
        sh("ip", "link", "set", hall_if, "netns", name)
        sh("ip", "addr", "add", f"{hall.bridge_address}/30", "dev", host_if)
        sh("ip", "link", "set", host_if, "up")
        sh("ip", "-n", name, "addr", "add", f"{hall.hall_address}/30", "dev", hall_if)
        sh("ip", "-n", name, "link", "set", hall_if, "up")
        sh("ip", "-n", name, "link", "set", "lo", "up")
        # The bridge offers this address, the one coturn is allowed to relay to; the
        # hall could reach it directly, were it not for its iptables rules.
        ice_addresses.append(hall.bridge_address)
        yield hall
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


@pytest.fixture
def hall_turn(natted_hall: NattedHall, tmp_path: Path) -> Iterator[TurnServer]:
    with run_turnserver(natted_hall.bridge_address, natted_hall.bridge_address, tmp_path) as turn:
        natted_hall.allow_only_turn(turn.port)
        yield turn


@pytest.fixture
async def natted_bridge(
    natted_hall: NattedHall, hall_turn: TurnServer, tmp_path: Path, unused_tcp_port: int
) -> AsyncIterator[tuple[Settings, int]]:
    """The bridge on loopback (for the chair) and on the hall's link (for its pages)."""
    turn = {"urls": [hall_turn.url], "secret": SECRET, "ttl": TTL}
    # No STUN server: nothing answers one here, and gathering would wait for it.
    settings = make_settings(tmp_path, turn, ice_servers=[])
    runner = web.AppRunner(create_app(settings, bridge_options={"idle_timeout": 5.0}))
    await runner.setup()
    for address in ("127.0.0.1", natted_hall.bridge_address):
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

# The picture as tests/peers.py draws it: a 40-bit millisecond stamp in 8x8 blocks on
# the top rows, grey 60 elsewhere and a bright moving bar.
PICTURE = """() => {
  const video = document.getElementById("video");
  if (!video || video.videoWidth === 0) return null;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const g = canvas.getContext("2d");
  g.drawImage(video, 0, 0);
  const data = g.getImageData(0, 0, canvas.width, canvas.height).data;
  const light = (x, y) => {
    const i = (y * canvas.width + x) * 4;
    return (data[i] + data[i + 1] + data[i + 2]) / 3;
  };
  let stamp = 0;
  for (let bit = 0; bit < 40; bit++) {
    let sum = 0;
    for (let y = 2; y < 6; y++) for (let x = bit * 8 + 2; x < bit * 8 + 6; x++) sum += light(x, y);
    if (sum / 16 > 128) stamp += 2 ** bit;
  }
  const row = [];
  for (let x = 0; x < canvas.width; x++) row.push(light(x, canvas.height - 4));
  row.sort((a, b) => a - b);
  return {width: canvas.width, height: canvas.height, stamp, now: Date.now() % 2 ** 40,
          background: row[Math.floor(row.length / 2)], brightest: row[row.length - 1]};
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
    natted_hall: NattedHall,
    hall_turn: TurnServer,
    natted_bridge: tuple[Settings, int],
    tmp_path: Path,
) -> None:
    _require_chromium()
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
                address = (
                    f"http://{natted_hall.bridge_address}:{port}/hall/{hall.id}?key={hall.key}"
                )
                await tv.goto(address)
                await tv.wait_for_function("window.hallStats.framesRendered > 30", timeout=60_000)
                await tv.wait_for_function("window.hallStats.state === 'live'", timeout=10_000)

                pair = await tv.evaluate(SELECTED_PAIR)
                first = await tv.evaluate(PICTURE)
                await tv.wait_for_timeout(1000)
                second = await tv.evaluate(PICTURE)
            finally:
                await village.close()
    finally:
        await chair.close()

    # The media came through coturn: the hall's end of the pair is a relayed address,
    # the far end the bridge's own candidate, allocated with the hall's credential.
    assert pair is not None, "no connected peer connection on the hall page"
    assert (pair["local"], pair["relayProtocol"]) == ("relay", "udp"), pair
    assert pair["remoteAddress"] == natted_hall.bridge_address, pair
    assert pair["bytesReceived"] > 0
    # coturn agrees: the hall's credential allocated, and it was let through to the bridge.
    log = hall_turn.log_text()
    user = f":hall-{hall.id}>: incoming packet"
    assert f"{user} ALLOCATE processed, success" in log, log[-3000:]
    assert f"{user} CREATE_PERMISSION processed, success" in log, log[-3000:]
    assert f"peer {natted_hall.bridge_address} lifetime updated" in log, log[-3000:]
    # And it is the chair's picture, decoded whole: recent increasing stamps, grey
    # background, the moving bar.
    for picture in (first, second):
        assert picture is not None
        assert (picture["width"], picture["height"]) == (320, 240)
        assert abs(picture["now"] - picture["stamp"]) < 60_000, picture
        assert 35 < picture["background"] < 70 and picture["brightest"] > 180, picture
    assert second["stamp"] > first["stamp"]
    assert errors == []
