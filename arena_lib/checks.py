"""Self-checks for the course's exercises: they say in words what is wrong.

Each ``check_*`` function runs a student's code on small, deterministic cases
and raises ``AssertionError`` with an explanation, or prints what passed.
The graded (hidden) tests in the notebooks go further than these.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from arena_lib.env import MultiAgentArena
from arena_lib.policies import RandomPolicy
from arena_lib.rollout import rollout


class EarlyEndArena(MultiAgentArena):
    """An arena whose episode *terminates* (not truncates) after ``ts`` steps."""

    def step(self, action_dict):
        obs, rewards, terminateds, truncateds, infos = super().step(action_dict)
        if truncateds["__all__"]:
            terminateds = {agent: True for agent in terminateds}
            truncateds = {agent: False for agent in truncateds}
        return obs, rewards, terminateds, truncateds, infos


def _passed(message: str) -> None:
    print(f"✔ {message}")


def _seeded_policies(seed: int) -> dict:
    return {"agent1": RandomPolicy(seed), "agent2": RandomPolicy(seed + 1000)}


def _same_returns(got, expected) -> bool:
    return isinstance(got, dict) and set(got) == set(expected) and all(
        isinstance(got[a], numbers.Real) and math.isclose(got[a], expected[a], abs_tol=1e-9) for a in expected
    )


def check_run_episode(run_episode) -> None:
    """Exercise 1: the environment loop."""
    env = MultiAgentArena({"width": 5, "height": 5, "ts": 12})
    expected = rollout(MultiAgentArena({"width": 5, "height": 5, "ts": 12}), _seeded_policies(0)).returns
    got = run_episode(env, _seeded_policies(0))
    assert got is not None, "run_episode returned None: return a dict like {'agent1': total1, 'agent2': total2}."
    assert isinstance(got, dict), f"run_episode should return a dict of total rewards, got {type(got).__name__}."
    assert set(got) == {"agent1", "agent2"}, f"The dict needs the keys 'agent1' and 'agent2', got {sorted(got)}."
    assert env.timesteps == 12, (
        f"The episode has 12 steps (ts=12) but the env stopped after {env.timesteps}: "
        "loop until truncateds['__all__'] (or terminateds['__all__']) is True."
    )
    assert _same_returns(got, expected), (
        f"The totals {got} differ from the rewards the env gave, {expected}. Add up every step's "
        "reward for each agent, and ask each agent's policy for its action with its own observation."
    )
    again = run_episode(env, _seeded_policies(0))
    assert _same_returns(again, expected), (
        "Calling run_episode twice on the same env gave different totals: start each episode with env.reset()."
    )
    _passed("run_episode plays a whole episode and adds up each agent's rewards.")


def check_summarize_result(summarize_result, result: dict) -> None:
    """Exercise 2: reading a result dict."""
    got = summarize_result(result)
    assert isinstance(got, dict), f"summarize_result should return a dict, got {type(got).__name__}."
    keys = {"total", "agent1", "agent2", "env_steps"}
    assert set(got) == keys, f"The summary needs exactly the keys {sorted(keys)}, got {sorted(got)}."
    runners = result["env_runners"]
    expected = {
        "total": runners["episode_return_mean"],
        "agent1": runners["agent_episode_returns_mean"]["agent1"],
        "agent2": runners["agent_episode_returns_mean"]["agent2"],
        "env_steps": runners["num_env_steps_sampled_lifetime"],
    }
    for key, value in expected.items():
        same = isinstance(got[key], numbers.Real) and (
            math.isclose(got[key], value, rel_tol=1e-9) or (math.isnan(got[key]) and math.isnan(value))
        )
        assert same, (
            f"summary['{key}'] is {got[key]!r}, but the result says {value!r}. "
            "Look under result['env_runners'] (print(result['env_runners'].keys()) helps)."
        )
    _passed("summarize_result reads the returns and the env steps from the result.")


def check_multi_agent_config(config) -> None:
    """Exercise 3a: one policy per agent."""
    policies = set(config.policies or {})
    assert policies == {"policy1", "policy2"}, (
        f"The config's policies are {sorted(policies)}; use exactly two, 'policy1' and 'policy2', "
        "with config.multi_agent(policies={'policy1', 'policy2'}, ...)."
    )
    mapping = config.policy_mapping_fn
    for agent, policy in (("agent1", "policy1"), ("agent2", "policy2")):
        got = mapping(agent, None)
        assert got == policy, f"The policy mapping function sends {agent!r} to {got!r}; it should go to {policy!r}."
    _passed("The config trains policy1 for agent1 and policy2 for agent2.")


def check_train_until(train_until, algo) -> None:
    """Exercise 3b: the training loop with a stopping rule."""
    rows = train_until(algo, target=-1e9, max_iterations=10)
    assert isinstance(rows, list), f"train_until should return a list (one entry per iteration), got {type(rows).__name__}."
    assert rows, "train_until returned an empty list: append one dict per algo.train() call."
    totals = [row.get("total") if isinstance(row, dict) else None for row in rows]
    assert all(isinstance(t, numbers.Real) for t in totals), (
        f"Each entry needs a number under 'total' (float('nan') while no episode has ended), got {totals}."
    )
    assert not math.isnan(totals[-1]) and all(math.isnan(t) for t in totals[:-1]), (
        f"With a target of -1e9 training should stop at the first iteration that reports a return, "
        f"but the totals were {totals}. Check the return after every algo.train() call."
    )
    rows = train_until(algo, target=1e9, max_iterations=2)
    assert len(rows) == 2, (
        f"A target of 1e9 is never reached, so train_until must stop after max_iterations=2, but it ran {len(rows)}."
    )
    for row in rows:
        assert {"total", "policy1", "policy2"} <= set(row), (
            f"Each entry needs the keys 'total', 'policy1' and 'policy2', got {sorted(row)}."
        )
    _passed("train_until stops at the target and after max_iterations, and records each policy's return.")


def check_greedy_action(greedy_action, module, observation_space) -> None:
    """Exercise 4a (notebook 4): greedy actions from an RLModule."""
    from arena_lib.evaluation import TrainedPolicy

    reference = TrainedPolicy(module, observation_space)
    size = int(observation_space.nvec[0])
    for obs in (np.array([0, size - 1]), np.array([size // 2, 3]), np.array([7, 7 % size])):
        got = greedy_action(module, obs, observation_space)
        assert isinstance(got, numbers.Integral), (
            f"greedy_action should return a plain int (use int(...)), got {type(got).__name__}."
        )
        expected = reference(obs)
        assert got == expected, (
            f"For observation {obs.tolist()} the greedy action is {expected}, you returned {got}. One-hot encode "
            "the observation (gymnasium.spaces.flatten), add a batch dimension, call module.forward_inference "
            "and take the argmax of 'action_dist_inputs'."
        )
    _passed("greedy_action picks the module's most likely action.")


def check_mean_returns(mean_returns) -> None:
    """Exercise 4b (notebook 4): the evaluation loop."""
    from arena_lib.evaluation import evaluate

    config = {"width": 6, "height": 6, "ts": 30}
    expected_eval = evaluate(_seeded_policies(5), env_config=config, num_episodes=4)
    expected = {a: expected_eval.mean_return(a) for a in ("agent1", "agent2")}
    got = mean_returns(_seeded_policies(5), env_config=config, num_episodes=4)
    assert isinstance(got, dict) and set(got) == {"agent1", "agent2"}, (
        f"mean_returns should return {{'agent1': mean, 'agent2': mean}}, got {got!r}."
    )
    assert _same_returns(got, expected), (
        f"Expected the mean returns {expected} over 4 episodes, got {got}. Play num_episodes episodes "
        "with a new MultiAgentArena(env_config), add up each agent's rewards per episode, then average."
    )
    _passed("mean_returns averages each agent's return over the episodes.")


# Exercise 5a's module as the notebook's given setup() builds it (layer names, model_config keys).
CELL_MODULE_CONFIG = {"embedding_dim": 16, "hiddens": [64]}


def _tensor_problem(name: str, got, shape: tuple) -> str | None:
    import torch

    if not torch.is_tensor(got):
        return f"{name} should be a torch tensor, got {type(got).__name__}."
    if tuple(got.shape) != shape:
        return f"{name} should have the shape {shape}, got {tuple(got.shape)}."
    return None


def check_cell_module(module_class) -> None:
    """Exercise 5a: the forward passes and the values of a custom PPO RLModule."""
    import gymnasium as gym
    import torch
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.rl_module.apis import ValueFunctionAPI

    overridden = sorted({"forward", "forward_inference", "forward_exploration", "forward_train"} & set(vars(module_class)))
    assert not overridden, (
        f"{module_class.__name__} overrides {overridden}: RLlib's public forward methods must stay as they are. "
        "Write _forward (and _forward_train) instead; the public ones call them."
    )
    assert issubclass(module_class, ValueFunctionAPI), (
        f"{module_class.__name__} must subclass ValueFunctionAPI: PPO's learner needs compute_values."
    )
    module = module_class(observation_space=gym.spaces.MultiDiscrete([9, 9]), action_space=gym.spaces.Discrete(4),
                          model_config={"embedding_dim": 3, "hiddens": [8]})
    obs = torch.tensor([[0, 8], [4, 4], [8, 0]])
    batch = {Columns.OBS: obs}
    with torch.no_grad():
        embedded = module._embed(batch)
        logits = module.pi_net(embedded)
        values = module.vf_net(embedded)[:, 0]
        out = module.forward_inference(batch)
        assert isinstance(out, dict) and Columns.ACTION_DIST_INPUTS in out, (
            f"_forward returned {out if not isinstance(out, dict) else 'a dict with the keys ' + str(sorted(out))}; "
            "it should return a dict with the action logits under Columns.ACTION_DIST_INPUTS."
        )
        problem = _tensor_problem("For 3 observations, the logits", out[Columns.ACTION_DIST_INPUTS], (3, 4))
        assert problem is None, problem + " One score per action and observation: self.pi_net(...)."
        assert torch.allclose(out[Columns.ACTION_DIST_INPUTS], logits, atol=1e-6), (
            "_forward's logits are not self.pi_net applied to self._embed(batch)."
        )
        train = module.forward_train(batch)
        assert isinstance(train, dict) and {Columns.ACTION_DIST_INPUTS, Columns.EMBEDDINGS} <= set(train), (
            f"_forward_train should return the logits under Columns.ACTION_DIST_INPUTS and the embedded cells under "
            f"Columns.EMBEDDINGS, got {sorted(train) if isinstance(train, dict) else type(train).__name__}."
        )
        problem = _tensor_problem("_forward_train's logits", train[Columns.ACTION_DIST_INPUTS], (3, 4))
        assert problem is None and torch.allclose(train[Columns.ACTION_DIST_INPUTS], logits, atol=1e-6), (
            problem or "_forward_train's logits differ from _forward's: both are self.pi_net(self._embed(batch))."
        )
        problem = _tensor_problem("With embedding_dim=3, the embeddings", train[Columns.EMBEDDINGS], (3, 6))
        assert problem is None and torch.allclose(train[Columns.EMBEDDINGS], embedded), (
            problem or "The embeddings in _forward_train's output should be self._embed(batch)."
        )
        got = module.compute_values(batch)
        problem = _tensor_problem("compute_values(batch) for 3 observations", got, (3,))
        if problem and torch.is_tensor(got) and tuple(got.shape) == (3, 1):
            problem += " Squeeze the last dimension away: .squeeze(-1)."
        assert problem is None, problem
        assert torch.allclose(got, values, atol=1e-6), (
            "compute_values(batch) is not self.vf_net applied to self._embed(batch), squeezed to one value per observation."
        )
        zeros = torch.zeros(3, 6)
        given = module.compute_values(batch, embeddings=zeros)
        assert torch.is_tensor(given) and torch.allclose(given.reshape(-1), module.vf_net(zeros)[:, 0], atol=1e-6), (
            "compute_values(batch, embeddings=...) should use the embeddings it is given (PPO's learner passes "
            "those of _forward_train) and compute self._embed(batch) only when embeddings is None."
        )
        sequences = {Columns.OBS: torch.tensor([[[0, 1], [2, 3], [4, 5]], [[5, 4], [3, 2], [1, 0]]])}
        problem = _tensor_problem("For 2 sequences of 3 observations, compute_values", module.compute_values(sequences),
                                  (2, 3))
        assert problem is None, problem + " Squeeze only the last dimension: .squeeze(-1)."
    _passed(f"{module_class.__name__}'s logits, embeddings and values have the right shapes and values.")


def check_cell_module_config(config, module_class) -> None:
    """Exercise 5b: one RLModule per policy, a custom one for policy1 and the default one for policy2."""
    from arena_lib.models import build_modules, module_spaces

    policies = set(config.policies or {})
    assert policies == {"policy1", "policy2"}, (
        f"The config's policies are {sorted(policies)}: start from arena_ppo_config(), which trains policy1 and policy2."
    )
    spaces = module_spaces(config)
    kind = {policy: type(space[0]).__name__ for policy, space in spaces.items()}
    assert kind.get("policy1") == "MultiDiscrete", (
        f"policy1's module would read a {kind.get('policy1')} observation (the one-hot vector), but "
        f"{module_class.__name__} reads the two cell numbers: pass "
        "env_to_module_connector=keep_cell_numbers('agent1') to config.env_runners(...)."
    )
    assert kind.get("policy2") == "Box", (
        f"policy2's default module needs the one-hot vector but would read {kind.get('policy2')}: keep the cell "
        "numbers of agent1 only (keep_cell_numbers('agent1'))."
    )
    specs = config.get_multi_rl_module_spec(spaces=spaces).rl_module_specs
    got = {policy: getattr(specs[policy].module_class, "__name__", None) for policy in ("policy1", "policy2")}
    assert specs["policy1"].module_class is module_class, (
        f"policy1's RLModule would be a {got['policy1']}; give it RLModuleSpec(module_class={module_class.__name__}, "
        "...) in the MultiRLModuleSpec's rl_module_specs."
    )
    assert got["policy2"] == "DefaultPPOTorchRLModule", (
        f"policy2's RLModule would be a {got['policy2']}; it should stay RLlib's default module: RLModuleSpec() "
        "with nothing in it."
    )
    modules = build_modules(config)
    settings = {key: modules["policy1"].model_config.get(key) for key in CELL_MODULE_CONFIG}
    assert settings == CELL_MODULE_CONFIG, (
        f"policy1's module has the settings {settings}; pass model_config={CELL_MODULE_CONFIG} to its RLModuleSpec."
    )
    hiddens = modules["policy2"].model_config.get("fcnet_hiddens")
    assert hiddens == [64, 64], (
        f"policy2's default module has fcnet_hiddens={hiddens}, not the course's [64, 64]: leave its RLModuleSpec "
        "empty, so that it takes the config's model_config."
    )
    _passed(f"policy1 gets {module_class.__name__} (it reads the two cell numbers), policy2 RLlib's default module "
            "(it reads the one-hot vector).")


# The grader reads hidden tests' answers from outputs of this MIME type; it compares
# them with the reference solution's answers outside the student's kernel.
ANSWERS_MIME = "application/vnd.arena-answers+json"


def report_answers(grade_id: str, answers: dict, hint: str = "") -> None:
    """Hand a hidden test's answers (case description -> the student's result) to the grader.

    The grade is decided by the grader, outside this kernel, by comparing these
    answers with those of the reference solution; nothing here decides it.
    """
    from IPython.display import display

    report = {"grade_id": grade_id, "answers": {str(case): _plain(value) for case, value in answers.items()},
              "hint": hint}
    display({ANSWERS_MIME: report, "text/plain": f"(answers of {len(answers)} hidden cases handed to the grader)"},
            raw=True)


def _plain(value):
    """JSON-ready data: numbers, strings, lists and dicts; anything else by its type's name."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(item) for item in value), key=repr)
    return f"<{type(value).__name__}>"


# Notebook 6 (Tune). arena_lib.tuning is imported where used: ray.tune is slow to import.
SEARCHED = {"lr": "lr", "fcnet_hiddens": "_model_config/fcnet_hiddens"}


def _pairs(trials: list[dict]) -> list:
    return sorted(([t["lr"], t["fcnet_hiddens"]] for t in trials), key=repr)


def check_param_space(param_space, base_config) -> None:
    """Exercise 6a: a config with a grid search."""
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    from arena_lib.tuning import grid_trials

    lr_before, hiddens_before = base_config.lr, list(base_config.model_config["fcnet_hiddens"])
    rates, sizes = [1e-3, 3e-3], [[32], [64, 64]]
    space = param_space(base_config, rates, sizes)
    assert space is not None, "param_space returned None: return the new config."
    assert isinstance(space, AlgorithmConfig), (
        f"param_space should return a config (like base_config, a {type(base_config).__name__}), "
        f"got {type(space).__name__}."
    )
    assert base_config.lr == lr_before and list(base_config.model_config["fcnet_hiddens"]) == hiddens_before, (
        "param_space changed base_config itself (a config's .training() and .rl_module() change the config "
        "they are called on): start from base_config.copy()."
    )
    assert isinstance(space.to_dict().get("lr"), dict) and "grid_search" in space.to_dict()["lr"], (
        f"The learning rate is {space.lr!r}, not a search: use lr=tune.grid_search(learning_rates) in .training()."
    )
    trials = grid_trials(space, SEARCHED)
    expected = _pairs([{"lr": r, "fcnet_hiddens": s} for r in rates for s in sizes])
    assert len(trials) == len(expected), (
        f"With 2 learning rates and 2 network sizes Tune should make 4 trials (every combination), "
        f"but this param_space makes {len(trials)}. Put a tune.grid_search on both settings."
    )
    got = _pairs(trials)
    assert got == expected, (
        f"The trials would train with (lr, fcnet_hiddens) = {got}, expected every combination of {rates} and "
        f"{sizes}. Search the network size with .rl_module(model_config={{'fcnet_hiddens': tune.grid_search(...)}})."
    )
    kept = {"num_env_runners": base_config.num_env_runners, "train_batch_size_per_learner":
            base_config.train_batch_size_per_learner, "seed": base_config.seed}
    for name, value in kept.items():
        actual = getattr(space, name)
        assert actual == value, f"{name} is {actual!r} in the param space but {value!r} in base_config: keep the rest."
    _passed("param_space searches every learning rate with every network size and leaves base_config as it was.")


def check_best_settings(best_settings) -> None:
    """Exercise 6b: the best trial's settings from a result table."""
    import pandas as pd

    from arena_lib.tuning import METRIC

    nan = float("nan")
    table = pd.DataFrame({
        "config/lr": [1e-3, 3e-3, 1e-2],
        "config/_model_config/fcnet_hiddens": [[32], [64, 64], [32]],
        METRIC: [4.0, 11.5, nan],
        "time_total_s": [30.0, 21.0, 9.0],
    })
    settings = ["config/lr", "config/_model_config/fcnet_hiddens"]
    got = best_settings(table, settings)
    assert got is not None, "best_settings returned None for a table with results: return a dict."
    assert isinstance(got, dict), f"best_settings should return a dict {{setting: value}}, got {type(got).__name__}."
    assert set(got) == set(settings), f"The dict needs exactly the keys {settings} (the settings asked for), got {sorted(got)}."
    expected = {"config/lr": 3e-3, "config/_model_config/fcnet_hiddens": [64, 64]}
    assert _same(got, expected), (
        f"For a table whose returns are 4.0, 11.5 and nan, the best trial is the one with 11.5, "
        f"whose settings are {expected}; you returned {_shown(got)}. A trial without a return (nan) cannot be the best."
    )
    got = best_settings(table, ["config/lr"], metric="time_total_s", mode="min")
    assert isinstance(got, dict) and _same(got, {"config/lr": 1e-2}), (
        f"With metric='time_total_s' and mode='min' the best trial is the fastest (9.0 s, lr 0.01); "
        f"you returned {_shown(got)}. Use the metric and mode you are given."
    )
    shuffled = table.iloc[[2, 0, 1]].set_axis(["c", "a", "b"])
    advice = "Pick the row by its label (table.loc[label]) or by its position (table.iloc[position]), not by mixing the two."
    try:
        got = best_settings(shuffled, ["config/lr"])
    except (KeyError, IndexError, TypeError) as error:
        raise AssertionError(f"The same table with its rows in another order and the index labels 'c', 'a', 'b' "
                             f"made best_settings fail ({type(error).__name__}: {error}). {advice}") from error
    assert isinstance(got, dict) and _same(got, {"config/lr": 3e-3}), (
        f"The same table with its rows in another order and the index labels 'c', 'a', 'b' gave {_shown(got)}. {advice}"
    )
    empty = best_settings(table.assign(**{METRIC: nan}), settings)
    assert empty is None, f"When no trial has a value for the metric, return None; you returned {_shown(empty)!r}."
    _passed("best_settings picks the best trial by the metric and mode, skips trials without a value, "
            "and returns its settings.")


def _shown(value):
    """A result as a student would write it: numpy's numbers as plain ones (0.001, not np.float64(0.001))."""
    if isinstance(value, dict):
        return {key: _shown(item) for key, item in value.items()}
    return value.item() if isinstance(value, np.generic) else value


def _same(got: dict, expected: dict) -> bool:
    def equal(a, b):
        if isinstance(b, numbers.Real) and isinstance(a, numbers.Real):
            return math.isclose(a, b, rel_tol=1e-9)
        try:
            return list(a) == list(b)
        except TypeError:
            return a == b

    return set(got) == set(expected) and all(equal(got[k], expected[k]) for k in expected)


# Appendix (notebook 7, TensorFlow on the old API stack).
def check_policies_2021(policies, policy_mapping_fn) -> None:
    """Exercise 7a: the 2021 policies dict of 4-tuples and a mapping function with `worker`."""
    assert isinstance(policies, dict), (
        f"policies should be a dict {{policy id: (policy class, observation space, action space, overrides)}}, "
        f"got {type(policies).__name__}."
    )
    assert set(policies) == {"policy1", "policy2"}, f"The policy ids are {sorted(policies)}; use 'policy1' and 'policy2'."
    for pid, spec in sorted(policies.items()):
        assert isinstance(spec, tuple) and len(spec) == 4, (
            f"policies[{pid!r}] is {spec!r}; in 2021's form it is a 4-tuple "
            "(policy class or None, observation space or None, action space or None, config overrides dict)."
        )
        assert spec[0] is None, f"policies[{pid!r}][0] is {spec[0]!r}: use None for PPO's default (TensorFlow) policy class."
        assert isinstance(spec[3], dict), f"policies[{pid!r}][3] should be a dict of config overrides, got {spec[3]!r}."
    assert policies["policy1"][3] == {}, f"policy1 keeps the algorithm's settings: its overrides are {{}}, not {policies['policy1'][3]!r}."
    assert policies["policy2"][3] == {"lr": 2e-4}, (
        f"policy2 learns with its own learning rate: its overrides should be {{'lr': 0.0002}}, got {policies['policy2'][3]!r}."
    )
    for agent, expected in (("agent1", "policy1"), ("agent2", "policy2")):
        try:
            got = policy_mapping_fn(agent, None, worker=None)
        except TypeError as error:
            raise AssertionError(
                f"policy_mapping_fn({agent!r}, episode, worker=...) failed ({error}): the old API stack passes "
                "`worker` by name; define it as policy_mapping_fn(agent_id, episode, worker, **kwargs)."
            ) from error
        assert got == expected, f"policy_mapping_fn sends {agent!r} to {got!r}; it should go to {expected!r}."
    _passed("Two policies in 2021's form (policy2 with its own learning rate), and each agent mapped to its own.")
