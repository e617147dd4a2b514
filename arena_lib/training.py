"""Training PPO on the arena with RLlib's new API stack, with progress and learning curves."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.connectors.common.flatten_observations import FlattenObservations

from arena_lib.env import MultiAgentArena

POLICY_OF_AGENT = {"agent1": "policy1", "agent2": "policy2"}
SHARED_POLICY = "shared_policy"
# Settings chosen by measurement (bench/time_to_reward.py; docs/performance.md) to learn
# this game fast on a laptop, where RLlib's defaults take many times longer: a small net
# with a high learning rate and short batches updates often; 1000 steps over 10 envs is
# exactly one 100-step episode per env, so every iteration reports returns (one that ends
# no episode reports NaN). lambda_ and use_kl_loss make it PPO as published (GAE with
# lambda 0.95, the clipped objective alone) where RLlib defaults to lambda 1.0 plus an
# adaptive KL penalty: together they about halve the iterations to the target. The envs
# step in the algorithm's own process, on any machine: see default_sampling().
COURSE_SETTINGS = {
    "num_env_runners": 0,
    "num_envs_per_env_runner": None,  # None: 10 envs in all, split over the EnvRunners
    "fcnet_hiddens": [64, 64],
    "lr": 5e-3,
    "train_batch_size_per_learner": 1000,
    "minibatch_size": 256,
    "num_epochs": 5,
    "lambda_": 0.95,
    "use_kl_loss": False,
}
ENVS_IN_ALL = 10


def default_sampling(num_env_runners: int | None = None) -> tuple[int, int]:
    """(num_env_runners, num_envs_per_env_runner): the course's, 10 envs in all.

    By default, on any machine, the 10 envs step in the algorithm's own process
    (``num_env_runners=0``). The arena steps so cheaply that RLlib's own work per env step
    (its connectors, the RLModule's forward pass, metrics, episodes) is most of sampling, and
    little of it shrinks with fewer envs per process: two EnvRunner processes of 5 envs
    sampled no faster than the algorithm's process with 10 on two cores, slower on a busy
    machine or on one CPU (where they take turns with the learner), and each holds RLlib and
    PyTorch in memory of its own (``python -m bench.time_to_reward --configs course
    course:num_env_runners=2``). Given N EnvRunners, the 10 envs are split over them.
    """
    if num_env_runners is None:
        num_env_runners = COURSE_SETTINGS["num_env_runners"]
    return num_env_runners, max(1, ENVS_IN_ALL // max(1, num_env_runners))


def agent_to_policy(agent_id, episode=None, **kwargs) -> str:
    """The policy mapping function: agent1 -> policy1, agent2 -> policy2."""
    return POLICY_OF_AGENT[agent_id]


def to_shared_policy(agent_id, episode=None, **kwargs) -> str:
    """The policy mapping function of the shared setup: every agent -> one policy."""
    return SHARED_POLICY


class OneHotObservations(FlattenObservations):
    """RLlib's ``FlattenObservations(multi_agent=True)`` for the arena's MultiDiscrete
    observations: the same one-hot vectors, each made in one numpy step.

    RLlib's connector flattens any space, one observation at a time, through its generic
    nested-structure code; it runs for every agent at every env step, and that alone took
    a sixth of the sampling time (``python -m bench.iteration_profile``).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, multi_agent=True, **kwargs)
        self._blocks = {}

    def _one_hot_blocks(self, agent):
        """Where each component's one-hot block starts in the agent's vector, and its length."""
        if agent not in self._blocks:
            nvec = self.input_observation_space[agent].nvec
            self._blocks[agent] = np.cumsum([0, *nvec[:-1]]), int(nvec.sum())
        return self._blocks[agent]

    def __call__(self, *, rl_module, batch, episodes, explore=None, shared_data=None, **kwargs):
        for episode in self.single_agent_episode_iterator(episodes, agents_that_stepped_only=True):
            # As FlattenObservations, with agent_ids=[...] one-hot only those agents' observations;
            # the episode keeps the encoded observation, and the space it belongs to.
            if self._agent_ids is None or episode.agent_id in self._agent_ids:
                starts, length = self._one_hot_blocks(episode.agent_id)
                one_hot = np.zeros(length, dtype=np.float32)
                one_hot[starts + episode.get_observations(-1)] = 1.0
                episode.set_observations(at_indices=-1, new_data=one_hot)
            episode.observation_space = self.observation_space
        return batch


def flatten_observations(env=None, spaces=None, device=None):
    """Env-to-module connector: one-hot encode the MultiDiscrete observations.

    RLlib has no default encoder for MultiDiscrete, so without it building the
    RLModule fails with "No default encoder config". This is RLlib's
    ``FlattenObservations(multi_agent=True)``, made faster for the arena
    (:class:`OneHotObservations`).
    """
    return OneHotObservations()


def arena_ppo_config(
    *,
    multi_agent: bool = True,
    env_config: dict | None = None,
    seed: int | None = 0,
    **settings,
) -> PPOConfig:
    """The course's ``PPOConfig`` for the arena.

    ``multi_agent=True`` gives each agent its own policy (``policy1``,
    ``policy2``); ``False`` trains one shared policy for both, as the original
    tutorial's first run did. Any key of ``COURSE_SETTINGS`` can be overridden.
    """
    unknown = sorted(set(settings) - set(COURSE_SETTINGS))
    if unknown:
        raise ValueError(f"Unknown setting(s) {unknown}; allowed: {sorted(COURSE_SETTINGS)}.")
    s = {**COURSE_SETTINGS, **settings}
    num_env_runners, envs_each = default_sampling(s["num_env_runners"])
    if s["num_envs_per_env_runner"] is not None:
        envs_each = s["num_envs_per_env_runner"]
    config = (
        PPOConfig()
        .environment(MultiAgentArena, env_config=dict(env_config or {}))
        .env_runners(
            num_env_runners=num_env_runners,
            num_envs_per_env_runner=envs_each,
            env_to_module_connector=flatten_observations,
        )
        .training(
            lr=s["lr"],
            lambda_=s["lambda_"],
            use_kl_loss=s["use_kl_loss"],
            train_batch_size_per_learner=s["train_batch_size_per_learner"],
            minibatch_size=s["minibatch_size"],
            num_epochs=s["num_epochs"],
        )
        .rl_module(model_config={"fcnet_hiddens": list(s["fcnet_hiddens"])})
        # A crashing env (say, a bug in a student's change) should fail loudly, not
        # be restarted again and again.
        .fault_tolerance(restart_failed_env_runners=False)
        .debugging(seed=seed)
    )
    if multi_agent:
        return one_policy_per_agent(config)
    return config.multi_agent(policies={SHARED_POLICY}, policy_mapping_fn=to_shared_policy)


def one_policy_per_agent(config: PPOConfig) -> PPOConfig:
    """``config`` with policy1 for agent1 and policy2 for agent2 (notebook 3's exercise)."""
    return config.multi_agent(policies=set(POLICY_OF_AGENT.values()), policy_mapping_fn=agent_to_policy)


@dataclass
class TrainingHistory:
    """One row per ``algo.train()`` call: what a learning curve needs."""

    iterations: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    env_steps: list = field(default_factory=list)
    total_return: list = field(default_factory=list)
    policy_returns: dict = field(default_factory=dict)

    def record(self, result: dict, seconds: float) -> None:
        runners = result.get("env_runners", {})
        self.iterations.append(result.get("training_iteration", len(self.iterations) + 1))
        self.seconds.append(seconds)
        self.env_steps.append(runners.get("num_env_steps_sampled_lifetime", float("nan")))
        self.total_return.append(float(runners.get("episode_return_mean", float("nan"))))
        for policy, value in runners.get("module_episode_returns_mean", {}).items():
            self.policy_returns.setdefault(policy, []).append(float(value))

    @property
    def last_return(self) -> float:
        return self.total_return[-1] if self.total_return else float("nan")


def train(
    algo,
    *,
    iterations: int | None = None,
    target_return: float | None = None,
    max_iterations: int = 100,
    progress: bool = True,
    history: TrainingHistory | None = None,
) -> TrainingHistory:
    """Call ``algo.train()`` ``iterations`` times, or until agent1+agent2 mean return
    reaches ``target_return`` (at most ``max_iterations`` times).

    Shows a progress bar with the total return and the return of each policy,
    and returns the history for ``plot_learning_curve``. Pass an earlier
    ``history`` to continue it.
    """
    from tqdm.auto import tqdm

    if (iterations is None) == (target_return is None):
        raise ValueError("Pass exactly one of iterations=N or target_return=R to train().")
    if iterations is not None and iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}.")
    history = history if history is not None else TrainingHistory()
    budget = iterations if iterations is not None else max_iterations
    started = time.perf_counter() - (history.seconds[-1] if history.seconds else 0.0)
    # The bar shows the policies that learn (a league's frozen snapshots would crowd it).
    learning = getattr(algo.config, "policies_to_train", None)
    shown = None if learning is None or callable(learning) else set(learning)
    with tqdm(total=budget, desc="training", unit="iter", disable=not progress) as bar:
        for _ in range(budget):
            result = algo.train()
            history.record(result, time.perf_counter() - started)
            postfix = {"return": f"{history.last_return:.1f}"}
            postfix.update({p: f"{r[-1]:.1f}" for p, r in sorted(history.policy_returns.items())
                            if shown is None or p in shown})
            bar.set_postfix(postfix)
            bar.update()
            if target_return is not None and history.last_return >= target_return:
                break
    return history


def plot_learning_curve(history: TrainingHistory, target_return: float | None = None, ax=None):
    """Plot the mean episode return per iteration: total and per policy."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    ax.plot(history.iterations, history.total_return, label="agent1 + agent2", linewidth=2.5, color="black")
    for policy, returns in sorted(history.policy_returns.items()):
        ax.plot(history.iterations[-len(returns):], returns, label=policy)
    if target_return is not None:
        ax.axhline(target_return, linestyle="--", color="gray", label=f"target {target_return:g}")
    ax.set_xlabel("training iteration")
    ax.set_ylabel("mean episode return")
    ax.set_title("Learning curve")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return ax
