"""Notebook 06 (tuning and scaling out): exercise 6a, a search space; 6b, the best trial's settings.
(arena_lib.tuning is imported where used: ray.tune is slow to import.)"""

from __future__ import annotations

from arena_lib.answers import same_answer
from arena_lib.exercises import attempt, passed, self_check, shown

GRADED_NAMES = ("param_space", "best_settings")
# Nothing in arena_lib builds a search space or picks a trial for a student.
WRITE_YOUR_OWN = {}

# The settings a search varies, as (name -> key path in the config's dict): what grid_trials reads.
SEARCHED = {"lr": "lr", "fcnet_hiddens": "_model_config/fcnet_hiddens"}


def _pairs(trials: list[dict]) -> list:
    return sorted(([t["lr"], t["fcnet_hiddens"]] for t in trials), key=repr)


@self_check
def check_param_space(param_space) -> None:
    """Exercise 6a: a config with a grid search (from the course's config, as the notebook's)."""
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    from arena_lib.training import arena_ppo_config
    from arena_lib.tuning import grid_trials

    base_config = arena_ppo_config(seed=1).env_runners(num_env_runners=0)
    lr_before, hiddens_before = base_config.lr, list(base_config.model_config["fcnet_hiddens"])
    rates, sizes = [1e-3, 3e-3], [[32], [64, 64]]
    space = attempt(param_space, base_config, rates, sizes)
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
    assert same_answer(expected, got), (
        f"The trials would train with (lr, fcnet_hiddens) = {got}, expected every combination of {rates} and "
        f"{sizes}. Search the network size with .rl_module(model_config={{'fcnet_hiddens': tune.grid_search(...)}})."
    )
    kept = {"num_env_runners": base_config.num_env_runners, "train_batch_size_per_learner":
            base_config.train_batch_size_per_learner, "seed": base_config.seed}
    for name, value in kept.items():
        actual = getattr(space, name)
        assert same_answer(value, actual), (
            f"{name} is {actual!r} in the param space but {value!r} in base_config: keep the rest.")
    passed("param_space searches every learning rate with every network size and leaves base_config as it was.")


@self_check
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
    got = attempt(best_settings, table, settings)
    assert got is not None, "best_settings returned None for a table with results: return a dict."
    assert isinstance(got, dict), f"best_settings should return a dict {{setting: value}}, got {type(got).__name__}."
    assert set(got) == set(settings), f"The dict needs exactly the keys {settings} (the settings asked for), got {sorted(got)}."
    expected = {"config/lr": 3e-3, "config/_model_config/fcnet_hiddens": [64, 64]}
    assert same_answer(expected, got), (
        f"For a table whose returns are 4.0, 11.5 and nan, the best trial is the one with 11.5, "
        f"whose settings are {expected}; you returned {shown(got)}. A trial without a return (nan) cannot be the best."
    )
    got = attempt(best_settings, table, ["config/lr"], metric="time_total_s", mode="min")
    assert isinstance(got, dict) and same_answer({"config/lr": 1e-2}, got), (
        f"With metric='time_total_s' and mode='min' the best trial is the fastest (9.0 s, lr 0.01); "
        f"you returned {shown(got)}. Use the metric and mode you are given."
    )
    shuffled = table.iloc[[2, 0, 1]].set_axis(["c", "a", "b"])
    advice = "Pick the row by its label (table.loc[label]) or by its position (table.iloc[position]), not by mixing the two."
    try:
        got = best_settings(shuffled, ["config/lr"])
    except (KeyError, IndexError, TypeError) as error:
        raise AssertionError(f"The same table with its rows in another order and the index labels 'c', 'a', 'b' "
                             f"made best_settings fail ({type(error).__name__}: {error}). {advice}") from error
    assert isinstance(got, dict) and same_answer({"config/lr": 3e-3}, got), (
        f"The same table with its rows in another order and the index labels 'c', 'a', 'b' gave {shown(got)}. {advice}"
    )
    empty = attempt(best_settings, table.assign(**{METRIC: nan}), settings,
                    advice="When no trial has a value for the metric, return None.")
    assert empty is None, f"When no trial has a value for the metric, return None; you returned {shown(empty)!r}."
    passed("best_settings picks the best trial by the metric and mode, skips trials without a value, "
           "and returns its settings.")
