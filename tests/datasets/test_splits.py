"""Splits are deterministic, group-disjoint and stratified."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from vidonate.datasets.splits import SplitItem, assign_splits, groups_of


def _population(
    seed: int, n: int = 400, cameras: int = 120, incidents: int = 40
) -> list[SplitItem]:
    rng = random.Random(seed)
    items = []
    for i in range(n):
        links: tuple[tuple[str, int], ...] = (("camera", rng.randrange(cameras)),)
        if rng.random() < 0.3:
            links += (("incident", rng.randrange(incidents)),)
        stratum = (rng.choice(["package_theft", "car_door_tampering", "normal_activity"]),
                   rng.random() < 0.25)  # fmt: skip
        items.append(SplitItem(id=i, links=links, stratum=stratum))
    return items


def test_the_same_seed_gives_the_same_splits_and_another_seed_another() -> None:
    items = _population(1)
    assert assign_splits(items, seed=7) == assign_splits(list(reversed(items)), seed=7)
    assert assign_splits(items, seed=7) != assign_splits(items, seed=8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_camera_and_no_incident_is_in_two_splits(seed: int) -> None:
    items = _population(seed)
    splits = assign_splits(items, seed=seed)
    seen: dict[tuple[str, int], set[str]] = {}
    for item in items:
        for link in item.links:
            seen.setdefault(link, set()).add(splits[item.id])
    assert all(len(where) == 1 for where in seen.values())


def test_an_incident_across_two_cameras_joins_their_groups() -> None:
    items = [
        SplitItem(1, (("camera", 1),), "a"),
        SplitItem(2, (("camera", 2), ("incident", 9)), "a"),
        SplitItem(3, (("camera", 1), ("incident", 9)), "a"),
        SplitItem(4, (("camera", 3),), "a"),
    ]
    groups = sorted(sorted(i.id for i in g) for g in groups_of(items))
    assert groups == [[1, 2, 3], [4]]


def test_each_stratum_is_split_close_to_the_ratios() -> None:
    items = _population(3, n=900, cameras=600, incidents=10)
    splits = assign_splits(items, seed=3)
    per_stratum = Counter((item.stratum, splits[item.id]) for item in items)
    totals = Counter(item.stratum for item in items)
    for stratum, total in totals.items():
        for split, ratio in (("train", 0.7), ("val", 0.15), ("test", 0.15)):
            share = per_stratum[(stratum, split)] / total
            assert abs(share - ratio) < 0.06, (stratum, split, share)
