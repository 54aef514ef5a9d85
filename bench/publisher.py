"""The chair in its own process: a live-encoded stamped 720p camera, or a pre-encoded ~2 Mbps clip.

It publishes to the relay under test and answers `mark` with what it has sent.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import aiohttp
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from bench.clip import ClipTrack, encode_clip
from bench.loopback import (
    emit,
    http_signal,
    new_peer,
    restrict_ice,
    serve_commands,
    setup_logging,
)
from tests.peers import StampedVideoTrack


async def _wait_connected(pc: RTCPeerConnection, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed") or time.monotonic() > deadline:
            raise RuntimeError(f"publisher did not connect (state {pc.connectionState})")
        await asyncio.sleep(0.05)


async def _video_sent(pc: RTCPeerConnection) -> dict[str, int]:
    report = await pc.getStats()
    for stats in report.values():
        if stats.type == "outbound-rtp" and stats.kind == "video":
            return {"video_bytes": stats.bytesSent, "video_packets": stats.packetsSent}
    return {"video_bytes": 0, "video_packets": 0}


async def main(url: str, source: str, width: int, height: int, ice: list[str]) -> None:
    restrict_ice(ice)
    loop = asyncio.get_running_loop()
    video: ClipTrack | StampedVideoTrack
    if source == "clip":
        # Encoding the clip takes seconds of CPU: keep it off the event loop.
        frames = await loop.run_in_executor(None, encode_clip, width, height)
        video = ClipTrack(frames)
    else:
        video = StampedVideoTrack(width, height)
    pc = new_peer()
    transceiver = pc.addTransceiver(video, direction="sendonly")
    caps = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences(
        [c for c in caps if c.name == "VP8"] + [c for c in caps if c.name == "rtx"]
    )
    pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    async with aiohttp.ClientSession() as http:
        await pc.setLocalDescription(await pc.createOffer())
        answer = await http_signal(http, url + "/publish")(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    try:
        await _wait_connected(pc, 20.0)
        emit({"event": "ready", "source": source})

        async def mark(args: list[str]) -> dict[str, Any]:
            return {"t": time.time(), "frames": video.frames_sent, **(await _video_sent(pc))}

        await serve_commands({"mark": mark})
    finally:
        await pc.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="the relay, e.g. http://127.0.0.1:8080")
    parser.add_argument("--source", choices=("live", "clip"), default="live")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument(
        "--ice", action="append", help="an address ICE may use (default 127.0.0.1); repeatable"
    )
    options = parser.parse_args()
    setup_logging()
    asyncio.run(main(options.url, options.source, options.width, options.height, options.ice))
