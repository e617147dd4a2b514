"""Notebook 05 (your own RLModule): exercise 5a, a module's forward passes; 5b, one module per policy."""

from __future__ import annotations

from arena_lib.answers import same_answer
from arena_lib.exercises import attempt, check_graded_alone, passed, self_check

GRADED_NAMES = ("CellEmbeddingModule", "cell_module_config")
# Nothing in arena_lib computes a module's forward passes or builds this config for a student.
WRITE_YOUR_OWN = {}

# Exercise 5a's module as the notebook's given setup() builds it (layer names, model_config keys).
CELL_MODULE_CONFIG = {"embedding_dim": 16, "hiddens": [64]}
# Tensors are compared at this many decimals: float32 sums in another order differ further down.
DECIMALS = 4

# Exercise 5a's self-check: a module of 9 cells with these settings and fixed weights, and what
# the reference solution computes with it (recorded, as data: tests/test_exercises.py checks
# that it still is what the reference gives).
CHECKED_SETTINGS = {"embedding_dim": 3, "hiddens": [8]}
CHECKED_WEIGHTS_SEED = 5
CHECKED_OBSERVATIONS = [[0, 8], [4, 4], [8, 0]]
CHECKED_SEQUENCES = [[[0, 1], [2, 3], [4, 5]], [[5, 4], [3, 2], [1, 0]]]
EXPECTED = {
    "logits": [[-3.1296, 0.5928, -0.3752, -3.1369], [-2.8218, -1.0032, 1.4285, -3.116],
               [-0.415, -3.1917, 1.2218, -4.6546]],
    "embeddings": [[-0.4863, -1.3523, -0.7203, -1.4009, 0.6846, 1.3142], [-0.1214, -0.688, 0.2543, -0.1214, -0.688, 0.2543],
                   [-1.4009, 0.6846, 1.3142, -0.4863, -1.3523, -0.7203]],
    "values": [3.8766, 1.5943, -2.7536],
    "values of zero embeddings": [0.7513, 0.7513, 0.7513],
    "values of 2 sequences of 3": [[0.08, -0.9546, -1.7197], [1.0299, 0.7709, 0.1191]],
}


def rounded(tensor) -> list:
    """A tensor's values as nested lists, rounded to ``DECIMALS`` (how answers compare)."""
    import torch

    return torch.round(tensor.detach().double(), decimals=DECIMALS).tolist()


def _tensor_problem(name: str, got, shape: tuple) -> str | None:
    import torch

    if not torch.is_tensor(got):
        return f"{name} should be a torch tensor, got {type(got).__name__}."
    if tuple(got.shape) != shape:
        return f"{name} should have the shape {shape}, got {tuple(got.shape)}."
    return None


def _same_tensor(expected: list, got) -> bool:
    return same_answer(expected, rounded(got))


@self_check
def check_cell_module(module_class) -> None:
    """Exercise 5a: the forward passes and the values of a custom PPO RLModule."""
    check_graded_alone(module_class, GRADED_NAMES)
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
    from arena_lib.models import set_fixed_weights

    module = module_class(observation_space=gym.spaces.MultiDiscrete([9, 9]), action_space=gym.spaces.Discrete(4),
                          model_config=dict(CHECKED_SETTINGS))
    set_fixed_weights(module, CHECKED_WEIGHTS_SEED)
    batch = {Columns.OBS: torch.tensor(CHECKED_OBSERVATIONS)}
    logits, embedded, values = EXPECTED["logits"], EXPECTED["embeddings"], EXPECTED["values"]
    with torch.no_grad():
        out = module.forward_inference(batch)
        assert isinstance(out, dict) and Columns.ACTION_DIST_INPUTS in out, (
            f"_forward returned {out if not isinstance(out, dict) else 'a dict with the keys ' + str(sorted(out))}; "
            "it should return a dict with the action logits under Columns.ACTION_DIST_INPUTS."
        )
        problem = _tensor_problem("For 3 observations, the logits", out[Columns.ACTION_DIST_INPUTS], (3, 4))
        assert problem is None, problem + " One score per action and observation: self.pi_net(...)."
        assert _same_tensor(logits, out[Columns.ACTION_DIST_INPUTS]), (
            "_forward's logits are not self.pi_net applied to self._embed(batch)."
        )
        for_training = module.forward_train(batch)
        assert isinstance(for_training, dict) and {Columns.ACTION_DIST_INPUTS, Columns.EMBEDDINGS} <= set(for_training), (
            f"_forward_train should return the logits under Columns.ACTION_DIST_INPUTS and the embedded cells under "
            f"Columns.EMBEDDINGS, got {sorted(for_training) if isinstance(for_training, dict) else type(for_training).__name__}."
        )
        problem = _tensor_problem("_forward_train's logits", for_training[Columns.ACTION_DIST_INPUTS], (3, 4))
        assert problem is None and _same_tensor(logits, for_training[Columns.ACTION_DIST_INPUTS]), (
            problem or "_forward_train's logits differ from _forward's: both are self.pi_net(self._embed(batch))."
        )
        problem = _tensor_problem("With embedding_dim=3, the embeddings", for_training[Columns.EMBEDDINGS], (3, 6))
        assert problem is None and _same_tensor(embedded, for_training[Columns.EMBEDDINGS]), (
            problem or "The embeddings in _forward_train's output should be self._embed(batch)."
        )
        got = module.compute_values(batch)
        problem = _tensor_problem("compute_values(batch) for 3 observations", got, (3,))
        if problem and torch.is_tensor(got) and tuple(got.shape) == (3, 1):
            problem += " Squeeze the last dimension away: .squeeze(-1)."
        assert problem is None, problem
        assert _same_tensor(values, got), (
            "compute_values(batch) is not self.vf_net applied to self._embed(batch), squeezed to one value per observation."
        )
        zeros = torch.zeros(3, 6)
        given = module.compute_values(batch, embeddings=zeros)
        assert torch.is_tensor(given) and _same_tensor(EXPECTED["values of zero embeddings"], given.reshape(-1)), (
            "compute_values(batch, embeddings=...) should use the embeddings it is given (PPO's learner passes "
            "those of _forward_train) and compute self._embed(batch) only when embeddings is None."
        )
        sequences = module.compute_values({Columns.OBS: torch.tensor(CHECKED_SEQUENCES)})
        problem = _tensor_problem("For 2 sequences of 3 observations, compute_values", sequences, (2, 3))
        assert problem is None, problem + " Squeeze only the last dimension: .squeeze(-1)."
        assert _same_tensor(EXPECTED["values of 2 sequences of 3"], sequences), (
            "compute_values for 2 sequences of 3 observations is not self.vf_net applied to their embedded cells.")
    passed(f"{module_class.__name__}'s logits, embeddings and values have the right shapes and values.")


@self_check
def check_cell_module_config(cell_module_config, module_class) -> None:
    """Exercise 5b: one RLModule per policy, a custom one for policy1 and the default one for policy2."""
    from arena_lib.models import build_modules, module_spaces
    from arena_lib.training import arena_ppo_config

    base = arena_ppo_config(seed=1)
    config = attempt(cell_module_config, base, module_class, advice=(
        "Return base_config with .env_runners(env_to_module_connector=keep_cell_numbers('agent1')) and "
        ".rl_module(rl_module_spec=MultiRLModuleSpec(...))."))
    assert hasattr(config, "policies"), (
        f"cell_module_config should return a config, got {type(config).__name__}: base_config.env_runners(...)"
        ".rl_module(...) returns it.")
    policies = set(config.policies or {})
    assert policies == {"policy1", "policy2"}, (
        f"The config's policies are {sorted(policies)}: start from base_config, which trains policy1 and policy2."
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
    assert same_answer(CELL_MODULE_CONFIG, settings), (
        f"policy1's module has the settings {settings}; pass model_config={CELL_MODULE_CONFIG} to its RLModuleSpec."
    )
    hiddens = modules["policy2"].model_config.get("fcnet_hiddens")
    assert same_answer([64, 64], hiddens), (
        f"policy2's default module has fcnet_hiddens={hiddens}, not the course's [64, 64]: leave its RLModuleSpec "
        "empty, so that it takes the config's model_config."
    )
    passed(f"policy1 gets {module_class.__name__} (it reads the two cell numbers), policy2 RLlib's default module "
           "(it reads the one-hot vector).")


def one_ppo_update(config, steps: int = 200) -> dict:
    """One PPO update of ``config``'s modules on ``steps`` env steps, in this process and without
    Ray (graded runs start none): an EnvRunner samples, a Learner updates. What the hidden tests of
    5a report: whether policy1's weights changed, and its value loss."""
    import math

    import torch
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner

    from arena_lib.ray_setup import quiet_rllib_logs

    quiet_rllib_logs()
    config = (config.copy(copy_frozen=False).env_runners(num_env_runners=0, num_envs_per_env_runner=1)
              .training(train_batch_size_per_learner=steps, minibatch_size=steps // 2, num_epochs=1))
    runner = MultiAgentEnvRunner(config=config)
    learners = config.build_learner_group(spaces=runner.get_spaces())
    module = learners._learner.module["policy1"]
    before = [p.detach().clone() for p in module.parameters()]
    episodes = runner.sample(num_timesteps=steps, random_actions=False)
    results = learners.update(episodes=episodes, timesteps={"num_env_steps_sampled_lifetime": steps})
    loss = float(results[0]["policy1"]["vf_loss"].peek())
    changed = any(not torch.equal(a, b.detach()) for a, b in zip(before, module.parameters()))
    runner.stop()
    learners.shutdown()
    return {"weights changed": changed, "value loss is a finite number": math.isfinite(loss)}
