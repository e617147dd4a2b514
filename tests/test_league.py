"""League training with real RLlib (arena_lib/league.py): snapshots join the pool with the
main policy's weights, on the learner and on the EnvRunners, and then stay frozen."""

import random

import numpy as np
import pytest

from arena_lib.league import ROLES, league_config, league_history

pytestmark = pytest.mark.slow  # trains small RLlib algorithms

# Tiny and quick: 20-step episodes; one remote EnvRunner (where the mapping and the weights
# must reach), or none (the algorithm samples itself, as while grading).
TINY = {"env_config": {"ts": 20}, "num_env_runners": 1, "num_envs_per_env_runner": 4,
        "train_batch_size_per_learner": 160, "minibatch_size": 80, "num_epochs": 1}


def league_policy(agent_id, episode_id, explorers, chasers, p_main):
    """Exercise 8a's reference."""
    rng = random.Random(episode_id)
    learner = "explorer" if rng.random() < 0.5 else "chaser"
    role = "explorer" if agent_id == "agent1" else "chaser"
    if role == learner:
        return role
    pool = explorers if role == "explorer" else chasers
    if not pool or rng.random() < p_main:
        return role
    return rng.choice(pool)



POLICY_WEIGHTS = ("encoder.actor_encoder", "pi.")  # what plays; the value function only learns


def learner_weights(algo, module_id) -> dict:
    state = algo.learner_group.get_state(components=f"learner/rl_module/{module_id}")
    return {name: np.array(value) for name, value in state["learner"]["rl_module"][module_id].items()
            if name.startswith(POLICY_WEIGHTS)}


def env_runner_weights(algo, module_id) -> dict:
    def get(runner):
        return {name: tensor.detach().cpu().numpy().copy() for name, tensor in runner.module[module_id].state_dict().items()
                if name.startswith(POLICY_WEIGHTS)}

    if algo.env_runner_group.num_remote_env_runners():
        (weights,) = algo.env_runner_group.foreach_env_runner(get, local_env_runner=False)
        return weights
    return get(algo.env_runner_group.local_env_runner)  # it samples itself


@pytest.mark.parametrize("env_runners", [1, 0], ids=["remote-env-runner", "sampling-in-the-algorithm"])
def test_snapshots_join_frozen_and_play_on_the_env_runners(ray_session, env_runners):
    snapshots = []

    def once_per_role(results, threshold, window):
        return len(results) >= window and len(snapshots) < 2 and not snapshots.append(len(results))

    settings = {**TINY, "num_env_runners": env_runners}
    algo = league_config(league_policy, once_per_role, seed=0, p_main=0.0, threshold=0.0, window=1, **settings).build_algo()
    try:
        first = algo.train()
        games = {role: first["env_runners"][f"league/{role}_games"] for role in ROLES}
        episodes = first["env_runners"]["num_episodes"]
        assert games == {"explorer": episodes, "chaser": episodes}, "with empty pools both main policies play every game"
        assert first["league"]["explorer_pool"] == 1 and first["league"]["chaser_pool"] == 1
        learner = {role: learner_weights(algo, role) for role in ROLES}
        frozen = {role: learner_weights(algo, f"{role}_v1") for role in ROLES}
        on_runner = {role: env_runner_weights(algo, f"{role}_v1") for role in ROLES}
        for role in ROLES:
            for name, value in learner[role].items():
                np.testing.assert_array_equal(frozen[role][name], value, err_msg=f"{role}_v1 is not {role}: {name}")
                np.testing.assert_array_equal(on_runner[role][name], value, err_msg=f"runner's {role}_v1: {name}")

        for _ in range(2):
            result = algo.train()
        # The snapshots play (p_main=0: the learner's opponent is always one) and never learn.
        played = result["env_runners"]["module_episode_returns_mean"]
        assert {"explorer_v1", "chaser_v1"} <= set(played), played
        for role in ROLES:
            after = learner_weights(algo, f"{role}_v1")
            moved = learner_weights(algo, role)
            assert all(np.array_equal(after[n], frozen[role][n]) for n in after), f"{role}_v1 changed while training"
            assert any(not np.array_equal(moved[n], learner[role][n]) for n in moved), f"{role} stopped learning"
        history = league_history(algo)
        assert [row["iteration"] for row in history] == [1, 2, 3]
        assert all(0.0 <= row[f"{role}_win_rate"] <= 1.0 for row in history for role in ROLES)
    finally:
        algo.stop()


def test_a_league_that_is_not_one_says_so(ray_session):
    from arena_lib.training import arena_ppo_config

    algo = arena_ppo_config(seed=0, **TINY).build_algo()
    try:
        with pytest.raises(ValueError, match="not a league"):
            league_history(algo)
    finally:
        algo.stop()


def test_notebook_8_shows_the_leagues_callback_as_the_library_has_it():
    """The notebook defines LeagueCallback in a cell of its own, for students to read; the same
    class lives in arena_lib.league (for the course's scripts and these tests)."""
    import inspect

    from arena_lib.league import LeagueCallback
    from tests.notebook_tools import ROOT, read

    (cell,) = [c for c in read(ROOT / "solutions" / "08_league" / "08_league.ipynb").cells
               if "class LeagueCallback(RLlibCallback)" in c.source]
    assert inspect.getsource(LeagueCallback).strip() in cell.source
