"""Reading agent files (arena_lib.agents) is safe against whatever a student hands in: each file
is either an agent or refused with a reason (InvalidAgent), never another exception, never a hang."""

from __future__ import annotations

import json
import os
from collections import Counter

import numpy as np
import pytest

from arena_lib.agents import InvalidAgent, agent_from_bytes, load_agent
from arena_lib.opponents import COURSE_AGENTS, DATA, PAIR_B
from tests.agent_files import DEEP, agent_tensors, header_of, malformed_files, random_agent, raw_safetensors, save


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_malformed_files_are_read_or_left_out_with_a_reason(tmp_path, seed):
    cases = malformed_files(seed, 90)
    outcomes, reasons = Counter(), []
    for i, (what, data) in enumerate(cases):
        path = tmp_path / f"{i}.safetensors"
        path.write_bytes(data)
        try:
            agent = load_agent(path)
        except InvalidAgent as why:
            assert str(why) and len(str(why)) < 400, (what, str(why))
            outcomes[what] += 1
            reasons.append(str(why))
        else:  # what was read can play
            assert agent.player("explorer").act(np.array([[0, 99]]), np.zeros((1, 4)), None).shape == (1,)
            outcomes["read: " + what] += 1
    # The files reach every stage of the reader, not only its first check.
    reasons = " | ".join(reasons)
    for stage in ("it is not a safetensors file", "it is not a readable safetensors file", "its format is",
                  "its 'agent' metadata is a JSON", "does not declare the agent", "out of bounds", "holds NaN"):
        assert stage in reasons, f"no generated file reached {stage!r}: {outcomes}"
    print(f"\nseed {seed}: {len(cases)} files, left out or read: {dict(outcomes.most_common())}")


def test_deep_nesting_that_breaks_json_is_left_out():
    with pytest.raises(RecursionError):  # the failure reaches the reader's JSON step
        json.loads(DEEP)
    tensors, _ = agent_tensors(random_agent(1))
    data = raw_safetensors(*header_of(tensors, DEEP))
    assert len(data) < 64 * 1024 + len(header_of(tensors, {})[1]) + 8  # within the header limit
    with pytest.raises(InvalidAgent, match="does not declare the agent"):
        agent_from_bytes(data)


@pytest.mark.parametrize("declared, words", [
    ([1, 2], "'agent' metadata is a JSON list"),
    (None, "'agent' metadata is a JSON null"),
    ("text", "'agent' metadata is a JSON string"),
    ({"arena": {"width": 10, "height": 10}, "activation": "tanh", "hiddens": [[8], [8]]}, "'hiddens' is a JSON list"),
    ({"arena": {"width": 10, "height": 10}, "activation": "tanh", "hiddens": None}, "'hiddens' is a JSON null"),
    ({"arena": {"width": 10, "height": 10}, "activation": ["tanh"], "hiddens": {"explorer": [8], "chaser": [8]}},
     "activation is ['tanh']"),
])
def test_metadata_of_the_wrong_type_is_left_out_with_what_is_allowed(declared, words):
    tensors, _ = agent_tensors(random_agent(1, hiddens=(8,)))
    with pytest.raises(InvalidAgent) as why:
        agent_from_bytes(raw_safetensors(*header_of(tensors, json.dumps(declared))))
    assert words in str(why.value), str(why.value)


def test_a_symlink_a_pipe_and_a_folder_are_refused_without_being_followed(tmp_path):
    real = save(random_agent(1), tmp_path / "real")
    link = tmp_path / "link.safetensors"
    link.symlink_to(real)
    with pytest.raises(InvalidAgent, match="symbolic link"):
        load_agent(link)
    pipe = tmp_path / "pipe.safetensors"
    os.mkfifo(pipe)  # reading a pipe with no writer would block forever
    with pytest.raises(InvalidAgent, match="not a regular file"):
        load_agent(pipe)
    folder = tmp_path / "folder.safetensors"
    folder.mkdir()
    with pytest.raises(InvalidAgent, match="is a folder"):
        load_agent(folder)
    devices = tmp_path / "zero.safetensors"
    devices.symlink_to("/dev/zero")
    with pytest.raises(InvalidAgent, match="symbolic link"):
        load_agent(devices)


def test_the_course_agents_and_saved_agents_still_read():
    for file in [*COURSE_AGENTS.values(), PAIR_B]:
        assert load_agent(DATA / file).hiddens("explorer")
