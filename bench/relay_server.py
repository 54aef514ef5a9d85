"""The relay under test, alone in its process so its CPU is measured alone: Bridge or MediaRelay.

POST /publish and POST /subscribe take an SDP offer and return the SDP answer,
on 127.0.0.1 only, or also on the `--address` given (a benchmark namespace's link).
The `mark` command on stdin reports forwarding counters.
`--profile PATH` writes cProfile stats of the event loop thread on exit, to find
where the relay's CPU goes (not used by `make bench`: profiling slows it down).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole, MediaRelay

from bench.loopback import (
    LOOPBACK,
    emit,
    new_peer,
    restrict_ice,
    serve_commands,
    setup_logging,
)
from bridge.bridge import Bridge
from bridge.errors import BridgeError


class Relay(Protocol):
    async def publish(self, offer_sdp: str) -> str: ...

    async def subscribe(self, offer_sdp: str) -> str: ...

    def counters(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...


class BridgeRelay:
    """Our forwarding bridge, driven exactly as web/ drives it."""

    def __init__(self) -> None:
        self.bridge = Bridge(ice_servers=[], idle_timeout=15.0)
        self.bridge.start()

    async def publish(self, offer_sdp: str) -> str:
        session = await self.bridge.publish(offer_sdp, "chair")

        def on_air() -> None:
            if session.state == "connected":
                self.bridge.router.publish("chair", session.producers)

        session.on("statechange", on_air)
        return session.answer

    async def subscribe(self, offer_sdp: str) -> str:
        session = await self.bridge.subscribe(offer_sdp, f"hall:{len(self.bridge.sessions)}")
        for consumer in session.consumers:
            self.bridge.router.route(consumer, "chair")
        return session.answer

    def counters(self) -> dict[str, Any]:
        consumers = list(self.bridge.router.consumers.values())
        producers = [
            p for kinds in self.bridge.router.sources.values() for ps in kinds.values() for p in ps
        ]
        return {
            "sessions": len(self.bridge.sessions),
            "packets_received": sum(p.packets_received for p in producers),
            "packets_sent": sum(c.packets_sent for c in consumers),
            "packets_dropped": sum(c.packets_dropped for c in consumers),
            "queue_resets": sum(c.queue_resets for c in consumers),
            "plis_sent": sum(p.plis_sent for p in producers),
        }

    async def close(self) -> None:
        await self.bridge.close()


class ReferenceRelay:
    """aiortc's own recipe (examples/webcam): decode once with MediaRelay, encode per subscriber."""

    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.tracks: dict[str, MediaStreamTrack] = {}
        self.peers: list[RTCPeerConnection] = []
        # Drains the publisher's tracks while no hall watches, so decoded frames don't
        # pile up in aiortc's unbounded track queue and inflate the reference's latency.
        self.drain = MediaBlackhole()

    async def publish(self, offer_sdp: str) -> str:
        pc = new_peer()
        self.peers.append(pc)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.tracks[track.kind] = track
            self.drain.addTrack(self.relay.subscribe(track, buffered=False))

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.drain.start()
        return str(pc.localDescription.sdp)

    async def subscribe(self, offer_sdp: str) -> str:
        pc = new_peer()
        self.peers.append(pc)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for transceiver in pc.getTransceivers():
            track = self.tracks.get(transceiver.kind)
            if track is not None:
                pc.addTrack(self.relay.subscribe(track))
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    def counters(self) -> dict[str, Any]:
        return {"sessions": len(self.peers)}

    async def close(self) -> None:
        await self.drain.stop()
        await asyncio.gather(*(pc.close() for pc in self.peers), return_exceptions=True)


RELAY_KEY = web.AppKey("relay", Relay)


async def _offer(request: web.Request) -> str:
    if request.content_length is not None and request.content_length > 64 * 1024:
        raise web.HTTPRequestEntityTooLarge(max_size=64 * 1024, actual_size=request.content_length)
    return await request.text()


def _signaling(direction: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """POST handler answering an offer with the relay's `publish` or `subscribe`."""

    async def handle(request: web.Request) -> web.Response:
        answer_offer = getattr(request.app[RELAY_KEY], direction)
        try:
            answer = await answer_offer(await _offer(request))
        except BridgeError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        return web.Response(text=answer, content_type="application/sdp")

    return handle


def create_app(relay: Relay) -> web.Application:
    app = web.Application()
    app[RELAY_KEY] = relay
    for direction in ("publish", "subscribe"):
        app.router.add_post(f"/{direction}", _signaling(direction))
    return app


async def main(mode: str, port: int, extra: list[str]) -> None:
    addresses = [LOOPBACK, *extra]
    restrict_ice(addresses)
    relay: Relay = BridgeRelay() if mode == "bridge" else ReferenceRelay()
    runner = web.AppRunner(create_app(relay), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    for address in extra:
        await web.TCPSite(runner, address, bound).start()
    emit({"event": "ready", "port": bound, "mode": mode})

    async def mark(args: list[str]) -> dict[str, Any]:
        return relay.counters()

    try:
        await serve_commands({"mark": mark})
    finally:
        await relay.close()
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=("bridge", "reference"), required=True)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--profile", help="write cProfile stats here on exit")
    parser.add_argument(
        "--address", action="append", default=[], help="also serve (HTTP and ICE) on this address"
    )
    options = parser.parse_args()
    setup_logging()
    profiler = cProfile.Profile() if options.profile else None
    if profiler is not None:
        profiler.enable()
    try:
        asyncio.run(main(options.mode, options.port, options.address))
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(options.profile)
