"""Grouping scored pairs into clusters of duplicates without chaining (average linkage).

Split out of `crmcli/matching_score.py`, whose `PairScore`s it consumes. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from crmcli.matching_score import POSSIBLE, PairScore, band_of


@dataclass
class Cluster:
    """A group of records that are probably one customer, and its weakest link."""

    members: list[int]
    pairs: dict[tuple[int, int], PairScore]
    weakest: PairScore
    conflict: bool  # some pair inside contradicts (a negative score): never merged unasked

    @property
    def score(self) -> float:
        return self.weakest.score

    @property
    def band(self) -> str:
        if self.conflict:
            return "possible"
        return band_of(self.weakest.score) or "possible"


def cluster(
    pairs: Iterable[PairScore],
    score: Callable[[int, int], PairScore],
    *,
    threshold: float = POSSIBLE,
    max_size: int = 20,
) -> list[Cluster]:
    """Group scored pairs without chaining: average linkage with a guard.

    Pairs are taken best first; two groups join only when the *average* score over every
    cross pair (scored on demand with `score`, so a pair that shares no blocking key still
    counts) reaches `threshold`. A chain A~B~C where A and C disagree therefore stays apart.
    Each group reports its weakest link: the member least attached to the rest.

    Groups grow only along `pairs`, so each connected component of their graph clusters on its
    own: clustering the components apart (in any batches) and sorting by `order_key` gives the
    same groups as one call.
    """
    known: dict[tuple[int, int], PairScore] = {}
    for p in pairs:
        known[(p.a, p.b)] = p

    def get(x: int, y: int) -> PairScore:
        key = (x, y) if x < y else (y, x)
        found = known.get(key)
        if found is None:
            found = known[key] = score(*key)
        return found

    parent: dict[int, int] = {}
    members: dict[int, list[int]] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for p in sorted(known.values(), key=lambda q: (-q.score, q.a, q.b)):
        if p.score < threshold:
            break
        ra, rb = find(p.a), find(p.b)
        if ra == rb:
            continue
        ma, mb = members.get(ra, [ra]), members.get(rb, [rb])
        if len(ma) + len(mb) > max_size:
            continue
        if len(ma) * len(mb) > 1:
            total = sum(get(x, y).score for x in ma for y in mb)
            if total / (len(ma) * len(mb)) < threshold:
                continue
        parent[rb] = ra
        members[ra] = ma + mb
        members.pop(rb, None)

    out: list[Cluster] = []
    for group in members.values():
        group = sorted(group)
        inside = {(x, y): get(x, y) for i, x in enumerate(group) for y in group[i + 1 :]}
        best_link: dict[int, PairScore] = {}
        for (x, y), p in inside.items():
            for m in (x, y):
                if m not in best_link or p.score > best_link[m].score:
                    best_link[m] = p
        weakest = min(best_link.values(), key=lambda q: (q.score, q.a, q.b))
        conflict = any(p.score < 0 for p in inside.values())
        out.append(Cluster(group, inside, weakest, conflict))
    out.sort(key=order_key)
    return out


def order_key(c: Cluster) -> tuple[bool, float, int]:
    """The order groups are listed in: likely first, then the strongest weakest link."""
    return c.band != "likely", -c.score, c.members[0]
