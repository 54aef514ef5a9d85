"""A hall viewer in its own process, so a test can kill it without a goodbye (SIGKILL).

Usage: python -m tests.viewer_process URL KEY — prints "frames N" lines as it watches.
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from tests.conftest import LOOPBACK, keep_ice_on
from tests.peers import start_viewer


async def main(url: str, key: str) -> None:
    async with aiohttp.ClientSession() as http:

        async def signal(offer: str) -> str:
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}
            async with http.post(f"{url}/whep", data=offer, headers=headers) as response:
                response.raise_for_status()
                return await response.text()

        viewer = await start_viewer(signal)
        while True:
            print(f"frames {viewer.frames}", flush=True)
            await asyncio.sleep(0.2)


if __name__ == "__main__":
    keep_ice_on([LOOPBACK])
    asyncio.run(main(sys.argv[1], sys.argv[2]))
