"""Instructor tooling for grading the course with nbgrader, in a sandbox.

Students never import this package; it may import ``arena_lib``, never the reverse.
``nbgrader_config.py`` plugs its parts into nbgrader; ``python -m arena_grading`` is the
command line over it (``__main__``):

- ``grading``: one assignment for the class, nbgrader's commands in order;
- ``parallel``: the same on Ray, one task per submission, merged into the one gradebook;
- ``outcomes``: what became of each submission, and the one summary of a run;
- ``sandbox``: the kernelspec command that runs a student's kernel in bubblewrap;
- ``execute``: nbgrader's Execute step, with that kernel and per-kernel sockets;
- ``review``: reads the student's code for what an automatic grade cannot trust;
- ``judge``: hidden tests report the student's answers, and this process (not
  the student's kernel) compares them with the reference solution's answers;
- ``feedback``: feedback without the hidden tests, outputs sanitized;
- ``kernelspec``: installs the grading kernel;
- ``release``: the student-only copy of the course;
- ``tournament``: the class's agents play each other; a leaderboard, grades untouched. Its
  parts, in the order it uses them: ``entrants`` (each agent file read as untrusted input),
  ``copies`` (copy marks: identical or near-identical agents), ``schedule`` (round robin or
  Swiss rounds), ``games`` (pairings played here, on local workers or on Ray), ``ratings``
  (openskill), ``leaderboard`` (the page and its CSV files);
- ``pages``: HTML from the Jinja2 templates in ``templates/``, autoescaped;
- ``spreadsheet``: every CSV written safe to open in a spreadsheet (no formulas);
- ``report``: what the class got wrong, read from the gradebook and the judge's records;
- ``names``: pseudonyms for pages posted to the class.

(``arena_lib.kernel_client``, which reads each of a kernel's replies when it comes, is in
``arena_lib``: the students' Validate button uses it too.)
"""

KERNEL_NAME = "arena-grading"
