"""An agent for the class tournament: a policy for each role in one small file that runs no code.

The file is a `safetensors <https://huggingface.co/docs/safetensors>`_ file: a JSON header and
raw float32 arrays, nothing a loader executes (never pickle, never ``torch.load``). Its
metadata declares the architecture, within bounds (``MAX_HIDDEN_LAYERS`` layers of at most
``MAX_UNITS`` units, ``tanh`` or ``relu``), and its arrays must have exactly the shapes it
declares and finite values. :func:`load_agent` checks all of that, and says what is wrong.
Everything in a file is the sender's, so every value is checked for its type before it is used,
and a file is read only if it is a regular file itself, never through a link
(:func:`read_agent_file`): whatever a student hands in is an agent or an ``InvalidAgent``.
"""

from __future__ import annotations

import json
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arena_lib.players import ACTIVATIONS, NetworkPlayer
from arena_lib.rules import DEFAULT_CONFIG

FORMAT = "arena-agent/1"
ROLES = ("explorer", "chaser")  # agent1's policy and agent2's
MAX_HIDDEN_LAYERS = 4
MAX_UNITS = 256
ACTIONS = 4
ARENA = {"width": DEFAULT_CONFIG["width"], "height": DEFAULT_CONFIG["height"]}  # what the tournament plays
MAX_HEADER_BYTES = 64 * 1024
_LARGEST = [2 * ARENA["width"] * ARENA["height"], *[MAX_UNITS] * MAX_HIDDEN_LAYERS, ACTIONS]
# The largest file the bounds allow: two roles of float32 weights and biases, and the header.
MAX_FILE_BYTES = 8 + MAX_HEADER_BYTES + 4 * len(ROLES) * sum((i + 1) * o for i, o in zip(_LARGEST, _LARGEST[1:]))


class InvalidAgent(ValueError):
    """The file is not an agent that can play; the message says why."""


@dataclass
class Agent:
    name: str
    activation: str
    layers: dict  # role -> [(weight (outputs, inputs), bias (outputs,)), ...]
    arena: dict

    @property
    def cells(self) -> int:
        return self.arena["width"] * self.arena["height"]

    def hiddens(self, role: str) -> list[int]:
        return [len(bias) for _, bias in self.layers[role][:-1]]

    def player(self, role: str) -> NetworkPlayer:
        return NetworkPlayer(self.layers[role], self.activation, self.cells)

    def parameters(self) -> int:
        return sum(w.size + b.size for role in ROLES for w, b in self.layers[role])


def _module_layers(module) -> list:
    """The (weight, bias) pairs of an RLlib default PPO module's policy: its encoder (the actor's,
    or the shared one), then its head."""
    state = {name: tensor.detach().cpu().numpy() for name, tensor in module.state_dict().items()}

    def linear_layers(prefix):
        indices = sorted({int(name[len(prefix) + 1:].split(".")[0]) for name in state
                          if name.startswith(prefix + ".") and name.endswith(".weight")})
        return [(state[f"{prefix}.{i}.weight"], state[f"{prefix}.{i}.bias"]) for i in indices]

    encoder = linear_layers("encoder.actor_encoder.net.mlp") or linear_layers("encoder.encoder.net.mlp")
    head = linear_layers("pi.net.mlp")
    if not encoder or not head:
        raise InvalidAgent(f"{type(module).__name__} is not RLlib's default PPO module for the arena (the one "
                           "arena_ppo_config builds): an agent file holds that module's policy layers only")
    config = getattr(module, "model_config", None) or {}
    if len(head) > 1 and config.get("head_fcnet_activation", "relu") != config.get("fcnet_activation", "tanh"):
        raise InvalidAgent("the module's head has hidden layers with another activation than its encoder; an "
                           "agent file has one activation for all layers (leave head_fcnet_hiddens out)")
    return encoder + head


def agent_from_modules(explorer_module, chaser_module, name: str = "my agent", env_config: dict | None = None) -> Agent:
    """An agent from two trained RLlib modules (the course's default PPO modules, which read the
    one-hot encoding): agent1's for the explorer, agent2's for the chaser."""
    config = {**ARENA, **{k: v for k, v in (env_config or {}).items() if k in ARENA}}
    activation = (explorer_module.model_config or {}).get("fcnet_activation", "tanh")
    if activation != (chaser_module.model_config or {}).get("fcnet_activation", "tanh"):
        raise InvalidAgent("the explorer's and the chaser's modules use different activations; an agent file "
                           "has one")
    return Agent(name, activation, {"explorer": _module_layers(explorer_module),
                                    "chaser": _module_layers(chaser_module)}, config)


def save_agent(agent: Agent, path) -> Path:
    """Write ``agent`` to ``path`` and read it back as the tournament will (InvalidAgent if it
    could not play there)."""
    from safetensors.numpy import save_file

    path = Path(path)
    tensors = {f"{role}.{i}.{part}": np.ascontiguousarray(array, dtype=np.float32)
               for role in ROLES for i, layer in enumerate(agent.layers[role]) for part, array in zip(("weight", "bias"), layer)}
    declared = {"name": agent.name, "arena": agent.arena, "activation": agent.activation,
                "hiddens": {role: agent.hiddens(role) for role in ROLES}}
    save_file(tensors, str(path), metadata={"format": FORMAT, "agent": json.dumps(declared)})
    # safetensors writes through a private temporary file (mode 600); a file to hand in is
    # made like any other file (nbgrader's exchange copies it between users).
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o666 & ~umask)
    load_agent(path, arena=agent.arena)
    return path


def read_agent_file(path) -> bytes:
    """The bytes of the agent file ``path``, read as the tournament reads a submission: never
    through a symbolic link (it could point anywhere: another student's file, a file of the
    machine), only a regular file (a named pipe would block, a device never end), at most
    ``MAX_FILE_BYTES``. InvalidAgent says what is wrong."""
    path = Path(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InvalidAgent(f"there is no agent file {path.name}") from None
    except OSError as error:
        if path.is_symlink():
            raise InvalidAgent(f"{path.name} is a symbolic link; an agent file must be the file itself, never a "
                               "link (the tournament does not follow links)") from None
        raise InvalidAgent(f"{path.name} cannot be opened ({error.strerror or type(error).__name__})") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a pipe, socket or device)"
            raise InvalidAgent(f"{path.name} is {kind}; an agent file must be a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise InvalidAgent(f"the file has {info.st_size / 1e6:.1f} MB; an agent file may have at most "
                               f"{MAX_FILE_BYTES / 1e6:.1f} MB")
        with os.fdopen(descriptor, "rb", closefd=False) as file:
            data = file.read(MAX_FILE_BYTES + 1)
    finally:
        os.close(descriptor)
    if len(data) > MAX_FILE_BYTES:  # it grew while being read
        raise InvalidAgent(f"the file has more than {MAX_FILE_BYTES / 1e6:.1f} MB; an agent file may have at most "
                           f"{MAX_FILE_BYTES / 1e6:.1f} MB")
    return data


def load_agent(path, name: str | None = None, arena: dict | None = None) -> Agent:
    """The agent in ``path``, checked before anything of it is used; InvalidAgent says what is
    wrong (:func:`read_agent_file`, then :func:`agent_from_bytes`)."""
    path = Path(path)
    return agent_from_bytes(read_agent_file(path), name=name or None, arena=arena, default_name=path.stem)


def agent_from_bytes(data: bytes, name: str | None = None, arena: dict | None = None,
                     default_name: str = "agent") -> Agent:
    """The agent in ``data`` (an agent file's bytes), checked; InvalidAgent says what is wrong.

    Every part of the file is the sender's: its JSON may be of any type, nested deep, with
    NaN, huge numbers or strings; each is checked for its type before it is used."""
    arena = arena or ARENA
    if len(data) < 8 or not 2 <= struct.unpack("<Q", data[:8])[0] <= min(MAX_HEADER_BYTES, len(data) - 8):
        raise InvalidAgent("it is not a safetensors file (save it with arena_lib.agents.save_agent)")
    from safetensors.numpy import load

    try:
        tensors = load(bytes(data))
        header = json.loads(data[8:8 + struct.unpack("<Q", data[:8])[0]])
    except Exception as error:  # noqa: BLE001 - any way the file is broken, said in words
        raise InvalidAgent(f"it is not a readable safetensors file ({type(error).__name__}: "
                           f"{_short(str(error))})") from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    metadata = metadata if isinstance(metadata, dict) else {}
    if metadata.get("format") != FORMAT:
        raise InvalidAgent(f"its format is {_quoted(metadata.get('format'))}, not {FORMAT!r}")
    try:
        declared = json.loads(metadata["agent"])
    except (KeyError, TypeError, ValueError, RecursionError):
        raise InvalidAgent("its metadata does not declare the agent (its 'agent' entry is missing or not JSON)") from None
    if not isinstance(declared, dict):
        raise InvalidAgent(f"its 'agent' metadata is a JSON {_json_type(declared)}; it must be an object with "
                           "'arena', 'activation' and 'hiddens' (save it with arena_lib.agents.save_agent)")
    if not isinstance(declared.get("hiddens"), dict):
        raise InvalidAgent(f"its 'hiddens' is a JSON {_json_type(declared.get('hiddens'))}; it must be an object "
                           f"with a list of hidden layer sizes for each role, {list(ROLES)}")
    layers = {role: _checked_layers(role, declared, tensors, arena) for role in ROLES}
    extra = sorted(set(tensors) - {f"{role}.{i}.{part}" for role in ROLES for i in range(len(layers[role]))
                                   for part in ("weight", "bias")})
    if extra:
        raise InvalidAgent(f"it has arrays its architecture does not declare: {_quoted(extra[:3])}")
    activation = declared.get("activation")
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise InvalidAgent(f"its activation is {_quoted(activation)}; allowed: {sorted(ACTIVATIONS)}")
    declared_name = declared.get("name")
    shown = name or (declared_name if isinstance(declared_name, str) and declared_name else default_name)
    return Agent(shown[:80], activation, layers, dict(arena))


def _short(text: str, limit: int = 120) -> str:
    """Text quoted from a file, cut to ``limit`` characters (a reason stays one short line)."""
    return text if len(text) <= limit else text[:limit] + "..."


def _quoted(value) -> str:
    """A value read from a file's JSON, in Python's notation, short whatever its size or depth."""
    import reprlib

    shown = reprlib.Repr()  # (keyword arguments only from Python 3.12)
    shown.maxlevel, shown.maxdict, shown.maxlist, shown.maxstring, shown.maxother, shown.maxlong = 3, 4, 6, 60, 60, 40
    return _short(shown.repr(value))


def _json_type(value) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _checked_layers(role: str, declared: dict, tensors: dict, arena: dict) -> list:
    if declared.get("arena") != arena:
        raise InvalidAgent(f"it was made for the arena {_quoted(declared.get('arena'))}, the tournament plays "
                           f"{arena}")
    hiddens = declared["hiddens"].get(role)
    if not isinstance(hiddens, list) or not all(isinstance(h, int) and not isinstance(h, bool) for h in hiddens):
        raise InvalidAgent(f"it declares no list of hidden layer sizes for the {role}")
    if len(hiddens) > MAX_HIDDEN_LAYERS or any(not 1 <= h <= MAX_UNITS for h in hiddens):
        raise InvalidAgent(f"the {role}'s hidden layers {_quoted(hiddens)} are out of bounds: at most "
                           f"{MAX_HIDDEN_LAYERS} layers of 1 to {MAX_UNITS} units")
    sizes = [2 * arena["width"] * arena["height"], *hiddens, ACTIONS]
    layers = []
    for i, (inputs, outputs) in enumerate(zip(sizes, sizes[1:])):
        pair = []
        for part, shape in (("weight", (outputs, inputs)), ("bias", (outputs,))):
            key = f"{role}.{i}.{part}"
            if key not in tensors:
                raise InvalidAgent(f"it has no array {key!r}")
            array = tensors[key]
            if array.dtype != np.float32 or array.shape != shape:
                raise InvalidAgent(f"{key} is {array.dtype} {array.shape}; its architecture needs float32 {shape}")
            if not np.all(np.isfinite(array)):
                raise InvalidAgent(f"{key} holds NaN or infinite values")
            pair.append(array)
        layers.append(tuple(pair))
    return layers
