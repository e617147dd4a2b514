# nbgrader's configuration for this course (see README.md, "For instructors").
c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "hands-on-rllib"
# Source notebooks (with solutions and hidden tests) and the generated student versions.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# RL cells run longer than nbgrader's default of 30 s per cell. Graded runs use
# small budgets (the notebooks read NBGRADER_EXECUTION); 180 s is their ceiling,
# and a cell that hangs (say, an endless loop) is interrupted after it.
c.Execute.timeout = 180
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120

# Keep each student's output small in the gradebook and feedback.
c.LimitOutput.max_lines = 200
