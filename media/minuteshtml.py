"""The minutes as one self-contained HTML file, laid out like the DOCX. Every value is
escaped with html.escape: a name like `<script>` is shown, never run."""

from __future__ import annotations

from html import escape

from media.minutes import CUT, MinutesDocument
from media.minutesdocx import BLANK, MOTTO, MOTTO_LINE

STYLE = """
body { font-family: "Times New Roman", serif; font-size: 14pt; max-width: 17cm; margin: 2cm auto; }
.heading { display: flex; justify-content: space-between; text-align: center; }
.heading p { margin: 0; } .motto-line { text-decoration: underline; font-weight: bold; }
h1, h2 { text-align: center; font-size: 14pt; margin: 0.2em 0; } h3 { font-size: 14pt; }
table { border-collapse: collapse; width: 100%; font-size: 12pt; }
th, td { border: 1px solid #000; padding: 2px 6px; text-align: left; vertical-align: top; }
.q { margin: 0.6em 0 0; } .q-more { margin: 0 0 0 1cm; }
.cut { color: #a00; } .note-time { font-style: italic; }
.signatures { display: flex; justify-content: space-around; text-align: center; margin-top: 2em; }
.signatures p { margin: 0; } .sign-space { height: 4em; }
"""


def minutes_html(doc: MinutesDocument) -> str:
    parts = [
        "<!doctype html>",
        '<html lang="vi"><head><meta charset="utf-8">',
        f"<title>Biên bản {_e(doc.title)} {_e(doc.date)}</title>",
        f"<style>{STYLE}</style></head><body>",
        '<div class="heading"><div>',
        f"<p>ỦY BAN NHÂN DÂN</p><p><b>{_e(doc.commune.upper())}</b></p><p>Số: …/BB-UBND</p>",
        "</div><div>",
        f'<p><b>{MOTTO}</b></p><p class="motto-line">{MOTTO_LINE}</p>',
        f"<p><i>{_e(doc.date_line)}</i></p>",
        "</div></div>",
        f"<h1>BIÊN BẢN</h1><h2>Cuộc họp {_e(doc.title)}</h2>",
        "<h3>I. THỜI GIAN, ĐỊA ĐIỂM, HÌNH THỨC</h3>",
    ]
    end = f"; kết thúc lúc {_e(doc.ended)}" if doc.ended else "; chưa kết thúc"
    parts.append(f"<p>Thời gian: bắt đầu lúc {_e(doc.started)} ngày {_e(doc.date)}{end}.</p>")
    parts.append(
        f"<p>Địa điểm: phòng họp {_e(doc.commune)} và các nhà văn hóa thôn (họp trực tuyến).</p>"
    )
    parts.append("<h3>II. THÀNH PHẦN</h3>")
    parts.append(f"<p>Chủ trì: {_e(doc.chair or BLANK)}</p>")
    parts.append(f"<p>Thư ký: {_e(doc.secretary or BLANK)}</p>")
    parts.append("<p>Các điểm cầu tham dự:</p>")
    if doc.halls:
        parts.append(
            "<table><tr><th>Điểm cầu</th><th>Vào</th><th>Ra</th>"
            "<th>Chất lượng đường truyền</th></tr>"
        )
        for hall in doc.halls:
            cells = "".join(
                f"<td>{_e(v)}</td>" for v in (hall.hall, hall.joined, hall.left, hall.link)
            )
            parts.append(f"<tr>{cells}</tr>")
        parts.append("</table>")
    else:
        parts.append("<p>Không có điểm cầu nào kết nối.</p>")
    if doc.absent:
        parts.append(f"<p>Không kết nối: {_e(', '.join(doc.absent))}.</p>")
    parts.append("<h3>III. Ý KIẾN CỦA NGƯỜI DÂN</h3>")
    if not doc.questions:
        parts.append("<p>Không có ý kiến nào.</p>")
    for q in doc.questions:
        topic = f": {_e(q.topic)}" if q.topic else ""
        cut = f', <span class="cut">{CUT}</span>' if q.cut else ""
        parts.append(
            f'<p class="q" id="q-{_e(q.entry_id)}"><b>{q.number}. {_e(q.time)} – {_e(q.hall)}'
            f" – {_e(q.name)}</b>{topic} ({_e(q.duration)}{cut})</p>"
        )
        parts.append(f'<p class="q-more">Ghi hình: {_e(q.clip)}</p>')
        parts.append(f'<p class="q-more">Trạng thái: {_e(q.status_label)}</p>')
        if q.answer:
            parts.append(f'<p class="q-more">Trả lời: {_e(q.answer)}</p>')
    parts.append("<h3>IV. GHI CHÉP CỦA THƯ KÝ</h3>")
    if not doc.notes:
        parts.append("<p>Không có ghi chép.</p>")
    for note in doc.notes:
        parts.append(
            f'<p><span class="note-time">[{_e(note.meeting_time)} – {_e(note.time)}]</span> '
            f"{_e(note.text)}</p>"
        )
    if doc.ended:
        parts.append(f"<p>Cuộc họp kết thúc vào lúc {_e(doc.ended)} cùng ngày.</p>")
    parts.append('<div class="signatures">')
    for role, name in (("THƯ KÝ", doc.secretary), ("CHỦ TRÌ", doc.chair)):
        parts.append(
            f"<div><p><b>{role}</b></p><p><i>(Ký, ghi rõ họ tên)</i></p>"
            f'<div class="sign-space"></div><p><b>{_e(name or BLANK)}</b></p></div>'
        )
    parts.append("</div></body></html>\n")
    return "\n".join(parts)


def _e(value: str) -> str:
    return escape(value, quote=True)
