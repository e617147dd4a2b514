"""Every graded exercise, one table (known_mistakes.py): the reference answer, read from
solutions/, passes its self-check and the judge; each known mistake fails both, the
self-check saying what is wrong in its own words, the judge giving no points.

Each answer runs as in the notebook: the exercise cell, then its test cell's visible
self-check, then its hidden tests, whose reports the real judge (arena_grading.judge)
compares with the reference's. The names the notebook's earlier cells define come from
CONTEXTS, with small real RLlib algorithms where the notebook trains one."""

from __future__ import annotations

import contextlib
import io

import gymnasium as gym
import numpy as np
import pytest
import torch
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from ray import tune
from ray.rllib.algorithms.ppo import PPOConfig
from torch import nn

from arena_grading.judge import collected_answers, verdict
from arena_lib import MultiAgentArena, RandomPolicy
from arena_lib.answers import ANSWERS_MIME
from arena_lib.models import keep_cell_numbers
from arena_lib.training import arena_ppo_config
from arena_lib.tuning import METRIC
from tests.known_mistakes import MISTAKES
from tests.notebook_tools import ROOT, graded_cell_parts, run_solution, solution_source
from tests.submissions import FORGES, WRONG_RUN_EPISODE

pytestmark = pytest.mark.slow  # builds and trains small RLlib algorithms

# Small and quick: 20-step episodes, so every 200-step iteration reports returns.
SMALL = {"env_config": {"ts": 20}, "num_env_runners": 0, "num_envs_per_env_runner": 2,
         "train_batch_size_per_learner": 200, "minibatch_size": 100, "num_epochs": 1}


@pytest.fixture(scope="module")
def algorithms(ray_session):
    """The algorithms the notebooks have built when their exercises run: notebook 2's shared
    policy (and its first result), notebooks 3 and 4's two policies."""
    shared = arena_ppo_config(multi_agent=False, seed=0, **SMALL).build_algo()
    first_result = shared.train()
    two = arena_ppo_config(seed=1, **SMALL).build_algo()
    yield {"shared": shared, "result": first_result, "two": two}
    shared.stop()
    two.stop()


def contexts(algorithms) -> dict:
    """assignment -> the names its notebook defines before the exercises (as its cells do)."""
    space = MultiAgentArena().observation_spaces["agent1"]
    cell_module = run_solution("05_models", "ex5_cell_module", {"nn": nn})["CellEmbeddingModule"]
    return {
        "01_arena": {"MultiAgentArena": MultiAgentArena, "RandomPolicy": RandomPolicy},
        "02_first_training": {"algo": algorithms["shared"], "result": algorithms["result"]},
        "03_multi_agent": {"algo": algorithms["two"], "base_config": arena_ppo_config(multi_agent=False, seed=1),
                           "MultiAgentArena": MultiAgentArena},
        "04_evaluation": {"algo": algorithms["two"], "space": space, "gym": gym, "np": np, "torch": torch,
                          "MultiAgentArena": MultiAgentArena, "RandomPolicy": RandomPolicy},
        "05_models": {"nn": nn, "torch": torch, "np": np, "SEED": 1, "arena_ppo_config": arena_ppo_config,
                      "keep_cell_numbers": keep_cell_numbers, "CellEmbeddingModule": cell_module},
        "06_tune_and_scale": {"tune": tune, "METRIC": METRIC, "arena_ppo_config": arena_ppo_config,
                              "base_config": arena_ppo_config(seed=1).env_runners(num_env_runners=0)},
        "07_tensorflow_appendix": {"PPOConfig": PPOConfig},
        "08_league": {},
    }


class Run:
    """One answer run as the notebook runs it: what the self-check said, what the hidden
    tests reported (or the error that stopped them)."""

    def __init__(self, assignment: str, grade_id: str, answer: str, context: dict):
        InteractiveShell.instance()  # display() in the hidden tests publishes through it, as in a kernel
        namespace = dict(context)
        visible, hidden = graded_cell_parts(assignment, f"{grade_id}_tests")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(answer, f"<{grade_id}>", "exec"), namespace)
            try:
                exec(compile(visible, f"<{grade_id}_tests>", "exec"), namespace)
                self.self_check = None
            except AssertionError as failed:
                self.self_check = str(failed)
        self.printed = printed.getvalue()
        self.hidden_error = None
        with capture_output() as captured, contextlib.redirect_stdout(io.StringIO()):
            try:
                exec(compile(hidden, f"<{grade_id}_tests (hidden)>", "exec"), namespace)
            except Exception as error:  # noqa: BLE001 - in a notebook, an error in a test cell: no points
                self.hidden_error = error
        self.reports = [output.data[ANSWERS_MIME] for output in captured.outputs if ANSWERS_MIME in output.data]


EXERCISES = sorted(MISTAKES)


@pytest.fixture(scope="module")
def references(algorithms):
    """(assignment, grade_id) -> the reference answer's run, and its answers as the judge records them."""
    found = {}
    for assignment, grade_id in EXERCISES:
        run = Run(assignment, grade_id, solution_source(assignment, grade_id), contexts(algorithms)[assignment])
        test_id = f"{grade_id}_tests"
        found[assignment, grade_id] = run, {test_id: {"answers": {}, "hint": ""}, **_as_recorded(run, test_id)}
    return found


def _as_recorded(run: Run, test_id: str) -> dict:
    """The reports as judge.collected_answers reads them from a notebook's test cell."""
    import nbformat

    cell = nbformat.v4.new_code_cell(metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": test_id}})
    cell.outputs = [nbformat.v4.new_output("display_data", data={ANSWERS_MIME: r}) for r in run.reports]
    return collected_answers(nbformat.v4.new_notebook(cells=[cell]))


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e[1])
def test_the_reference_answer_passes_its_self_check_and_the_judge(exercise, references):
    run, recorded = references[exercise]
    assert run.self_check is None, f"the self-check fails the reference answer: {run.self_check}"
    assert "✔" in run.printed, run.printed
    assert run.hidden_error is None, f"the hidden tests fail on the reference answer: {run.hidden_error!r}"
    test_id = f"{exercise[1]}_tests"
    assert len(recorded[test_id]["answers"]) >= 2, "hidden tests should report several cases"
    assert verdict(recorded[test_id], run.reports, test_id) is None


MISTAKE_CASES = [(exercise, mistake) for exercise in EXERCISES for mistake in MISTAKES[exercise]]


@pytest.mark.parametrize("exercise, mistake", MISTAKE_CASES, ids=[f"{e[1]}: {m.what}" for e, m in MISTAKE_CASES])
def test_a_known_mistake_fails_the_self_check_in_words_and_gets_no_points(exercise, mistake, references, algorithms):
    assignment, grade_id = exercise
    answer = mistake.apply(solution_source(assignment, grade_id))
    run = Run(assignment, grade_id, answer, contexts(algorithms)[assignment])
    assert run.self_check is not None, f"the self-check passes {mistake.what!r}: {run.printed}"
    assert mistake.says in run.self_check, f"the self-check's message does not name the mistake: {run.self_check}"
    test_id = f"{grade_id}_tests"
    if run.hidden_error is None:  # else the test cell shows an error: no points either
        assert verdict(references[exercise][1][test_id], run.reports, test_id) is not None, (
            f"the judge gives points for {mistake.what!r}")


def test_every_exercise_has_at_least_three_known_mistakes():
    from tests.notebook_tools import SOLUTIONS, read

    exercises = {(path.parent.name, cell.metadata["nbgrader"]["grade_id"])
                 for path in SOLUTIONS for cell in read(path).cells if cell.metadata.get("nbgrader", {}).get("solution")}
    assert exercises == set(MISTAKES), f"exercises without a row in known_mistakes.py: {exercises - set(MISTAKES)}"
    assert all(len(mistakes) >= 3 for mistakes in MISTAKES.values())


def test_what_the_self_checks_expect_is_what_the_reference_gives():
    """Self-checks compare with recorded values (arena_lib ships no code that computes an
    exercise's answer); they must be what the reference solution gives today. When this
    fails after a change of the arena or of RLlib, record the values it shows."""
    from ray.rllib.core.columns import Columns

    from arena_lib.answers import same_answer
    from arena_lib.exercises import arena, evaluation, league, models
    from arena_lib.exercises.models import rounded
    from arena_lib.models import build_modules, set_fixed_weights
    from arena_lib.policies import random_policies

    def agree(recorded, now, where):
        assert same_answer(recorded, now), f"{where} records {recorded}, but the reference gives {now}"

    run_episode = run_solution("01_arena", "ex1_run_episode", {})["run_episode"]
    agree(arena.EXPECTED_TOTALS, run_episode(MultiAgentArena(arena.CHECKED_CASE), random_policies(arena.CHECKED_SEED)),
          "arena.EXPECTED_TOTALS")

    context = {"gym": gym, "np": np, "torch": torch, "MultiAgentArena": MultiAgentArena}
    greedy_action = run_solution("04_evaluation", "ex4_greedy_action", context)["greedy_action"]
    module = build_modules(arena_ppo_config())["policy1"]
    shapes = {name: list(p.shape) for name, p in module.named_parameters()}
    agree(evaluation.CHECKED_POLICY_SHAPES, {name: shapes[name] for name in evaluation.CHECKED_POLICY_SHAPES},
          "evaluation.CHECKED_POLICY_SHAPES")
    set_fixed_weights(module, evaluation.CHECKED_WEIGHTS_SEED)
    space = MultiAgentArena().observation_spaces["agent1"]
    agree(evaluation.EXPECTED_ACTIONS, [greedy_action(module, np.array(o), space) for o in evaluation.CHECKED_OBSERVATIONS],
          "evaluation.EXPECTED_ACTIONS")
    mean_returns = run_solution("04_evaluation", "ex4_mean_returns", context)["mean_returns"]
    seed, arena_config, episodes = evaluation.CHECKED_SEED, evaluation.CHECKED_ARENA, evaluation.CHECKED_EPISODES
    agree(evaluation.EXPECTED_MEANS, mean_returns(random_policies(seed), arena_config, episodes),
          "evaluation.EXPECTED_MEANS")
    agree(evaluation.MEANS_ON_THE_DEFAULT_ARENA, mean_returns(random_policies(seed), None, episodes),
          "evaluation.MEANS_ON_THE_DEFAULT_ARENA")
    agree(evaluation.MEANS_OF_ONE_EPISODE_FEWER, mean_returns(random_policies(seed), arena_config, episodes - 1),
          "evaluation.MEANS_OF_ONE_EPISODE_FEWER")

    cell_module = run_solution("05_models", "ex5_cell_module", {"nn": nn})["CellEmbeddingModule"]
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

    league_policy = run_solution("08_league", "ex8_league_policy")["league_policy"]
    agree(league.EXPECTED_POLICIES, [league_policy(*case) for case in league.POLICY_CASES], "league.EXPECTED_POLICIES")
    should_snapshot = run_solution("08_league", "ex8_should_snapshot")["should_snapshot"]
    agree([case[3] for case in league.SNAPSHOT_CASES], [should_snapshot(*case[:3]) for case in league.SNAPSHOT_CASES],
          "league.SNAPSHOT_CASES")


def test_the_course_ships_no_code_that_computes_a_self_checks_answer():
    """The exercise modules hold data, not the reference's computations: no rollout, no
    evaluation loop, no greedy policy, no module's own networks."""
    import ast

    from arena_lib import exercises

    banned = {"rollout", "evaluate", "TrainedPolicy", "trained_policies", "module_input", "pi_net", "vf_net", "_embed"}
    for path in sorted((ROOT / "arena_lib" / "exercises").glob("*.py")):
        used = {getattr(node, "id", None) or getattr(node, "attr", None) for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, (ast.Name, ast.Attribute))}
        assert not used & banned, f"{path.name} computes answers with {sorted(used & banned)}"
    assert exercises.module_name("08_league") == "arena_lib.exercises.league"


@pytest.mark.parametrize("forge", sorted(FORGES))
def test_each_forge_would_earn_full_marks_if_the_judge_did_not_read_the_code(forge, references, algorithms):
    """Why arena_grading.review exists: each forge turns a wrong answer's report into the right
    one inside the kernel (here, this process), so the judge's comparison alone gives it every
    point. tests/test_review.py shows each is sent to review instead."""
    import sys

    import arena_lib.answers

    exercise = ("01_arena", "ex1_run_episode")
    answers_module, report = sys.modules["arena_lib.answers"], arena_lib.answers.report_answers
    try:
        wrong = Run(*exercise, WRONG_RUN_EPISODE, contexts(algorithms)["01_arena"])
        forged = Run(*exercise, WRONG_RUN_EPISODE + FORGES[forge], contexts(algorithms)["01_arena"])
    finally:  # what the forges changed in this process
        sys.settrace(None)
        sys.setprofile(None)
        sys.modules["arena_lib.answers"] = answers_module
        answers_module.report_answers = report
    expected = references[exercise][1]["ex1_run_episode_tests"]
    assert verdict(expected, wrong.reports, "ex1_run_episode_tests") is not None
    assert forged.hidden_error is None and verdict(expected, forged.reports, "ex1_run_episode_tests") is None, (
        f"the {forge} forge does not work, so it proves nothing: {forged.hidden_error!r} {forged.reports}")
