"""CSV files that are safe to open in a spreadsheet: every CSV the project writes goes through here.

A spreadsheet (Excel, LibreOffice, Google Sheets) runs a cell that begins with ``=``, ``+``,
``-`` or ``@`` as a formula, and a tab or carriage return at the start can hide one: a student
id such as ``=HYPERLINK("http://...")`` or ``-2+3`` would become a formula on the instructor's
machine. The OWASP rule for CSV injection is applied to every text cell: one that begins with
any of those characters gets a single quote in front (shown by spreadsheets as plain text).
Numbers stay numbers: ``-2.5`` written as a float is a number, not a formula.

    write_csv(path, rows, fieldnames)  # rows: dicts (or sequences), one per line
    safe_cell(value)                   # one cell, as written
"""

from __future__ import annotations

import csv
from pathlib import Path

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """``value`` as a CSV cell that a spreadsheet shows as written: text that begins with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a ``'`` in front; numbers,
    booleans and None are left as they are; anything else is written as its text."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(path, rows, fieldnames) -> Path:
    """Write ``rows`` (dicts keyed by ``fieldnames``, or sequences in their order) to ``path``
    with a header line, every cell through :func:`safe_cell` (the header too). A dict's
    missing keys are written empty; a key not in ``fieldnames`` is an error (ValueError)."""
    path, fieldnames = Path(path), list(fieldnames)
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow([safe_cell(name) for name in fieldnames])
        for row in rows:
            if isinstance(row, dict):
                unknown = [key for key in row if key not in fieldnames]
                if unknown:
                    raise ValueError(f"row has columns {unknown} that are not in fieldnames {fieldnames}")
                row = [row.get(name, "") for name in fieldnames]
            writer.writerow([safe_cell(value) for value in row])
    return path
