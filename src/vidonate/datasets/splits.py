"""Deterministic, group-disjoint, stratified train/val/test splits.

Clips that share an incident or a camera form one group (transitively: union-find), and a
group goes to one split whole, so no incident and no camera is seen in two splits; a model
cannot score by recognising a porch it was trained on. Groups are placed greedily, largest
first, each where it brings the per-stratum counts (label × staged/real) closest to the
target ratios. The order of equal-sized groups comes from the seed, so the same seed over
the same clips gives the same splits, and another seed another valid one.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

SPLITS = ("train", "val", "test")
DEFAULT_RATIOS: dict[str, float] = {"train": 0.7, "val": 0.15, "test": 0.15}


@dataclass(frozen=True)
class SplitItem:
    """One clip to place: its id, what it must not share across splits, and its stratum."""

    id: int
    links: tuple[Hashable, ...]  # e.g. ("camera", 3), ("incident", 9): shared links join groups
    stratum: Hashable  # e.g. ("package_theft", False)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Hashable, Hashable] = {}

    def find(self, x: Hashable) -> Hashable:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: Hashable, b: Hashable) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def groups_of(items: Sequence[SplitItem]) -> list[list[SplitItem]]:
    """Items joined by any shared link, transitively; each item is in exactly one group."""
    sets = _UnionFind()
    for item in items:
        sets.find(("item", item.id))
        for link in item.links:
            sets.union(("item", item.id), ("link", link))
    grouped: dict[Hashable, list[SplitItem]] = defaultdict(list)
    for item in items:
        grouped[sets.find(("item", item.id))].append(item)
    return list(grouped.values())


def _tiebreak(seed: int, group: list[SplitItem]) -> str:
    first = min(item.id for item in group)
    return hashlib.sha256(f"{seed}:{first}".encode()).hexdigest()


def _cost(
    choice: str,
    composition: Mapping[Hashable, int],
    group_size: int,
    counts: Mapping[str, Mapping[Hashable, int]],
    sizes: Mapping[str, int],
    strata_totals: Mapping[Hashable, int],
    target: Mapping[str, float],
) -> float:
    """Squared relative distance from the targets, per stratum and overall, after placing
    a group of ``composition`` in split ``choice``."""
    total = 0.0
    for stratum, n in strata_totals.items():
        for name, share in target.items():
            have = counts[name].get(stratum, 0) + (
                composition.get(stratum, 0) if name == choice else 0
            )
            total += ((have - share * n) / n) ** 2
    overall = sum(strata_totals.values()) or 1
    for name, share in target.items():
        have = sizes[name] + (group_size if name == choice else 0)
        total += ((have - share * overall) / overall) ** 2
    return total


def assign_splits(
    items: Sequence[SplitItem], *, seed: int, ratios: Mapping[str, float] = DEFAULT_RATIOS
) -> dict[int, str]:
    """Clip id -> split name, group-disjoint and stratified; deterministic for ``seed``."""
    names = [name for name in SPLITS if ratios.get(name, 0) > 0]
    total_ratio = sum(ratios[name] for name in names)
    target = {name: ratios[name] / total_ratio for name in names}
    strata_totals: dict[Hashable, int] = defaultdict(int)
    for item in items:
        strata_totals[item.stratum] += 1
    groups = sorted(groups_of(items), key=lambda g: (-len(g), _tiebreak(seed, g)))
    counts: dict[str, dict[Hashable, int]] = {name: defaultdict(int) for name in names}
    sizes = dict.fromkeys(names, 0)
    placed: dict[int, str] = {}
    for group in groups:
        composition: dict[Hashable, int] = defaultdict(int)
        for item in group:
            composition[item.stratum] += 1

        best = min(
            names,
            key=lambda name: (
                _cost(name, composition, len(group), counts, sizes, strata_totals, target),
                names.index(name),
            ),
        )
        for item in group:
            placed[item.id] = best
            counts[best][item.stratum] += 1
        sizes[best] += len(group)
    return placed
