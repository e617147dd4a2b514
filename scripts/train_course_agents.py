"""Train the course's own agents and write them to arena_lib/data/ (committed: a student needs no
training of them): the practice ladder's and the tournament's trained baselines, and notebook 8's
pair B.

    python scripts/train_course_agents.py [--only NAME ...] [--pair-iterations 60] [--league-iterations 150]

"course pair agent": notebook 3's setup, an explorer and a chaser trained together.
"course league agent": notebook 8's league with the reference answers of its exercises (read
from solutions/08_league, the notebook's own code).
"pair B": notebook 8's second pair, trained by the notebook's own settings (its PAIR_ITERATIONS,
seed 2) as the notebook trains pair A, so that a student waits for one pair only.
All use the course's config with fixed seeds and PYTHONHASHSEED=0, so a run repeats. Each file is
checked as the tournament reads it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "arena_lib" / "data"
NOTEBOOK_8 = ROOT / "solutions" / "08_league" / "08_league.ipynb"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=["course pair agent", "course league agent", "pair B"],
                        help="train only these (default: all)")
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
    from arena_lib.opponents import COURSE_AGENTS, PAIR_B, ladder
    from arena_lib.training import arena_ppo_config, train
    from tests.notebook_tools import parameters, run_solution

    start_ray()
    DATA.mkdir(exist_ok=True)
    files = {**{name: DATA / file for name, file in COURSE_AGENTS.items()}, "pair B": DATA / PAIR_B}
    wanted = args.only or list(files)

    def train_pair(name, seed, iterations):
        started = time.perf_counter()
        algo = arena_ppo_config(seed=seed).build_algo()
        train(algo, iterations=iterations)
        save_agent(agent_from_modules(algo.get_module("policy1"), algo.get_module("policy2"), name=name), files[name])
        algo.stop()
        print(f"{name}: {iterations} iterations in {time.perf_counter() - started:.0f} s")

    if "course pair agent" in wanted:
        train_pair("course pair agent", 11, args.pair_iterations)
    if "pair B" in wanted:  # as the notebook's train_pair(seed=2) trains it
        train_pair("pair B", 2, parameters(NOTEBOOK_8)["PAIR_ITERATIONS"])
    if "course league agent" in wanted:
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

    for name in wanted:
        path = files[name]
        agent = load_agent(path, name=name)
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1024:.0f} KB")
        others = {n: load_agent(p, name=n) for n, p in files.items() if n != name and p.exists()}
        for rung in ladder(agent, {**ladder_baselines(), **others}, episodes=100):
            print(f"  against {rung.opponent:20} explorer {rung.my_explorer:6.1f}  theirs {rung.their_explorer:6.1f}"
                  f"  {rung.wins}-{rung.losses}-{rung.draws}")
    return 0


def ladder_baselines() -> dict:
    from arena_lib.opponents import RandomAgent, ScriptedAgent

    return {"random": RandomAgent(), "scripted": ScriptedAgent()}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
