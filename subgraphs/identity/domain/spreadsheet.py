"""Reading and writing the two file formats of the Excel import and export: XLSX (openpyxl) and CSV.

CSV is written UTF-8 with a byte-order mark, which is how Excel recognises UTF-8 and shows Chinese
correctly; read, it is UTF-8 (with or without the mark) or, failing that, GB18030, the encoding Excel
on a Chinese Windows saves "CSV" in.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

CONTENT_TYPES = {
    "CSV": "text/csv; charset=utf-8",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


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


# Excel runs a cell starting with one of these as a formula ("CSV injection"); a leading apostrophe
# makes it text. Only names and e-mail addresses come from users, but every text cell is guarded.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def write_rows(header: Sequence[str], rows: Iterable[Sequence[Any]], file_format: str, *, sheet: str = "Sheet1",
               notes: Sequence[str] = ()) -> bytes:
    """A file with `header` and `rows`; `notes` go on a second sheet of an XLSX (a CSV has one table)."""
    if file_format == "CSV":
        out = io.StringIO(newline="")
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([_safe(v) for v in row] for row in rows)
        return out.getvalue().encode("utf-8-sig")
    book = Workbook(write_only=True)
    table = book.create_sheet(sheet)
    table.append(list(header))
    for row in rows:
        table.append([_safe(v) for v in row])
    if notes:
        help_sheet = book.create_sheet("说明")
        for line in notes:
            help_sheet.append([line])
    buffer = io.BytesIO()
    book.save(buffer)
    return _reproducible(buffer.getvalue())


_DOC_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the zip format's epoch


def _reproducible(xlsx: bytes) -> bytes:
    """The same rows give the same bytes: openpyxl stamps the save time into the document properties and
    every zip entry, which would make each download (and each answer to the same query) differ."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "docProps/core.xml":
                data = _DOC_TIMES.sub(rb"\g<1>2026-01-01T00:00:00Z\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, data)
    return out.getvalue()
