"""Every CSV the project writes is safe to open in a spreadsheet (arena_grading.spreadsheet)."""

from __future__ import annotations

import csv

import pytest

from arena_grading.spreadsheet import read_csv, safe_cell, write_csv


@pytest.mark.parametrize("text", ["=1+2", "+1", "-2+3", "@SUM(1+1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")',
                                  "-", "=", "@"])
def test_text_that_a_spreadsheet_would_run_gets_a_quote(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["ada", "student 7", " =1", "1+2", "a=b", "", "Ünïcode", "dollar$x$"])
def test_other_text_is_left_as_it_is(value):
    assert safe_cell(value) == value


@pytest.mark.parametrize("value", [-2.5, 0, 17, -3, True, None, 0.125])
def test_numbers_stay_numbers(value):
    assert safe_cell(value) == value


def test_other_objects_are_written_as_their_neutralised_text():
    class Odd:
        def __str__(self):
            return "=cmd|' /C calc'!A0"

    assert safe_cell(Odd()) == "'=cmd|' /C calc'!A0"


def test_write_csv_neutralises_every_cell_and_reads_back(tmp_path):
    rows = [{"name": "=1+2", "score": -2.5, "note": "a,b \"quoted\"\nnext line"},
            {"name": "@SUM(1+1)", "score": 3},
            ["-2+3", 0, "\t=x"]]
    path = write_csv(tmp_path / "out.csv", rows, ["name", "score", "note"])
    with open(path, newline="", encoding="utf-8") as f:
        read = list(csv.reader(f))
    assert read == [["name", "score", "note"], ["'=1+2", "-2.5", "a,b \"quoted\"\nnext line"], ["'@SUM(1+1)", "3", ""],
                    ["'-2+3", "0", "'\t=x"]]
    for row in read:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or cell == "-2.5", cell


def test_write_csv_refuses_a_column_it_was_not_given(tmp_path):
    with pytest.raises(ValueError, match="not in fieldnames"):
        write_csv(tmp_path / "out.csv", [{"name": "a", "extra": 1}], ["name"])


def test_read_csv_gives_back_exactly_what_was_written(tmp_path):
    ids = ["=1+2", "'=1+2", "'quoted", "ada", "-2+3", "@x", "dollar$x$", "\t=tab"]
    path = write_csv(tmp_path / "ids.csv", [{"student": student, "score": i} for i, student in enumerate(ids)],
                     ["student", "score"])
    assert safe_cell("'quoted") == "''quoted"  # a quote of its own is kept through a spreadsheet too
    assert [row["student"] for row in read_csv(path)] == ids
    assert [row["score"] for row in read_csv(path)] == [str(i) for i in range(len(ids))]
