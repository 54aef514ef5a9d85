"""The minutes as files: a Decree 30 style DOCX, escaped HTML and JSON, from one history."""

from __future__ import annotations

import json
from pathlib import Path

import docx

from media.minutes import NOT_RECORDED, MinutesContext, write_minutes
from rooms.entry import Entry
from rooms.events import (
    ConsentGiven,
    Event,
    FloorEnded,
    FloorGranted,
    LinkQuality,
    MeetingClosed,
    MeetingOpened,
    NoteAdded,
    ParticipantJoined,
    ParticipantLeft,
    QuestionStatusSet,
)
from rooms.history import MeetingHistory

T = 1764381600.0  # 2025-11-29 09:00 in Vietnam
HOSTILE = '<script>alert(1)</script>\x07=HYPERLINK("http://x","y")'
CONTEXT = MinutesContext(
    "Xã Trực Khang",
    chair_name="Nguyễn Văn An",
    secretary_name="Trần Thị Bình",
    halls={"thon-1": "Thôn 1", "thon-2": "Thôn 2", "thon-3": "Thôn 3"},
)


def meeting() -> MeetingHistory:
    events: list[Event] = [
        MeetingOpened("m-20251129-020000", "Tiếp xúc cử tri", at=T),
        ParticipantJoined("p1", "hall", "thon-1", at=T + 5),
        ParticipantJoined("p2", "hall", "thon-2", at=T + 6),
        FloorGranted(
            Entry("e1", "thon-1", "Ông Ba", "Đường liên thôn", T + 10), 180, "chair", at=T + 60
        ),
        ConsentGiven("e1", True, at=T + 62),
        FloorEnded("e1", "thon-1", "chair", "ended", at=T + 260),
        FloorGranted(Entry("e2", "thon-2", HOSTILE, HOSTILE, T + 20), 180, "chair", at=T + 300),
        FloorEnded("e2", "thon-2", "room", "hall-dropped", at=T + 345),
        QuestionStatusSet("e1", "answered", "Xã sẽ sửa trong tháng 12", "secretary", at=T + 400),
        NoteAdded("n1", HOSTILE, "secretary", at=T + 725),
        ParticipantLeft("p2", "hall", "thon-2", at=T + 800),
        LinkQuality("thon-1", 300, 29.6, 0.004, 0.02, 35.0, "good", at=T + 900),
        MeetingClosed("m-20251129-020000", at=T + 900),
    ]
    return MeetingHistory.from_events(events)


def test_the_docx_is_a_decree_30_document_listing_every_question(tmp_path: Path) -> None:
    clips = {"e1": "2025-11-29_0901_thon-1_ong-ba_duong-lien-thon.mp4", "e2": None}
    paths = write_minutes(meeting(), CONTEXT, tmp_path, clips)
    assert [p.name for p in paths] == ["bien-ban.docx", "bien-ban.html", "bien-ban.json"]
    document = docx.Document(str(paths[0]))
    assert document.styles["Normal"].font.name == "Times New Roman"
    assert document.styles["Normal"].font.size.pt == 14
    heading = document.tables[0].rows[0].cells
    assert "XÃ TRỰC KHANG" in heading[0].text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in heading[1].text
    assert "Độc lập - Tự do - Hạnh phúc" in heading[1].text
    assert "Trực Khang, ngày 29 tháng 11 năm 2025" in heading[1].text
    text = "\n".join(p.text for p in document.paragraphs)
    assert "BIÊN BẢN\nCuộc họp Tiếp xúc cử tri" in text
    assert "bắt đầu lúc 09:00 ngày 29/11/2025; kết thúc lúc 09:15" in text
    assert "Chủ trì: Nguyễn Văn An" in text and "Thư ký: Trần Thị Bình" in text
    assert "1. 09:01 – Thôn 1 – Ông Ba: Đường liên thôn (3 phút 20 giây)" in text
    assert f"Ghi hình: {clips['e1']}" in text
    assert "Trạng thái: Đã trả lời" in text and "Trả lời: Xã sẽ sửa trong tháng 12" in text
    assert "(45 giây, bị ngắt)" in text
    assert f"Ghi hình: {NOT_RECORDED}" in text
    assert "[0:12:05 – 09:12]" in text
    assert "Không kết nối: Thôn 3." in text
    halls = [[c.text for c in row.cells] for row in document.tables[1].rows]
    assert halls[1] == ["Thôn 1", "09:00", "09:15", "Tốt (mất gói 0.4%, 30 hình/giây, trễ 35 ms)"]
    assert halls[2][:3] == ["Thôn 2", "09:00", "09:13"]
    signatures = document.tables[-1].rows[0].cells
    assert signatures[0].text.startswith("THƯ KÝ") and "Trần Thị Bình" in signatures[0].text
    assert signatures[1].text.startswith("CHỦ TRÌ") and "Nguyễn Văn An" in signatures[1].text


def test_hostile_text_comes_out_as_text_in_docx_html_and_json(tmp_path: Path) -> None:
    docx_path, html_path, json_path = write_minutes(meeting(), CONTEXT, tmp_path, {})
    shown = HOSTILE.replace("\x07", "")
    text = "\n".join(p.text for p in docx.Document(str(docx_path)).paragraphs)
    assert f"Thôn 2 – {shown}: {shown}" in text and "\x07" not in text
    html = html_path.read_text(encoding="utf-8")
    assert "<script>" not in html and "\x07" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;=HYPERLINK(&quot;http://x&quot;" in html
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["notes"][0]["text"] == shown
    assert data["questions"][1]["cut"] is True and data["questions"][1]["clip"] == NOT_RECORDED


def test_a_consenting_question_without_a_clip_says_so(tmp_path: Path) -> None:
    _, _, json_path = write_minutes(meeting(), CONTEXT, tmp_path, {"e1": None})
    first = json.loads(json_path.read_text(encoding="utf-8"))["questions"][0]
    assert (first["clip"], first["recorded"]) == ("Không có bản ghi hình", False)
