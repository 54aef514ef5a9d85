"""The DTLS role the bridge takes with real peers, and what it says when a handshake fails.

aiortc peers stand in for clients that offer each a=setup value: their offers
are edited on the way, as another stack would have written them.
"""

from __future__ import annotations

import logging
import re

import pytest
from aiohttp.test_utils import TestClient

from tests.edge import app_of, bearer, http_signal, publishing, udp_sockets
from tests.interop_checks import start_stamp_viewer
from tests.peers import Signal, start_publisher, wait_for
from tests.test_offers import offer
from web.config import Settings
from web.keys import BRIDGE


def with_setup(signal: Signal, setup: str | None, answers: list[str]) -> Signal:
    """Send the offer with every a=setup line set to `setup` (or removed); keep the answer."""

    async def edited(offer: str) -> str:
        line = "" if setup is None else f"a=setup:{setup}\r\n"
        answer = await signal(re.sub(r"a=setup:[a-z]+\r\n", line, offer))
        answers.append(answer)
        return answer

    return edited


def answered_setup(answer: str) -> set[str]:
    return set(re.findall(r"a=setup:([a-z]+)", answer))


@pytest.mark.parametrize(
    ("offered", "answered"),
    [("actpass", "passive"), ("active", "passive"), (None, "passive"), ("passive", "active")],
)
async def test_the_bridge_takes_the_dtls_role_the_offer_leaves_it_and_media_flows(
    client: TestClient, settings: Settings, offered: str | None, answered: str
) -> None:
    answers: list[str] = []
    chair = await start_publisher(
        with_setup(http_signal(client, "/whip", settings.keys.chair), offered, answers)
    )
    hall = settings.halls[0]
    viewer_answers: list[str] = []
    viewer = await start_stamp_viewer(
        with_setup(http_signal(client, "/whep", hall.key), offered, viewer_answers)
    )
    try:
        assert answered_setup(answers[0]) == {answered}
        assert answered_setup(viewer_answers[0]) == {answered}
        await wait_for(lambda: viewer.pictures.intact >= 30, 15, "30 intact pictures")
        assert viewer.verdicts[-1].intact
    finally:
        await viewer.close()
        await chair.close()


async def test_an_offer_that_holds_the_connection_gets_400_naming_it_and_leaves_nothing(
    client: TestClient, settings: Settings
) -> None:
    before = udp_sockets()
    response = await client.post(
        "/whip",
        data=offer({"audio": "holdconn", "video": "holdconn"}),
        headers=bearer(settings.keys.chair),
    )
    assert response.status == 400
    assert response.headers["X-Error-Code"] == "bad-sdp"
    assert "a=setup:holdconn" in await response.text()
    assert app_of(client)[BRIDGE].sessions == {}
    assert udp_sockets() == before


async def test_a_failed_dtls_handshake_is_logged_once_and_the_session_closes(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bridge.session")
    signal = http_signal(client, "/whip", settings.keys.chair)

    async def wrong_fingerprint(offer: str) -> str:
        # A certificate that is not the one the offer names: the bridge must refuse it.
        return await signal(re.sub(r"(a=fingerprint:sha-256 )(..)", r"\g<1>00", offer))

    chair = await start_publisher(wrong_fingerprint)
    bridge = app_of(client)[BRIDGE]
    try:
        await wait_for(lambda: "DTLS handshake failed" in caplog.text, 15, "the DTLS error")
        await wait_for(lambda: not bridge.sessions, 10, "the session closed")
    finally:
        await chair.close()
    lines = [r.getMessage() for r in caplog.records if "DTLS handshake failed" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "the bridge was the DTLS server" in lines[0]
    assert "a=setup:actpass, fingerprint sha-256" in lines[0]
    assert "fingerprint mismatch" in lines[0]
    assert not publishing(bridge).live
