"""A minimal single-process PyTorch PPO on the arena: the yardstick that
bench/time_to_reward.py runs beside the RLlib configs (not course material).

    python -m bench.ppo_reference [SEED ...]

It mirrors the course's setup: one policy per agent, observations one-hot
encoded as the course's flatten_observations connector does, [64, 64] tanh
nets with a separate value net, 1000 env steps per iteration (10 envs x one
100-step episode), 5 epochs of 256-sample minibatches, Adam lr 3e-3. The rest
is textbook PPO: clip 0.2, GAE with lambda 0.95, advantages standardized per
batch. Prints one JSON line per seed, with the keys of bench/time_to_reward.py's
child.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque

import numpy as np
import torch
from torch import nn

from arena_lib.env import AGENTS, MultiAgentArena

ENV_CONFIG = {"width": 10, "height": 10, "ts": 100}
NUM_ENVS = 10
STEPS_PER_ENV = 100  # 10 x 100 = the course's 1000-step batch: one whole episode per env
NUM_EPOCHS = 5
MINIBATCH_SIZE = 256
LR = 3e-3
CLIP = 0.2
GAMMA = 0.99  # the course sets none; RLlib's default is 0.99 too
# The common PPO value, and the course's (RLlib's default is 1.0, which takes more
# iterations to the target here).
LAMBDA = 0.95
ENTROPY_COEFF = 0.0  # the course sets none; RLlib's default is 0
VF_LOSS_COEFF = 1.0  # RLlib's default
# RLlib's episode_return_mean averages the last 100 episodes.
RETURN_WINDOW = 100


def mlp(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, outputs))


class ActorCritic(nn.Module):
    """Policy and value function as two separate nets (RLlib's default: no shared layers)."""

    def __init__(self, cells_per_component, num_actions: int):
        super().__init__()
        self.cells_per_component = [int(n) for n in cells_per_component]
        inputs = sum(self.cells_per_component)
        self.policy, self.value = mlp(inputs, num_actions), mlp(inputs, 1)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """One-hot each MultiDiscrete component and concatenate, like FlattenObservations."""
        return torch.cat([nn.functional.one_hot(obs[..., i], n) for i, n in
                          enumerate(self.cells_per_component)], dim=-1).float()

    def forward(self, obs: torch.Tensor):
        x = self.encode(obs)
        return torch.distributions.Categorical(logits=self.policy(x)), self.value(x).squeeze(-1)


def advantages_and_targets(rewards, values, next_values, dones):
    """GAE over [steps, envs] arrays; ``next_values`` already holds V(final obs) at a
    truncation (the time limit is not a terminal state), and GAE stops at ``dones``."""
    advantages = np.zeros_like(rewards)
    running = np.zeros(rewards.shape[1], dtype=np.float32)
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + GAMMA * next_values[t] - values[t]
        running = delta + GAMMA * LAMBDA * (1.0 - dones[t]) * running
        advantages[t] = running
    return advantages, advantages + values


def ppo_update(net, optimizer, obs, actions, old_log_probs, advantages, targets):
    # Standardized over the whole batch, as RLlib's GAE connector does.
    advantages = (advantages - advantages.mean()) / max(advantages.std().item(), 1e-4)
    for _ in range(NUM_EPOCHS):
        for batch in torch.randperm(len(obs)).split(MINIBATCH_SIZE):
            dist, value = net(obs[batch])
            ratio = torch.exp(dist.log_prob(actions[batch]) - old_log_probs[batch])
            surrogate = torch.min(ratio * advantages[batch],
                                  ratio.clamp(1 - CLIP, 1 + CLIP) * advantages[batch])
            loss = (-surrogate.mean() + VF_LOSS_COEFF * (value - targets[batch]).pow(2).mean()
                    - ENTROPY_COEFF * dist.entropy().mean())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def collect_rollout(envs, nets, obs, episode_returns, finished_returns):
    """Step every env STEPS_PER_ENV times, one batched forward per agent and step.

    Returns per agent [steps, envs] tensors and arrays, and the obs to continue from.
    """
    batch = {agent: {key: [] for key in ("obs", "actions", "log_probs", "values", "rewards",
                                         "bootstrap", "dones")} for agent in AGENTS}
    for _ in range(STEPS_PER_ENV):
        actions = {}
        for agent in AGENTS:
            agent_obs = torch.as_tensor(np.stack([o[agent] for o in obs]))
            dist, value = nets[agent](agent_obs)
            actions[agent] = dist.sample()
            for key, item in (("obs", agent_obs), ("actions", actions[agent]),
                              ("log_probs", dist.log_prob(actions[agent])), ("values", value)):
                batch[agent][key].append(item)
        chosen = {agent: actions[agent].tolist() for agent in AGENTS}
        steps = [env.step({agent: chosen[agent][i] for agent in AGENTS}) for i, env in enumerate(envs)]
        obs = [step[0] for step in steps]
        terminated = np.array([step[2]["__all__"] for step in steps], dtype=np.float32)
        dones = np.maximum(terminated, [step[3]["__all__"] for step in steps])
        for agent in AGENTS:
            rewards = np.array([step[1][agent] for step in steps], dtype=np.float32)
            episode_returns += rewards  # agent1 + agent2, as RLlib's episode return
            # The time limit is no terminal state: bootstrap from V(last obs), read before the reset.
            bootstrap = np.zeros(len(envs), dtype=np.float32)
            if dones.any():
                last_obs = torch.as_tensor(np.stack([o[agent] for o in obs]))
                bootstrap = nets[agent](last_obs)[1].numpy() * (1.0 - terminated)
            for key, item in (("rewards", rewards), ("bootstrap", bootstrap), ("dones", dones)):
                batch[agent][key].append(item)
        for i, env in enumerate(envs):
            if dones[i]:
                finished_returns.append(float(episode_returns[i]))
                episode_returns[i] = 0.0
                obs[i] = env.reset()[0]
    for agent in AGENTS:
        # V of the obs the next rollout starts from bootstraps an episode cut by the rollout's end.
        _, last_value = nets[agent](torch.as_tensor(np.stack([o[agent] for o in obs])))
        batch[agent]["values"].append(last_value)
        batch[agent] = {key: torch.stack(items) if torch.is_tensor(items[0]) else np.stack(items)
                        for key, items in batch[agent].items()}
    return batch, obs


def train_to_target(seed: int, cap: float, target: float = 10.0) -> dict:
    """Train until the mean total return of the last 100 episodes reaches ``target``
    (checked after each iteration) or ``cap`` seconds pass."""
    torch.set_num_threads(1)  # a yardstick for 2 cores: one process, one thread
    np.random.seed(seed)
    torch.manual_seed(seed)
    envs = [MultiAgentArena(ENV_CONFIG) for _ in range(NUM_ENVS)]
    nets = {agent: ActorCritic(envs[0].observation_spaces[agent].nvec, envs[0].action_spaces[agent].n)
            for agent in AGENTS}
    optimizers = {agent: torch.optim.Adam(nets[agent].parameters(), lr=LR) for agent in AGENTS}
    obs = [env.reset(seed=seed * NUM_ENVS + i)[0] for i, env in enumerate(envs)]
    episode_returns = np.zeros(NUM_ENVS, dtype=np.float32)
    finished_returns = deque(maxlen=RETURN_WINDOW)
    mean_return, iterations = float("nan"), 0

    started = time.perf_counter()
    while time.perf_counter() - started < cap:
        with torch.no_grad():
            batch, obs = collect_rollout(envs, nets, obs, episode_returns, finished_returns)
        for agent in AGENTS:
            b = batch[agent]
            values = b["values"].numpy()
            next_values = np.where(b["dones"], b["bootstrap"], values[1:])
            advantages, targets = advantages_and_targets(b["rewards"], values[:-1], next_values, b["dones"])
            ppo_update(nets[agent], optimizers[agent], b["obs"].flatten(0, 1), b["actions"].flatten(),
                       b["log_probs"].flatten(), torch.as_tensor(advantages).flatten(),
                       torch.as_tensor(targets).flatten())
        iterations += 1
        mean_return = float(np.mean(finished_returns)) if finished_returns else float("nan")
        if mean_return >= target:
            break
    return {"seconds": time.perf_counter() - started, "reached": bool(mean_return >= target),
            "return": mean_return, "iterations": iterations, "env_steps": iterations * NUM_ENVS * STEPS_PER_ENV}


if __name__ == "__main__":
    for seed in [int(s) for s in sys.argv[1:]] or [1, 2, 3]:
        print(json.dumps({"seed": seed, **train_to_target(seed, cap=300.0)}), flush=True)
