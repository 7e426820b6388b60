"""Pairing for matchmaking rounds (pure): nobody alone, no recent repeats, cross-border first,
one trio on odd rounds, determinism, and the least-harm fallback when history leaves no way."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features.matchmaking.pairing import (
    Participant,
    is_cross_border,
    make_groups,
    pairs_of,
)

COUNTRIES = ("PL", "DE", "LT", "SE", "DK")


def people(*countries: str | None, location: str | None = None) -> list[Participant]:
    return [
        Participant(f"@p{index:03}:test", country, location)
        for index, country in enumerate(countries)
    ]


def check_shape(groups: list[tuple[str, ...]], members: Sequence[Participant]) -> None:
    """Everyone exactly once; pairs, plus exactly one trio iff the count is odd."""
    placed = [mxid for group in groups for mxid in group]
    assert sorted(placed) == sorted(p.mxid for p in members)
    sizes = Counter(len(group) for group in groups)
    assert set(sizes) <= {2, 3}
    assert sizes[3] == len(members) % 2


def repeats(groups: list[tuple[str, ...]], recent: set[frozenset[str]]) -> int:
    return sum(pair in recent for group in groups for pair in pairs_of(group))


def countries_of(members: Sequence[Participant]) -> dict[str, str | None]:
    return {p.mxid: p.country for p in members}


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=2, max_value=5).flatmap(
        lambda k: st.lists(st.integers(0, k - 1), min_size=16, max_size=60)
    ),
    st.integers(min_value=0, max_value=2**32),
)
def test_ten_rounds_never_repeat_and_leave_nobody_alone(country_indexes: list[int], seed: int):
    members = [
        Participant(f"@m{index}:test", COUNTRIES[country], f"loc{index % 3}")
        for index, country in enumerate(country_indexes)
    ]
    history: deque[set[frozenset[str]]] = deque(maxlen=6)
    for round_number in range(10):
        recent = set().union(*history)
        groups = make_groups(members, recent, f"{seed}/{round_number}")
        check_shape(groups, members)
        assert repeats(groups, recent) == 0
        history.append({pair for group in groups for pair in pairs_of(group)})


def test_even_split_gives_only_cross_border_pairs():
    members = people("PL", "PL", "PL", "PL", "DE", "DE", "DE", "DE")
    for seed in range(20):
        groups = make_groups(members, set(), seed)
        assert len(groups) == 4
        assert all(is_cross_border(group, countries_of(members)) for group in groups)


def test_lopsided_split_pairs_the_minority_across_first():
    members = people("PL", "PL", "PL", "PL", "PL", "PL", "DE", "DE")
    countries = countries_of(members)
    for seed in range(20):
        groups = make_groups(members, set(), seed)
        kinds = Counter(tuple(sorted(countries[m] or "?" for m in group)) for group in groups)
        assert kinds == {("DE", "PL"): 2, ("PL", "PL"): 2}


def test_cross_border_is_kept_around_recent_partners():
    members = people("PL", "PL", "DE", "DE")
    a, b, c, d = (p.mxid for p in members)
    recent = {frozenset((a, c))}
    assert make_groups(members, recent, 1) == [(a, d), (b, c)]


def test_same_country_pairs_prefer_another_location():
    members = [
        Participant("@a:test", "PL", "gdansk"),
        Participant("@b:test", "PL", "gdansk"),
        Participant("@c:test", "PL", "gdynia"),
        Participant("@d:test", "PL", "gdynia"),
    ]
    location = {p.mxid: p.location for p in members}
    for seed in range(20):
        for group in make_groups(members, set(), seed):
            assert location[group[0]] != location[group[1]]


def test_unknown_country_is_a_bucket_of_its_own():
    members = people(None, None, "PL", "PL")
    countries = countries_of(members)
    for seed in range(10):
        for group in make_groups(members, set(), seed):
            assert {countries[m] for m in group} == {None, "PL"}


def test_odd_count_makes_exactly_one_trio_with_a_new_country():
    members = people("PL", "PL", "DE", "DE", "LT")
    countries = countries_of(members)
    for seed in range(20):
        groups = make_groups(members, set(), seed)
        check_shape(groups, members)
        (trio,) = [group for group in groups if len(group) == 3]
        assert len({countries[m] for m in trio}) == 3


def test_odd_one_out_never_joins_a_pair_it_met():
    members = people("PL", "PL", "PL", "PL", "PL", "DE", "DE")
    ids = [p.mxid for p in members]
    recent = {frozenset((ids[0], other)) for other in ids[1:5]}
    for seed in range(20):
        groups = make_groups(members, recent, seed)
        check_shape(groups, members)
        assert repeats(groups, recent) == 0


def test_three_people_form_one_trio():
    members = people("PL", "DE", "LT")
    assert make_groups(members, set(), 0) == [tuple(sorted(p.mxid for p in members))]


def test_nobody_or_one_person_cannot_be_paired():
    assert make_groups([], set(), 0) == []
    assert make_groups(people("PL"), set(), 0) == []
    (alone,) = people("PL")
    assert make_groups([alone, alone], set(), 0) == []  # a duplicate is still one person


def test_two_people_are_paired_even_if_they_met():
    members = people("PL", "DE")
    recent = {frozenset(p.mxid for p in members)}
    assert make_groups(members, recent, 0) == [tuple(p.mxid for p in members)]


def test_same_seed_same_groups_whatever_the_input_order():
    members = people(*(COUNTRIES[i % 3] for i in range(25)))
    recent = {frozenset((members[i].mxid, members[i + 1].mxid)) for i in range(0, 24, 2)}
    first = make_groups(members, recent, "round-7")
    assert make_groups(list(reversed(members)), set(recent), "round-7") == first
    assert first == sorted(first)
    assert all(group == tuple(sorted(group)) for group in first)
    others = {tuple(make_groups(members, recent, f"round-{n}")) for n in range(5)}
    assert len(others) > 1  # the seed does change the pairing


def test_everyone_met_still_leaves_nobody_alone():
    for count in (4, 5, 7):
        members = people(*(COUNTRIES[i % 2] for i in range(count)))
        recent = {frozenset(pair) for pair in combinations([p.mxid for p in members], 2)}
        groups = make_groups(members, recent, 0)
        check_shape(groups, members)
        trios = count % 2
        pairs = (count - 3 * trios) // 2
        assert repeats(groups, recent) == pairs + 3 * trios  # unavoidable, and no more


def test_infeasible_history_repeats_as_little_as_possible():
    # @p000 has met everyone: one repeat is unavoidable, and one is enough.
    for count in (4, 5, 21, 40):
        members = people(*(COUNTRIES[i % 3] for i in range(count)))
        first, *rest = (p.mxid for p in members)
        recent = {frozenset((first, other)) for other in rest}
        for seed in range(5):
            groups = make_groups(members, recent, seed)
            check_shape(groups, members)
            assert repeats(groups, recent) == 1


def test_trios_in_history_count_as_their_three_pairs():
    members = people("PL", "DE", "LT", "SE")
    a, b, c, d = (p.mxid for p in members)
    groups = make_groups(members, {frozenset((a, b, c))}, 0)
    # a, b and c have all met, so each pair has exactly one of them with d: one repeat
    check_shape(groups, members)
    assert repeats(groups, {frozenset(p) for p in combinations((a, b, c), 2)}) == 1


def test_pairs_of_and_is_cross_border():
    assert pairs_of(("@a", "@b")) == [frozenset(("@a", "@b"))]
    assert set(pairs_of(("@a", "@b", "@c"))) == {
        frozenset(("@a", "@b")),
        frozenset(("@a", "@c")),
        frozenset(("@b", "@c")),
    }
    countries = {"@a": "PL", "@b": "DE", "@c": "PL", "@d": None}
    assert is_cross_border(("@a", "@b"), countries)
    assert not is_cross_border(("@a", "@c"), countries)
    assert not is_cross_border(("@a", "@d"), countries)  # unknown is not a second country
    assert is_cross_border(("@a", "@c", "@b"), countries)
    assert not is_cross_border(("@x", "@y"), countries)
