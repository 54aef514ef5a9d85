"""The question register as a spreadsheet: XLSX (openpyxl) and CSV that open on a stock
Windows PC. A cell a citizen's words fill is never a formula: text that a spreadsheet
would read as one (`=HYPERLINK(...)`, `+`, `-`, `@`, a leading tab or carriage return)
gets a leading apostrophe, as OWASP advises against CSV injection.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill

from media.names import VIETNAM

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADERS = (
    "Cuộc họp",
    "Mã cuộc họp",
    "Ngày hỏi",
    "Giờ",
    "Thôn",
    "Người hỏi",
    "Nội dung",
    "Trạng thái",
    "Trả lời",
    "Hạn trả lời",
    "Quá hạn",
)
WIDTHS = (28, 20, 12, 7, 14, 22, 40, 16, 40, 12, 8)
OVERDUE_FILL = PatternFill("solid", fgColor="FFD7D7")
BOLD = Font(bold=True)


@dataclass(frozen=True)
class SheetRow:
    """One question, already worded: the caller (web/) knows the statuses and the clock."""

    meeting_title: str
    meeting_id: str
    granted_at: float
    hall: str
    name: str
    topic: str
    status: str
    answer: str
    due: str  # dd/mm/yyyy
    overdue: bool

    def cells(self) -> list[str]:
        asked = datetime.fromtimestamp(self.granted_at, VIETNAM)
        return [
            neutralise(v)
            for v in (
                self.meeting_title,
                self.meeting_id,
                asked.strftime("%d/%m/%Y"),
                asked.strftime("%H:%M"),
                self.hall,
                self.name,
                self.topic,
                self.status,
                self.answer,
                self.due,
                "Có" if self.overdue else "",
            )
        ]


def neutralise(value: str) -> str:
    """`value` as a cell that is always text: never a formula, no character XML refuses."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def register_xlsx(rows: Sequence[SheetRow]) -> bytes:
    # Write-only: years of questions are tens of thousands of cells, written once.
    book = Workbook(write_only=True)
    sheet = book.create_sheet("So theo doi")
    for index, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, title, bold=True) for title in HEADERS])
    for row in rows:
        sheet.append([_cell(sheet, value, overdue=row.overdue) for value in row.cells()])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(sheet: Any, value: str, bold: bool = False, overdue: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    # openpyxl reads a string starting with "=" as a formula: say "text" outright.
    cell.data_type = "s"
    if bold:
        cell.font = BOLD
    if overdue:
        cell.fill = OVERDUE_FILL
    return cell


def register_csv(rows: Sequence[SheetRow]) -> bytes:
    """UTF-8 with a byte-order mark: Excel on Windows then reads Vietnamese right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(row.cells())
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
