#!/usr/bin/env python3
"""Record real RLlib result dicts for the self-checks and hidden tests of exercises 2 and 3b
(arena_lib/data/recorded_results.json): ``python scripts/record_results.py``.

Graded runs train nothing (only exercise and test cells run), so the exercises that read
``algo.train()``'s results are checked on results recorded here from the course's own config,
as RLlib 2.60 gives them (timers left out). Run it again after an RLlib upgrade;
tests/test_training.py fails when a real result no longer has the keys recorded here.
"""

from __future__ import annotations

import json
import numbers
from pathlib import Path

OUTPUT = Path(__file__).resolve().parents[1] / "arena_lib" / "data" / "recorded_results.json"


def plain(value):
    """JSON-ready, without RLlib's timers (they differ from run to run and say nothing here)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in sorted(value.items())
                if "timer" not in str(k) and str(k) not in ("timers", "throughput_since_last_restore")}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Real):  # NaN stays NaN: RLlib reports it before an episode has ended
        return value if isinstance(value, int) else float(value)
    return f"<{type(value).__name__}>"


def kept(result: dict) -> dict:
    return {"training_iteration": result["training_iteration"], "env_runners": plain(result["env_runners"])}


def main() -> None:
    import ray

    from arena_lib import start_ray
    from arena_lib.training import arena_ppo_config

    start_ray()
    shared = arena_ppo_config(multi_agent=False, seed=1, num_env_runners=0).build_algo()
    first = [kept(shared.train()) for _ in range(2)]
    shared.stop()
    # 50 steps an iteration of one 100-step episode: the first iteration ends no episode yet.
    small = arena_ppo_config(seed=1, num_env_runners=0, num_envs_per_env_runner=1, train_batch_size_per_learner=50,
                             minibatch_size=50, num_epochs=1).build_algo()
    two = [kept(small.train()) for _ in range(6)]
    small.stop()
    ray.shutdown()
    OUTPUT.write_text(json.dumps({"shared policy": first, "two policies, 50 steps an iteration": two}, indent=1) + "\n")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
