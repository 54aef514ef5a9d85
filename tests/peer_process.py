"""A chair or hall peer in its own process: to kill it without a goodbye, or to run it elsewhere.

Usage: PEER_KEY=KEY python -m tests.peer_process whip|whep URL [--ice ADDRESS].
The key comes from the environment, never argv: a generated key may begin with
"-", which argparse would take for an option (and argv is visible to `ps`). While it
runs it prints lines "frames N {json}": N is frames received for whep (sent for
whip), and for whep the JSON holds the picture tally (pictures.Tally) and the
RTCP feedback the hall sent. `--ice` is the address ICE may use, e.g. the
peer's end of a veth link when it runs in a network namespace.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
from typing import Any

import aiohttp

from tests.conftest import LOOPBACK, keep_ice_on
from tests.edge import PEER_KEY_VARIABLE
from tests.peers import start_publisher, start_viewer


async def main(endpoint: str, url: str, key: str) -> None:
    async with aiohttp.ClientSession() as http:

        async def signal(offer: str) -> str:
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}
            async with http.post(f"{url}/{endpoint}", data=offer, headers=headers) as response:
                response.raise_for_status()
                return await response.text()

        def report() -> tuple[int, dict[str, Any]]:
            if endpoint == "whip":
                return publisher.video.frames_sent, {}
            tally = dataclasses.asdict(viewer.pictures.tally())
            feedback = dataclasses.asdict(viewer.feedback)
            return viewer.frames, {"tally": tally, "feedback": feedback, "size": viewer.frame_size}

        if endpoint == "whip":
            publisher = await start_publisher(signal)
        else:
            viewer = await start_viewer(signal)
        while True:
            frames, details = report()
            print(f"frames {frames} {json.dumps(details)}", flush=True)
            await asyncio.sleep(0.2)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("endpoint", choices=("whip", "whep"))
    parser.add_argument("url")
    parser.add_argument("--ice", default=LOOPBACK, help="the address ICE may use")
    options = parser.parse_args()
    keep_ice_on([options.ice])
    key = os.environ.get(PEER_KEY_VARIABLE)
    if not key:
        parser.error(f"set the key in the environment variable {PEER_KEY_VARIABLE}")
    asyncio.run(main(options.endpoint, options.url, key))
