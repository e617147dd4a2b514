"""Train the course's own agents, the practice ladder's and the tournament's trained baselines,
and write them to arena_lib/data/ (committed: a student's ladder needs no training of them).

    python scripts/train_course_agents.py [--pair-iterations 60] [--league-iterations 150]

"course pair agent": notebook 3's setup, an explorer and a chaser trained together.
"course league agent": notebook 8's league with the reference answers of its exercises (read
from solutions/08_league, the notebook's own code). Both use the course's config with fixed
seeds and PYTHONHASHSEED=0, so a run repeats. Each file is checked as the tournament reads it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "arena_lib" / "data"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pair-iterations", type=int, default=60)
    parser.add_argument("--league-iterations", type=int, default=150)
    args = parser.parse_args(argv)
    if os.environ.get("PYTHONHASHSEED") != "0":  # a run repeats only with a fixed hash seed
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    sys.path.insert(0, str(ROOT))
    import ray

    from arena_lib import start_ray
    from arena_lib.agents import agent_from_modules, load_agent, save_agent
    from arena_lib.league import league_config, league_history
    from arena_lib.opponents import COURSE_AGENTS, ladder
    from arena_lib.training import arena_ppo_config, train
    from tests.notebook_tools import run_solution

    start_ray()
    DATA.mkdir(exist_ok=True)
    files = {name: DATA / file for name, file in COURSE_AGENTS.items()}

    started = time.perf_counter()
    algo = arena_ppo_config(seed=11).build_algo()
    train(algo, iterations=args.pair_iterations)
    save_agent(agent_from_modules(algo.get_module("policy1"), algo.get_module("policy2"), name="course pair agent"),
               files["course pair agent"])
    algo.stop()
    print(f"course pair agent: {args.pair_iterations} iterations in {time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    league_policy = run_solution("08_league", "ex8_league_policy")["league_policy"]
    should_snapshot = run_solution("08_league", "ex8_should_snapshot")["should_snapshot"]
    algo = league_config(league_policy, should_snapshot, seed=12).build_algo()
    train(algo, iterations=args.league_iterations)
    last = league_history(algo)[-1]
    save_agent(agent_from_modules(algo.get_module("explorer"), algo.get_module("chaser"), name="course league agent"),
               files["course league agent"])
    algo.stop()
    print(f"course league agent: {args.league_iterations} iterations in {time.perf_counter() - started:.0f} s, "
          f"{last['explorer_pool']} explorer and {last['chaser_pool']} chaser snapshots")
    ray.shutdown()

    for name, path in files.items():
        agent = load_agent(path, name=name)
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1024:.0f} KB")
        others = {n: load_agent(p, name=n) for n, p in files.items() if n != name}
        for rung in ladder(agent, {**ladder_baselines(), **others}, episodes=100):
            print(f"  against {rung.opponent:20} explorer {rung.my_explorer:6.1f}  theirs {rung.their_explorer:6.1f}"
                  f"  {rung.wins}-{rung.losses}-{rung.draws}")
    return 0


def ladder_baselines() -> dict:
    from arena_lib.opponents import RandomAgent, ScriptedAgent

    return {"random": RandomAgent(), "scripted": ScriptedAgent()}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
