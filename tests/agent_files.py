"""Agent files for tests: valid ones with random weights, and each way a file can be broken."""

from __future__ import annotations

import json
import pickle
import struct
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


def raw_safetensors(header, data: bytes = b"", length: int | None = None) -> bytes:
    """The bytes of a safetensors file with ``header`` (a dict, or JSON text as given) and ``data``,
    nothing checked; ``length`` overrides the header's declared length."""
    text = (header if isinstance(header, str) else json.dumps(header, allow_nan=True)).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def header_of(tensors: dict, declared, fmt=FORMAT) -> tuple[dict, bytes]:
    """(a safetensors header for ``tensors`` with ``declared`` as its 'agent' metadata, the data)."""
    header, data = {}, b""
    for key, array in tensors.items():
        raw = np.ascontiguousarray(array).tobytes()
        dtype = {"float32": "F32", "float64": "F64", "float16": "F16", "int32": "I32", "int64": "I64",
                 "uint8": "U8", "bool": "BOOL"}[str(array.dtype)]
        header[key] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    metadata = {"format": fmt}
    if declared is not None:
        metadata["agent"] = declared if isinstance(declared, str) else json.dumps(declared, allow_nan=True)
    header["__metadata__"] = metadata
    return header, data


WRONG_VALUES = [None, [], {}, "x", 1.5, -1, 0, 10**30, True, float("nan"), [[[[1]]]], {"a": {"b": [1, 2]}},
                "[" * 40, [1, "2", None]]
DEEP = "[" * 25_000 + "]" * 25_000  # nested deeper than Python's JSON parser goes, within the header limit


def malformed_files(seed: int, count: int) -> list[tuple[str, bytes]]:
    """``count`` (what was done, bytes) of agent files broken in generated ways: random bytes,
    truncations, wrong header lengths, headers and metadata of every wrong type at every key,
    deep nesting, huge declared sizes, NaN and infinite weights, wrong dtypes and shapes, flipped
    bytes. Deterministic for a seed. Some may still be valid agents (a flipped byte in a weight)."""
    rng = np.random.default_rng(seed)
    tensors, declared = agent_tensors(random_agent(seed, hiddens=(8,)))
    valid_header, valid_data = header_of(tensors, declared)
    valid = raw_safetensors(valid_header, valid_data)

    def with_declared(change):
        changed = json.loads(json.dumps(declared))
        change(changed)
        return raw_safetensors(*header_of(tensors, changed))

    def set_path(path, value):
        def change(d):
            *parents, last = path
            for key in parents:
                d = d[key]
            d[last] = value
        return change

    paths = [("name",), ("arena",), ("arena", "width"), ("activation",), ("hiddens",), ("hiddens", "explorer"),
             ("hiddens", "chaser"), ("hiddens", "explorer", 0)]
    makers = [
        lambda: ("random bytes", rng.bytes(int(rng.integers(0, 4096)))),
        lambda: ("truncated", valid[:int(rng.integers(0, len(valid)))]),
        lambda: ("header length off", struct.pack("<Q", [0, 1, len(json.dumps(valid_header)) + 7, 2**63, 2**64 - 1,
                                                          int(rng.integers(0, 10**6))][int(rng.integers(6))])
                 + valid[8:]),
        lambda: ("header of another type", raw_safetensors(json.dumps(WRONG_VALUES[int(rng.integers(len(WRONG_VALUES)))]))),
        lambda: ("metadata of another type", raw_safetensors(
            {**valid_header, "__metadata__": WRONG_VALUES[int(rng.integers(len(WRONG_VALUES)))]}, valid_data)),
        lambda: ("format of another type", raw_safetensors(
            {**valid_header, "__metadata__": {"format": WRONG_VALUES[int(rng.integers(len(WRONG_VALUES)))],
                                              "agent": json.dumps(declared)}}, valid_data)),
        lambda: ("another format", raw_safetensors(*header_of(tensors, declared, fmt=str(rng.choice(
            ["pt", "", "arena-agent/2", "x" * 5000, "\x1b[31mred", "=1+2"]))))),
        lambda: ("agent of another type", raw_safetensors(*header_of(
            tensors, json.dumps(WRONG_VALUES[int(rng.integers(len(WRONG_VALUES)))], allow_nan=True)))),
        lambda: ("agent nested deep", raw_safetensors(*header_of(tensors, DEEP))),
        lambda: ("agent not JSON", raw_safetensors(*header_of(tensors, "{'arena': 10,"))),
        lambda: ("wrong type at a key", with_declared(set_path(
            paths[int(rng.integers(len(paths)))], WRONG_VALUES[int(rng.integers(len(WRONG_VALUES)))]))),
        lambda: ("deep value at a key", with_declared(set_path(paths[int(rng.integers(len(paths)))],
                                                               json.loads("[" * 900 + "]" * 900)))),
        lambda: ("huge declared size", raw_safetensors(
            {**valid_header, "explorer.0.weight": {"dtype": "F32", "shape": [2**40, 2**40],
                                                   "data_offsets": [0, 64]}}, valid_data)),
        lambda: ("offsets past the end", raw_safetensors(
            {**valid_header, "explorer.0.bias": {"dtype": "F32", "shape": [8], "data_offsets": [0, 2**40]}},
            valid_data)),
        lambda: ("NaN or infinite weight", raw_safetensors(*header_of(
            {**tensors, "chaser.1.weight": np.full_like(tensors["chaser.1.weight"], rng.choice([np.nan, np.inf, -np.inf]))},
            declared))),
        lambda: ("wrong dtype", raw_safetensors(*header_of(
            {**tensors, "explorer.1.bias": tensors["explorer.1.bias"].astype(
                str(rng.choice(["float64", "float16", "int32", "int64", "uint8", "bool"])))}, declared))),
        lambda: ("wrong shape", raw_safetensors(*header_of(
            {**tensors, "explorer.0.weight": rng.normal(size=tuple(int(d) for d in rng.integers(0, 9, int(rng.integers(0, 4)))))
             .astype(np.float32)}, declared))),
        lambda: ("out of bounds", with_declared(set_path(("hiddens", "chaser"),
                                                         [int(v) for v in rng.choice([0, 257, -3, 8], 5)]))),
        lambda: ("flipped byte", flipped(valid, rng)),
    ]
    return [makers[i % len(makers)]() for i in range(count)]


def flipped(data: bytes, rng) -> bytes:
    data = bytearray(data)
    at = int(rng.integers(0, len(data)))
    data[at] ^= 1 << int(rng.integers(0, 8))
    return bytes(data)
