"""Agent files for tests: valid ones with random weights, and each way a file can be broken."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

from arena_lib.agents import ARENA, FORMAT, ROLES, Agent, save_agent


def random_agent(seed: int, hiddens=(16,), activation: str = "tanh", scale: float = 1.0, name: str = "") -> Agent:
    """An agent with random weights: different seeds, differently good (or bad) players."""
    rng = np.random.default_rng(seed)
    sizes = [2 * ARENA["width"] * ARENA["height"], *hiddens, 4]
    layers = {role: [(rng.normal(0, scale, (o, i)).astype(np.float32), rng.normal(0, scale, o).astype(np.float32))
                     for i, o in zip(sizes, sizes[1:])] for role in ROLES}
    return Agent(name or f"random weights {seed}", activation, layers, dict(ARENA))


def write_raw(path: Path, tensors: dict, declared: dict | None, fmt: str = FORMAT) -> Path:
    """A safetensors file exactly as given, without save_agent's checks."""
    from safetensors.numpy import save_file

    metadata = {"format": fmt}
    if declared is not None:
        metadata["agent"] = json.dumps(declared)
    save_file(tensors, str(path), metadata=metadata)
    return path


def agent_tensors(agent: Agent) -> tuple[dict, dict]:
    tensors = {f"{role}.{i}.{part}": array for role in ROLES for i, layer in enumerate(agent.layers[role])
               for part, array in zip(("weight", "bias"), layer)}
    declared = {"name": agent.name, "arena": agent.arena, "activation": agent.activation,
                "hiddens": {role: agent.hiddens(role) for role in ROLES}}
    return tensors, declared


def broken_files(folder: Path, file_name: str = "agent.safetensors") -> dict:
    """{case: (path, words its reason must contain)}: one file per way of being broken, each in
    a folder of its own (as a student's submission)."""
    cases = {}

    def path_for(case):
        folder.joinpath(case).mkdir(parents=True, exist_ok=True)
        return folder / case / file_name

    tensors, declared = agent_tensors(random_agent(1))
    cases["missing"] = (path_for("missing"), "no agent file")
    big = path_for("huge")
    with open(big, "wb") as out:  # 200 MB, sparse: costs no disk
        out.truncate(200 * 1024**2)
    cases["huge"] = (big, "at most")
    pickled = path_for("pickle")
    pickled.write_bytes(pickle.dumps({"explorer": [np.zeros((4, 200))], "__reduce__": "os.system"}))
    cases["pickle"] = (pickled, "not a safetensors file")
    nan = dict(tensors)
    nan["chaser.0.weight"] = nan["chaser.0.weight"].copy()
    nan["chaser.0.weight"][3, 7] = np.nan
    cases["nan"] = (write_raw(path_for("nan"), nan, declared), "NaN")
    shapes = dict(tensors)
    shapes["explorer.1.weight"] = np.zeros((4, 17), dtype=np.float32)
    cases["shapes"] = (write_raw(path_for("shapes"), shapes, declared), "explorer.1.weight")
    wide = {**declared, "hiddens": {"explorer": [16], "chaser": [300, 16]}}
    cases["too wide"] = (write_raw(path_for("too wide"), tensors, wide), "out of bounds")
    cases["no declaration"] = (write_raw(path_for("no declaration"), tensors, None), "does not declare")
    cases["other format"] = (write_raw(path_for("other format"), tensors, declared, fmt="pt"), "format")
    other_arena = {**declared, "arena": {"width": 6, "height": 6}}
    cases["other arena"] = (write_raw(path_for("other arena"), tensors, other_arena), "arena")
    extra = {**tensors, "payload": np.zeros(10, dtype=np.float32)}
    cases["extra arrays"] = (write_raw(path_for("extra arrays"), extra, declared), "does not declare")
    halves = path_for("truncated")
    write_raw(halves, tensors, declared)
    halves.write_bytes(halves.read_bytes()[: halves.stat().st_size // 2])
    cases["truncated"] = (halves, "not a readable safetensors file")
    float64 = {**tensors, "explorer.0.bias": tensors["explorer.0.bias"].astype(np.float64)}
    cases["float64"] = (write_raw(path_for("float64"), float64, declared), "float32")
    activation = {**declared, "activation": "gelu"}
    cases["activation"] = (write_raw(path_for("activation"), tensors, activation), "activation")
    return cases


def save(agent: Agent, folder: Path, file_name: str = "agent.safetensors") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return save_agent(agent, folder / file_name)
