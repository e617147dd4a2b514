"""Copy marks (arena_grading.copies) on real agent files: identical files, identical weights, a
course agent handed in, near-identical weights; independent agents and other shapes unmarked;
the sketch finds exactly the pairs an exhaustive comparison finds."""

from __future__ import annotations

import numpy as np

from arena_grading.copies import MAX_KEPT, MAX_LISTED, SIMILAR_AT, Fingerprint, copy_marks, describe, file_digest, similar_pairs
from arena_grading.entrants import course_fingerprints
from arena_lib.agents import Agent, load_agent
from arena_lib.opponents import COURSE_AGENTS, DATA
from tests.agent_files import random_agent, save


def fingerprint(path, name) -> Fingerprint:
    return Fingerprint(name, file_digest(path.read_bytes()), load_agent(path).layers)


def nudged(agent: Agent, size: float, seed: int, name: str = "") -> Agent:
    """``agent`` with noise of ``size`` times each array's spread: a copy trained a little further."""
    rng = np.random.default_rng(seed)
    layers = {role: [tuple((a + rng.normal(0, size * a.std(), a.shape)).astype(np.float32) for a in layer)
                     for layer in layers] for role, layers in agent.layers.items()}
    return Agent(name or agent.name, agent.activation, layers, agent.arena)


def test_each_kind_of_copy_is_marked_and_independent_agents_are_not(tmp_path):
    ann = random_agent(1, hiddens=(64, 64), name="ann's")
    files = {"ann": save(ann, tmp_path / "ann"),
             "bob": save(random_agent(2, hiddens=(64, 64)), tmp_path / "bob"),
             "cy": save(nudged(ann, 0.05, 3, name="cy's own"), tmp_path / "cy"),  # ann's, trained a little
             "dee": save(Agent("dee's", ann.activation, ann.layers, ann.arena), tmp_path / "dee"),  # ann's weights
             "eve": save(random_agent(5, hiddens=(32,)), tmp_path / "eve")}  # other shapes
    # ann's file, byte for byte (saving the same agent again may order the file's header otherwise:
    # the same weights, another file).
    (tmp_path / "fay").mkdir()
    files["fay"] = tmp_path / "fay" / "agent.safetensors"
    files["fay"].write_bytes(files["ann"].read_bytes())
    (tmp_path / "gus").mkdir()
    (tmp_path / "gus" / "agent.safetensors").write_bytes((DATA / COURSE_AGENTS["course league agent"]).read_bytes())
    files["gus"] = tmp_path / "gus" / "agent.safetensors"
    assert files["ann"].read_bytes() == files["fay"].read_bytes() != files["dee"].read_bytes()
    marks = copy_marks([fingerprint(path, name) for name, path in files.items()], course_fingerprints())
    assert set(marks) == {"ann", "cy", "dee", "fay", "gus"}, marks
    said = {name: describe(found) for name, found in marks.items()}
    assert said["fay"].startswith("identical file to ann;") and "identical weights to dee" in said["fay"]
    assert said["ann"].startswith("identical file to fay;")
    assert "identical weights to ann" in said["dee"] and "identical weights to fay" in said["dee"]
    assert said["gus"] == "identical file to the course agent course league agent"
    assert "weights 0.99" in said["cy"] and " similar to ann" in said["cy"], said["cy"]
    similar = next(m for m in marks["cy"].found if m.other == "ann")
    assert SIMILAR_AT <= similar.similarity < 1


def test_large_identical_groups_are_counted_not_listed(tmp_path):
    path = save(random_agent(1), tmp_path / "one")
    prints = [Fingerprint(f"s{i:03d}", file_digest(path.read_bytes()), load_agent(path).layers) for i in range(60)]
    marks = copy_marks(prints, [])
    assert len(marks) == 60
    for found in marks.values():
        assert found.total == 59 and len(found.found) == MAX_KEPT
    assert describe(marks["s000"]).endswith(f"; and {59 - MAX_LISTED} more")


def test_the_sketch_finds_exactly_what_comparing_every_pair_finds():
    rng = np.random.default_rng(7)
    dimensions, others = 3000, 700
    base = rng.normal(size=(40, dimensions))
    planted = []
    for i, target in enumerate(np.linspace(0.93, 0.999, 40)):  # pairs around the threshold and above
        noise = rng.normal(size=dimensions)
        noise -= noise @ base[i] / (base[i] @ base[i]) * base[i]
        noise *= np.linalg.norm(base[i]) / np.linalg.norm(noise)
        planted.append(target * base[i] + np.sqrt(1 - target**2) * noise)
    vectors = np.vstack([base, planted, rng.normal(size=(others, dimensions))])
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    exact = vectors.astype(np.float64) @ vectors.T.astype(np.float64)
    expected = sorted((i, j) for i in range(len(vectors)) for j in range(i + 1, len(vectors)) if exact[i, j] >= SIMILAR_AT)
    found = similar_pairs(vectors)
    assert 10 < len(expected) < 40  # the threshold cuts through the planted pairs
    assert [(i, j) for i, j, _ in found] == expected
    assert all(abs(value - exact[i, j]) < 1e-6 for i, j, value in found)
