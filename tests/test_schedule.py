"""The tournament's schedules (arena_grading.schedule): who meets whom, deterministically."""

from __future__ import annotations

from itertools import combinations

import pytest

from arena_grading import schedule


@pytest.mark.parametrize("count", [2, 3, 7, 24, 51])
def test_the_round_robin_has_every_pairing_once(count):
    pairs = [pair for chunk in schedule.round_robin(count) for pair in chunk]
    assert sorted(pairs) == list(combinations(range(count), 2))


def test_auto_takes_the_round_robin_for_a_class_and_swiss_for_a_mooc():
    assert schedule.chosen("auto", schedule.AUTO_SWISS_ABOVE) == "round-robin"
    assert schedule.chosen("auto", schedule.AUTO_SWISS_ABOVE + 1) == "swiss"
    assert schedule.chosen("swiss", 5) == "swiss" and schedule.chosen("round-robin", 10_000) == "round-robin"
    with pytest.raises(ValueError, match="allowed: auto, round-robin, swiss"):
        schedule.chosen("knockout", 10)


def test_swiss_rounds_grow_with_the_log_of_the_class():
    assert schedule.swiss_rounds(200) == 16 and schedule.swiss_rounds(5000) == 26 and schedule.swiss_rounds(3) == 4


def test_a_swiss_round_pairs_neighbours_once_avoids_rematches_and_rotates_who_sits_out():
    order = list(range(11))
    first, bye = schedule.swiss_pairs(order, set(), set())
    assert (first, bye) == ([(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)], 10)
    met = {frozenset(pair) for pair in first}
    second, second_bye = schedule.swiss_pairs(order, met, {10})
    assert second_bye == 9
    assert not met & {frozenset(pair) for pair in second}
    assert sorted(x for pair in second for x in pair) == [x for x in range(11) if x != 9]
    assert schedule.swiss_pairs(order, met, {10}) == (second, 9)  # deterministic


def test_everyone_meets_each_baseline_in_the_baselines_round():
    chunks = schedule.baseline_round(list(range(4, 130)), [0, 1, 2, 3])
    pairs = [pair for chunk in chunks for pair in chunk]
    assert sorted(pairs) == sorted([(b, s) for s in range(4, 130) for b in range(4)] + list(combinations(range(4), 2)))
    assert all(a < b for a, b in pairs)


def test_seeds_depend_on_the_two_names_only():
    assert schedule.seeds_for("ann", "bob", 3) == schedule.seeds_for("ann", "bob", 3)
    assert schedule.seeds_for("ann", "bob", 3) != schedule.seeds_for("bob", "ann", 3)
    assert len(set(schedule.seeds_for("ann", "bob", 8))) == 8
