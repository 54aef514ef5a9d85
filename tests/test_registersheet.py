"""The register as a spreadsheet: a citizen's words are never a formula."""

from __future__ import annotations

import io

import openpyxl
import pytest

from media.registersheet import SheetRow, neutralise, register_csv, register_xlsx


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_a_cell_a_spreadsheet_would_read_as_a_formula_gets_an_apostrophe(text: str) -> None:
    assert neutralise(text) == "'" + text


def test_ordinary_text_and_control_characters() -> None:
    assert neutralise("Đường 3-4 = xong") == "Đường 3-4 = xong"
    assert neutralise("a\x00b\x07c") == "abc"  # XML refuses these in a cell


def test_an_overdue_row_is_filled_and_every_cell_is_text() -> None:
    rows = [
        SheetRow(
            "Họp",
            "m-1",
            1764381600.0,
            "Thôn 1",
            "=1+1",
            "@x",
            "Cần theo dõi",
            "",
            "09/12/2025",
            True,
        )
    ]
    sheet = openpyxl.load_workbook(io.BytesIO(register_xlsx(rows))).active
    assert sheet is not None
    values = [c.value for c in sheet[2]]
    assert values[:6] == ["Họp", "m-1", "29/11/2025", "09:00", "Thôn 1", "'=1+1"]
    assert all(c.data_type == "s" for c in sheet[2] if c.value is not None)
    assert sheet["A2"].fill.fgColor.rgb.endswith("FFD7D7")
    assert sheet["A3"].value is None
    assert register_csv(rows).decode("utf-8-sig").splitlines()[1].endswith(",Có")
