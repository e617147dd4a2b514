"""`python -m arena_grading report` on the graded test class (grading_run.py), whose mistakes
are known: one student per known mistake of 01's exercise (tests/known_mistakes.py), the
reference, the untouched stub, a raising answer, cheaters whose answers are wrong on the hidden
cases, and students never graded. The report reads what grading left and re-runs nothing."""

from __future__ import annotations

import csv
import html
import re
import subprocess
import sys

import pytest

from tests.browser import static_page
from tests.grading_run import WAITS_FOR_THE_CLASS, not_graded
from tests.known_mistakes import MISTAKES
from tests.notebook_tools import tool_env

pytestmark = [pytest.mark.slow, WAITS_FOR_THE_CLASS]

ASSIGNMENT = "01_arena"
TEST_CELL = "ex1_run_episode_tests"


def report(course, *args):
    done = subprocess.run([sys.executable, "-m", "arena_grading", "report", ASSIGNMENT, *args], cwd=course,
                          env=tool_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = course / "reports" / ASSIGNMENT
    with open(folder / "report.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return (folder / "report.html").read_text(), rows, folder / "report.html"


def test_the_report_counts_what_the_class_got_right_and_wrong(graded):
    page, rows, _ = report(graded.course)
    students = graded.classes[ASSIGNMENT]
    result, _ = graded.runs[ASSIGNMENT]
    never_graded = not_graded(result)
    assert set(rows) == set(students)

    # Every graded student's points, as the grade command gave them; the others with the reason.
    for student, (_, points) in students.items():
        row = rows[student]
        if student in never_graded:
            assert row["graded"] == "False" and row["not graded because"] == never_graded[student], row
        else:
            assert float(row["total"]) == points, row
            assert float(row["seconds to grade"]) > 0, row

    # What the judge found, student by student: each known mistake fails its self-check, in the
    # test cell (an error, in the self-check's words); ivan's passes it and answers the hidden
    # cases wrong.
    mistakes = MISTAKES[(ASSIGNMENT, "ex1_run_episode")]
    mistaken = [s for s in students if s.startswith("mistaken-")]
    assert len(mistaken) == len(mistakes)
    outcome = {s: row[f"{TEST_CELL} outcome"] for s, row in rows.items()}
    assert {s: outcome[s] for s in mistaken} == dict.fromkeys(mistaken, "error"), outcome
    assert outcome["ivan"] == "wrong"
    assert outcome["alice"] == outcome["zoe"] == "right"
    assert outcome["bob"] == outcome["erin"] == outcome["carol"] == "error"

    # The shares of the exercise: full points for the graded students expected to have them.
    graded_points = [points for s, (_, points) in students.items() if s not in never_graded]
    full, none = graded_points.count(3), graded_points.count(0)
    assert full + none == len(graded_points)
    shares = re.search(r"full points: <b>(\d+)</b>.*?some: <b>(\d+)</b>.*?none: <b>(\d+)</b>", page, re.S)
    assert shares and tuple(map(int, shares.groups())) == (full, 0, none), shares and shares.group(0)

    # The most frequent wrong case: every student who answered wrong got it wrong (its count,
    # the reference's answer beside it, the judge's words).
    wrong = [s for s in students if outcome[s] == "wrong"]
    cases = re.findall(r'<tr><td>([^<]+)</td><td><code>([^<]*)</code></td><td class="number">(\d+)</td>'
                       r"<td><code>([^<]*)</code>", page)
    assert cases, page
    case, _, count, expected = cases[0]
    assert int(count) == len(wrong), (cases, wrong)
    assert expected.strip() and expected != "null"
    assert "The judge told them: Add up every step's reward per agent" in html.unescape(page)  # the exercise's hint
    # The errors, messages that differ only in numbers counted as one: every student with an
    # error is counted once, and each known mistake is there in its self-check's words.
    errors = re.findall(r'<tr><td><code>([^<]*)</code></td><td class="number">(\d+)</td></tr>', page)
    others = re.search(r'<span class="other-errors">(\d+)</span>', page)
    shown = sum(int(n) for _, n in errors) + (int(others.group(1)) if others else 0)
    assert shown == list(outcome.values()).count("error"), errors
    for mistake in mistakes:
        assert any(mistake.says in html.unescape(message) for message, _ in errors), (mistake.what, errors)
    def count(words):
        (n,) = [int(n) for message, n in errors if words in message]
        return n

    assert count("run_episode raised NotImplementedError") == 2  # bob, and erin's restored test
    assert count("run_episode raised ValueError: I give up") == 1  # carol

    # Who was not graded and why, and how long grading took.
    for student, why in never_graded.items():
        assert f"<li>{student}: {html.escape(why)}</li>" in page
    assert re.search(r"Grading time per student: median \d+ s, longest \d+ s", page)
    print(f"\n[report] {len(students)} students, {full} with full points, {none} with none, "
          f"{len(wrong)} answered the hidden cases wrong (top case {case!r}: {count}), "
          f"{len(never_graded)} not graded")
    # Student by student, with each exercise's points and outcome; the exercise under its title.
    table = page.split('<table id="students">')[1].split("</table>")[0]
    assert table.count("<tr>") == len(students) + 1 and "Exercise 1 · The environment loop" in page
    assert "<td>3 (right)</td>" in table and "not graded" in table


def test_the_anonymized_report_names_no_student_and_opens_in_chromium(graded):
    page_text, rows, path = report(graded.course, "--anonymize")
    text = page_text + "\n".join(",".join(row.values()) for row in rows.values()) + ",".join(rows)
    named = [s for s in graded.classes[ASSIGNMENT] if re.search(rf"\b{re.escape(s)}\b", text)]
    assert not named, f"the anonymized report names {named}"
    assert len(rows) == len(graded.classes[ASSIGNMENT])

    with static_page(path, "class-report.png") as page:
        assert page.evaluate("document.querySelector('img[alt^=\"Histogram of the scores\"]').naturalWidth") > 300
        assert "graded" in page.locator("#summary").inner_text()
        assert page.locator("section.exercise").count() == 1
