"""Pairing for matchmaking rounds: who meets whom this round.

Pure logic — no database, no I/O, no nio. The caller loads the opted-in members and the
pairs that met in the last rounds, calls `make_groups`, and stores and announces the result.

The rules, in order of strength:

1. **Nobody alone.** With two or more participants everyone is in exactly one group. Groups
   are pairs; when the count is odd there is exactly one group of three. One participant
   (or none) cannot be paired: `make_groups` returns `[]` and the caller tells that person.
2. **No repeats.** No group contains a pair from `recent_pairs` (the pairs that met in the
   last N rounds) whenever that can be satisfied. Up to `EXACT_LIMIT` participants this is
   guaranteed (an exact search runs when the heuristic fails); above that the greedy pass
   plus bounded repairs and reshuffles find it in practice (large rounds have plenty of
   people nobody has met). When it truly cannot be satisfied (say four people who have all
   met each other), rule 1 still wins — everyone gets a group anyway — with the least harm:
   up to `EXACT_LIMIT` people the grouping with the fewest repeated pairs (then the most
   cross-border groups); above that a local choice: a person nobody is left for is paired
   with another such person (one repeat per pair), and an odd one out who has met someone
   in every pair joins the pair it has met the fewest members of, or trades places so that
   only one pair repeats. The caller can spot such a round by checking the result's
   `pairs_of` against `recent_pairs`, and log it.
3. **Cross-border first.** As many pairs as possible join members from different countries:
   a greedy pass repeatedly takes someone from the largest remaining country bucket and pairs
   them with someone from the largest other bucket (skipping recent partners), which reaches
   the maximum ``min(n // 2, n - largest bucket)`` when history does not get in the way.
   Same-country pairs are made only when no other country is left for that person; among
   them a partner from another location is preferred. An unknown country (``None``) is a
   bucket of its own (``"?"``). The odd one out joins a pair it has not met, preferring a
   pair where it adds a new country.

The result is deterministic for a given (participants, recent_pairs, seed): the order of the
participants does not matter, all shuffling goes through `random.Random(seed)`, members of a
group are sorted and the groups are sorted.

Speed: the greedy pass is O(n log k) for k countries plus O(sum of recent partners); the
repair step only runs for the few people the greedy pass strands, with a bounded search
(alternating-path swaps with existing pairs), and a bounded number of reshuffled retries when
that is not enough. 10 000 participants with six rounds of history take well under a second.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

__all__ = ["UNKNOWN_COUNTRY", "Participant", "is_cross_border", "make_groups", "pairs_of"]

UNKNOWN_COUNTRY = "?"
"""The country bucket of participants whose country is not known."""

MAX_ATTEMPTS = 4
"""Reshuffled tries before settling for the least-harm result (only when repeats remain)."""

SEARCH_BUDGET = 128
"""People expanded per repair search; bounds the repair of one stranded person to
O(SEARCH_BUDGET * n) even in pathological cases."""

EXACT_LIMIT = 16
"""Up to this many participants, a round the heuristic cannot make without repeats is solved
exactly (fewest repeats, then most cross-border groups); small rounds are where history
most often makes the constraint tight or infeasible."""

LOCATION_LOOKAHEAD = 8
"""How many candidates a same-country pairing looks at to find one from another location."""

Group = tuple[str, ...]
_NOBODY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Participant:
    """One opted-in member, as the pairing sees them."""

    mxid: str
    country: str | None  # e.g. "PL"; None = unknown (its own bucket, `UNKNOWN_COUNTRY`)
    location: str | None  # location key; only a tie-break between same-country partners


def pairs_of(group: tuple[str, ...]) -> list[frozenset[str]]:
    """All 2-subsets of a group: one pair for a pair, three for a trio.

    This is what the caller stores as the round's "met" pairs and feeds back as
    `recent_pairs` in the next rounds.
    """
    return [frozenset(pair) for pair in combinations(group, 2)]


def is_cross_border(group: Sequence[str], countries: Mapping[str, str | None]) -> bool:
    """True when the group has members from more than one distinct *known* country.

    Unknown countries (missing or ``None``) do not count as a country of their own here.
    """
    known = {countries.get(mxid) for mxid in group}
    known.discard(None)
    return len(known) > 1


def make_groups(
    participants: Sequence[Participant],
    recent_pairs: Collection[frozenset[str]],
    seed: int | str,
) -> list[tuple[str, ...]]:
    """Groups of two (and one group of three when the count is odd) for one round.

    - Fewer than two participants (after dropping duplicate MXIDs, first one wins) → ``[]``:
      one person cannot be paired, the caller tells them.
    - Otherwise every participant is in exactly one group; all groups are pairs except
      exactly one trio when the count is odd.
    - No group contains a pair from `recent_pairs` whenever that is possible; when the
      history makes it impossible, the fewest repeats the repair step finds (see the module
      docstring). A set in `recent_pairs` with more than two members counts as all its pairs;
      sets of one member and MXIDs that are not participants are ignored.
    - Cross-border pairs are maximised greedily; the odd one out prefers a pair where it
      adds a new country.
    - Deterministic for the same (participants, recent_pairs, seed). Each group's members
      are sorted and the list of groups is sorted.
    """
    country: dict[str, str] = {}
    location: dict[str, str | None] = {}
    for participant in participants:
        if participant.mxid not in country:
            country[participant.mxid] = participant.country or UNKNOWN_COUNTRY
            location[participant.mxid] = participant.location
    if len(country) < 2:
        return []

    recent = _recent_partners(recent_pairs, country)
    ids = sorted(country)
    best: list[Group] = []
    best_harm = -1
    for attempt in range(MAX_ATTEMPTS):
        rng = random.Random(seed if attempt == 0 else f"{seed}/retry {attempt}")
        order = ids[:]
        rng.shuffle(order)
        groups = _Round(order, country, location, recent).run()
        harm = sum(1 for group in groups for pair in combinations(group, 2) if _met(recent, *pair))
        if best_harm < 0 or harm < best_harm:
            best, best_harm = groups, harm
        if harm == 0:
            break
    if best_harm > 0 and len(ids) <= EXACT_LIMIT:
        order = ids[:]
        random.Random(seed).shuffle(order)
        best = _least_harm_exact(order, country, recent)
    return sorted(tuple(sorted(group)) for group in best)


def _recent_partners(
    recent_pairs: Collection[frozenset[str]], present: Mapping[str, object]
) -> dict[str, set[str]]:
    """Who met whom recently, limited to today's participants."""
    partners: dict[str, set[str]] = {}
    for met in recent_pairs:
        if len(met) == 2:  # the usual case, kept fast
            a, b = met
            if a in present and b in present:
                partners.setdefault(a, set()).add(b)
                partners.setdefault(b, set()).add(a)
            continue
        members = sorted(mxid for mxid in met if mxid in present)
        for a, b in combinations(members, 2):
            partners.setdefault(a, set()).add(b)
            partners.setdefault(b, set()).add(a)
    return partners


def _least_harm_exact(
    order: Sequence[str], country: Mapping[str, str], recent: Mapping[str, set[str]]
) -> list[Group]:
    """The grouping with the fewest recent pairs, then the most cross-border groups.

    Dynamic programming over subsets, always grouping the lowest remaining person first, so
    only a few thousand subsets are reached for `EXACT_LIMIT` people. Ties go to the first
    grouping found in `order`, which the caller shuffled with the seed.
    """
    n = len(order)
    met = [[int(_met(recent, a, b)) for b in order] for a in order]
    cross = [[int(country[a] != country[b]) for b in order] for a in order]
    impossible = (n * n, 0)
    memo: dict[tuple[int, bool], tuple[tuple[int, int], tuple[int, ...]]] = {}

    def best(mask: int, trio_left: bool) -> tuple[tuple[int, int], tuple[int, ...]]:
        """(harm, -cross-border groups) and the chosen first group for `mask`."""
        if mask == 0:
            return ((0, 0) if not trio_left else impossible), ()
        key = (mask, trio_left)
        if key in memo:
            return memo[key]
        i = (mask & -mask).bit_length() - 1
        rest = mask ^ (1 << i)
        result: tuple[tuple[int, int], tuple[int, ...]] = (impossible, ())
        others = [j for j in range(i + 1, n) if rest >> j & 1]
        for position, j in enumerate(others):
            (harm, score), _ = best(rest ^ (1 << j), trio_left)
            cost = (harm + met[i][j], score - cross[i][j])
            if cost < result[0]:
                result = (cost, (i, j))
            if not trio_left:
                continue
            for k in others[position + 1 :]:
                (harm, score), _ = best(rest ^ (1 << j) ^ (1 << k), False)
                mixed = cross[i][j] | cross[i][k] | cross[j][k]
                cost = (harm + met[i][j] + met[i][k] + met[j][k], score - mixed)
                if cost < result[0]:
                    result = (cost, (i, j, k))
        memo[key] = result
        return result

    groups: list[Group] = []
    mask, trio_left = (1 << n) - 1, n % 2 == 1
    while mask:
        _, chosen = best(mask, trio_left)
        groups.append(tuple(order[index] for index in chosen))
        for index in chosen:
            mask ^= 1 << index
        trio_left = trio_left and len(chosen) == 2
    return groups


def _met(recent: Mapping[str, set[str]], a: str, b: str) -> bool:
    return b in recent.get(a, _NOBODY)


def _pop_largest(heap: list[tuple[int, str]], buckets: Mapping[str, list[str]]) -> str | None:
    """The non-empty bucket with the most people left (ties by key); stale entries skipped.

    Bucket sizes only shrink and each size is pushed once, so an entry is current exactly
    when its size matches the bucket's.
    """
    while heap:
        negative_size, key = heapq.heappop(heap)
        if negative_size < 0 and len(buckets[key]) == -negative_size:
            return key
    return None


class _Round:
    """One attempt at a round: a greedy pass, then repairs for whoever it stranded.

    Pairs live in `mate` (both directions); the trio, once formed, is kept apart.
    """

    def __init__(
        self,
        order: list[str],
        country: Mapping[str, str],
        location: Mapping[str, str | None],
        recent: Mapping[str, set[str]],
    ) -> None:
        self.order = order
        self.country = country
        self.location = location
        self.recent = recent
        self.mate: dict[str, str] = {}
        self.free: list[str] = []
        self.trio: Group | None = None
        self.odd = len(order) % 2 == 1

    def run(self) -> list[Group]:
        self._greedy()
        self._repair()
        groups: list[Group] = [(a, b) for a, b in self.mate.items() if a < b]
        if self.trio is not None:
            groups.append(self.trio)
        return groups

    # -- the greedy pass ----------------------------------------------------------------

    def _greedy(self) -> None:
        buckets: dict[str, list[str]] = {}
        for mxid in self.order:
            buckets.setdefault(self.country[mxid], []).append(mxid)
        heap = [(-len(members), key) for key, members in buckets.items()]
        heapq.heapify(heap)
        while (largest := _pop_largest(heap, buckets)) is not None:
            own = buckets[largest]
            person = own.pop()
            tried: list[str] = []
            partner = None
            while partner is None and (other := _pop_largest(heap, buckets)) is not None:
                tried.append(other)
                partner = self._take(buckets[other], person, prefer_other_location=False)
            if partner is None and own:
                partner = self._take(own, person, prefer_other_location=True)
            for key in (largest, *tried):
                if buckets[key]:
                    heapq.heappush(heap, (-len(buckets[key]), key))
            if partner is None:
                self.free.append(person)
            else:
                self._pair(person, partner)

    def _take(self, bucket: list[str], person: str, *, prefer_other_location: bool) -> str | None:
        """Remove and return someone from `bucket` whom `person` has not met recently.

        Looks from the end of the (shuffled) bucket; with `prefer_other_location`, up to
        `LOCATION_LOOKAHEAD` suitable candidates are looked at for one from another location.
        Costs O(recent partners of `person` + lookahead).
        """
        met = self.recent.get(person, _NOBODY)
        here = self.location[person] if prefer_other_location else None
        chosen = -1
        looked = 0
        for index in range(len(bucket) - 1, -1, -1):
            candidate = bucket[index]
            if candidate in met:
                continue
            if here is None or self.location[candidate] != here:
                chosen = index
                break
            if chosen < 0:
                chosen = index
            looked += 1
            if looked >= LOCATION_LOOKAHEAD:
                break
        if chosen < 0:
            return None
        taken = bucket[chosen]
        bucket[chosen] = bucket[-1]
        bucket.pop()
        return taken

    def _pair(self, a: str, b: str) -> None:
        self.mate[a] = b
        self.mate[b] = a

    # -- repairs --------------------------------------------------------------------------

    def _repair(self) -> None:
        """Give everyone the greedy pass left without a partner a group.

        Parity: while the trio is still to be formed on an odd round, `free` has an odd
        length; otherwise an even one.
        """
        free = self.free
        while free:
            if self.odd and self.trio is None and len(free) == 1:
                self._place_third(free.pop())
                return
            person = free.pop()
            if self._search(person, self._free_partner_for):
                continue
            if self.odd and self.trio is None and self._search(person, self._home_for):
                continue
            # Infeasible for this person: least harm is one repeat with another stranded one
            # (everyone left in `free` is a recent partner, or the search would have found them).
            self._pair(person, free.pop())

    def _free_partner_for(self, person: str, on_path: set[str]) -> Callable[[], None] | None:
        """Terminal test of the search: a still-free person `person` has not met."""
        met = self.recent.get(person, _NOBODY)
        for index, candidate in enumerate(self.free):
            if candidate not in met:

                def finish(index: int = index, candidate: str = candidate) -> None:
                    del self.free[index]
                    self._pair(person, candidate)

                return finish
        return None

    def _home_for(self, person: str, on_path: set[str]) -> Callable[[], None] | None:
        """Terminal test of the search: a pair (off the path) `person` can join as third."""
        home = self._find_home(person, on_path)
        if home is None:
            return None

        def finish() -> None:
            self._make_trio(person, home)

        return finish

    def _search(
        self, root: str, terminal: Callable[[str, set[str]], Callable[[], None] | None]
    ) -> bool:
        """Find a group for the unpaired `root` by moving partners along a path of pairs.

        A breadth-first search over alternating paths ``root - x1 = y1 - x2 = y2 ...`` (``-``
        a new pair of people who have not met, ``=`` an existing pair): when `terminal`
        accepts the last ``y``, every ``y(i-1)`` takes ``x(i)`` as its partner and the last
        ``y`` is placed by `terminal`. Depth 0 tries `root` itself; depth 1 is a plain swap
        with one existing pair. Each pair enters the search tree at most once, so paths never
        reuse a pair. Expands at most `SEARCH_BUDGET` people.
        """
        parent: dict[str, tuple[str, str]] = {}
        used = {root}
        queue = deque([root])
        expanded = 0
        while queue and expanded < SEARCH_BUDGET:
            person = queue.popleft()
            expanded += 1
            on_path = self._path_members(person, parent)
            finish = terminal(person, on_path)
            if finish is not None:
                self._rotate(person, parent)
                finish()
                return True
            met = self.recent.get(person, _NOBODY)
            for candidate in self.order:
                if candidate in used or candidate in met:
                    continue
                partner = self.mate.get(candidate)
                if partner is None or partner in used:
                    continue
                used.add(candidate)
                used.add(partner)
                parent[partner] = (person, candidate)
                queue.append(partner)
        return False

    @staticmethod
    def _path_members(person: str, parent: Mapping[str, tuple[str, str]]) -> set[str]:
        members = {person}
        while person in parent:
            previous, via = parent[person]
            members.add(previous)
            members.add(via)
            person = previous
        return members

    def _rotate(self, last: str, parent: Mapping[str, tuple[str, str]]) -> None:
        """Shift partners along the search path; `last` ends up without a partner."""
        if last in parent:
            del self.mate[last]
        person = last
        while person in parent:
            previous, via = parent[person]
            self._pair(previous, via)
            person = previous

    def _find_home(self, person: str, excluded: set[str]) -> tuple[str, str] | None:
        """A pair (not touching `excluded`) whose members `person` has both not met;
        one where `person` adds a new country if there is any."""
        met = self.recent.get(person, _NOBODY)
        own_country = self.country[person]
        fallback = None
        for a in self.order:
            b = self.mate.get(a)
            if b is None or a > b or a in excluded or b in excluded:
                continue
            if a in met or b in met:
                continue
            if own_country != self.country[a] and own_country != self.country[b]:
                return a, b
            if fallback is None:
                fallback = (a, b)
        return fallback

    def _place_third(self, person: str) -> None:
        """Make `person` the third of a pair: without repeats if the search finds a way,
        else the pair with the fewest members `person` has met (new country as tie-break)."""
        if self._search(person, self._home_for):
            return
        met = self.recent.get(person, _NOBODY)
        own_country = self.country[person]
        best: tuple[int, int] | None = None
        home: tuple[str, str] | None = None
        for a in self.order:
            b = self.mate.get(a)
            if b is None or a > b:
                continue
            cost = ((a in met) + (b in met), own_country in (self.country[a], self.country[b]))
            if best is None or cost < best:
                best, home = cost, (a, b)
        assert best is not None and home is not None, "an odd round has a pair to join"
        if best[0] >= 2 and self._trade_places(person):
            return
        self._make_trio(person, home)

    def _trade_places(self, person: str) -> bool:
        """Least harm when `person` has met both members of every pair: take one member of
        a pair as partner (at most one repeat) and make the other the third of a pair they
        have not met. Tries at most `SEARCH_BUDGET` pairs."""
        tried = 0
        for a in self.order:
            b = self.mate.get(a)
            if b is None:
                continue
            home = self._find_home(b, {person, a, b})
            if home is not None:
                del self.mate[b]
                self._pair(person, a)
                self._make_trio(b, home)
                return True
            tried += 1
            if tried >= SEARCH_BUDGET:
                break
        return False

    def _make_trio(self, person: str, home: tuple[str, str]) -> None:
        a, b = home
        del self.mate[a]
        del self.mate[b]
        self.trio = (person, a, b)
