"""Self-play in a league on the arena, with RLlib's new API stack (notebook 08).

Two main policies learn, ``explorer`` (agent1) and ``chaser`` (agent2), each against a pool
of frozen snapshots of the other role's past selves. Which module plays which agent in an
episode is the league's policy mapping function; when a main policy wins often enough
against the pool, :class:`LeagueCallback` freezes a copy of it (``algo.add_module``) and
hands every EnvRunner a mapping function that knows the bigger pool. Both the mapping and
the rule that decides when to freeze a copy are given to the callback as functions: the
notebook's exercises write them, and the notebook shows the callback itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

ROLES = ("explorer", "chaser")
AGENT_OF = {"explorer": "agent1", "chaser": "agent2"}
# An episode is the explorer's when its return reaches this: half the cells of the 10 x 10
# arena new in 100 steps, against the chaser. Else it is the chaser's.
EXPLORER_WINS_AT = 10.0


def snapshot_id(role: str, number: int) -> str:
    return f"{role}_v{number}"


def mapping_function(policy_for, pools: dict, p_main: float):
    """RLlib's ``policy_mapping_fn`` from the league's ``policy_for(agent_id, episode_id,
    explorers, chasers, p_main)`` and the current snapshot pools."""
    explorers, chasers = tuple(pools["explorer"]), tuple(pools["chaser"])

    def agent_to_module(agent_id, episode, **kwargs):
        return policy_for(agent_id, str(episode.id_), list(explorers), list(chasers), p_main)

    return agent_to_module


@dataclass
class LeagueState:
    """What the algorithm's side of the callback keeps: the pools and each role's results."""

    pools: dict = field(default_factory=lambda: {role: [] for role in ROLES})
    results: dict = field(default_factory=lambda: {role: [] for role in ROLES})  # since its last snapshot
    history: list = field(default_factory=list)  # one row per iteration, for plots


# Notebook 8 shows this class in a cell of its own, as RLlib's self-play example shows its
# callback (tests/test_league.py checks that the two are the same code).
class LeagueCallback(RLlibCallback):
    """The league: counts each main policy's games against the pool, and freezes a snapshot of a
    main policy when should_snapshot says so."""

    def __init__(self, policy_for, should_snapshot, p_main=0.3, threshold=0.6, window=50):
        super().__init__()
        self.policy_for, self.should_snapshot = policy_for, should_snapshot
        self.p_main, self.threshold, self.window = p_main, threshold, window
        self.league = LeagueState()

    def on_episode_end(self, *, episode, metrics_logger, **kwargs):
        """(On each EnvRunner.) Count the games each main policy played against the pool."""
        explorer_won = episode.agent_episodes["agent1"].get_return() >= EXPLORER_WINS_AT
        for role, won in (("explorer", explorer_won), ("chaser", not explorer_won)):
            if episode.module_for(AGENT_OF[role]) == role:  # the main policy of this role played
                metrics_logger.log_value(f"league/{role}_games", 1, reduce="sum")
                metrics_logger.log_value(f"league/{role}_wins", int(won), reduce="sum")

    def on_train_result(self, *, algorithm, result, **kwargs):
        """(On the algorithm, after each iteration.) Ask the rule; freeze a snapshot when it says so."""
        runners, row = result.get("env_runners", {}), {"iteration": result.get("training_iteration")}
        for role in ROLES:
            games = int(runners.get(f"league/{role}_games", 0) or 0)
            wins = int(runners.get(f"league/{role}_wins", 0) or 0)
            self.league.results[role] += [True] * wins + [False] * (games - wins)
            recent = self.league.results[role][-self.window:]
            row[f"{role}_win_rate"] = sum(recent) / len(recent) if recent else float("nan")
            if self.should_snapshot(list(self.league.results[role]), self.threshold, self.window):
                self.freeze(algorithm, role)
            row[f"{role}_pool"] = len(self.league.pools[role])
        self.league.history.append(row)
        result["league"] = dict(row)

    def freeze(self, algorithm, role):
        """A new module, a copy of the main policy's, joins the role's pool; every EnvRunner gets a
        mapping function that knows the bigger pool."""
        new_id = snapshot_id(role, len(self.league.pools[role]) + 1)
        self.league.pools[role].append(new_id)
        self.league.results[role] = []
        mapping = mapping_function(self.policy_for, self.league.pools, self.p_main)
        algorithm.add_module(module_id=new_id, module_spec=RLModuleSpec.from_module(algorithm.get_module(role)),
                             new_agent_to_module_mapping_fn=mapping, new_should_module_be_updated=list(ROLES))
        # The snapshot's weights: the main policy's now, on the learner and on every EnvRunner.
        # (An EnvRunner ignores a weight sync whose sequence number it has seen already, and the
        # learner's has not moved since the last one; a state without one is always taken.)
        main = algorithm.learner_group.get_state(components=f"learner/rl_module/{role}")
        algorithm.set_state({"learner_group": {"learner": {"rl_module": {new_id: main["learner"]["rl_module"][role]}}}})
        acting = algorithm.learner_group.get_state(components=f"learner/rl_module/{new_id}", inference_only=True)
        weights = acting["learner"]["rl_module"][new_id]
        algorithm.env_runner_group.foreach_env_runner(
            lambda runner: runner.set_state({"rl_module": {new_id: weights}}), local_env_runner=True)


def league_config(policy_for, should_snapshot, seed: int = 0, p_main: float = 0.3, threshold: float = 0.6,
                  window: int = 50, callback=LeagueCallback, **settings):
    """The course's PPO config (``arena_lib.training.arena_ppo_config``) as a league: the main
    policies ``explorer`` (agent1) and ``chaser`` (agent2) learn, snapshots join as
    ``should_snapshot(results, threshold, window)`` decides, and ``policy_for(agent_id,
    episode_id, explorers, chasers, p_main)`` maps agents to modules. ``callback`` is the
    league's callback class (notebook 8 shows it), made with those rules."""
    from arena_lib.training import arena_ppo_config

    return (arena_ppo_config(seed=seed, **settings)
            .multi_agent(policies=set(ROLES), policies_to_train=list(ROLES),
                         policy_mapping_fn=mapping_function(policy_for, {role: [] for role in ROLES}, p_main))
            .callbacks(functools.partial(callback, policy_for, should_snapshot, p_main, threshold, window)))


def league_history(algo) -> list[dict]:
    """One row per training iteration: each role's win rate against the pool and pool size."""
    callbacks = algo.callbacks if isinstance(algo.callbacks, list) else [algo.callbacks]
    for callback in callbacks:
        if hasattr(callback, "league"):
            return list(callback.league.history)
    raise ValueError("This algorithm is not a league: build it from league_config(...).")


def plot_league(history: list, training=None):
    """The main policies' returns (from ``train``'s history), their win rates against the pool
    and the pools' sizes, iteration by iteration."""
    import matplotlib.pyplot as plt

    panels = 3 if training is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.4))
    iterations = [row["iteration"] for row in history]
    if training is not None:
        for role in ROLES:
            returns = training.policy_returns.get(role, [])
            axes[0].plot(training.iterations[-len(returns):], returns, label=role)
        axes[0].set_title("main policies' mean return")
    for role in ROLES:
        axes[-2].plot(iterations, [row[f"{role}_win_rate"] for row in history], label=role)
        axes[-1].step(iterations, [row[f"{role}_pool"] for row in history], where="post", label=role)
    axes[-2].set_title("win rate against the pool")
    axes[-2].set_ylim(0, 1)
    axes[-1].set_title("snapshots in the pool")
    axes[-1].yaxis.get_major_locator().set_params(integer=True)
    for ax in axes:
        ax.set_xlabel("training iteration")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return axes
