"""arena_lib.tuning (Tune's grid read back, the quiet progress view and its checks) and
the self-checks of notebook 6's exercises. No Ray is started here: the search itself runs
in the notebook (test_binder.py) and the cluster in test_cluster.py."""

from __future__ import annotations

import math
import types

import pandas as pd
import pytest
from ray import tune
from ray.tune.execution.placement_groups import PlacementGroupFactory

from arena_lib import tuning
from arena_lib.training import COURSE_SETTINGS, arena_ppo_config
from arena_lib.checks import check_best_settings, check_param_space
from arena_lib.tuning import METRIC, TRIAL_CHATTER, TrialsDoNotFit, check_trials_fit, grid_trials, trial_label

SEARCHED = {"lr": "lr", "fcnet_hiddens": "_model_config/fcnet_hiddens"}


def param_space(base_config, learning_rates, network_sizes):  # notebook 6's solution
    return (base_config.copy().training(lr=tune.grid_search(list(learning_rates)))
            .rl_module(model_config={"fcnet_hiddens": tune.grid_search([list(s) for s in network_sizes])}))


def best_settings(table, settings, metric=METRIC, mode="max"):  # notebook 6's solution
    scored = table.dropna(subset=[metric])
    if scored.empty:
        return None
    best = scored[metric].idxmax() if mode == "max" else scored[metric].idxmin()
    return {setting: scored.loc[best, setting] for setting in settings}


@pytest.fixture
def base_config():
    return arena_ppo_config(seed=1).env_runners(num_env_runners=0)


def test_grid_trials_are_every_combination_as_tune_makes_them(base_config):
    trials = grid_trials(param_space(base_config, [1e-3, 3e-3], [[32], [64, 64]]), SEARCHED)
    assert sorted(map(str, trials)) == sorted(map(str, [
        {"lr": lr, "fcnet_hiddens": size} for lr in (1e-3, 3e-3) for size in ([32], [64, 64])]))
    # Without a search, one trial: the base config's own settings.
    assert grid_trials(base_config, SEARCHED) == [{"lr": COURSE_SETTINGS["lr"], "fcnet_hiddens": [64, 64]}]


def test_param_space_check_passes_the_solution_and_says_what_is_wrong(base_config, capsys):
    check_param_space(param_space, base_config)
    assert "✔" in capsys.readouterr().out

    def changes_base(base, rates, sizes):
        return base.training(lr=tune.grid_search(rates)).rl_module(model_config={"fcnet_hiddens": tune.grid_search(sizes)})

    def learning_rate_only(base, rates, sizes):
        return base.copy().training(lr=tune.grid_search(rates))

    def fixed_list(base, rates, sizes):
        return base.copy().training(lr=rates)

    def as_dict(base, rates, sizes):
        return {**base.to_dict(), "lr": tune.grid_search(rates)}

    for wrong, words in [(changes_base, "base_config.copy()"), (learning_rate_only, "4 trials"),
                         (fixed_list, "not a search"), (as_dict, "should return a config")]:
        with pytest.raises(AssertionError, match=words.replace("(", r"\(").replace(")", r"\)")):
            check_param_space(wrong, arena_ppo_config(seed=1).env_runners(num_env_runners=0))


def test_best_settings_check_passes_the_solution_and_says_what_is_wrong(capsys):
    check_best_settings(best_settings)
    assert "✔" in capsys.readouterr().out

    def first_row(table, settings, metric=METRIC, mode="max"):
        return {s: table.iloc[0][s] for s in settings}

    def ignores_mode(table, settings, metric=METRIC, mode="max"):
        return best_settings(table, settings, metric, "max")

    def mixes_label_and_position(table, settings, metric=METRIC, mode="max"):
        scored = table.dropna(subset=[metric])
        label = scored[metric].idxmax() if mode == "max" else scored[metric].idxmin()
        return {s: scored.iloc[label][s] for s in settings}  # a label used as a position

    def never_none(table, settings, metric=METRIC, mode="max"):
        return best_settings(table, settings, metric, mode) or {s: math.nan for s in settings}

    for wrong, words in [(first_row, "11.5"), (ignores_mode, "mode='min'"), (never_none, "return None"),
                         (mixes_label_and_position, "by its label")]:
        with pytest.raises(AssertionError, match=words):
            check_best_settings(wrong)


def test_trial_label_is_short_and_sorted():
    assert trial_label({"lr": 0.001, "_model_config/fcnet_hiddens": [64, 64]}) == "fcnet_hiddens=[64, 64] lr=0.001"


def test_a_trial_that_needs_more_cpus_than_ray_has_fails_in_words(monkeypatch):
    import ray

    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 2.0})
    trial = types.SimpleNamespace(placement_group_factory=PlacementGroupFactory([{"CPU": 1}] * 3))
    with pytest.raises(TrialsDoNotFit, match="asks Ray for 3 CPUs .* but Ray has 2"):
        check_trials_fit([trial])
    check_trials_fit([types.SimpleNamespace(placement_group_factory=PlacementGroupFactory([{"CPU": 1}] * 2))])


@pytest.mark.parametrize("line, hidden", [
    ("2026-11-25 22:35:55,405\tWARNING algorithm_config.py:5160 -- You are running PPO on the new API stack!", True),
    ("Install gputil for GPU system monitoring.", True),
    ("Checkpoint successfully created at: Checkpoint(filesystem=local, path=/tmp/x)", True),
    ("/x/ray/rllib/core/rl_module/rl_module.py:123: DeprecationWarning: RLModuleConfig", True),
    ("2026-11-25 22:35:55,405\tERROR trial_runner.py:10 -- Trial PPO_1 errored", False),
    ("Traceback (most recent call last):", False),
    ("ValueError: num_envs_per_env_runner must be > 0", False),
])
def test_trial_chatter_is_hidden_but_errors_are_not(line, hidden):
    assert bool(TRIAL_CHATTER.search(line)) is hidden


def test_results_table_columns_of_the_notebook_match_tunes_flattening(base_config):
    # results.get_dataframe() flattens the trial's config with "/": the columns notebook 6 names.
    flat = pd.json_normalize(param_space(base_config, [1e-3], [[8]]).to_dict(), sep="/")
    assert {"lr/grid_search", "_model_config/fcnet_hiddens/grid_search"} <= set(flat.columns)
    assert tuning.short_name("config/_model_config/fcnet_hiddens") == "fcnet_hiddens"
