"""Hyperparameter search with Ray Tune: a quiet progress view and reading a search back.

Tune's own report in a notebook is a table of all trials, redrawn every few
seconds, and every trial process forwards its log records to the notebook.
``TrialProgress`` shows one progress bar per trial instead.
"""

from __future__ import annotations

import re

from ray.tune import ProgressReporter

from arena_lib.ray_setup import skip_forwarded_lines

# The metric the course searches on: agent1's + agent2's mean episode return.
METRIC = "env_runners/episode_return_mean"

# Lines that trial processes forward to the notebook and students cannot act on:
# log records below ERROR in Ray's format, RLlib's "new API stack" notice, Tune's
# note about GPU monitoring, checkpoint confirmations, deprecation notices.
TRIAL_CHATTER = re.compile(
    r"^\S+ \S+\s+(DEBUG|INFO|WARNING) \S+:\d+ -- "
    r"|^Install gputil for GPU system monitoring"
    r"|^Checkpoint successfully created at"
    r"|DeprecationWarning"
)


def hide_trial_chatter() -> None:
    """Stop Ray from printing the trial processes' informational lines in this notebook.

    Tune runs each trial's algorithm in a process of its own, which logs at
    Ray's default level (INFO); the course's driver logs errors only. Errors and
    tracebacks from trials still show. (Ray's log deduplicators, as
    ``ray_setup.hide_worker_deprecation_notices``.)
    """
    skip_forwarded_lines(TRIAL_CHATTER)  # it includes the deprecation notices start_ray() hides


def short_name(parameter: str) -> str:
    """``"_model_config/fcnet_hiddens"`` -> ``"fcnet_hiddens"``."""
    return parameter.rsplit("/", 1)[-1]


def trial_label(params: dict) -> str:
    """``{"lr": 0.001, "_model_config/fcnet_hiddens": [32]}`` -> ``"fcnet_hiddens=[32] lr=0.001"``."""
    return " ".join(f"{short_name(k)}={v:g}" if isinstance(v, float) else f"{short_name(k)}={v}"
                    for k, v in sorted(params.items()))


class TrialProgress(ProgressReporter):
    """Tune's progress report as one progress bar per trial (its settings, iterations
    and mean return) instead of Tune's tables; also hides the trials' informational
    log lines. Use it as ``tune.RunConfig(progress_reporter=TrialProgress(...))``."""

    def __init__(self, max_iterations: int, metric: str = METRIC):
        self.max_iterations = max_iterations
        self.metric = metric
        self.bars = {}
        self.checked = False

    def setup(self, **kwargs):
        hide_trial_chatter()

    def should_report(self, trials, done=False):
        return True  # called at every step of Tune's loop; report() only redraws what changed

    def report(self, trials, done, *sys_info):
        from tqdm.auto import tqdm

        if not self.checked and trials:
            self.checked = True
            check_trials_fit(trials)
        for trial in trials:
            if trial.status == "PENDING" or self.bars.get(trial.trial_id, False) is None:
                continue  # not started yet, or its bar is already closed
            bar = self.bars.get(trial.trial_id)
            if bar is None:
                bar = self.bars[trial.trial_id] = tqdm(
                    total=self.max_iterations, desc=trial_label(trial.evaluated_params), unit="iter")
            result = trial.last_result or {}
            if result.get("training_iteration", 0) > bar.n:
                bar.set_postfix({"return": f"{_lookup(result, self.metric):.1f}"}, refresh=False)
                bar.update(result["training_iteration"] - bar.n)
            if trial.status in ("TERMINATED", "ERROR"):
                bar.close()
                self.bars[trial.trial_id] = None


class TrialsDoNotFit(RuntimeError):
    """A trial asks for more CPUs than the whole Ray cluster has: it would never start."""


def check_trials_fit(trials) -> None:
    """Fail at once, in words, where Tune would wait forever (it only logs a warning every
    minute, which the course's quiet logging hides)."""
    import ray

    have = ray.cluster_resources().get("CPU", 0)
    for trial in trials:
        need = trial.placement_group_factory.required_resources.get("CPU", 0)
        if need > have:
            raise TrialsDoNotFit(
                f"Each trial asks Ray for {need:g} CPUs (one for the algorithm and its Learner, one per "
                f"EnvRunner), but Ray has {have:g}: no trial could ever start. Use fewer EnvRunners; "
                "with num_env_runners=0 a trial samples in its own process and needs one CPU."
            )


def _lookup(result: dict, key: str) -> float:
    """``result["env_runners"]["episode_return_mean"]`` for ``"env_runners/episode_return_mean"``."""
    for part in key.split("/"):
        result = result.get(part, float("nan")) if isinstance(result, dict) else float("nan")
    return result


def grid_trials(param_space, settings: dict) -> list[dict]:
    """The trials a Tune grid search over ``param_space`` (an AlgorithmConfig or a dict)
    makes, each as ``{name: value}`` for ``settings`` (name -> key path such as
    ``"_model_config/fcnet_hiddens"``), resolved by Tune's own variant generator."""
    from ray.tune.search.variant_generator import generate_variants

    space = param_space.to_dict() if hasattr(param_space, "to_dict") else dict(param_space)
    trials = []
    for _, resolved in generate_variants(space):
        row = {}
        for name, path in settings.items():
            value = resolved
            for key in path.split("/"):
                value = value.get(key) if isinstance(value, dict) else getattr(value, key, None)
            row[name] = list(value) if isinstance(value, tuple) else value
        trials.append(row)
    return trials
