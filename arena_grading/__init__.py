"""Instructor tooling for grading the course with nbgrader, in a sandbox.

Students never import this package; it may import ``arena_lib``, never the reverse.
``nbgrader_config.py`` plugs its parts into nbgrader; ``python -m arena_grading`` is the
command line over it (``__main__``). Its modules depend one way, each only on those above it
in this list (as nbgrader's preprocessors feed its converters);
``tests/test_grading_parts.py`` checks that no import goes back up:

- ``cells``: what a notebook's cells are to grading, and what a graded run executes;
- ``outcomes``: where the grader records what became of each submission, and the summary;
- ``safe_html``: pages that run nothing where they are opened;
- ``pages``: HTML pages from Jinja2 templates;
- ``spreadsheet``: CSV files whose cells a spreadsheet never runs;
- ``names``: pseudonyms for pages shown to the class;
- ``sandbox``: the kernelspec command that runs a student's kernel in bubblewrap;
- ``library``: arena_lib as a graded kernel gets it, without the code that computes answers;
- ``kernelspec``: installs the grading kernel;
- ``execute``: nbgrader's Execute step, a graded run in the sandbox;
- ``reference``: the reference solution's answers, recorded by the same graded run;
- ``judge``: compares the hidden tests' answers with the reference's, outside the kernel;
- ``feedback``: feedback without the hidden tests, pages cleaned after rendering;
- ``launch``: starting nbgrader's commands, and what is refused before nbgrader reads it;
- ``parallel``: grading on Ray, one task per submission, merged into the one gradebook;
- ``grading``: one assignment for the class, nbgrader's commands in order;
- ``release``: the student-only copy of the course;
- ``similarity``: code that looks copied, for the class report;
- ``report``: what the class got wrong, read from the gradebook and the judge's records;
- ``lms``: the grades as an LMS imports them;
- ``entrants``, ``copies``, ``schedule``, ``games``, ``ratings``, ``leaderboard``: the parts of the
  tournament, in the order it uses them (each agent file read as untrusted input, copy marks,
  round robin or Swiss rounds, the pairings played, openskill's ratings, the page and its CSVs);
- ``tournament``: the class's agents play each other; a leaderboard, grades untouched;
- ``__main__``: the command line.

(``arena_lib.kernel_client``, which reads each of a kernel's replies when it comes, is in
``arena_lib``: the students' Validate button uses it too.)
"""

KERNEL_NAME = "arena-grading"
