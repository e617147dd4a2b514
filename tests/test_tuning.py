"""arena_lib.tuning: Tune's grid read back, the quiet progress view and its checks. No Ray
is started here: the search itself runs in the notebook (test_binder.py), the cluster in
test_cluster.py, and notebook 6's exercises in test_exercises.py."""

from __future__ import annotations

import types

import pandas as pd
import pytest
from ray import tune
from ray.tune.execution.placement_groups import PlacementGroupFactory

from arena_lib import tuning
from arena_lib.exercises.tune_and_scale import SEARCHED
from arena_lib.training import COURSE_SETTINGS, arena_ppo_config
from arena_lib.tuning import TRIAL_CHATTER, TrialsDoNotFit, check_trials_fit, grid_trials, trial_label
from tests.notebook_tools import run_solution

# Notebook 6's param_space, as its reference solution writes it.
param_space = run_solution("06_tune_and_scale", "tune_param_space", {"tune": tune})["param_space"]


@pytest.fixture
def base_config():
    return arena_ppo_config(seed=1).env_runners(num_env_runners=0)


def test_grid_trials_are_every_combination_as_tune_makes_them(base_config):
    trials = grid_trials(param_space(base_config, [1e-3, 3e-3], [[32], [64, 64]]), SEARCHED)
    assert sorted(map(str, trials)) == sorted(map(str, [
        {"lr": lr, "fcnet_hiddens": size} for lr in (1e-3, 3e-3) for size in ([32], [64, 64])]))
    # Without a search, one trial: the base config's own settings.
    assert grid_trials(base_config, SEARCHED) == [{"lr": COURSE_SETTINGS["lr"], "fcnet_hiddens": [64, 64]}]


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
