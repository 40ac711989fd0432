"""Writing spreadsheet files for download: CSV and XLSX, every text cell guarded against formula injection.

Excel runs a cell starting with = + - @ (or a tab or carriage return before one) as a formula ("CSV
injection": `=HYPERLINK(...)` in a comment becomes a link, worse formulas run commands); a leading
apostrophe makes it text. Every CSV or XLSX a subgraph exports goes through `safe_cell`, through
`SafeCsvWriter` or `write_rows`, whatever its columns: a cell that holds only system-made values today may
hold a user's text tomorrow.

CSV for Excel is UTF-8 with a byte-order mark (how Excel recognises UTF-8 and shows Chinese correctly).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from openpyxl import Workbook

CONTENT_TYPES = {
    "CSV": "text/csv; charset=utf-8",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BOM = "\ufeff"

# Excel runs a cell starting with one of these as a formula; a leading apostrophe makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet should store it: text that Excel would run as a formula gets a leading
    apostrophe; other values (numbers, dates, None) are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unguard_cell(value: str) -> str:
    """Undo `safe_cell` on a cell read back from a file this module wrote ("'=x" was written for "=x"),
    so that an export edited and imported again keeps its values."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


class SafeCsvWriter:
    """csv.writer that guards every data cell (`safe_cell`); rows may be written one at a time (streamed).
    The header is the program's own text and is written as it is (as it is on an XLSX)."""

    def __init__(self, out: TextIO, *, lineterminator: str = "\r\n") -> None:
        self._writer = csv.writer(out, lineterminator=lineterminator)

    def writeheader(self, header: Sequence[str]) -> None:
        self._writer.writerow(header)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_text(header: Sequence[str], rows: Iterable[Iterable[Any]], *, bom: bool = True,
             lineterminator: str = "\r\n") -> str:
    """A CSV table as text: `header`, then `rows`, every cell guarded; with a byte-order mark for Excel
    unless `bom` is False."""
    out = io.StringIO(newline="")
    if bom:
        out.write(BOM)
    writer = SafeCsvWriter(out, lineterminator=lineterminator)
    writer.writeheader(header)
    writer.writerows(rows)
    return out.getvalue()


def write_rows(header: Sequence[str], rows: Iterable[Sequence[Any]], file_format: str, *, sheet: str = "Sheet1",
               notes: Sequence[str] = ()) -> bytes:
    """A file with `header` and `rows`; `notes` go on a second sheet of an XLSX (a CSV has one table)."""
    if file_format == "CSV":
        return csv_text(header, rows).encode("utf-8")
    book = Workbook(write_only=True)
    table = book.create_sheet(sheet)
    table.append(list(header))
    for row in rows:
        table.append([safe_cell(v) for v in row])
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
