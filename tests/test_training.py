"""Real RLlib: the env checker, a PPO smoke training with two policies, and checkpoints."""

import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.utils.numpy import flatten_inputs_to_1d_tensor
from ray.rllib.utils.pre_checks.env import check_multiagent_environments
from ray.rllib.utils.spaces.space_utils import get_base_struct_from_space

from arena_lib import MultiAgentArena, RandomPolicy
from arena_lib.evaluation import TrainedPolicy, evaluate, module_input, trained_policies
from arena_lib.ray_setup import available_cpus
from arena_lib.training import TrainingHistory, arena_ppo_config, default_sampling, plot_learning_curve, train

# A budget that only proves the pipeline runs; bench/ measures learning.
TINY = dict(num_env_runners=1, num_envs_per_env_runner=2, train_batch_size_per_learner=400, minibatch_size=100, num_epochs=1)


def test_rllib_env_checker_accepts_the_arena():
    env = MultiAgentArena({"width": 4, "height": 3})
    # The checker silently skips envs that did not call MultiAgentEnv.__init__.
    assert hasattr(env, "_agent_ids")
    check_multiagent_environments(env)


def test_module_input_matches_rllibs_flatten_observations():
    space = MultiAgentArena({"width": 5, "height": 3}).observation_spaces["agent1"]
    obs = np.array([4, 13])
    ours = module_input(obs, space).numpy()[0]
    rllib = flatten_inputs_to_1d_tensor(obs[None], spaces_struct=get_base_struct_from_space(space))[0]
    assert ours.shape == (30,) and ours[4] == 1 and ours[15 + 13] == 1 and ours.sum() == 2
    np.testing.assert_array_equal(ours, rllib)
    np.testing.assert_array_equal(ours, gym.spaces.flatten(space, obs))


def test_one_hot_observations_are_rllibs_flatten_observations():
    """The course's faster connector writes the same vectors into the episodes as RLlib's."""
    import copy

    from ray.rllib.connectors.env_to_module import FlattenObservations
    from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

    from arena_lib.training import OneHotObservations

    env = MultiAgentArena({"width": 5, "height": 3})
    spaces = gym.spaces.Dict(env.observation_spaces), gym.spaces.Dict(env.action_spaces)
    ours, rllib = OneHotObservations(*spaces), FlattenObservations(*spaces, multi_agent=True)
    assert ours.observation_space == rllib.observation_space
    obs, infos = env.reset(seed=3)
    policy = RandomPolicy(3)
    for _ in range(30):  # the agents' cells change as they move
        encoded = []
        for connector in (ours, rllib):
            episode = MultiAgentEpisode(observations=[obs], infos=[infos], observation_space=spaces[0],
                                        action_space=spaces[1])
            connector(rl_module=None, batch={}, episodes=[episode])
            encoded.append({agent: episode.agent_episodes[agent].get_observations(-1) for agent in obs})
        for agent in obs:
            np.testing.assert_array_equal(encoded[0][agent], encoded[1][agent])
            assert encoded[0][agent].dtype == encoded[1][agent].dtype
        obs, *_, infos = env.step({agent: policy.compute_action(o) for agent, o in obs.items()})


def test_start_ray_is_idempotent(ray_session):
    from arena_lib import start_ray

    resources = start_ray()
    assert start_ray() == resources
    assert resources["CPU"] == available_cpus()


def test_config_rejects_unknown_settings():
    with pytest.raises(ValueError, match=r"Unknown setting\(s\) \['num_envs'\]"):
        arena_ppo_config(num_envs=3)


def test_the_envs_step_in_the_driver_unless_told_otherwise():
    assert default_sampling() == (0, 10)
    assert (arena_ppo_config().num_env_runners, arena_ppo_config().num_envs_per_env_runner) == (0, 10)
    config = arena_ppo_config(num_env_runners=2)
    assert (config.num_env_runners, config.num_envs_per_env_runner) == (2, 5), "10 envs in all"


def test_train_needs_exactly_one_stopping_rule():
    with pytest.raises(ValueError, match="exactly one"):
        train(None)
    with pytest.raises(ValueError, match="exactly one"):
        train(None, iterations=2, target_return=10)


@pytest.fixture(scope="module")
def trained(ray_session, tmp_path_factory):
    algo = arena_ppo_config(seed=7, **TINY).build_algo()
    history = train(algo, iterations=2, progress=False)
    yield algo, history
    algo.stop()


def test_ppo_trains_two_policies_and_reports_their_metrics(trained):
    algo, history = trained
    assert history.iterations == [1, 2]
    assert set(history.policy_returns) == {"policy1", "policy2"}
    assert all(len(v) == 2 for v in history.policy_returns.values())
    assert np.isfinite(history.total_return).all()
    result = algo.train()
    runners = result["env_runners"]
    assert set(runners["module_episode_returns_mean"]) == {"policy1", "policy2"}
    assert set(runners["agent_episode_returns_mean"]) == {"agent1", "agent2"}
    total = runners["agent_episode_returns_mean"]["agent1"] + runners["agent_episode_returns_mean"]["agent2"]
    assert runners["episode_return_mean"] == pytest.approx(total, abs=1e-6)


def test_train_continues_a_history_and_stops_at_the_target(trained):
    algo, history = trained
    history = train(algo, target_return=-1000.0, progress=False, history=TrainingHistory(**vars(history)))
    assert len(history.iterations) == 3, "a target already reached stops after one iteration"
    assert history.seconds == sorted(history.seconds)


def test_learning_curve_has_total_and_per_policy_lines(trained):
    import matplotlib

    matplotlib.use("Agg")
    _, history = trained
    ax = plot_learning_curve(history, target_return=10)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["agent1 + agent2", "policy1", "policy2", "target 10"]


def test_checkpoint_round_trip_gives_the_same_greedy_actions(trained, tmp_path):
    algo, _ = trained
    algo.save_to_path(str(tmp_path / "ckpt"))
    restored = Algorithm.from_checkpoint(str(tmp_path / "ckpt"))
    try:
        space = MultiAgentArena().observation_spaces["agent1"]
        observations = [np.array([a, b]) for a in range(0, 100, 7) for b in range(0, 100, 11)]
        for policy in ("policy1", "policy2"):
            before = TrainedPolicy(algo.get_module(policy), space)
            after = TrainedPolicy(restored.get_module(policy), space)
            logits = [before.action_logits(o) for o in observations]
            assert len({int(np.argmax(l)) for l in logits}) >= 1
            np.testing.assert_allclose(logits, [after.action_logits(o) for o in observations], rtol=1e-5)
        assert evaluate(trained_policies(algo), num_episodes=1).returns == evaluate(
            trained_policies(restored), num_episodes=1
        ).returns
    finally:
        restored.stop()


def test_evaluate_trained_and_random_policies(trained):
    algo, _ = trained
    result = evaluate(trained_policies(algo), num_episodes=2)
    assert len(result.returns) == 2 and result.returns[0] == result.returns[1], "greedy play is deterministic"
    assert len(result.trajectory.frames) == 101
    random_play = evaluate({"agent1": RandomPolicy(1), "agent2": RandomPolicy(2)}, num_episodes=3)
    again = evaluate({"agent1": RandomPolicy(1), "agent2": RandomPolicy(2)}, num_episodes=3)
    assert random_play.returns == again.returns
    assert random_play.mean_return() == pytest.approx(
        random_play.mean_return("agent1") + random_play.mean_return("agent2")
    )


def test_shared_policy_config_trains_one_module(ray_session):
    algo = arena_ppo_config(multi_agent=False, seed=3, **TINY).build_algo()
    try:
        runners = algo.train()["env_runners"]
        assert set(runners["module_episode_returns_mean"]) == {"shared_policy"}
        policies = trained_policies(algo, policy_mapping_fn=lambda agent, episode: "shared_policy")
        assert policies["agent1"].module is policies["agent2"].module
    finally:
        algo.stop()


def test_trained_policy_names_a_missing_module(trained):
    algo, _ = trained
    with pytest.raises(ValueError, match="module id"):
        TrainedPolicy(algo.get_module("policy3"), MultiAgentArena().observation_spaces["agent1"])


# Two iterations with one EnvRunner in a fresh process (and a fresh Ray): what a kernel does.
SEEDED_RUN = """
import json, torch
from arena_lib import start_ray
from arena_lib.training import arena_ppo_config
start_ray(num_cpus=2)
algo = arena_ppo_config(seed=7, **{tiny}).build_algo()
returns = [algo.train()["env_runners"]["episode_return_mean"] for _ in range(2)]
weights = {{m: float(sum(p.abs().sum() for p in algo.get_module(m).parameters())) for m in ("policy1", "policy2")}}
print(json.dumps({{"returns": returns, "weights": weights}}))
"""


@pytest.mark.slow
def test_a_seed_repeats_when_the_hash_seed_is_fixed(tmp_path):
    """Notebook 4 says runs repeat under `make lab` and Binder, which fix PYTHONHASHSEED: RLlib keeps
    agent and module IDs in sets, and their order (which policy samples first) is per process."""
    script = SEEDED_RUN.format(tiny=dict(TINY, train_batch_size_per_learner=200))
    env = {**os.environ, "PYTHONHASHSEED": "0", "RAY_ADDRESS": ""}
    runs = [subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
            for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
    first, second = (json.loads(run.stdout.strip().splitlines()[-1]) for run in runs)
    assert first == second, f"the same seed and hash seed gave two different runs: {first} vs {second}"


def test_make_lab_and_binder_fix_the_hash_seed():
    root = Path(__file__).parent.parent
    started = subprocess.run(["bash", str(root / "start"), "sh", "-c", "echo $PYTHONHASHSEED"],
                             env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=30)
    assert started.returncode == 0 and started.stdout.strip() == "0", started
    lab = subprocess.run(["make", "-n", "-C", str(root), "lab"], capture_output=True, text=True, timeout=60)
    assert "PYTHONHASHSEED=0" in next(line for line in lab.stdout.splitlines() if " lab " in line), lab.stdout


IDLE_WORKERS_AFTER_START = """
import time, psutil
from arena_lib import start_ray
from arena_lib.training import arena_ppo_config
start_ray()
time.sleep(3)  # Ray would have started its idle workers by now
me = psutil.Process()
print("idle:", sum("ray::IDLE" in " ".join(p.cmdline()) for p in me.children(recursive=True)))
algo = arena_ppo_config(seed=1, **{tiny}).build_algo()
algo.train()
print("trained with", algo.env_runner_group.num_remote_env_runners(), "EnvRunner")
"""


@pytest.mark.slow
def test_ray_keeps_no_idle_worker_processes():
    """Each idle worker is about 50 MB of Binder's 2 GB; EnvRunners still start without them."""
    run = subprocess.run([sys.executable, "-c", IDLE_WORKERS_AFTER_START.format(tiny=TINY)], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "idle: 0" in run.stdout, f"Ray kept idle worker processes: {run.stdout}"
    assert "trained with 1 EnvRunner" in run.stdout, run.stdout


def test_notebook_2s_hand_built_config_is_the_course_config():
    """Notebook 2 builds its PPOConfig by hand, to teach each call; it must stay the config
    that arena_ppo_config(multi_agent=False) gives every later notebook."""
    from arena_lib.env import validate_config
    from arena_lib.models import module_spaces
    from tests.notebook_tools import ROOT, read

    (path,) = (ROOT / "solutions" / "02_first_training").glob("*.ipynb")
    (cell,) = [c for c in read(path).cells if c.cell_type == "code" and "config = (\n    PPOConfig()" in c.source]
    namespace = {}
    exec(compile(cell.source, "<notebook 2's config>", "exec"), namespace)
    by_hand, course = namespace["config"], arena_ppo_config(multi_agent=False, seed=0)

    def settings(config):  # the env's settings as the arena reads them (defaults filled in)
        found = {key: value for key, value in config.to_dict().items() if not callable(value)}
        return {**found, "env_config": validate_config(found["env_config"])}

    assert settings(by_hand) == settings(course)
    assert by_hand.policies == course.policies
    for agent in ("agent1", "agent2"):
        assert by_hand.policy_mapping_fn(agent, None) == course.policy_mapping_fn(agent, None)
    assert module_spaces(by_hand) == module_spaces(course)  # their connectors: the same one-hot encoding
