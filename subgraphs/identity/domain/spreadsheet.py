"""Reading and writing the two file formats of the Excel import and export: XLSX (openpyxl) and CSV.
Writing (with the guard against formula injection) is the one writer every subgraph's exports share,
subgraphs/common/spreadsheet.py.

CSV is written UTF-8 with a byte-order mark, which is how Excel recognises UTF-8 and shows Chinese
correctly; read, it is UTF-8 (with or without the mark) or, failing that, GB18030, the encoding Excel
on a Chinese Windows saves "CSV" in.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from subgraphs.common.spreadsheet import CONTENT_TYPES, write_rows

__all__ = ["CONTENT_TYPES", "UnreadableFile", "read_rows", "write_rows"]


class UnreadableFile(ValueError):
    pass


def _cell_text(value: Any) -> str:
    """A cell as the text a person typed: Excel turns a typed mobile into a number (13800000000.0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


def read_rows(content: bytes, file_format: str, max_rows: int) -> list[list[str]]:
    """All rows (the header first) as text; raises UnreadableFile for a file of another format or with
    more than `max_rows` data rows."""
    rows: list[list[str]] = []
    if file_format == "CSV":
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = content.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise UnreadableFile("The CSV file is neither UTF-8 nor GB18030 text.") from exc
        for record in csv.reader(io.StringIO(text, newline="")):
            rows.append([cell.strip() for cell in record])
            if len(rows) > max_rows + 1:
                raise UnreadableFile(f"The file has more than {max_rows} rows.")
        return rows
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise UnreadableFile("The file is not an Excel (.xlsx) workbook.") from exc
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            rows.append([_cell_text(v) for v in values])
            if len(rows) > max_rows + 1:
                raise UnreadableFile(f"The file has more than {max_rows} rows.")
    finally:
        book.close()
    return rows
