"""What the class got wrong: ``python -m arena_grading report ASSIGNMENT``, after grading.

Reads, and never re-runs: the gradebook (each student's points per exercise), what the judge
recorded of each test cell (``<notebook>.verdicts.json``: right, an error and its message, no
report, or the hidden cases answered wrong and what the student gave, described by the judge),
the reference answers cached in ``.grading/`` (what was expected), each student's
``grading.json`` (how long grading took, why a student was not graded) and the source notebook
(each exercise's title). Writes ``reports/<assignment>/report.html``, one page that needs no
server (from ``templates/report.html.j2``), and ``report.csv``, one row per student.
``--anonymize`` shows pseudonyms, and "[a student]" for any student id in the words quoted.
"""

from __future__ import annotations

import base64
import io
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from arena_grading.outcomes import GRADING_FOLDER, records, reference_path, student_folder, submitted_students

OUTPUT_FOLDER = Path("reports")
TOP_CASES = 3  # the most frequent wrong cases shown per exercise
TOP_ERRORS = 15
QUOTED_CHARACTERS = 160  # of a student's error message, cut at a word
SAME_ERROR_PREFIX = 100  # characters, numbers aside: messages this alike count as one
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")
A_STUDENT = "[a student]"


def rounded(value):
    """``value`` with its floats rounded to 6 decimals (-9.99999999999998 shows as -10.0)."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


def cut(text: str, limit: int = QUOTED_CHARACTERS) -> str:
    """``text`` at most ``limit`` characters long, cut at a word, with an ellipsis where cut."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",.;:") + " …"


@dataclass
class Exercise:
    grade_id: str  # the test cell's
    notebook: str
    points: float
    title: str = ""  # the exercise's heading in the notebook
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
    seconds: dict  # student -> seconds it took to grade
    similar: list = field(default_factory=list)  # arena_grading.similarity.Pair: code that looks copied


def exercise_titles(course: Path, assignment: str) -> dict:
    """test cell grade id -> the exercise's title, from the Markdown heading before its exercise
    cell in the source notebook ("Exercise 1 · The environment loop")."""
    import nbformat

    from arena_grading.cells import grade_id, is_exercise_cell, is_test_cell

    titles = {}
    for path in sorted((course / "solutions" / assignment).glob("*.ipynb")):
        heading = ""
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                found = re.findall(r"^#+\s+(.*?)\s*(?:\(\d+(?:\.\d+)? points?\))?\s*$", cell.source, re.M)
                if found:
                    heading = found[0]
            elif is_exercise_cell(cell) or is_test_cell(cell):
                titles.setdefault(grade_id(cell), heading)
    return titles


def read(course: Path, assignment: str) -> ClassReport:
    """The report's figures, from the course folder after grading."""
    from nbgrader.api import Gradebook, MissingEntry

    from arena_grading.outcomes import course_id

    students = submitted_students(course, assignment)
    graded = [s for s in students if (course / "autograded" / s / assignment).is_dir()]
    exercises, totals = {}, {}
    titles = exercise_titles(course, assignment)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id(course)) as gb:
        try:
            definition = gb.find_assignment(assignment)
        except MissingEntry:
            raise ValueError(f"{assignment} is not in gradebook.db: grade it first "
                             f"(python -m arena_grading grade {assignment})") from None
        for notebook in definition.notebooks:
            for cell in notebook.grade_cells:
                exercises[cell.name] = Exercise(cell.name, notebook.name, cell.max_score, titles.get(cell.name) or cell.name)
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
        cache = reference_path(course, assignment, notebook)
        references[notebook] = json.loads(cache.read_text()).get("answers", {}) if cache.exists() else {}
    verdicts = {student: {grade_id: found for recorded in records(course, assignment, student, "verdicts.json")
                          for grade_id, found in recorded.items()} for student in graded}
    for exercise in exercises.values():
        reference = references[exercise.notebook].get(exercise.grade_id, {})
        exercise.expected, exercise.hint = reference.get("answers", {}), reference.get("hint", "")
        for student in exercise.scores:
            if exercise.grade_id in verdicts[student]:
                exercise.outcomes[student] = verdicts[student][exercise.grade_id]
    not_graded, seconds = {}, {}
    for student in students:
        path = student_folder(course, assignment, student) / "grading.json"
        try:
            run = json.loads(path.read_text()) if path.exists() else {}
        except ValueError:
            run = {}
        if run.get("seconds") is not None:
            seconds[student] = run["seconds"]
        if student not in totals:
            not_graded[student] = run.get("why not") or "not graded yet"
    return ClassReport(assignment, students, totals, max_total, list(exercises.values()), not_graded, seconds)


def histogram_png(report: ClassReport) -> tuple[str, str]:
    """The score distribution as a PNG (base64) and its text alternative."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(6, 2.8))
    ax = fig.add_subplot()
    scores = list(report.totals.values())
    if report.max_total <= 20:  # a bar for each whole point, centred on it
        bins = [x - 0.5 for x in range(int(report.max_total) + 2)]
        ax.set_xticks(range(int(report.max_total) + 1))
    else:
        bins = 20
    counts, _, _ = ax.hist(scores, bins=bins, color="#2166ac", rwidth=0.8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # students are counted whole
    ax.set_xlabel(f"points (of {report.max_total:g})")
    ax.set_ylabel("students")
    ax.set_title(f"Scores of the {len(scores)} graded students")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    if report.max_total <= 20:
        spread = ", ".join(f"{int(n)} with {p}" for p, n in enumerate(counts) if n)
    else:
        spread = f"from {min(scores, default=0):g} to {max(scores, default=0):g}"
    alt = f"Histogram of the scores of the {len(scores)} graded students: {spread or 'none'} (of {report.max_total:g} points)."
    return base64.b64encode(buffer.getvalue()).decode(), alt


def write(course: Path, report: ClassReport, anonymize: bool = False) -> tuple[Path, Path]:
    """report.html and report.csv in reports/<assignment>/."""
    from arena_grading.names import course_secret, pseudonyms, scrub
    from arena_grading.pages import render
    from arena_grading.spreadsheet import write_csv

    shown = pseudonyms(report.students, course_secret(course)) if anonymize else {s: s for s in report.students}
    # Student ids inside students' words become "[a student]": a pseudonym there would tie it to a name.
    everyone = {student: A_STUDENT for student in report.students}

    def words(text: str) -> str:
        return cut(scrub(str(text), everyone) if anonymize else str(text))

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
        row["not graded because"] = words(report.not_graded.get(student, ""))
        rows.append(row)
    csv_path = write_csv(folder / "report.csv", rows, list(rows[0]) if rows else ["student"])

    exercises = []
    for exercise in report.exercises:
        full, partial, none = exercise.shares()
        count = max(1, len(exercise.scores))
        exercises.append({
            "grade_id": exercise.grade_id, "title": exercise.title, "points": f"{exercise.points:g}",
            "full": full, "partial": partial, "none": none, "graded": len(exercise.scores),
            "full_share": f"{full / count:.0%}", "partial_share": f"{partial / count:.0%}",
            "none_share": f"{none / count:.0%}",
            "cases": [{"case": case, "answer": words(answer), "count": n, "expected": expected}
                      for case, answer, n, expected in exercise.wrong_cases()[:TOP_CASES]],
            "no_cases": ("No student answered a hidden case wrong: every answer the judge compared was right."
                         if any(f.get("outcome") == "right" for f in exercise.outcomes.values()) else
                         "No student's hidden tests reported an answer to compare."),
            "hint": exercise.hint,
            "errors": [{"message": words(message), "count": n} for message, n in exercise.errors()[:TOP_ERRORS]],
            "other_errors": sum(n for _, n in exercise.errors()[TOP_ERRORS:]),
        })
    times = sorted(report.seconds.values())
    timing = (f"median {statistics.median(times):.0f} s, longest {times[-1]:.0f} s, {sum(times) / 60:.1f} min in all"
              if times else "not recorded")
    scores = list(report.totals.values())
    summary = (f"{len(report.students)} submitted, {len(report.totals)} graded; mean {statistics.fmean(scores):.2f}, "
               f"median {statistics.median(scores):g} of {report.max_total:g} points") if scores else \
        f"{len(report.students)} submitted, none graded"
    png, alt = histogram_png(report)
    students = [{"student": shown[student],
                 "total": f"{report.totals[student]:g}" if student in report.totals else "not graded",
                 "outcomes": [_outcome_words(exercise, student) for exercise in report.exercises],
                 "seconds": f"{report.seconds[student]:.0f}" if student in report.seconds else ""}
                for student in sorted(report.students, key=lambda s: shown[s])]
    from arena_grading.similarity import METHOD

    def code(text: str) -> str:  # students' code, shown whole (a person compares it), ids scrubbed if anonymized
        return scrub(text, everyone) if anonymize else text

    titles = {exercise.grade_id.removesuffix("_tests"): exercise.title for exercise in report.exercises}
    similar = [{"first": shown[pair.first], "second": shown[pair.second],
                "exercise": titles.get(pair.exercise, pair.exercise), "similarity": f"{pair.similarity:.0%}",
                "first_code": code(pair.first_code), "second_code": code(pair.second_code)}
               for pair in report.similar if pair.first in shown and pair.second in shown]
    page = render("report.html.j2", assignment=report.assignment, summary=summary, timing=timing,
                  histogram_png=png, histogram_alt=alt, exercises=exercises, students=students,
                  max_total=f"{report.max_total:g}",
                  not_graded=[{"student": shown[s], "why": words(why)} for s, why in sorted(
                      report.not_graded.items(), key=lambda item: shown[item[0]])],
                  similar=similar, similarity_method=METHOD,
                  similar_none="No two students' exercise cells are unusually alike.")
    html_path = folder / "report.html"
    html_path.write_text(page)
    return html_path, csv_path


def _outcome_words(exercise: Exercise, student: str) -> str:
    if student not in exercise.scores:
        return "not graded"
    outcome = exercise.outcomes.get(student, {}).get("outcome", "")
    return f"{exercise.scores[student]:g} ({outcome})" if outcome else f"{exercise.scores[student]:g}"


def run(course: Path, assignment: str, anonymize: bool = False) -> int:
    import sys

    from arena_grading.similarity import similar_pairs

    if not (course / "gradebook.db").exists() or not (course / GRADING_FOLDER).is_dir():
        print(f"Nothing graded here: run python -m arena_grading grade {assignment} in the course folder first.",
              file=sys.stderr)
        return 2
    try:
        report = read(course, assignment)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    report.similar = similar_pairs(course, assignment)
    html_path, csv_path = write(course, report, anonymize)
    print(f"{len(report.totals)} of {len(report.students)} students graded; the report: {html_path} "
          f"({csv_path.name} beside it)")
    return 0
