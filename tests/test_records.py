"""The record over HTTP and the page socket: who may see it, the minutes as downloads with
hostile text kept as text, the question register following the live meeting, editable
after it closed, exported without formulas, and surviving restarts."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest
from aiohttp.test_utils import TestClient

from rooms import Entry, FloorGranted, MeetingClosed, MeetingOpened, QuestionStatusSet
from rooms.register import DuePolicy
from tests.peers import wait_for
from tests.test_floor_web import Page, open_page
from web.accesslog import AccessLog
from web.app import create_app
from web.config import Settings
from web.eventlog import EventLog
from web.register import Register, RegisterBook

pytestmark = pytest.mark.asyncio

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","bấm")'


async def hold_a_meeting(client: TestClient, settings: Settings) -> tuple[str, Page, Page]:
    """A meeting with two questions: e1 from Thôn 2 (hostile name, consent no, then
    ended) and e2 from Thôn 3 (still on the floor), a note and a status; still open."""
    chair = await open_page(client, settings.keys.chair)
    secretary = await open_page(client, settings.keys.secretary)
    thon2 = await open_page(client, settings.halls[1].key)
    await chair.send(type="open-meeting", title="Họp dân quý IV")
    await thon2.send(type="raise", name=SCRIPT, topic=FORMULA)
    await wait_for(lambda: len(chair.state["queue"]) == 1, 5, "the hand")
    await chair.send(type="grant", entry="e1")
    await wait_for(lambda: chair.state["floor"] is not None, 5, "the floor")
    await thon2.send(type="consent", consent=False)
    await secretary.send(type="note-add", text=f"Ghi chú {SCRIPT}\x07")
    await secretary.send(
        type="question-status", entry="e1", status="follow-up", answer=f"Trả lời {FORMULA}"
    )
    await chair.send(type="raise", hall="thon-3", name="Bà Lan", topic="Đường")
    await wait_for(lambda: len(chair.state["queue"]) == 1, 5, "the second hand")
    await chair.send(type="grant", entry="e2")
    await wait_for(
        lambda: len(secretary.state.get("minutes", {}).get("questions", [])) == 2, 5, "e2"
    )
    await thon2.close()
    return chair.state["meeting"]["id"], chair, secretary


async def register_rows(client: TestClient, key: str) -> list[dict[str, Any]]:
    response = await client.get(f"/register.json?key={key}")
    assert response.status == 200
    return list((await response.json())["questions"])


async def test_hall_and_viewer_keys_get_403_for_every_part_of_the_record_and_it_is_logged(
    client: TestClient, settings: Settings
) -> None:
    meeting_id, chair, secretary = await hold_a_meeting(client, settings)
    paths = [
        "/meetings",
        f"/meetings/{meeting_id}/minutes.docx",
        f"/meetings/{meeting_id}/minutes.html",
        "/register",
        "/register.json",
        "/register.xlsx",
        "/register.csv",
        f"/register/{meeting_id}/e1/changes",
        "/access-log",
        "/secretary",
    ]
    for key in (settings.keys.viewer, settings.halls[0].key):
        for path in paths:
            assert (await client.get(f"{path}?key={key}")).status == 403, path
        edit = await client.post(f"/register/{meeting_id}/e1?key={key}", json={"answer": "x"})
        assert edit.status == 403
    assert (await client.get("/register.json")).status == 401
    for key in (settings.keys.chair, settings.keys.secretary):
        assert (await client.get(f"/secretary?key={key}")).status == 200
        assert (await client.get(f"/meetings?key={key}")).status == 200
    log = await (await client.get(f"/access-log?key={settings.keys.secretary}")).json()
    denied = [e for e in log["entries"] if e["action"] == "denied"]
    assert {e["role"] for e in denied} == {"viewer", "hall"}
    assert any(e["target"] == "register.xlsx" for e in denied)
    await chair.close()
    await secretary.close()


@pytest.mark.parametrize(
    "path",
    [
        "/meetings/m-19990101-000000/minutes.docx",
        "/meetings/..%2F..%2Fkeys.yaml/minutes.json",
        "/meetings/%2e%2e/minutes.html",
        "/meetings/{meeting}/minutes.exe",
    ],
)
async def test_minutes_of_an_unknown_meeting_or_format_are_404(
    client: TestClient, settings: Settings, path: str
) -> None:
    meeting_id, chair, secretary = await hold_a_meeting(client, settings)
    response = await client.get(path.format(meeting=meeting_id) + f"?key={settings.keys.secretary}")
    assert response.status == 404
    await chair.close()
    await secretary.close()


async def test_minutes_download_as_attachments_with_hostile_text_kept_as_text(
    client: TestClient, settings: Settings
) -> None:
    meeting_id, chair, secretary = await hold_a_meeting(client, settings)
    key = settings.keys.secretary
    listed = await (await client.get(f"/meetings?key={key}")).json()
    assert listed["meetings"][0] == {
        "id": meeting_id,
        "title": "Họp dân quý IV",
        "opened_at": pytest.approx(listed["meetings"][0]["opened_at"]),
        "closed_at": None,
    }
    got = {}
    for kind in ("docx", "html", "json"):
        response = await client.get(f"/meetings/{meeting_id}/minutes.{kind}?key={key}")
        assert response.status == 200
        disposition = response.headers["Content-Disposition"]
        assert disposition == f'attachment; filename="bien-ban_{meeting_id}.{kind}"'
        got[kind] = await response.read()

    document = docx.Document(io.BytesIO(got["docx"]))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "BIÊN BẢN" in text and "Cuộc họp Họp dân quý IV" in text
    assert f"Thôn 2 – {SCRIPT}: {FORMULA}" in text  # as the words themselves
    assert "Không ghi hình theo đề nghị của người dân" in text
    assert "Trạng thái: Cần theo dõi" in text and f"Trả lời: Trả lời {FORMULA}" in text
    assert f"Ghi chú {SCRIPT}" in text and "\x07" not in text

    html = got["html"].decode()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "=HYPERLINK(&quot;http://evil.example&quot;" in html

    data = json.loads(got["json"])
    assert [q["name"] for q in data["questions"]] == [SCRIPT, "Bà Lan"]
    assert data["questions"][0]["status"] == "follow-up"
    assert data["notes"][0]["text"] == f"Ghi chú {SCRIPT}"

    log = await (await client.get(f"/access-log?key={key}")).json()
    downloads = {e["target"] for e in log["entries"] if e["action"] == "download"}
    assert f"minutes.docx:{meeting_id}" in downloads
    assert all(e["role"] == "secretary" for e in log["entries"] if e["action"] == "download")
    await chair.close()
    await secretary.close()


async def test_the_register_follows_the_meeting_and_stays_editable_after_it_closed(
    client: TestClient, settings: Settings
) -> None:
    meeting_id, chair, secretary = await hold_a_meeting(client, settings)
    key = settings.keys.secretary
    rows = await register_rows(client, key)
    assert [(r["entry"], r["hall_name"], r["status"]) for r in rows] == [
        ("e2", "Thôn 3", "open"),
        ("e1", "Thôn 2", "follow-up"),
    ]
    assert rows[1]["state"] == "pending" and rows[1]["days_left"] == 10
    await chair.send(type="close-meeting")
    await wait_for(lambda: chair.state["meeting"] is None, 5, "the close")

    # Closed: the live room refuses, the register page still edits.
    await secretary.send(type="question-status", entry="e2", status="answered")
    assert (await secretary.reply())["code"] == "refused"
    edit = await client.post(
        f"/register/{meeting_id}/e2?key={key}",
        json={"status": "answered", "answer": "Đã sửa\nxong", "name": "Bà Lan Anh"},
    )
    assert edit.status == 200
    assert (await edit.json())["answer"] == "Đã sửa xong"
    bad = await client.post(f"/register/{meeting_id}/e2?key={key}", json={"status": "done"})
    assert bad.status == 400 and "not one of" in await bad.text()
    unknown = await client.post(f"/register/{meeting_id}/e9?key={key}", json={"answer": "x"})
    assert unknown.status == 404

    changes = await (await client.get(f"/register/{meeting_id}/e2/changes?key={key}")).json()
    assert [(c["by"], c["field"], c["new"]) for c in changes["changes"]] == [
        ("chair", "granted", "Bà Lan"),
        ("secretary", "status", "answered"),
        ("secretary", "answer", "Đã sửa xong"),
        ("secretary", "name", "Bà Lan Anh"),
    ]
    # The minutes follow the register's later edit.
    minutes = await client.get(f"/meetings/{meeting_id}/minutes.json?key={key}")
    second = (await minutes.json())["questions"][1]
    assert (second["name"], second["status"], second["answer"]) == (
        "Bà Lan Anh",
        "answered",
        "Đã sửa xong",
    )
    answered = await client.get(f"/register.json?key={key}&status=answered")
    assert [r["entry"] for r in (await answered.json())["questions"]] == ["e2"]
    await chair.close()
    await secretary.close()


async def test_register_exports_keep_formulas_as_text(
    client: TestClient, settings: Settings
) -> None:
    meeting_id, chair, secretary = await hold_a_meeting(client, settings)
    key = settings.keys.chair
    await register_rows(client, key)
    xlsx = await client.get(f"/register.xlsx?key={key}")
    assert xlsx.status == 200
    assert xlsx.headers["Content-Disposition"].startswith("attachment; filename=")
    book = openpyxl.load_workbook(io.BytesIO(await xlsx.read()))
    sheet = book.active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type == "s" for c in cells)  # not one formula
    values = [str(c.value) for c in cells]
    assert f"'{FORMULA}" in values and SCRIPT in values
    assert f"Trả lời {FORMULA}" in values  # a formula inside the text is harmless

    response = await client.get(f"/register.csv?key={key}")
    assert response.headers["Content-Disposition"].endswith('.csv"')
    raw = await response.read()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "Cuộc họp"
    topics = [r[6] for r in rows[1:]]
    assert f"'{FORMULA}" in topics
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)
    await chair.close()
    await secretary.close()


async def test_the_register_and_its_changes_survive_a_restart_of_the_store(
    tmp_path: Path,
) -> None:
    halls = {"thon-1": "Thôn 1"}
    policy = DuePolicy(10)
    t0 = 1764381600.0
    register = await Register.open(tmp_path, halls, policy)
    register.follow("m-1", [MeetingOpened("m-1", "Họp", at=t0)])
    register.follow(
        "m-1", [FloorGranted(Entry("e1", "thon-1", "Ông Ba", "Điện", t0), 180, "chair", at=t0)]
    )
    register.follow("m-1", [QuestionStatusSet("e1", "forwarded", "Gửi huyện", "chair", at=t0)])
    await register.close()  # finishes the queued writes

    reopened = RegisterBook(tmp_path, halls, policy)
    try:
        (row,) = reopened.questions()
        assert (row.meeting_title, row.name, row.status, row.answer) == (
            "Họp",
            "Ông Ba",
            "forwarded",
            "Gửi huyện",
        )
        assert row.due.isoformat() == "2025-12-09"
        updated = reopened.update("m-1", "e1", {"status": "answered"}, "secretary", t0 + 60)
        assert updated is not None and updated.changed_by == "secretary"
        assert [c.field for c in reopened.changes("m-1", "e1")] == [
            "granted",
            "status",
            "answer",
            "status",
        ]
    finally:
        reopened.close()


async def test_the_access_log_survives_a_restart_and_lists_the_newest_first(
    tmp_path: Path,
) -> None:
    log = await AccessLog.open(tmp_path)
    log.add("secretary", "download", "minutes.docx:m-1", 100.0)
    await asyncio.wrap_future(log.add("hall", "denied", "register", 101.0))
    await log.close()
    reopened = await AccessLog.open(tmp_path)
    try:
        lines = [(e.role, e.action, e.target, e.at) for e in await reopened.entries()]
        assert lines == [
            ("hall", "denied", "register", 101.0),
            ("secretary", "download", "minutes.docx:m-1", 100.0),
        ]
    finally:
        await reopened.close()


async def test_meetings_held_before_the_register_existed_are_filled_in_at_start(
    aiohttp_client: Any, settings: Settings
) -> None:
    t0 = 1764381600.0
    log = EventLog(settings.data_dir)
    log.append(
        "m-old",
        [
            MeetingOpened("m-old", "Họp cũ", at=t0),
            FloorGranted(
                Entry("e1", "thon-2", "Ông Năm", "Nước sạch", t0), 180, "chair", at=t0 + 5
            ),
            MeetingClosed("m-old", at=t0 + 60),
        ],
    )
    log.close()
    client = await aiohttp_client(create_app(settings))
    rows = await register_rows(client, settings.keys.chair)
    assert [(r["meeting_title"], r["hall_name"], r["name"], r["due"]) for r in rows] == [
        ("Họp cũ", "Thôn 2", "Ông Năm", "2025-12-09")
    ]
