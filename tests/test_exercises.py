"""Every graded exercise, one table (known_mistakes.py): the reference answer, read from
solutions/, passes its self-check and the judge; each known mistake fails both, the
self-check saying what is wrong in its own words, the judge giving no points; answers written
otherwise than the reference (RIGHT_VARIANTS) pass both.

Each answer runs as a graded run runs it (arena_grading.cells): the notebook's exercise cells
(the reference for the others), then the test cell's visible self-check, then its hidden
tests, whose reports the real judge (arena_grading.judge) compares with the reference's. Each
piece of code is registered as a notebook cell is (its source in linecache), so the self-checks
see cells as they do in a notebook."""

from __future__ import annotations

import contextlib
import io
import linecache
import math

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from arena_grading.cells import is_exercise_cell
from arena_grading.judge import verdict
from arena_lib.answers import ANSWERS_MIME
from tests.known_mistakes import MISTAKES, RIGHT_VARIANTS
from tests.notebook_tools import ROOT, graded_cell_parts, read, solution_source
from tests.submissions import FORGES, SPELLINGS, VISIBLY_RIGHT_RUN_EPISODE

pytestmark = pytest.mark.slow  # builds RLlib configs and modules, one PPO update


def run_as_a_cell(source: str, name: str, namespace: dict) -> None:
    """Run ``source`` in ``namespace`` as IPython runs a cell: its source in linecache, with no
    file behind it (what the self-checks read to find the cell that defined a function)."""
    filename = f"<cell {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), namespace)


def earlier_exercises(assignment: str, grade_id: str) -> list[str]:
    """The grade ids of the notebook's exercise cells before ``grade_id`` (a graded run runs them first)."""
    (path,) = (ROOT / "solutions" / assignment).glob("*.ipynb")
    ids = [cell.metadata.nbgrader["grade_id"] for cell in read(path).cells if is_exercise_cell(cell)]
    return ids[:ids.index(grade_id)]


@contextlib.contextmanager
def a_fresh_kernel():
    """IPython's shell in this process, as a new kernel: an empty namespace; afterwards, what a
    student's code changed in the process (events, input transformers, hooks, the answers
    module) put back."""
    import sys

    import arena_lib.answers

    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    events = {name: list(callbacks) for name, callbacks in shell.events.callbacks.items()}
    transformers = list(shell.input_transformers_post)
    answers_module, report = sys.modules["arena_lib.answers"], arena_lib.answers.report_answers
    try:
        yield shell
    finally:
        sys.settrace(None)
        sys.setprofile(None)
        sys.modules["arena_lib.answers"] = answers_module
        answers_module.report_answers = report
        for name, callbacks in events.items():
            shell.events.callbacks[name] = callbacks
        shell.input_transformers_post[:] = transformers


class Run:
    """One answer run as a graded run runs it, cell by cell in IPython's shell: what the
    self-check said, what the hidden tests reported (or the name of the error that stopped them)."""

    def __init__(self, assignment: str, grade_id: str, answer: str, elsewhere: str = ""):
        visible, hidden = graded_cell_parts(assignment, f"{grade_id}_tests")
        with a_fresh_kernel() as shell:
            with capture_output() as shown:
                for earlier in earlier_exercises(assignment, grade_id):
                    shell.run_cell(solution_source(assignment, earlier), store_history=True)
                if elsewhere:
                    shell.run_cell(elsewhere, store_history=True)
                shell.run_cell(answer, store_history=True)
                checked = shell.run_cell(visible, store_history=True)
            failed = checked.error_in_exec
            self.self_check = str(failed) if isinstance(failed, AssertionError) else (
                f"{type(failed).__name__}: {failed}" if failed else None)
            self.printed = shown.stdout
            with capture_output() as captured:
                ran = shell.run_cell(hidden, store_history=True)
            error = ran.error_in_exec or ran.error_before_exec
            self.hidden = {"ran": True, "error": type(error).__name__ if error else None,
                           "reports": [o.data[ANSWERS_MIME] for o in captured.outputs if ANSWERS_MIME in o.data]}


def recorded(run: Run, test_id: str) -> dict:
    """The reference's answers as arena_grading.reference records them from a run."""
    answers = {}
    for report in run.hidden["reports"]:
        answers.update(report["answers"])
    return {"answers": answers, "hint": run.hidden["reports"][0].get("hint", "") if run.hidden["reports"] else ""}


EXERCISES = sorted(MISTAKES)


@pytest.fixture(scope="module")
def references():
    """(assignment, grade_id) -> the reference answer's run, and its answers as the judge records them."""
    found = {}
    for assignment, grade_id in EXERCISES:
        run = Run(assignment, grade_id, solution_source(assignment, grade_id))
        found[assignment, grade_id] = run, recorded(run, f"{grade_id}_tests")
    return found


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e[1])
def test_the_reference_answer_passes_its_self_check_and_the_judge(exercise, references):
    run, expected = references[exercise]
    assert run.self_check is None, f"the self-check fails the reference answer: {run.self_check}"
    assert "✔" in run.printed, run.printed
    assert run.hidden["error"] is None, f"the hidden tests fail on the reference answer: {run.hidden['error']}"
    assert len(expected["answers"]) >= 2, "hidden tests should report several cases"
    assert verdict(expected, run.hidden, f"{exercise[1]}_tests") is None


MISTAKE_CASES = [(exercise, mistake) for exercise in EXERCISES for mistake in MISTAKES[exercise]]


@pytest.mark.parametrize("exercise, mistake", MISTAKE_CASES, ids=[f"{e[1]}: {m.what}" for e, m in MISTAKE_CASES])
def test_a_known_mistake_fails_the_self_check_in_words_and_gets_no_points(exercise, mistake, references):
    assignment, grade_id = exercise
    run = Run(assignment, grade_id, mistake.apply(solution_source(assignment, grade_id)), mistake.elsewhere)
    assert run.self_check is not None, f"the self-check passes {mistake.what!r}: {run.printed}"
    assert mistake.says in run.self_check, f"the self-check's message does not name the mistake: {run.self_check}"
    if mistake.elsewhere:  # right answers, but what they use does not run while grading: the self-check says so
        return
    judged = verdict(references[exercise][1], run.hidden, f"{grade_id}_tests")
    assert judged is not None, f"the judge gives points for {mistake.what!r}"


VARIANT_CASES = [(exercise, what, edits) for exercise, variants in RIGHT_VARIANTS.items() for what, edits in variants]


@pytest.mark.parametrize("exercise, what, edits", VARIANT_CASES, ids=[f"{e[1]}: {w}" for e, w, _ in VARIANT_CASES])
def test_a_right_answer_written_otherwise_passes_both(exercise, what, edits, references):
    from tests.known_mistakes import Mistake

    assignment, grade_id = exercise
    answer = Mistake(what, "", edits).apply(solution_source(assignment, grade_id))
    run = Run(assignment, grade_id, answer)
    assert run.self_check is None, f"the self-check fails {what!r}: {run.self_check}"
    assert run.hidden["error"] is None, run.hidden
    assert verdict(references[exercise][1], run.hidden, f"{grade_id}_tests") is None, f"the judge refuses {what!r}"


def test_every_exercise_has_at_least_three_known_mistakes():
    from tests.notebook_tools import SOLUTIONS

    exercises = {(path.parent.name, cell.metadata["nbgrader"]["grade_id"])
                 for path in SOLUTIONS for cell in read(path).cells if is_exercise_cell(cell)}
    assert exercises == set(MISTAKES), f"exercises without a row in known_mistakes.py: {exercises - set(MISTAKES)}"
    assert all(len(mistakes) >= 3 for mistakes in MISTAKES.values())


def test_what_the_self_checks_expect_is_what_the_reference_gives():
    """Self-checks compare with recorded values (the course ships no code that computes an
    exercise's answer for any input); they must be what the reference solution gives today.
    When this fails after a change of the arena or of RLlib, record the values it shows."""
    import gymnasium as gym
    import numpy as np
    import torch
    from ray.rllib.core.columns import Columns

    from arena_lib import MultiAgentArena
    from arena_lib.answers import same_answer
    from arena_lib.exercises import arena, evaluation, first_training, models, multi_agent
    from arena_lib.exercises.models import rounded
    from arena_lib.models import set_fixed_weights
    from arena_lib.policies import random_policies

    def agree(recorded_value, now, where):
        assert same_answer(recorded_value, now), f"{where} records {recorded_value}, but the reference gives {now}"

    def reference(assignment, grade_id, name):
        namespace = {}
        for earlier in [*earlier_exercises(assignment, grade_id), grade_id]:
            run_as_a_cell(solution_source(assignment, earlier), earlier, namespace)
        return namespace[name]

    run_episode = reference("01_arena", "ex1_run_episode", "run_episode")
    agree(arena.EXPECTED_TOTALS, run_episode(MultiAgentArena(arena.CHECKED_CASE), random_policies(arena.CHECKED_SEED)),
          "arena.EXPECTED_TOTALS")

    summarize = reference("02_first_training", "ex2_summarize_result", "summarize_result")
    agree(first_training.RECORDED_SUMMARIES, [summarize(r) for r in first_training.recorded_results("shared policy")],
          "first_training.RECORDED_SUMMARIES")
    agree(first_training.MADE_UP_SUMMARY, summarize(first_training.MADE_UP_RESULT), "first_training.MADE_UP_SUMMARY")

    train_until = reference("03_multi_agent", "ex3_train_until", "train_until")
    with contextlib.redirect_stdout(io.StringIO()):
        rows = train_until(multi_agent.replayed_run(), target=-1e9, max_iterations=10)
    agree(multi_agent.EXPECTED_ROWS_UNTIL_A_RETURN, rows, "multi_agent.EXPECTED_ROWS_UNTIL_A_RETURN")

    greedy_action = reference("04_evaluation", "ex4_greedy_action", "greedy_action")
    module, space = evaluation.course_module()
    shapes = {name: list(p.shape) for name, p in module.named_parameters()}
    agree(evaluation.CHECKED_POLICY_SHAPES, {name: shapes[name] for name in evaluation.CHECKED_POLICY_SHAPES},
          "evaluation.CHECKED_POLICY_SHAPES")
    set_fixed_weights(module, evaluation.CHECKED_WEIGHTS_SEED)
    agree(evaluation.EXPECTED_ACTIONS, [greedy_action(module, np.array(o), space) for o in evaluation.CHECKED_OBSERVATIONS],
          "evaluation.EXPECTED_ACTIONS")
    mean_returns = reference("04_evaluation", "ex4_mean_returns", "mean_returns")
    seed, arena_config, episodes = evaluation.CHECKED_SEED, evaluation.CHECKED_ARENA, evaluation.CHECKED_EPISODES
    agree(evaluation.EXPECTED_MEANS, mean_returns(random_policies(seed), arena_config, episodes),
          "evaluation.EXPECTED_MEANS")
    agree(evaluation.MEANS_ON_THE_DEFAULT_ARENA, mean_returns(random_policies(seed), None, episodes),
          "evaluation.MEANS_ON_THE_DEFAULT_ARENA")
    agree(evaluation.MEANS_OF_ONE_EPISODE_FEWER, mean_returns(random_policies(seed), arena_config, episodes - 1),
          "evaluation.MEANS_OF_ONE_EPISODE_FEWER")

    cell_module = reference("05_models", "ex5_cell_module", "CellEmbeddingModule")
    module = cell_module(observation_space=gym.spaces.MultiDiscrete([9, 9]), action_space=gym.spaces.Discrete(4),
                         model_config=dict(models.CHECKED_SETTINGS))
    set_fixed_weights(module, models.CHECKED_WEIGHTS_SEED)
    batch = {Columns.OBS: torch.tensor(models.CHECKED_OBSERVATIONS)}
    with torch.no_grad():
        now = {
            "logits": rounded(module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]),
            "embeddings": rounded(module.forward_train(batch)[Columns.EMBEDDINGS]),
            "values": rounded(module.compute_values(batch)),
            "values of zero embeddings": rounded(module.compute_values(batch, embeddings=torch.zeros(3, 6))),
            "values of 2 sequences of 3": rounded(module.compute_values({Columns.OBS: torch.tensor(
                models.CHECKED_SEQUENCES)})),
        }
    agree(models.EXPECTED, now, "models.EXPECTED")


def test_the_course_ships_no_code_that_computes_a_self_checks_answer():
    """The exercise modules hold data, not the reference's computations: no rollout, no
    evaluation loop, no greedy policy, no module's own networks."""
    import ast

    from arena_lib import exercises

    banned = {"rollout", "evaluate", "TrainedPolicy", "trained_policies", "module_input", "pi_net", "vf_net", "_embed",
              "play_many", "agent_to_policy", "one_policy_per_agent", "train"}
    for path in sorted((ROOT / "arena_lib" / "exercises").glob("*.py")):
        used = {getattr(node, "id", None) or getattr(node, "attr", None) for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, (ast.Name, ast.Attribute))}
        assert not used & banned, f"{path.name} computes answers with {sorted(used & banned)}"
    assert exercises.module_name("08_league") == "arena_lib.exercises.league"


def test_each_exercise_module_names_what_its_cells_define_and_what_computes_its_answers():
    """GRADED_NAMES is what the exercise cells define; every WRITE_YOUR_OWN entry names a
    function that exists (a class's method, a property) in arena_lib."""
    from arena_grading.library import write_your_own
    from arena_lib.exercises import for_assignment, graded_names_of, split_target
    from tests.notebook_tools import ASSIGNMENTS

    for assignment in ASSIGNMENTS:
        module = for_assignment(assignment)
        (path,) = (ROOT / "solutions" / assignment).glob("*.ipynb")
        defined = set()
        for cell in read(path).cells:
            if is_exercise_cell(cell):
                defined |= graded_names_of(solution_source(assignment, cell.metadata.nbgrader["grade_id"]))
        assert set(module.GRADED_NAMES) <= defined, f"{assignment}: GRADED_NAMES not defined by its exercise cells"
        assert write_your_own(assignment) == module.WRITE_YOUR_OWN  # what the grading build reads, without importing
        for target in module.WRITE_YOUR_OWN:
            import importlib

            name, qualname = split_target(target)
            found = importlib.import_module(name)
            for part in qualname.split("."):
                found = vars(found)[part] if isinstance(found, type) else getattr(found, part)
            assert callable(getattr(found, "fget", found)), f"{assignment}: {target} is not a function"


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_each_spelling_of_the_course_code_would_earn_full_marks_with_the_real_library(name, references):
    """Why the grading build of arena_lib exists: each spelling reaches the course code that
    computes exercise 1's answers (here, with the real library, it earns every point). Graded,
    each gets none (tests/test_grading_trust.py)."""
    exercise = ("01_arena", "ex1_run_episode")
    run = Run(*exercise, VISIBLY_RIGHT_RUN_EPISODE + SPELLINGS[name])
    assert run.self_check is None, run.self_check
    assert verdict(references[exercise][1], run.hidden, "ex1_run_episode_tests") is None, (
        f"the {name} spelling does not reach the course's code, so it proves nothing: {run.hidden}")
    wrong = Run(*exercise, VISIBLY_RIGHT_RUN_EPISODE)
    assert verdict(references[exercise][1], wrong.hidden, "ex1_run_episode_tests") is not None


@pytest.mark.parametrize("forge", sorted(FORGES))
def test_each_forge_would_earn_full_marks_with_the_real_library(forge, references):
    """Each forge turns a wrong answer's report into the right one inside the kernel (here, IPython's
    shell in this process), with answers the course's code computes: with the real library the
    comparison alone gives it every point. Graded, each gets none (tests/test_grading_trust.py)."""
    exercise = ("01_arena", "ex1_run_episode")
    forged = Run(*exercise, VISIBLY_RIGHT_RUN_EPISODE + FORGES[forge])
    assert forged.self_check is None, forged.self_check
    expected = references[exercise][1]
    assert forged.hidden["error"] is None and verdict(expected, forged.hidden, "ex1_run_episode_tests") is None, (
        f"the {forge} forge does not work, so it proves nothing: {forged.hidden}")


def test_nan_answers_are_the_same_answer():
    from arena_lib.answers import same_answer

    assert same_answer({"total": math.nan}, {"total": float("nan")})
