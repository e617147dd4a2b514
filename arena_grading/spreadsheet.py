"""CSV files that are safe to open in a spreadsheet: every CSV the project writes goes through here.

A spreadsheet (Excel, LibreOffice, Google Sheets) runs a cell that begins with ``=``, ``+``,
``-`` or ``@`` as a formula, and a tab or carriage return at the start can hide one: a student
id such as ``=HYPERLINK("http://...")`` or ``-2+3`` would become a formula on the instructor's
machine. The OWASP rule for CSV injection is applied to every text cell: one that begins with
any of those characters gets a single quote in front, which spreadsheets take as "text" and do
not show. A cell that begins with a quote itself gets one more, so that reading a file back
(:func:`read_csv`) gives exactly what was written, and a spreadsheet shows it as it was.
Numbers stay numbers: ``-2.5`` written as a float is a number, not a formula.

    write_csv(path, rows, fieldnames)  # rows: dicts (or sequences), one per line
    read_csv(path)                     # the rows as dicts of text, as they were before write_csv
    safe_cell(value)                   # one cell as written; plain_cell(text) undoes it
"""

from __future__ import annotations

import csv
from pathlib import Path

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def safe_cell(value):
    """``value`` as a CSV cell that a spreadsheet shows as written: text that begins with
    ``=``, ``+``, ``-``, ``@``, a tab, a carriage return (or a quote) gets a ``'`` in front;
    numbers, booleans and None are left as they are; anything else is written as its text."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else str(value)
    return QUOTE + text if text.startswith((*FORMULA_STARTS, QUOTE)) else text


def plain_cell(text: str) -> str:
    """The text :func:`safe_cell` was given, from the cell it wrote (one leading quote removed)."""
    return text[1:] if text.startswith(QUOTE) else text


def read_csv(path) -> list[dict]:
    """The rows of a CSV written by :func:`write_csv`, as dicts of text, every cell as it was
    before it was made safe (a student id ``=1+2`` comes back as ``=1+2``)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = [plain_cell(name) for name in next(reader, [])]
        return [dict(zip(header, (plain_cell(cell) for cell in row))) for row in reader]


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
