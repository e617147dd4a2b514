"""The judge reads the student's code (arena_grading/review.py): tricks that could change what
hidden tests report send the notebook to a person, library helpers that solve an exercise
earn nothing, and honest code, right or wrong, is never flagged."""

from __future__ import annotations

import pytest

from arena_grading import review
from arena_grading.judge import refused_helpers
from tests.known_mistakes import MISTAKES
from tests.notebook_tools import ASSIGNMENTS, ROOT, read, solution_source
from tests.submissions import FORGES, TRICKS, WRONG_RUN_EPISODE, Submission


def source_notebook(assignment):
    (path,) = (ROOT / "solutions" / assignment).glob("*.ipynb")
    return read(path)


def reading(submission: Submission) -> review.Reading:
    return review.read(submission.nb, source_notebook(submission.assignment), refused_helpers(submission.assignment))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_reference_solutions_are_not_flagged(assignment):
    found = reading(Submission(assignment).solve())
    assert found.clean, [str(f) for f in found.review + found.refusals]


# Honest answers written another way than the reference's.
HONEST = {
    ("01_arena", "ex1_run_episode"): '''import math
from collections import defaultdict


def run_episode(env, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    totals = defaultdict(float)
    done = False
    while not done:
        actions = {}
        for agent in env.possible_agents:
            actions[agent] = policies[agent].compute_action(obs[agent])
        obs, rewards, terminateds, truncateds, _ = env.step(actions)
        for agent in rewards:
            totals[agent] = totals[agent] + rewards[agent]
        done = terminateds["__all__"] or truncateds["__all__"]
        if out:
            with out:
                print(env.render())
    return dict(totals)
''',
    ("04_evaluation", "ex4_greedy_action"): '''def greedy_action(module, obs, observation_space):
    x = torch.from_numpy(gym.spaces.flatten(observation_space, obs).astype(np.float32)).unsqueeze(0)
    out = module.forward_inference({"obs": x})
    return int(np.argmax(out["action_dist_inputs"].detach().numpy()[0]))
''',
    ("05_models", "ex5_module_config"): '''from ray.rllib.core.rl_module import MultiRLModuleSpec, RLModuleSpec

specs = {}
specs["policy1"] = RLModuleSpec(module_class=CellEmbeddingModule, model_config=dict(embedding_dim=16, hiddens=[64]))
specs["policy2"] = RLModuleSpec()
config = arena_ppo_config(seed=SEED)
config = config.env_runners(env_to_module_connector=keep_cell_numbers("agent1"))
config = config.rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs))
''',
}
HONEST_CASES = [(exercise, "honest variant", source) for exercise, source in HONEST.items()] + [
    (exercise, mistake.what, mistake.apply(solution_source(*exercise)))
    for exercise, mistakes in MISTAKES.items() for mistake in mistakes]


@pytest.mark.parametrize("exercise, what, source", HONEST_CASES, ids=[f"{e[1]}: {w}" for e, w, _ in HONEST_CASES])
def test_honest_answers_right_or_wrong_are_not_flagged(exercise, what, source):
    assignment, grade_id = exercise
    found = reading(Submission(assignment).solve().replace(grade_id, source))
    assert found.clean, [str(f) for f in found.review + found.refusals]


def test_a_student_may_add_cells_that_plot_print_and_compute():
    submission = Submission("04_evaluation").solve().add_cell_after("ex4_mean_returns", (
        "import matplotlib.pyplot as plt\nimport numpy as np\n\nxs = np.linspace(0, 1, 10)\n"
        "results = {}\nresults['a'] = [x ** 2 for x in xs]\nplt.plot(xs, results['a'])\nprint(len(results))"))
    assert reading(submission).clean


@pytest.mark.parametrize("trick", ["builtins", "monkeypatch", "hide_errors", "transformer", "leak_tests"])
def test_every_in_kernel_trick_of_the_cheating_class_is_sent_to_review(trick):
    found = reading(Submission("01_arena").replace("ex1_run_episode", WRONG_RUN_EPISODE + TRICKS[trick]))
    assert found.review, f"{trick} is not flagged"


@pytest.mark.parametrize("forge", sorted(FORGES))
def test_every_way_to_forge_a_report_is_sent_to_review(forge):
    found = reading(Submission("01_arena").replace("ex1_run_episode", WRONG_RUN_EPISODE + FORGES[forge]))
    assert found.review, f"{forge} is not flagged"
    assert all(f.cell and f.line and f.what for f in found.review)


@pytest.mark.parametrize("assignment, helper_code, helper", [
    ("01_arena", "from arena_lib import rollout\n\ndef run_episode(env, policies, out=None, delay=0.0):\n"
                 "    return rollout(env, policies).returns\n", "rollout"),
    ("01_arena", "import arena_lib as lib\n\ndef run_episode(env, policies, out=None, delay=0.0):\n"
                 "    return lib.rollout(env, policies).returns\n", "rollout"),
    ("04_evaluation", "from arena_lib.evaluation import TrainedPolicy\n\n"
                      "def greedy_action(module, obs, observation_space):\n"
                      "    return TrainedPolicy(module, observation_space)(obs)\n", "TrainedPolicy"),
])
def test_a_library_helper_that_solves_the_exercise_earns_nothing(assignment, helper_code, helper):
    grade_id = {"01_arena": "ex1_run_episode", "04_evaluation": "ex4_greedy_action"}[assignment]
    found = reading(Submission(assignment).solve().replace(grade_id, helper_code))
    assert found.refusals and all(f"uses {helper}" in f.what for f in found.refusals), found
    assert not found.review


def test_the_course_s_own_cells_may_use_what_students_may_not():
    """Notebook 4's own cells call trained_policies and rollout; only what the student changed is read."""
    submission = Submission("04_evaluation").solve()
    assert "trained_policies(algo)" in "".join(c.source for c in submission.nb.cells)
    assert reading(submission).clean
    edited = [c for c in submission.nb.cells if c.cell_type == "code" and "trained_policies(algo)" in c.source][0]
    edited.source += "\nx = trained_policies(algo)"
    assert reading(submission).refusals
