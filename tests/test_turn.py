"""TURN: short-lived credentials for media keys only, checked by a real coturn, and a hall
behind NAT whose TV plays the chair through the relay.

The NAT test runs Debian's `turnserver` (coturn) from the command line, with no
system config, on the host side of a veth pair. The hall's Chromium sits in a
network namespace of its own where iptables drops every UDP packet except those
to and from the TURN port, so media can only flow through the relay. Nothing
leaves this machine.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from rooms import permissions
from tests.edge import app_of, bearer, ws_messages
from tests.peers import start_viewer
from web.app import create_app
from web.auth import Identity
from web.config import Settings, TurnConfig, load_settings
from web.keys import MEETING
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


async def test_a_tv_connected_for_longer_than_half_the_ttl_gets_fresh_credentials(
    turn_client: TestClient, turn_settings: Settings
) -> None:
    hall = turn_settings.halls[0]
    ws = await turn_client.ws_connect(f"/ws?key={hall.key}")
    welcome, _state = await ws_messages(ws, 2)
    first = expiry_if_valid(welcome["ice_servers"][1], f"hall-{hall.id}")
    meeting = app_of(turn_client)[MEETING]
    meeting.refresh_ice_servers(time.time() + TTL / 4)  # too early: nothing sent
    later = time.time() + TTL / 2 + 1
    meeting.refresh_ice_servers(later)
    message = json.loads((await ws.receive(timeout=5)).data)
    await ws.close()
    assert message["type"] == "ice-servers"
    _stun, fresh = message["ice_servers"]
    assert expiry_if_valid(fresh, f"hall-{hall.id}") == int(later) + TTL > first


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
