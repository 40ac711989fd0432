"""The one spreadsheet writer of every export: cells Excel would run as formulas are written as text."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from subgraphs.common.spreadsheet import csv_text, safe_cell, unguard_cell, write_rows

FORMULAS = ['=HYPERLINK("http://x")', "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"]


def test_formula_cells_become_text_and_read_back_as_they_were() -> None:
    for value in FORMULAS:
        assert safe_cell(value) == "'" + value
        assert unguard_cell(safe_cell(value)) == value
    for other in ("张三", "a=b", "'quoted", "", None, -1, 2.5):
        assert safe_cell(other) == other
    assert unguard_cell("'quoted") == "'quoted"


def test_csv_and_xlsx_guard_every_data_cell() -> None:
    rows = [[value, 7] for value in FORMULAS]
    text = csv_text(["值", "n"], rows)
    assert text.startswith("\ufeff值,n\r\n")
    assert [r[0] for r in csv.reader(io.StringIO(text.lstrip("\ufeff")))][1:] == ["'" + v for v in FORMULAS]
    assert csv_text(["a"], [["=1"]], bom=False, lineterminator="\n") == "a\n'=1\n"
    assert write_rows(["值", "n"], rows, "CSV") == text.encode()
    book = load_workbook(io.BytesIO(write_rows(["值", "n"], rows, "XLSX")))
    cells = [row for row in book.worksheets[0].iter_rows(values_only=True)]
    assert cells[0] == ("值", "n") and all(str(c[0]).startswith("'") for c in cells[1:])  # XML keeps no \r
    assert [c[0] for c in cells[1:-1]] == ["'" + v for v in FORMULAS[:-1]]
