"""The secretary's export over HTTP: who may, what the ZIP holds, and path tricks."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient
from yarl import URL

from rooms.events import Event
from tests.recording_fixtures import sample_meeting
from web.app import create_app
from web.config import Settings
from web.eventlog import EventLog
from web.keys import EXPORTS

pytestmark = pytest.mark.asyncio


class Recorded:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, str]] = []

    def add(self, who_role: str, action: str, target: str, at: float) -> None:
        self.lines.append((who_role, action, target))


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Event]]:
    folder = tmp_path_factory.mktemp("sample")
    return folder, sample_meeting(folder)


@pytest.fixture
async def exporting(
    aiohttp_client: Any, settings: Settings, sample: tuple[Path, list[Event]]
) -> tuple[TestClient, Recorded]:
    """A bridge whose log and data dir hold the sample meeting."""
    folder, events = sample
    shutil.copytree(folder / "recordings", settings.data_dir / "recordings")
    log = EventLog(settings.data_dir)
    log.append("m1", events)
    log.close()
    client = await aiohttp_client(create_app(settings))
    access = Recorded()
    client.app[EXPORTS].access = access
    return client, access


async def _finished(client: TestClient, export_id: str, key: str) -> dict[str, Any]:
    seen = []
    for _ in range(600):
        status = await (await client.get(f"/exports/{export_id}?key={key}")).json()
        seen.append(status["progress"])
        if status["state"] in ("done", "failed"):
            status["seen"] = seen
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"export {export_id} still {status}")


async def test_the_secretary_exports_a_meeting_and_downloads_one_zip_of_it(
    exporting: tuple[TestClient, Recorded], settings: Settings
) -> None:
    client, access = exporting
    key = settings.keys.secretary
    started = await client.post(f"/meetings/m1/export?key={key}")
    assert started.status == 202
    job = await started.json()
    again = await client.post(f"/meetings/m1/export?key={settings.keys.chair}")
    assert (await again.json())["id"] == job["id"]  # the one under way, not a second
    status = await _finished(client, job["id"], key)
    assert status["state"] == "done", status
    assert status["seen"] == sorted(status["seen"])  # progress only moves forward
    download = await client.get(status["download"] + f"?key={key}")
    assert download.status == 200
    assert download.headers["Content-Disposition"].startswith('attachment; filename="')
    assert download.headers["Content-Disposition"].endswith('_ho-so.zip"')
    archive = zipfile.ZipFile(io.BytesIO(await download.read()))
    names = archive.namelist()
    videos = [n for n in names if n.startswith("video/")]
    clips = [n for n in names if n.startswith("clips/")]
    assert len(videos) == 1 and videos[0].endswith("_xa-truc-khang_hop.mp4")
    assert len(clips) == 2  # e1 and the cut e3 agreed; e2 did not
    assert {"bien-ban.json", "nhat-ky.json"} <= set(names)
    minutes = json.loads(archive.read("bien-ban.json"))
    by_entry = {q["entry_id"]: q for q in minutes["questions"]}
    assert not by_entry["e2"]["recorded"]
    assert by_entry["e2"]["clip"] == "Không ghi hình theo đề nghị của người dân"
    assert by_entry["e1"]["recorded"]
    assert by_entry["e1"]["clip"] in {c.removeprefix("clips/") for c in clips}
    assert {"bien-ban.docx", "bien-ban.html"} <= set(names)  # the real minutes, all three
    log = json.loads(archive.read("nhat-ky.json"))
    assert [e["type"] for e in log][0] == "meeting-opened"
    assert ("secretary", "export", "m1") in access.lines
    assert any(a[:2] == ("secretary", "download") for a in access.lines)
    # The work folder is gone; only the ZIP stays.
    assert [p.suffix for p in (settings.data_dir / "exports" / "m1").iterdir()] == [".zip"]


async def test_an_unknown_meeting_cannot_be_exported(
    exporting: tuple[TestClient, Recorded], settings: Settings
) -> None:
    client, _ = exporting
    response = await client.post(f"/meetings/nope/export?key={settings.keys.chair}")
    assert response.status == 404


async def test_hall_and_viewer_keys_are_refused_and_logged(
    exporting: tuple[TestClient, Recorded], settings: Settings
) -> None:
    client, access = exporting
    for key in (settings.halls[0].key, settings.keys.viewer):
        assert (await client.post(f"/meetings/m1/export?key={key}")).status == 403
        assert (await client.get(f"/exports?key={key}")).status == 403
        assert (await client.get(f"/exports/abc?key={key}")).status == 403
        assert (await client.get(f"/exports/abc/download?key={key}")).status == 403
    assert (await client.get("/exports/abc/download")).status == 401
    assert {(role, action) for role, action, _ in access.lines} == {
        ("hall", "denied"),
        ("viewer", "denied"),
    }
    listed = await client.get(f"/exports?key={settings.keys.chair}")
    assert listed.status == 200
    assert [m["id"] for m in (await listed.json())["meetings"]] == ["m1"]


@pytest.mark.parametrize(
    "path",
    [
        "/exports/%2e%2e/download",
        "/exports/..%2f..%2fkeys.yaml/download",
        "/exports/%2e%2e%2f%2e%2e%2fmeetings.sqlite/download",
        "/exports/%2fetc%2fpasswd/download",
        "/exports/.hidden/download",
        "/exports/evil/download",  # a symlink planted in the exports folder
        "/meetings/..%2fkeys/export",
    ],
)
async def test_path_tricks_get_404_and_are_logged(
    exporting: tuple[TestClient, Recorded], settings: Settings, path: str
) -> None:
    client, access = exporting
    folder = settings.data_dir / "exports" / "m1"
    folder.mkdir(parents=True)
    (folder / "evil.zip").symlink_to(settings.data_dir / "keys.yaml")
    key = settings.keys.secretary
    # Sent as typed: the client must not resolve the dots itself.
    address = URL(str(client.make_url("/")).rstrip("/") + f"{path}?key={key}", encoded=True)
    method = "POST" if path.endswith("/export") else "GET"
    async with ClientSession() as session, session.request(method, address) as response:
        assert response.status == 404, await response.text()
        assert b"keys" not in await response.read()
    assert any(
        action == "denied" and target.startswith("path:") for _, action, target in access.lines
    )


async def test_an_export_made_before_a_restart_still_downloads(
    exporting: tuple[TestClient, Recorded], settings: Settings
) -> None:
    client, _ = exporting
    folder = settings.data_dir / "exports" / "m1"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "Old_export-1.zip", "w") as archive:
        archive.writestr("nhat-ky.json", "[]")
    key = settings.keys.chair
    listed = await (await client.get(f"/exports?key={key}")).json()
    assert [(e["id"], e["meeting"], e["state"]) for e in listed["exports"]] == [
        ("Old_export-1", "m1", "done")
    ]
    status = await (await client.get(f"/exports/Old_export-1?key={key}")).json()
    assert status["state"] == "done"
    response = await client.get(f"/exports/Old_export-1/download?key={key}")
    assert response.status == 200 and response.headers["Content-Type"] == "application/zip"
