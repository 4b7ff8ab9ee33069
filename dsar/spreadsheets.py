"""CSV files a spreadsheet program opens safely: a text cell never runs as a formula.

Excel, LibreOffice and Google Sheets evaluate a cell that begins with `=`, `+`, `-` or `@`
(and some strip a leading tab or carriage return first), so a record value such as
`=HYPERLINK("http://…")` would become a live link or worse in the person's own spreadsheet.
Such text cells get a leading apostrophe, which spreadsheets show as text and hide; numbers
stay numbers. The JSON files keep every value as it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """The value as a CSV cell: formula-like text neutralised, anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write(rows: Iterable[Iterable[Any]], *, lineterminator: str = "\r\n") -> str:
    """Rows as CSV text, every cell through `cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=lineterminator)
    writer.writerows([cell(value) for value in row] for row in rows)
    return out.getvalue()
