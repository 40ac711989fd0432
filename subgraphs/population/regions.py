"""Region codes are hierarchical by prefix (GB/T 2260): 320000 province, 3205xx cities' counties,
320505001 townships. A subtree is therefore a range of codes, which every index can serve."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_

from subgraphs.common.errors import bad_input


def subtree_prefix(code: str) -> str:
    if not code.isdigit() or len(code) not in (6, 9, 12, 15):
        raise bad_input(f"{code!r} is not a region code (6, 9, 12 or 15 digits).", argument="regionCode")
    if len(code) == 6:
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def in_subtree(column: ColumnElement[str], code: str) -> ColumnElement[bool]:
    prefix = subtree_prefix(code)
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(column >= prefix, column < upper)
