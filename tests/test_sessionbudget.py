"""Sessions that never connect cannot use up a key's streams, and go away by themselves."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from tests.bridgeproc import whep_offer
from tests.edge import app_of, bearer
from tests.peers import wait_for
from web.app import create_app
from web.auth import Identity
from web.config import Settings, load_settings
from web.errors import Busy
from web.keys import BRIDGE, KEYRING, SESSIONS
from web.limits import Limits
from web.sessionbudget import STREAM_QUOTA, SessionBudget

NEVER_CONNECTING = 40
PENDING_TIMEOUT = 3.0  # limits.pending_timeout, short for the test (10 s by default)


@pytest.fixture
def short_pending(tmp_path: Path) -> Settings:
    return load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "data"),
            "server": {"host": "127.0.0.1", "port": 18443, "tls": "off"},
            "limits": {"pending_timeout": PENDING_TIMEOUT},
        },
    )


async def _post(http: Any, url: str, key: str, offer: str) -> int:
    async with http.post(url, data=offer, headers=bearer(key)) as response:
        return int(response.status)


@pytest.mark.asyncio
async def test_forty_never_connecting_viewer_offers_leave_room_for_screens_and_halls(
    aiohttp_client: Any, short_pending: Settings
) -> None:
    settings = short_pending
    client: TestClient = await aiohttp_client(create_app(settings))
    url = str(client.make_url("/whep"))
    offer = await whep_offer()
    bridge = app_of(client)[BRIDGE]

    # The stranger: 40 offers from one address whose peers never answer a check.
    statuses = [await client.post("/whep", data=offer, headers=bearer(settings.keys.viewer))]
    statuses += [
        await client.post("/whep", data=offer, headers=bearer(settings.keys.viewer))
        for _ in range(NEVER_CONNECTING - 1)
    ]
    codes = [s.status for s in statuses]
    assert codes.count(201) == 3  # limits.pending_sessions_per_ip
    assert codes.count(503) == NEVER_CONNECTING - 3
    assert {s.headers["X-Error-Code"] for s in statuses if s.status == 503} == {"busy"}

    # A genuine public screen elsewhere, and every hall, still get their answer.
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as screen:
        assert await _post(screen, url, settings.keys.viewer, offer) == 201
    for hall in settings.halls:
        assert await _post(client.session, url, hall.key, offer) == 201

    # Nobody connected: the bridge gives every one of them up after pending_timeout.
    assert len(bridge.sessions) == 3 + 1 + len(settings.halls)
    await wait_for(lambda: not bridge.sessions, 12, "the pending sessions to go")
    budget = app_of(client)[SESSIONS]
    assert budget.pending(app_of(client)[KEYRING].identify(settings.keys.viewer)) == 0
    # Their slots are free again.
    assert await _post(client.session, url, settings.keys.viewer, offer) == 201


def test_the_viewer_key_never_takes_the_share_kept_for_halls_and_the_chair() -> None:
    roomy = Limits(pending_sessions=100, pending_sessions_per_ip=100)
    budget = SessionBudget(roomy, halls=6, max_sessions=40)
    viewer, hall = Identity("viewer"), Identity("hall", "thon-1")
    with contextlib.ExitStack() as held:
        # 40 less what the chair, the secretary and each of six halls may hold
        kept = STREAM_QUOTA["chair"] + STREAM_QUOTA["secretary"] + 6 * STREAM_QUOTA["hall"]
        for n in range(40 - kept):
            held.enter_context(budget.opening(viewer, f"10.0.0.{n}"))
        with pytest.raises(Busy):
            held.enter_context(budget.opening(viewer, "10.0.1.1"))
        for _ in range(3):
            held.enter_context(budget.opening(hall, "10.0.2.1"))
        assert budget.held(hall) == 3
    assert budget.held(viewer) == 40 - kept  # answered: held until the session closes
    secretary = Identity("secretary")
    with pytest.raises(ValueError), budget.opening(secretary, "10.0.2.1"):
        raise ValueError("the offer was refused")
    assert budget.held(secretary) == 0  # a failed negotiation gives its slot back
    assert budget.pending(secretary) == 0
