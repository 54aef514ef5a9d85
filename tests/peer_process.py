"""A chair or hall peer in its own process, so a test can kill it without a goodbye (SIGKILL).

Usage: python -m tests.peer_process whip|whep URL KEY. It prints "frames N" lines
(frames received for whep, frames sent for whip) while it runs.
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from tests.conftest import LOOPBACK, keep_ice_on
from tests.peers import start_publisher, start_viewer


async def main(endpoint: str, url: str, key: str) -> None:
    async with aiohttp.ClientSession() as http:

        async def signal(offer: str) -> str:
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}
            async with http.post(f"{url}/{endpoint}", data=offer, headers=headers) as response:
                response.raise_for_status()
                return await response.text()

        if endpoint == "whip":
            publisher = await start_publisher(signal)
            count = lambda: publisher.video.frames_sent  # noqa: E731
        else:
            viewer = await start_viewer(signal)
            count = lambda: viewer.frames  # noqa: E731
        while True:
            print(f"frames {count()}", flush=True)
            await asyncio.sleep(0.2)


if __name__ == "__main__":
    keep_ice_on([LOOPBACK])
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
