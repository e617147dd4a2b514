"""TensorFlow for the appendix only (arena_lib/tf_appendix.py): the course's processes
never import it, and the 2021 way (old API stack, framework "tf", 4-tuple policies)
still trains on this Ray. When a new Ray drops the old stack, the slow test says so."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from arena_lib.tf_appendix import TF_SITE


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=600)


def test_the_course_never_imports_tensorflow():
    """RLlib imports TensorFlow wherever it can: it must not find it outside the appendix."""
    assert (TF_SITE / "tensorflow").is_dir(), f"make setup installs TensorFlow into {TF_SITE}"
    done = run_python("""
        import sys
        from arena_lib import MultiAgentArena, start_ray
        from arena_lib.training import arena_ppo_config
        print("tensorflow" in sys.modules)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"], "the course's processes import TensorFlow: each pays ~3 s and 0.5 GB"


def test_tensorflow_after_rllib_says_to_restart_the_kernel():
    done = run_python("""
        import ray.rllib
        from arena_lib.tf_appendix import use_tensorflow
        use_tensorflow()
    """)
    assert "TensorFlowTooLate" in done.stderr and "Restart the kernel" in done.stderr, done.stderr


@pytest.mark.slow
def test_the_2021_way_trains_with_tensorflow_on_the_old_api_stack():
    done = run_python("""
        from arena_lib.tf_appendix import use_tensorflow
        use_tensorflow()
        import ray
        from ray.rllib.algorithms.ppo import PPOConfig
        if not hasattr(PPOConfig, "api_stack"):
            raise SystemExit(f"ray {ray.__version__} has no old API stack any more: the TensorFlow appendix cannot run")
        from arena_lib import MultiAgentArena, start_ray

        start_ray()
        policies = {"policy1": (None, None, None, {}), "policy2": (None, None, None, {"lr": 2e-4})}

        def policy_mapping_fn(agent_id, episode, worker, **kwargs):
            return "policy1" if agent_id == "agent1" else "policy2"

        try:
            config = (
                PPOConfig()
                .api_stack(enable_rl_module_and_learner=False, enable_env_runner_and_connector_v2=False)
                .framework("tf")
                .environment(MultiAgentArena, env_config={"width": 10, "height": 10, "ts": 100})
                .env_runners(num_env_runners=0, num_envs_per_env_runner=10)
                .training(train_batch_size=1000, lr=3e-3, model={"fcnet_hiddens": [64, 64]})
                .multi_agent(policies=policies, policy_mapping_fn=policy_mapping_fn)
                .debugging(seed=1, log_level="ERROR")
            )
            algo = config.build_algo()
        except Exception as error:
            raise SystemExit(f"ray {ray.__version__}: PPO with TensorFlow on the old API stack, which the "
                             f"TensorFlow appendix needs, fails to build: {type(error).__name__}: {error}")
        result = algo.train()
        obs, _ = MultiAgentArena({"width": 10, "height": 10, "ts": 100}).reset(seed=0)
        action = algo.compute_single_action(obs["agent1"], policy_id="policy1", explore=False)
        print(result["env_runners"]["num_episodes"], int(action), algo.get_policy("policy2").config["lr"])
        algo.stop()
        ray.shutdown()
    """)
    assert done.returncode == 0, done.stdout + done.stderr
    episodes, action, lr = done.stdout.split()
    assert int(episodes) >= 10 and 0 <= int(action) < 4 and float(lr) == 2e-4
    assert done.stderr == "", f"TensorFlow or RLlib printed to stderr (a notebook must not):\n{done.stderr}"
