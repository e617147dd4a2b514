# nbgrader's configuration for this course (see docs/instructors.md).
c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "hands-on-rllib"
# Source notebooks (with solutions and hidden tests) and the generated student versions.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# Graded runs use small budgets (the notebooks read NBGRADER_EXECUTION): the
# longest cell, starting Ray, takes about 10 s on a 2-core machine. A cell that
# runs longer than 60 s (say, an endless loop) is interrupted and fails with
# CellTimeoutError; the rest of the notebook is still graded.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120
# nbgrader reads its kernels with a client that takes each reply when it comes; nbclient's
# own now and then takes one only at that 60-s timeout (arena_lib/kernel_client.py).
# This covers "Validate"; grading (arena_grading/execute.py) sets it whatever this file says.
c.AsyncKernelManager.client_factory = "arena_lib.kernel_client.RepollingKernelClient"

# Keep each student's output small in the gradebook and feedback.
c.LimitOutput.max_lines = 200

# Without JupyterHub: notebooks downloaded from an LMS, as zip files or loose files
# in downloaded/<assignment>/archive/, named "<student>_<any numbers>_<file>",
# e.g. "alice_4711_01_rl_and_the_arena.ipynb" (Canvas adds LATE_ for late work); the file is
# a notebook or notebook 8's agent, "alice_4711_08_league_agent.safetensors".
# `nbgrader zip_collect <assignment>` puts them into submitted/<student>/<assignment>/.
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[A-Za-z0-9.\-]+)_(?:LATE_)?(?:\d+_)*(?P<file_id>\d\d_\w+\.(?:ipynb|safetensors))$"
)
c.FileNameCollectorPlugin.valid_ext = [".ipynb", ".safetensors"]

# Grading in a sandbox (arena_grading; docs/grading-sandbox.md says what a student's code can and
# cannot do while it is graded): a graded run executes the student's exercise cells, the test
# cells' self-checks and, last, their hidden tests, nothing else; each submission's kernel runs in
# bubblewrap with no network, no view of the course, a memory and process limit, and a build of
# arena_lib without the code that computes the assignment's answers; hidden tests report the
# student's answers and this process compares them with the reference solution's; feedback
# never shows hidden tests, and runs no script. Installed by `make setup`.
from arena_grading.execute import SandboxedExecute  # noqa: E402
from arena_grading.feedback import HideHiddenTests, SanitizeOutputs  # noqa: E402
from arena_grading.judge import JudgeAnswers  # noqa: E402
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, GetGrades, IgnorePattern, LimitOutput, SaveAutoGrades)

c.Autograde.autograde_preprocessors = [
    SandboxedExecute, JudgeAnswers, SanitizeOutputs, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
    SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]
c.SandboxedExecute.memory_limit = "2G"
c.SandboxedExecute.process_limit = 512
# A graded run prints little (the self-checks' verdicts): 200 kB a cell, 1 MB a notebook is plenty.
c.SandboxedExecute.output_bytes_per_cell = 200_000
c.SandboxedExecute.output_bytes_per_notebook = 1_000_000
# A larger submission is not graded, with the reason, before nbgrader reads it.
c.SubmissionLimits.max_size = "5M"
c.GenerateFeedback.preprocessors = [HideHiddenTests, SanitizeOutputs, GetGrades, CSSHTMLHeaderPreprocessor]
c.GenerateFeedback.exporter_class = "arena_grading.feedback.SafeFeedbackExporter"
