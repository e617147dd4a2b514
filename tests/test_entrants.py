"""The tournament's reading of a class (arena_grading.entrants.collect): a student whose file cannot
be read, for any reason, is left out with the reason and the others are read; links are refused
at every level of submitted/; an id that is a baseline's name is left out."""

from __future__ import annotations

import shutil

from arena_grading.entrants import collect
from tests.agent_files import random_agent, save

FILE = "08_league_agent.safetensors"


def test_collect_leaves_out_links_at_any_level_and_ids_of_baselines(tmp_path):
    submitted = tmp_path / "submitted"
    save(random_agent(1), submitted / "ann" / "08_league", FILE)
    # bob's file is a link to ann's; cy's assignment folder and dee's student folder are links.
    (submitted / "bob" / "08_league").mkdir(parents=True)
    (submitted / "bob" / "08_league" / FILE).symlink_to(submitted / "ann" / "08_league" / FILE)
    (submitted / "cy").mkdir()
    (submitted / "cy" / "08_league").symlink_to(submitted / "ann" / "08_league")
    (submitted / "dee").symlink_to(submitted / "ann")
    shutil.copytree(submitted / "ann", submitted / "scripted")
    entrants, left_out, prints = collect(tmp_path, "08_league", FILE, reserved={"scripted", "random"})
    assert [e.name for e in entrants] == ["ann"] and [p.name for p in prints] == ["ann"]
    assert set(left_out) == {"bob", "cy", "dee", "scripted"}, left_out
    assert "submitted/bob/08_league/08_league_agent.safetensors is a symbolic link" in left_out["bob"]
    assert "submitted/cy/08_league is a symbolic link" in left_out["cy"]
    assert "submitted/dee is a symbolic link" in left_out["dee"]
    assert "name of one of the course's baselines" in left_out["scripted"] and "--no-baselines" in left_out["scripted"]


def test_collect_leaves_out_a_file_whose_reading_fails_in_any_way(tmp_path, monkeypatch):
    """Even an exception the reader does not expect (a bug) costs only that student."""
    import arena_lib.agents

    save(random_agent(1), tmp_path / "submitted" / "ann" / "08_league", FILE)
    save(random_agent(2), tmp_path / "submitted" / "bob" / "08_league", FILE)
    real = arena_lib.agents.agent_from_bytes
    calls = []

    def failing_for_bob(data, name=None, **kwargs):
        calls.append(name)
        if name == "bob":
            raise AttributeError("'list' object has no attribute 'get'")
        return real(data, name=name, **kwargs)

    monkeypatch.setattr(arena_lib.agents, "agent_from_bytes", failing_for_bob)
    entrants, left_out, _ = collect(tmp_path, "08_league", FILE)
    assert "bob" in calls  # the failure reached the reader
    assert [e.name for e in entrants] == ["ann"]
    assert "AttributeError" in left_out["bob"] and "could not be read" in left_out["bob"]
