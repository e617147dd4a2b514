"""The mistakes students really make, exercise by exercise: each a change of the reference
answer (read from solutions/), the words the self-check must say about it, and, by the
judge, no points. tests/test_exercises.py checks every one both ways; a class built from
them has mistakes whose counts are known. And right answers written otherwise than the
reference (RIGHT_VARIANTS), which both must take as right."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    what: str  # the mistake, in words
    says: str  # what the self-check's message must contain
    edits: tuple  # (old, new) replacements that turn the reference answer into this one
    elsewhere: str = ""  # a cell of the student's, not an exercise cell, run before the answer

    def apply(self, reference: str) -> str:
        source = reference
        for old, new in self.edits:
            assert old in source, f"{self.what!r}: {old!r} is no longer in the reference answer; update the table"
            source = source.replace(old, new)
        return source


ONE_STEP_SHORT = Mistake(
    "plays one step too few", "12 steps",
    (("    while True:\n", "    for _ in range(env.config['ts'] - 1):\n"),
     ("            return totals", "            return totals\n    return totals")))

# (assignment, exercise cell's grade_id) -> the mistakes; its test cell is "<grade_id>_tests".
MISTAKES = {
    ("01_arena", "ex1_run_episode"): [
        ONE_STEP_SHORT,
        Mistake("adds up the other agent's rewards", "differ from the rewards the env gave",
                (("totals[agent] += reward", "totals[agent] += rewards['agent2' if agent == 'agent1' else 'agent1']"),)),
        Mistake("keeps only the last step's reward", "differ from the rewards the env gave",
                (("totals[agent] += reward", "totals[agent] = reward"),)),
        Mistake("stops only at the time limit, not when the episode is terminated", "terminateds['__all__']",
                (('if terminateds["__all__"] or truncateds["__all__"]:', 'if truncateds["__all__"]:'),)),
        Mistake("never looks at truncateds, so it steps past the end", "after the episode was over",
                (('if terminateds["__all__"] or truncateds["__all__"]:', 'if terminateds["__all__"]:'),)),
        Mistake("loops a fixed 99 times and never looks at truncateds", "after the episode was over",
                (("    while True:\n", "    for t in range(99):\n"),
                 ('if terminateds["__all__"] or truncateds["__all__"]:', 'if terminateds["__all__"]:'),
                 ("            return totals", "            return totals\n    return totals"))),
        Mistake("never resets the env", "before env.reset()",
                (("obs, infos = env.reset()", "obs, infos = env._get_obs(), {}"),)),
        Mistake("adds up the rewards with a helper from another cell", "`add_rewards`, defined in another cell",
                (("        for agent, reward in rewards.items():\n            totals[agent] += reward\n",
                  "        add_rewards(totals, rewards)\n"),),
                elsewhere="def add_rewards(totals, rewards):\n    for agent, reward in rewards.items():\n"
                          "        totals[agent] += reward\n"),
    ],
    ("02_first_training", "ex2_summarize_result"): [
        Mistake("swaps agent1's and agent2's returns", "summary['agent1']",
                (('["agent1"],\n        "agent2": runners["agent_episode_returns_mean"]["agent2"]',
                  '["agent2"],\n        "agent2": runners["agent_episode_returns_mean"]["agent1"]'),)),
        Mistake("reads this iteration's env steps, not those since the start", "summary['env_steps']",
                (("num_env_steps_sampled_lifetime", "num_env_steps_sampled"),)),
        Mistake("averages the two agents' returns for the total", "summary['total']",
                (('"total": runners["episode_return_mean"],',
                  '"total": (runners["agent_episode_returns_mean"]["agent1"]'
                  ' + runners["agent_episode_returns_mean"]["agent2"]) / 2,'),)),
    ],
    ("03_multi_agent", "ex3_multi_agent_config"): [
        Mistake("maps every agent to policy1, whatever its id", "sends 'agent2' to 'policy1'",
                (('return "policy1" if agent_id == "agent1" else "policy2"', 'return "policy1"'),)),
        Mistake("names the policies after the agents", "policies are ['agent1', 'agent2']",
                (('policies={"policy1", "policy2"}', 'policies={"agent1", "agent2"}'),)),
        Mistake("forgets to pass the mapping function", "sends 'agent1' to 'shared_policy'",
                ((", policy_mapping_fn=policy_mapping_fn)", ")"),)),
        Mistake("starts from a new config, not from base_config", "start from base_config",
                (("    return base_config.multi_agent(", "    from arena_lib.training import arena_ppo_config\n\n"
                  "    return arena_ppo_config(multi_agent=False).multi_agent("),)),
    ],
    ("03_multi_agent", "ex3_train_until"): [
        Mistake("stops one iteration early", "max_iterations=2, but it returned 1",
                (("range(1, max_iterations + 1)", "range(1, max_iterations)"),)),
        Mistake("never stops at the target", "should stop right after the second",
                (('        if row["total"] >= target:\n            break\n', ""),)),
        Mistake("names the return 'return', not 'total'", "a number under 'total'",
                (('"total": runners.get', '"return": runners.get'), ('row["total"] >= target', 'row["return"] >= target'))),
    ],
    ("04_evaluation", "ex4_greedy_action"): [
        Mistake("hands the module the raw observation, not its one-hot encoding", "one-hot encoding",
                (("encoded = gym.spaces.flatten(observation_space, np.asarray(obs))", "encoded = np.asarray(obs)"),)),
        Mistake("returns a tensor, not an int", "plain int",
                (("return int(torch.argmax(logits[0]))", "return torch.argmax(logits[0])"),)),
        Mistake("takes the least likely action", "the greedy action is",
                (("torch.argmax", "torch.argmin"),)),
    ],
    ("04_evaluation", "ex4_mean_returns"): [
        Mistake("returns the sum over the episodes", "divide by num_episodes",
                (("float(np.mean(values))", "float(np.sum(values))"),)),
        Mistake("plays on the default arena, ignoring env_config", "with the env_config given",
                (("env = MultiAgentArena(env_config)", "env = MultiAgentArena()"),)),
        Mistake("plays one episode too few", "means over 3 episodes",
                (("for _ in range(num_episodes):", "for _ in range(num_episodes - 1):"),)),
    ],
    ("05_models", "ex5_cell_module"): [
        Mistake("returns values of shape [B, 1]", "squeeze",
                (("return self.vf_net(embeddings).squeeze(-1)", "return self.vf_net(embeddings)"),)),
        Mistake("ignores the embeddings it is given", "embeddings it is given",
                (("        if embeddings is None:\n            embeddings = self._embed(batch)\n"
                  "        return self.vf_net(embeddings).squeeze(-1)",
                  "        return self.vf_net(self._embed(batch)).squeeze(-1)"),)),
        Mistake("returns no embeddings for training", "Columns.EMBEDDINGS",
                (("return {Columns.ACTION_DIST_INPUTS: self.pi_net(embeddings), Columns.EMBEDDINGS: embeddings}",
                  "return {Columns.ACTION_DIST_INPUTS: self.pi_net(embeddings)}"),)),
        Mistake("flattens a time axis away", "2 sequences of 3 observations",
                ((".squeeze(-1)", ".reshape(-1)"),)),
        Mistake("returns zeros for the values", "self.vf_net",
                (("return self.vf_net(embeddings).squeeze(-1)", "return torch.zeros(embeddings.shape[:-1])"),)),
        Mistake("overrides RLlib's public forward_inference", "public forward methods",
                (("    def _forward(self, batch, **kwargs):", "    def forward_inference(self, batch, **kwargs):\n"
                  "        return self._forward(batch)\n\n    def _forward(self, batch, **kwargs):"),)),
        Mistake("computes the logits with the value network", "shape (3, 4)",
                (("return {Columns.ACTION_DIST_INPUTS: self.pi_net(self._embed(batch))}",
                  "return {Columns.ACTION_DIST_INPUTS: self.vf_net(self._embed(batch))}"),)),
    ],
    ("05_models", "ex5_module_config"): [
        Mistake("keeps the one-hot connector for agent1", "keep_cell_numbers",
                (('        .env_runners(env_to_module_connector=keep_cell_numbers("agent1"))\n', ""),)),
        Mistake("keeps the cell numbers of both agents", "policy2's default module needs the one-hot",
                (('keep_cell_numbers("agent1")', 'keep_cell_numbers("agent1", "agent2")'),)),
        Mistake("gives policy2 the custom module too", "policy2's RLModule would be a CellEmbeddingModule",
                (('"policy2": RLModuleSpec(),', '"policy2": RLModuleSpec(module_class=module_class, '
                  'model_config={"embedding_dim": 16, "hiddens": [64]}),'),)),
        Mistake("gives policy1 RLlib's default module", "give it RLModuleSpec(module_class=CellEmbeddingModule",
                (('"policy1": RLModuleSpec(module_class=module_class, model_config={"embedding_dim": 16, '
                  '"hiddens": [64]}),', '"policy1": RLModuleSpec(),'),)),
        Mistake("starts from the shared-policy config, not base_config", "policies are ['shared_policy']",
                (("from arena_lib.models import keep_cell_numbers\n",
                  "from arena_lib.models import keep_cell_numbers\nfrom arena_lib.training import arena_ppo_config\n"),
                 ("        base_config\n", "        arena_ppo_config(multi_agent=False)\n"))),
        Mistake("leaves out the module's model_config", "model_config=",
                ((', model_config={"embedding_dim": 16, "hiddens": [64]})', ")"),)),
    ],
    ("06_tune_and_scale", "tune_param_space"): [
        Mistake("changes base_config itself", "base_config.copy()",
                (("base_config.copy()", "base_config"),)),
        Mistake("searches the learning rate only", "4 trials",
                (('\n        .rl_module(model_config={"fcnet_hiddens": tune.grid_search([list(size) for size in '
                  'network_sizes])})', ""),)),
        Mistake("passes the list of rates, not a search", "not a search",
                (("lr=tune.grid_search(list(learning_rates))", "lr=list(learning_rates)"),)),
        Mistake("returns a dict, not a config", "should return a config",
                (("for size in network_sizes])})\n    )", "for size in network_sizes])})\n    ).to_dict()"),)),
    ],
    ("06_tune_and_scale", "tune_best_settings"): [
        Mistake("takes the first trial", "11.5",
                (('best = scored[metric].idxmax() if mode == "max" else scored[metric].idxmin()',
                  "best = scored.index[0]"),)),
        Mistake("always takes the largest value, whatever the mode", "mode='min'",
                (('scored[metric].idxmax() if mode == "max" else scored[metric].idxmin()', "scored[metric].idxmax()"),)),
        Mistake("uses a row's label as its position", "by its label",
                (("scored.loc[best, setting]", "scored.iloc[best][setting]"),)),
        Mistake("returns NaN settings when no trial has a value", "return None",
                (("        return None", '        return {setting: float("nan") for setting in settings}'),)),
    ],
    ("07_tensorflow_appendix", "ex7_policies_2021"): [
        Mistake("keeps 2021's mapping function, without `worker`", "passes `worker` by name",
                (("def policy_mapping_fn(agent_id, episode, worker, **kwargs):", "def policy_mapping_fn(agent_id):"),)),
        Mistake("gives the learning rate to policy1", "policy1 keeps the algorithm's settings",
                (('"policy1": (None, None, None, {}),\n    "policy2": (None, None, None, {"lr": 2e-4}),',
                  '"policy1": (None, None, None, {"lr": 2e-4}),\n    "policy2": (None, None, None, {}),'),)),
        Mistake("writes the policies as lists", "4-tuple",
                (("(None, None, None, {})", "[None, None, None, {}]"),
                 ('(None, None, None, {"lr": 2e-4})', '[None, None, None, {"lr": 2e-4}]'))),
    ],
    ("08_league", "ex8_league_policy"): [
        Mistake("draws from an unseeded generator, so each call decides anew", "random.Random(episode_id)",
                (("rng = random.Random(episode_id)", "rng = random.Random()"),)),
        Mistake("maps agent1 to the chasers and agent2 to the explorers", "plays the explorer role",
                (('role = "explorer" if agent_id == "agent1" else "chaser"',
                  'role = "chaser" if agent_id == "agent1" else "explorer"'),)),
        Mistake("ignores p_main: always a snapshot when there is one", "with probability p_main",
                (("if not pool or rng.random() < p_main:", "if not pool:"),)),
        Mistake("lets the explorer learn in 30% of the episodes, not half", "about half of the episodes",
                (('learner = "explorer" if rng.random() < 0.5 else "chaser"',
                  'learner = "explorer" if rng.random() < 0.3 else "chaser"'),)),
        Mistake("always picks the pool's first snapshot", "uniformly from the pool",
                (("return rng.choice(pool)", "return pool[0]"),)),
    ],
    ("08_league", "ex8_should_snapshot"): [
        Mistake("needs a win rate above the threshold, not at least it", "at least the threshold",
                ((">= threshold", "> threshold"),)),
        Mistake("counts every result since the last snapshot, not the last window", "only the last `window` count",
                (("sum(results[-window:]) / window", "sum(results) / len(results)"),)),
        Mistake("does not wait for a full window", "wait for a full window",
                (("    if len(results) < window:\n        return False\n", ""),
                 ("sum(results[-window:]) / window", "sum(results[-window:]) / min(window, len(results))"))),
        Mistake("returns the number of recent wins compared as an int", "a bool",
                (("return sum(results[-window:]) / window >= threshold",
                  "return int(sum(results[-window:]) / window >= threshold)"),)),
    ],
}


# (assignment, exercise cell's grade_id) -> right answers written otherwise than the reference,
# each (what, edits of the reference answer): the self-check passes them and the judge gives
# full points, whatever the order of their random draws.
RIGHT_VARIANTS = {
    ("08_league", "ex8_league_policy"): [
        ("picks the snapshot before drawing p_main",
         (("    if not pool or rng.random() < p_main:\n        return role\n    return rng.choice(pool)",
           "    if not pool:\n        return role\n    snapshot = rng.choice(pool)\n"
           "    return role if rng.random() < p_main else snapshot"),)),
        ("draws every number first, and indexes the pool",
         (("    rng = random.Random(episode_id)\n    learner = \"explorer\" if rng.random() < 0.5 else \"chaser\"",
           "    rng = random.Random(episode_id)\n    learns, keeps_main, pick = rng.random(), rng.random(), rng.random()\n"
           "    learner = \"explorer\" if learns >= 0.5 else \"chaser\""),
          ("    if not pool or rng.random() < p_main:\n        return role\n    return rng.choice(pool)",
           "    if not pool or keeps_main < p_main:\n        return role\n    return pool[int(pick * len(pool))]"))),
        ("decides from a hash of the episode id",
         (("    rng = random.Random(episode_id)", "    import hashlib\n\n"
           "    rng = random.Random(int(hashlib.sha256(str(episode_id).encode()).hexdigest(), 16))"),)),
    ],
}
