"""Which rows lie in a region's subtree.

Region codes are hierarchical by prefix (GB/T 2260): 320000 is the province, 3205xx the counties of
the city 320500, 320505001 a township of county 320505. A subtree is therefore a range of codes,
which an index on the column serves, in every subgraph that stores region codes.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import QueryableAttribute

from subgraphs.common.errors import bad_input


def subtree_prefix(code: str) -> str:
    """The code prefix every region in `code`'s subtree (itself included) starts with."""
    if not code.isascii() or not code.isdigit() or len(code) not in (6, 9, 12, 15):
        raise bad_input(f"{code!r} is not a region code (6, 9, 12 or 15 digits).", argument="regionCode")
    if len(code) == 6:
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def _next_prefix(prefix: str) -> str | None:
    """The smallest digit string greater than every string starting with `prefix`.

    The upper bound is built from digits only: a bound such as "320:" (the character after "9")
    compares correctly under the C collation but not under ICU or glibc locale collations, where
    punctuation sorts before digits and the range would come out empty.
    """
    digits = prefix.rstrip("9")
    if not digits:
        return None
    return digits[:-1] + str(int(digits[-1]) + 1)


def in_subtree(column: ColumnElement[str] | QueryableAttribute[str], code: str) -> ColumnElement[bool]:
    """A range condition (so an index on the column serves it) for codes in `code`'s subtree."""
    prefix = subtree_prefix(code)
    upper = _next_prefix(prefix)
    if upper is None:
        return column >= prefix
    return and_(column >= prefix, column < upper)
