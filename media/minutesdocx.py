"""The minutes as a DOCX laid out like a Vietnamese administrative document (Decree
30/2020/NĐ-CP): A4, Times New Roman, the issuing body and the national motto side by
side at the top, the place and date, the title "BIÊN BẢN", and the signature block.

Written with python-docx: every person's words go in as run text, never as XML.
"""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from media.minutes import CUT, MinutesDocument

FONT = "Times New Roman"
BODY_PT = 14
HEADER_PT = 13
TABLE_PT = 12
MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_LINE = "Độc lập - Tự do - Hạnh phúc"
BLANK = "……………………"  # a name left for the signer to write in


def minutes_docx(doc: MinutesDocument) -> bytes:
    out = Document()
    _page(out)
    _heading(out, doc)
    _title(out, doc)
    _body(out, doc)
    _signatures(out, doc)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


def _page(out: DocxDocument) -> None:
    section = out.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    # Decree 30 margins: top and bottom 20-25 mm, left 30-35 mm, right 15-20 mm.
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    normal = out.styles["Normal"]
    normal.font.name = FONT  # type: ignore[attr-defined]
    normal.font.size = Pt(BODY_PT)  # type: ignore[attr-defined]
    # Word picks the East Asian font slot for some Vietnamese text: name it too.
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)
    normal.paragraph_format.space_after = Pt(3)  # type: ignore[attr-defined]


def _heading(out: DocxDocument, doc: MinutesDocument) -> None:
    """The issuing body (left) and the national motto (right), then the place and date."""
    table = out.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    left.width, right.width = Cm(6.5), Cm(9.5)
    _line(left.paragraphs[0], "ỦY BAN NHÂN DÂN", size=HEADER_PT)
    _line(left.add_paragraph(), doc.commune.upper(), bold=True, size=HEADER_PT)
    _line(left.add_paragraph(), "Số: …/BB-UBND", size=HEADER_PT)
    _line(right.paragraphs[0], MOTTO, bold=True, size=HEADER_PT)
    _line(right.add_paragraph(), MOTTO_LINE, bold=True, underline=True, size=BODY_PT)
    _line(right.add_paragraph(), doc.date_line, italic=True, size=BODY_PT)
    for cell in (left, right):
        for paragraph in cell.paragraphs:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            paragraph.paragraph_format.space_after = Pt(0)


def _title(out: DocxDocument, doc: MinutesDocument) -> None:
    out.add_paragraph()
    for words in ("BIÊN BẢN", f"Cuộc họp {doc.title}"):
        paragraph = _line(out.add_paragraph(), words, bold=True)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    out.add_paragraph()


def _body(out: DocxDocument, doc: MinutesDocument) -> None:
    _section(out, "I. THỜI GIAN, ĐỊA ĐIỂM, HÌNH THỨC")
    end = f"; kết thúc lúc {doc.ended}" if doc.ended else "; chưa kết thúc"
    _text(out, f"Thời gian: bắt đầu lúc {doc.started} ngày {doc.date}{end}.")
    _text(out, f"Địa điểm: phòng họp {doc.commune} và các nhà văn hóa thôn (họp trực tuyến).")
    _section(out, "II. THÀNH PHẦN")
    _text(out, f"Chủ trì: {doc.chair or BLANK}")
    _text(out, f"Thư ký: {doc.secretary or BLANK}")
    _text(out, "Các điểm cầu tham dự:")
    if doc.halls:
        table = out.add_table(rows=1, cols=4)
        table.style = "Table Grid"
        _row(table.rows[0].cells, ["Điểm cầu", "Vào", "Ra", "Chất lượng đường truyền"], True)
        for hall in doc.halls:
            _row(table.add_row().cells, [hall.hall, hall.joined, hall.left, hall.link])
    else:
        _text(out, "Không có điểm cầu nào kết nối.")
    if doc.absent:
        _text(out, f"Không kết nối: {', '.join(doc.absent)}.")
    _section(out, "III. Ý KIẾN CỦA NGƯỜI DÂN")
    if not doc.questions:
        _text(out, "Không có ý kiến nào.")
    for q in doc.questions:
        paragraph = out.add_paragraph()
        _run(paragraph, f"{q.number}. {q.time} – {q.hall} – ", bold=True)
        _run(paragraph, q.name, bold=True)
        if q.topic:
            _run(paragraph, f": {q.topic}")
        _run(paragraph, f" ({q.duration}" + (f", {CUT})" if q.cut else ")"))
        _text(out, f"Ghi hình: {q.clip}", indent=True)
        _text(out, f"Trạng thái: {q.status_label}", indent=True)
        if q.answer:
            _text(out, f"Trả lời: {q.answer}", indent=True)
    _section(out, "IV. GHI CHÉP CỦA THƯ KÝ")
    if not doc.notes:
        _text(out, "Không có ghi chép.")
    for note in doc.notes:
        paragraph = out.add_paragraph()
        _run(paragraph, f"[{note.meeting_time} – {note.time}] ", italic=True)
        _run(paragraph, note.text)
    if doc.ended:
        _text(out, f"Cuộc họp kết thúc vào lúc {doc.ended} cùng ngày.")


def _signatures(out: DocxDocument, doc: MinutesDocument) -> None:
    out.add_paragraph()
    table = out.add_table(rows=1, cols=2)
    for cell, role, name in zip(
        table.rows[0].cells, ("THƯ KÝ", "CHỦ TRÌ"), (doc.secretary, doc.chair), strict=True
    ):
        _line(cell.paragraphs[0], role, bold=True)
        _line(cell.add_paragraph(), "(Ký, ghi rõ họ tên)", italic=True)
        for _ in range(3):
            cell.add_paragraph()
        _line(cell.add_paragraph(), name or BLANK, bold=True)
        for paragraph in cell.paragraphs:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER


# -- small helpers: every string goes in through _run, as text ------------------------------


def _section(out: DocxDocument, words: str) -> None:
    _line(out.add_paragraph(), words, bold=True)


def _text(out: DocxDocument, words: str, indent: bool = False) -> None:
    paragraph = _line(out.add_paragraph(), words)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    if indent:
        paragraph.paragraph_format.left_indent = Cm(1)


def _row(cells: tuple[_Cell, ...] | list[_Cell], words: list[str], bold: bool = False) -> None:
    for cell, value in zip(cells, words, strict=True):
        _line(cell.paragraphs[0], value, bold=bold, size=TABLE_PT)


def _line(paragraph: Paragraph, words: str, size: int | None = None, **style: bool) -> Paragraph:
    _run(paragraph, words, size=size, **style)
    return paragraph


def _run(
    paragraph: Paragraph,
    words: str,
    size: int | None = None,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
) -> None:
    run = paragraph.add_run(words)
    run.font.name = FONT
    run.bold, run.italic, run.underline = bold or None, italic or None, underline or None
    if size is not None:
        run.font.size = Pt(size)
