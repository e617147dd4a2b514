"""What the class got wrong: ``python -m arena_grading report ASSIGNMENT``, after grading.

Reads, and never re-runs: the gradebook (each student's points per exercise), what the judge
recorded of each test cell (``<notebook>.verdicts.json``: right, an error and its message, no
report, or the hidden cases answered wrong and what the student gave), the reference answers
cached in ``.grading/`` (what was expected) and each student's ``grading.json`` (how long
grading took, why a student was not graded). Writes ``reports/<assignment>/report.html``, one
page that needs no server, and ``report.csv``, one row per student. ``--anonymize`` shows
pseudonyms, and scrubs every student id from the messages quoted.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from arena_grading.outcomes import GRADING_FOLDER, records, student_folder, submitted_students

OUTPUT_FOLDER = Path("reports")
TOP_CASES = 3  # the most frequent wrong cases shown per exercise
TOP_ERRORS = 5
SAME_ERROR_PREFIX = 100  # characters, numbers aside: the judge keeps only the start of long messages
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def rounded(value):
    """``value`` with its floats rounded to 6 decimals (-9.99999999999998 shows as -10.0)."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


@dataclass
class Exercise:
    grade_id: str  # the test cell's
    notebook: str
    points: float
    scores: dict = field(default_factory=dict)  # student -> points (graded students)
    outcomes: dict = field(default_factory=dict)  # student -> the judge's finding
    expected: dict = field(default_factory=dict)  # case -> the reference's answer
    hint: str = ""

    def shares(self) -> tuple[int, int, int]:
        """(full, partial, none): how many graded students got all, some, or none of the points."""
        full = sum(score >= self.points for score in self.scores.values())
        none = sum(score <= 0 for score in self.scores.values())
        return full, len(self.scores) - full - none, none

    def wrong_cases(self) -> list[tuple[str, str, int, str]]:
        """(case, the most frequent wrong answer, how many gave it, expected), most frequent first."""
        given = Counter((case, answer) for finding in self.outcomes.values() if finding.get("outcome") == "wrong"
                        for case, answer in finding.get("wrong", {}).items())
        by_case = Counter()
        for (case, _), count in given.items():
            by_case[case] += count
        rows = []
        for case, total in by_case.most_common():
            answers = [(answer, n) for (c, answer), n in given.items() if c == case]
            answer, _ = max(answers, key=lambda item: (item[1], item[0]))
            rows.append((case, answer, total, json.dumps(rounded(self.expected.get(case)))))
        return rows

    def errors(self) -> list[tuple[str, int]]:
        """(error message, how many got it), most frequent first: often a self-check's words.
        Messages that begin alike but for their numbers (each student's own totals) count as one,
        shown by the first of them."""
        def key(message: str) -> str:
            return NUMBER.sub("#", message)[:SAME_ERROR_PREFIX]

        messages = sorted(f["error"] for f in self.outcomes.values() if f.get("outcome") == "error")
        counts = Counter(key(message) for message in messages)
        example = {}
        for message in messages:
            example.setdefault(key(message), message)
        return [(example[k], n) for k, n in counts.most_common()]


@dataclass
class ClassReport:
    assignment: str
    students: list  # who submitted
    totals: dict  # graded student -> total points
    max_total: float
    exercises: list
    not_graded: dict  # student -> why
    review: dict  # student -> why a person grades it
    seconds: dict  # student -> seconds it took to grade


def read(course: Path, assignment: str) -> ClassReport:
    """The report's figures, from the course folder after grading."""
    from nbgrader.api import Gradebook, MissingEntry

    from arena_grading.judge import cache_path

    students = submitted_students(course, assignment)
    graded = [s for s in students if (course / "autograded" / s / assignment).is_dir()]
    exercises, totals, max_total = {}, {}, 0.0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            definition = gb.find_assignment(assignment)
        except MissingEntry:
            raise ValueError(f"{assignment} is not in gradebook.db: grade it first "
                             f"(python -m arena_grading grade {assignment})") from None
        for notebook in definition.notebooks:
            for cell in notebook.grade_cells:
                exercises[cell.name] = Exercise(cell.name, notebook.name, cell.max_score)
        max_total = sum(e.points for e in exercises.values())
        for student in graded:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            totals[student] = submission.score
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.name in exercises:
                        exercises[grade.name].scores[student] = grade.score
    references = {}  # notebook -> grade_id -> the reference's answers and hint
    for notebook in {exercise.notebook for exercise in exercises.values()}:
        cache = cache_path(course, assignment, notebook)
        references[notebook] = json.loads(cache.read_text()).get("answers", {}) if cache.exists() else {}
    verdicts = {student: {grade_id: found for recorded in records(course, assignment, student, "verdicts.json")
                          for grade_id, found in recorded.items()} for student in graded}
    for exercise in exercises.values():
        reference = references[exercise.notebook].get(exercise.grade_id, {})
        exercise.expected, exercise.hint = reference.get("answers", {}), reference.get("hint", "")
        for student in exercise.scores:
            if exercise.grade_id in verdicts[student]:
                exercise.outcomes[student] = verdicts[student][exercise.grade_id]
    not_graded, review, seconds = {}, {}, {}
    for student in students:
        path = student_folder(course, assignment, student) / "grading.json"
        run = json.loads(path.read_text()) if path.exists() else {}
        if run.get("seconds") is not None:
            seconds[student] = run["seconds"]
        if run.get("review"):
            review[student] = run["review"]
        if student not in totals:
            not_graded[student] = run.get("why not") or "not graded yet"
    return ClassReport(assignment, students, totals, max_total, list(exercises.values()), not_graded, review, seconds)


def histogram_png(report: ClassReport) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 2.8))
    ax = fig.add_subplot()
    scores = list(report.totals.values())
    bins = [x - 0.25 for x in range(int(report.max_total) + 2)]
    ax.hist(scores, bins=bins if report.max_total <= 20 else 20, color="#2166ac", rwidth=0.8)
    ax.set_xlabel(f"points (of {report.max_total:g})")
    ax.set_ylabel("students")
    ax.set_title(f"Scores of the {len(scores)} graded students")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode()


def write(course: Path, report: ClassReport, anonymize: bool = False) -> tuple[Path, Path]:
    """report.html and report.csv in reports/<assignment>/."""
    from arena_grading.names import course_secret, pseudonyms, scrub

    shown = pseudonyms(report.students, course_secret(course)) if anonymize else {s: s for s in report.students}

    def plain(text: str) -> str:
        return scrub(text, shown) if anonymize else text

    def words(text: str) -> str:
        return html.escape(plain(text))

    folder = course / OUTPUT_FOLDER / report.assignment
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for student in sorted(report.students, key=lambda s: shown[s]):
        row = {"student": shown[student], "graded": student in report.totals,
               "total": report.totals.get(student, ""), "of": report.max_total}
        for exercise in report.exercises:
            row[exercise.grade_id] = exercise.scores.get(student, "")
            row[f"{exercise.grade_id} outcome"] = exercise.outcomes.get(student, {}).get("outcome", "")
        row["seconds to grade"] = round(report.seconds[student], 1) if student in report.seconds else ""
        row["not graded because"] = plain(report.not_graded.get(student, ""))
        row["graded by hand because"] = plain(report.review.get(student, ""))
        rows.append(row)
    csv_path = folder / "report.csv"
    with open(csv_path, "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["student"])
        writer.writeheader()
        writer.writerows(rows)

    sections = []
    for exercise in report.exercises:
        full, partial, none = exercise.shares()
        count = max(1, len(exercise.scores))
        cases = "".join(
            f"<tr><td>{words(case)}</td><td><code>{words(answer)}</code></td><td>{n}</td>"
            f"<td><code>{words(expected)}</code></td></tr>" for case, answer, n, expected in
            exercise.wrong_cases()[:TOP_CASES])
        errors = "".join(f"<tr><td><code>{words(message)}</code></td><td>{n}</td></tr>"
                         for message, n in exercise.errors()[:TOP_ERRORS])
        sections.append(f"""
<section class="exercise" id="{html.escape(exercise.grade_id)}">
<h3>{html.escape(exercise.grade_id)} ({exercise.points:g} points)</h3>
<p class="shares">full points: <b>{full}</b> ({full / count:.0%}) · some: <b>{partial}</b> ({partial / count:.0%}) ·
none: <b>{none}</b> ({none / count:.0%}) of {len(exercise.scores)} graded</p>
{f'<h4>The hidden cases answered wrong most often</h4><table class="cases"><tr><th>case</th><th>most frequent wrong answer</th><th>students</th><th>expected</th></tr>{cases}</table>' if cases else ''}
{f'<p class="hint">The judge told them: {words(exercise.hint)}</p>' if cases and exercise.hint else ''}
{f'<h4>Errors in the test cell (often the self-check saying what is wrong)</h4><table class="errors"><tr><th>message</th><th>students</th></tr>{errors}</table>' if errors else ''}
</section>""")
    not_graded = "".join(f"<li>{html.escape(shown[s])}: {words(why)}</li>" for s, why in sorted(report.not_graded.items()))
    by_hand = "".join(f"<li>{html.escape(shown[s])}: {words(why)}</li>" for s, why in sorted(report.review.items()))
    times = sorted(report.seconds.values())
    timing = (f"median {statistics.median(times):.0f} s, longest {times[-1]:.0f} s, {sum(times) / 60:.1f} min in all"
              if times else "not recorded")
    scores = list(report.totals.values())
    summary = (f"{len(report.students)} submitted, {len(report.totals)} graded; mean {statistics.fmean(scores):.2f}, "
               f"median {statistics.median(scores):g} of {report.max_total:g} points") if scores else \
        f"{len(report.students)} submitted, none graded"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Class report: {html.escape(report.assignment)}</title>
<style>body {{font-family: sans-serif; margin: 2em; max-width: 72em}} table {{border-collapse: collapse}}
td, th {{border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top}}
code {{white-space: pre-wrap}} section {{margin-top: 1.5em}}</style></head><body>
<h1>What the class got wrong: {html.escape(report.assignment)}</h1>
<p id="summary">{summary}. Grading time per student: {timing}.</p>
<img alt="score distribution" src="data:image/png;base64,{histogram_png(report)}">
<h2>Exercise by exercise</h2>{''.join(sections)}
<h2>Not graded</h2><ul id="not-graded">{not_graded or '<li>nobody</li>'}</ul>
<h2>Sent to grading by hand</h2><ul id="by-hand">{by_hand or '<li>nobody</li>'}</ul>
</body></html>
"""
    html_path = folder / "report.html"
    html_path.write_text(page)
    return html_path, csv_path


def run(course: Path, assignment: str, anonymize: bool = False) -> int:
    import sys

    if not (course / "gradebook.db").exists() or not (course / GRADING_FOLDER).is_dir():
        print(f"Nothing graded here: run python -m arena_grading grade {assignment} in the course folder first.",
              file=sys.stderr)
        return 2
    try:
        report = read(course, assignment)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    html_path, csv_path = write(course, report, anonymize)
    print(f"{len(report.totals)} of {len(report.students)} students graded; the report: {html_path} "
          f"({csv_path.name} beside it)")
    return 0
