"""The out-of-process test peer passes its key on exactly, whatever the key looks like.

CI once failed because a generated key began with "-": the peer took it for an option
and never started (argparse), so the loss test waited 20 s for a chair that never came.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from tests.edge import peer_command


async def test_a_key_that_begins_with_a_dash_reaches_the_server_intact(
    aiohttp_server: Any,
) -> None:
    seen: list[str] = []

    async def whep(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.Response(status=403, text="refused on purpose: the test only reads the key")

    app = web.Application()
    app.router.add_post("/whep", whep)
    server = await aiohttp_server(app)
    key = "-Ab_3-this-looks-like-an-option"
    argv, env = peer_command("whep", str(server.make_url("")).rstrip("/"), key)
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert seen == [f"Bearer {key}"], stderr.decode()
    assert process.returncode != 0  # the refusal ends the peer, as it should
