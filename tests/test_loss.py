"""Random loss on the chair's uplink and on one hall's downlink: every hall keeps an intact picture.

The lossy peer runs in a network namespace of its own (tests/netlab.py),
where iptables drops UDP at random. Halls check every decoded picture against
the chair's known content (tests/pictures.Picture), so a hall that decodes 30
broken pictures a second fails, as it should.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiortc import RTCPeerConnection
from aiortc.rtp import RTCP_RTPFB_NACK, RtcpRtpfbPacket

from tests.conftest import LOOPBACK
from tests.edge import peer_command
from tests.netlab import Netns, missing_network_tools, netns
from tests.peers import Viewer, start_publisher, start_viewer, wait_for
from tests.pictures import Tally
from web.app import create_app
from web.config import Settings

WINDOW_S = 10.0  # how long each hall is watched once the loss is on
HALLS = 3


@pytest.fixture
def sites(ice_addresses: list[str]) -> Iterator[tuple[Netns, Netns]]:
    """The commune room's network and one village hall's, each on its own link."""
    problem = missing_network_tools("iptables")
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem}; CI must install iproute2 and iptables and run as root")
        pytest.skip(problem)
    subnet = f"10.197.{os.getpid() % 250}"
    with netns("loss-", 0, subnet) as room, netns("loss-", 1, subnet) as hall:
        ice_addresses += [room.host_address, hall.host_address]
        yield room, hall


@pytest.fixture
async def port(
    settings: Settings, sites: tuple[Netns, Netns], unused_tcp_port: int
) -> AsyncIterator[int]:
    """The bridge on loopback and on both links."""
    runner = web.AppRunner(create_app(settings, bridge_options={"idle_timeout": 5.0}))
    await runner.setup()
    for address in (LOOPBACK, *(site.host_address for site in sites)):
        await web.TCPSite(runner, address, unused_tcp_port).start()
    yield unused_tcp_port
    await runner.cleanup()


class PeerProcess:
    """tests/peer_process.py inside a namespace, with its latest report always at hand."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.frames = 0
        self.details: dict[str, Any] = {}
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, site: Netns, endpoint: str, port: int, key: str) -> PeerProcess:
        url = f"http://{site.host_address}:{port}"
        argv, env = peer_command(endpoint, url, key)
        process = await asyncio.create_subprocess_exec(
            *site.command(*argv, "--ice", site.address), env=env, stdout=asyncio.subprocess.PIPE
        )
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            _, frames, details = line.decode().split(" ", 2)
            self.frames, self.details = int(frames), json.loads(details)

    def tally(self) -> Tally:
        return Tally(**self.details["tally"])

    async def stop(self) -> None:
        self._reader.cancel()
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


def signal(http: aiohttp.ClientSession, port: int, path: str, key: str):  # type: ignore[no-untyped-def]
    """WHIP or WHEP over loopback HTTP."""

    async def post(offer: str) -> str:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}
        async with http.post(f"http://{LOOPBACK}:{port}{path}", data=offer, headers=headers) as r:
            assert r.status == 201, await r.text()
            return await r.text()

    return post


def count_nacks_at(publisher_pc: RTCPeerConnection) -> list[int]:
    """Count NACKs arriving at the publisher's video sender."""
    counter = [0]
    (sender,) = [s for s in publisher_pc.getSenders() if s.kind == "video"]
    original = sender._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            counter[0] += 1
        await original(packet)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]
    return counter


async def watch(halls: list[Viewer], seconds: float) -> list[Any]:
    """Each hall's picture window over the next `seconds`."""
    start = [hall.pictures.tally() for hall in halls]
    await asyncio.sleep(seconds)
    return [hall.pictures.tally().since(begun) for hall, begun in zip(halls, start, strict=True)]


@pytest.mark.parametrize(
    ("loss", "least_intact", "longest_freeze"), [(0.02, 0.9, 1.0), (0.05, 0.8, 2.0)]
)
async def test_every_hall_keeps_an_intact_picture_through_loss_on_the_chairs_uplink(
    settings: Settings,
    sites: tuple[Netns, Netns],
    port: int,
    loss: float,
    least_intact: float,
    longest_freeze: float,
) -> None:
    room, _ = sites
    chair = await PeerProcess.start(room, "whip", port, settings.keys.chair)
    halls: list[Viewer] = []
    async with aiohttp.ClientSession() as http:
        try:
            await wait_for(lambda: chair.frames >= 10, 20, "the chair to send")
            for hall in settings.halls[:HALLS]:
                halls.append(await start_viewer(signal(http, port, "/whep", hall.key)))
            await wait_for(
                lambda: all(h.pictures.intact >= 10 for h in halls), 20, "intact pictures"
            )
            room.drop("OUTPUT", loss)
            sent = chair.frames
            windows = await watch(halls, WINDOW_S)
            sent = chair.frames - sent
            assert room.dropped("OUTPUT") > 0, "the chair's uplink lost nothing"
            for i, window in enumerate(windows):
                seen = f"hall {i + 1}: {window} (chair sent {sent}, loss {loss:.0%})"
                assert window.intact >= sent / 2, f"not decoding: {seen}"
                assert window.intact_share >= least_intact, f"damaged pictures: {seen}"
                assert window.longest_freeze <= longest_freeze, f"frozen: {seen}"
        finally:
            await asyncio.gather(*(h.close() for h in halls))
            await chair.stop()


async def test_loss_on_one_halls_downlink_is_repaired_there_and_unseen_by_the_others(
    settings: Settings, sites: tuple[Netns, Netns], port: int
) -> None:
    _, village = sites
    halls: list[Viewer] = []
    async with aiohttp.ClientSession() as http:
        chair = await start_publisher(signal(http, port, "/whip", settings.keys.chair))
        nacks_at_chair = count_nacks_at(chair.pc)
        lossy = await PeerProcess.start(village, "whep", port, settings.halls[0].key)
        try:
            for hall in settings.halls[1:HALLS]:
                halls.append(await start_viewer(signal(http, port, "/whep", hall.key)))
            await wait_for(
                lambda: all(h.pictures.intact >= 10 for h in halls) and lossy.frames >= 10,
                20,
                "intact pictures",
            )
            village.drop("INPUT", 0.05)
            lossy_start, sent, nacked = lossy.tally(), chair.video.frames_sent, nacks_at_chair[0]
            nacks_before = [h.feedback.nacks for h in halls]
            windows = await watch(halls, WINDOW_S)
            lossy_window = lossy.tally().since(lossy_start)
            sent = chair.video.frames_sent - sent
            assert village.dropped("INPUT") > 0, "the hall's downlink lost nothing"

            seen = f"lossy hall: {lossy_window} (chair sent {sent}), {lossy.details['feedback']}"
            assert lossy.details["feedback"]["nacks"] > 0, f"it never asked again: {seen}"
            assert lossy_window.intact >= sent / 2, f"not decoding: {seen}"
            assert lossy_window.intact_share >= 0.9, f"not repaired: {seen}"
            # An aiortc hall asks again for a lost retransmission only when a new gap
            # appears, so at 5% loss a hole may stay open for a second: as on the uplink.
            assert lossy_window.longest_freeze <= 2.0, f"frozen: {seen}"
            assert nacks_at_chair[0] == nacked, "repairs came from the chair, not the bridge"
            for i, window in enumerate(windows):
                seen = f"hall {i + 2}: {window}"
                assert window.damaged == 0, seen
                assert window.intact >= sent / 2, seen
                assert window.longest_freeze <= 1.0, seen
                assert halls[i].feedback.nacks == nacks_before[i], f"it saw a loss: {seen}"
        finally:
            await asyncio.gather(*(h.close() for h in halls))
            await lossy.stop()
            await chair.close()
