"""The advisory figures: times to claim and to answer, outcomes and ratings, overall and per
location and sector, in a window; how `!advice stats` reads them; the Prometheus gauges.
Every expected value is worked out by hand from the seeded timestamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete

from bot.app import parse_config
from bot.db import Database
from bot.db.models import AdvisoryRequest
from bot.features.advice.stats import (
    AdviceFigures,
    Breakdown,
    figures,
    refresh_gauges,
    stats_reply,
)
from bot.i18n import Translator
from bot.metrics import Metrics
from rooms.topology import NetworkConfig
from tests.conftest import base_config, network

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=30)
H = 3600.0  # seconds in an hour
D = 24 * H


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def request(n: int, location: str | None, sector: str, status: str, created: datetime, *,
            claim: float | None = None, answer: float | None = None,
            closed: datetime | None = None, outcome: str | None = None,
            rating: int | None = None) -> AdvisoryRequest:
    """Request `n`, claimed `claim` and answered `answer` hours after it arrived."""
    return AdvisoryRequest(
        ref=f"ADV-{n}", secret_hash="x" * 64, organisation=f"Org {n}", email="a@b.example",
        sector=sector, location=location, question="q" * 20, language="en", status=status,
        created_at=created,
        claimed_at=created + hours(claim) if claim is not None else None,
        answered_at=created + hours(answer) if answer is not None else None,
        closed_at=closed, outcome=outcome, rating=rating,
        rated_at=closed if rating is not None else None)


# In the last 30 days:
#   1 szczecin/design    closed (helped)    claimed  2h, answered 24h, rated 5
#   2 szczecin/design    answered           claimed  4h, answered 96h
#   3 rostock/heritage   closed (referred)  claimed 12h, answered 48h, rated 3
#   4 —/design           claimed            claimed  6h (reopened: its old outcome stays)
#   5 rostock/design     new
#   6 szczecin/heritage  closed (declined)  never claimed, rated 2
# Before: 7 szczecin/design closed (helped), claimed 100h, answered 200h, rated 1.
def seeded() -> list[AdvisoryRequest]:
    day = timedelta(days=1)
    return [
        request(1, "szczecin", "design", "closed", NOW - 10 * day, claim=2, answer=24,
                closed=NOW - 5 * day, outcome="helped", rating=5),
        request(2, "szczecin", "design", "answered", NOW - 9 * day, claim=4, answer=96),
        request(3, "rostock", "heritage", "closed", NOW - 8 * day, claim=12, answer=48,
                closed=NOW - 4 * day, outcome="referred", rating=3),
        request(4, None, "design", "claimed", NOW - 5 * day, claim=6, outcome="helped"),
        request(5, "rostock", "design", "new", NOW - 2 * day),
        request(6, "szczecin", "heritage", "closed", NOW - 3 * day, closed=NOW - day,
                outcome="declined", rating=2),
        request(7, "szczecin", "design", "closed", NOW - 60 * day, claim=100, answer=200,
                closed=NOW - 40 * day, outcome="helped", rating=1),
    ]


@pytest.fixture
async def seeded_db(db: Database) -> Database:
    async with db.session() as s:
        s.add_all(seeded())
    return db


async def read(db: Database, since: datetime | None = SINCE,
               until: datetime | None = NOW) -> AdviceFigures:
    async with db.session() as s:
        return await figures(s, since=since, until=until)


def row(rows: list[Breakdown], key: str | None) -> Breakdown:
    [found] = [r for r in rows if r.key == key]
    return found


@pytest.fixture
def net() -> NetworkConfig:
    return parse_config(base_config(network=network("szczecin", "rostock")),
                        environ={}).network


async def test_overall_figures_of_the_window(seeded_db: Database) -> None:
    f = await read(seeded_db)
    assert f.total == 6
    assert f.by_status == {"new": 1, "claimed": 1, "answered": 1, "closed": 3}
    assert f.open == 3
    # claims 2, 4, 6, 12 hours
    assert (f.claimed, f.claim_median, f.claim_mean) == (4, 5 * H, 6 * H)
    # answers 24, 48, 96 hours
    assert (f.answered, f.answer_median, f.answer_mean) == (3, 48 * H, 56 * H)
    # the claimed request's outcome from before it was reopened does not count
    assert f.outcomes == {"helped": 1, "referred": 1, "declined": 1}
    assert f.ratings == 3
    assert f.rating_average == pytest.approx(10 / 3)


async def test_figures_per_location(seeded_db: Database) -> None:
    f = await read(seeded_db)
    assert [(r.key, r.total) for r in f.by_location] == [("szczecin", 3), ("rostock", 2),
                                                         (None, 1)]
    szczecin = row(f.by_location, "szczecin")
    assert szczecin.by_status == {"closed": 2, "answered": 1}
    assert (szczecin.claimed, szczecin.claim_median, szczecin.claim_mean) == (2, 3 * H, 3 * H)
    assert (szczecin.answer_median, szczecin.answer_mean) == (60 * H, 60 * H)
    assert szczecin.outcomes == {"helped": 1, "declined": 1}
    assert (szczecin.ratings, szczecin.rating_average) == (2, 3.5)
    rostock = row(f.by_location, "rostock")
    assert (rostock.claim_median, rostock.answer_median) == (12 * H, 48 * H)
    assert rostock.outcomes == {"referred": 1}
    assert (rostock.ratings, rostock.rating_average) == (1, 3.0)
    nowhere = row(f.by_location, None)
    assert (nowhere.claim_median, nowhere.answer_median) == (6 * H, None)
    assert (nowhere.outcomes, nowhere.ratings, nowhere.rating_average) == ({}, 0, None)


async def test_figures_per_sector(seeded_db: Database) -> None:
    f = await read(seeded_db)
    assert [(r.key, r.total) for r in f.by_sector] == [("design", 4), ("heritage", 2)]
    design = row(f.by_sector, "design")
    assert design.by_status == {"closed": 1, "answered": 1, "claimed": 1, "new": 1}
    assert (design.claimed, design.claim_median, design.claim_mean) == (3, 4 * H, 4 * H)
    assert (design.answered, design.answer_median, design.answer_mean) == (2, 60 * H, 60 * H)
    assert design.outcomes == {"helped": 1}
    assert (design.ratings, design.rating_average) == (1, 5.0)
    heritage = row(f.by_sector, "heritage")
    assert (heritage.claimed, heritage.claim_median) == (1, 12 * H)
    assert heritage.outcomes == {"referred": 1, "declined": 1}
    assert (heritage.ratings, heritage.rating_average) == (2, 2.5)


async def test_the_window_is_half_open_and_unbounded_without_limits(
        seeded_db: Database) -> None:
    everything = await read(seeded_db, since=None, until=None)
    assert everything.total == 7
    # claims 2, 4, 6, 12, 100 hours; answers 24, 48, 96, 200 hours
    assert (everything.claim_median, everything.claim_mean) == (6 * H, 24.8 * H)
    assert (everything.answer_median, everything.answer_mean) == (72 * H, 92 * H)
    assert everything.outcomes == {"helped": 2, "referred": 1, "declined": 1}
    assert everything.rating_average == pytest.approx(11 / 4)
    # request 5 arrived exactly 2 days, request 6 exactly 3 days before NOW
    recent = await read(seeded_db, since=NOW - timedelta(days=3), until=NOW)
    assert recent.total == 2 and recent.by_status == {"new": 1, "closed": 1}
    assert recent.claim_median is None and recent.answer_median is None
    assert (recent.ratings, recent.rating_average) == (1, 2.0)
    before = await read(seeded_db, since=None, until=NOW - timedelta(days=3))
    assert before.total == 5  # request 6 is on the boundary: not before it
    assert {r.key for r in before.by_sector} == {"design", "heritage"}


async def test_no_requests(db: Database) -> None:
    f = await read(db)
    assert (f.total, f.by_status, f.claim_median, f.answer_mean, f.rating_average) == (
        0, {}, None, None, None)
    assert f.by_location == [] and f.by_sector == []


async def test_reply_in_english(seeded_db: Database, translator: Translator,
                                net: NetworkConfig) -> None:
    text, html = stats_reply(translator.bind("en"), net, await read(seeded_db), days=30)
    lines = text.splitlines()
    assert lines[0] == "Advisory requests, last 30 days"
    assert lines[1] == "6 requests (new: 1, claimed: 1, answered: 1, closed: 3)."
    assert lines[2] == "Time to claim: median 5 hours, mean 6 hours (over 4 requests)."
    assert lines[3] == "Time to answer: median 2 days, mean 2 days 8 hours (over 3 requests)."
    assert lines[4] == ("Outcomes of the closed requests: helped: 1, referred: 1, "
                        "declined: 1, no reply: 0.")
    assert lines[5] == "Rating: 3.3 of 5 on average (3 ratings)."
    locations = lines[lines.index("By location (times are medians):") + 1:]
    assert locations[:3] == [
        "• Szczecin, Poland: 3 requests; claimed in 3 hours; answered in 2 days 12 hours; "
        "helped: 1, declined: 1; rated 3.5 of 5 by 2 requesters",
        "• Rostock, Germany: 2 requests; claimed in 12 hours; answered in 2 days; "
        "referred: 1; rated 3.0 of 5 by 1 requester",
        "• no location given: 1 request; claimed in 6 hours",
    ]
    sectors = lines[lines.index("By sector (times are medians):") + 1:]
    assert sectors == [
        "• Design: 4 requests; claimed in 4 hours; answered in 2 days 12 hours; helped: 1; "
        "rated 5.0 of 5 by 1 requester",
        "• Museums and heritage: 2 requests; claimed in 12 hours; answered in 2 days; "
        "referred: 1, declined: 1; rated 2.5 of 5 by 2 requesters",
    ]
    assert "<b>Advisory requests, last 30 days</b>" in html
    assert html.count("<li>") == 5
    assert "<li><b>Szczecin, Poland</b>: 3 requests;" in html
    all_time, _ = stats_reply(translator.bind("en"), net, await read(seeded_db, None, None),
                              days=None)
    assert all_time.startswith("Advisory requests, all time\n7 requests (")


async def test_reply_in_polish_has_polish_plural_forms(seeded_db: Database,
                                                       translator: Translator,
                                                       net: NetworkConfig) -> None:
    english, _ = stats_reply(translator.bind("en"), net, await read(seeded_db), days=30)
    text, html = stats_reply(translator.bind("pl"), net, await read(seeded_db), days=30)
    lines = text.splitlines()
    assert len(lines) == len(english.splitlines())  # the same lines, in another language
    assert len([line for line in lines if line.startswith("• ")]) == 5
    # the times in Polish, each with its plural form: 5, 6, 8, 12 "godzin", 3 "godziny"
    assert "5 godzin" in lines[2] and "6 godzin" in lines[2]
    assert "2 dni 8 godzin" in lines[3]
    szczecin, rostock = (next(line for line in lines if line.startswith(f"• {name}"))
                         for name in ("Szczecin, Polska", "Rostock, Niemcy"))
    assert "3 godziny" in szczecin and "2 dni 12 godzin" in szczecin
    assert "12 godzin" in rostock and "2 dni" in rostock
    assert "3,5" in szczecin and "3,3" in lines[5]  # a decimal comma
    # no English unit anywhere (the title's words are the catalog's, maybe not yet translated)
    assert re.search(r"\b(minutes?|hours?|days?)\b", "\n".join(lines[1:])) is None
    assert html.count("<li>") == 5


async def test_reply_when_empty(db: Database, translator: Translator,
                                net: NetworkConfig) -> None:
    tr = translator.bind("en")
    text, html = stats_reply(tr, net, await read(db), days=None)
    assert text == "Advisory requests, all time\nNo requests yet."
    assert html == "<p><b>Advisory requests, all time</b><br>No requests yet.</p>"
    text, _ = stats_reply(tr, net, await read(db), days=1)
    assert text == "Advisory requests, last 1 day\nNo requests in this period."


async def test_reply_escapes_what_it_shows(db: Database, translator: Translator,
                                           net: NetworkConfig) -> None:
    async with db.session() as s:
        s.add(request(1, "<i>gone</i>", "<b>odd</b>", "closed", NOW - timedelta(days=1),
                      outcome="<u>what</u>"))
    text, html = stats_reply(translator.bind("en"), net, await read(db), days=30)
    assert "• <i>gone</i>: 1 request; <u>what</u>: 1" in text
    assert "• <b>odd</b>: 1 request; <u>what</u>: 1" in text
    assert "<i>" not in html and "<b>odd" not in html and "<u>" not in html
    assert "&lt;i&gt;gone&lt;/i&gt;" in html and "&lt;b&gt;odd&lt;/b&gt;" in html
    assert "&lt;u&gt;what&lt;/u&gt;: 1" in html


async def test_gauges(seeded_db: Database) -> None:
    metrics = Metrics()

    def sample(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    async with seeded_db.session() as s:
        await refresh_gauges(s, metrics)
    # all time: requests 1 and 7 are closed, in Szczecin, design
    assert sample("sbcc_advice_requests", status="closed", location="szczecin",
                  sector="design") == 2
    assert sample("sbcc_advice_requests", status="claimed", location="",
                  sector="design") == 1
    assert sample("sbcc_advice_requests", status="new", location="rostock",
                  sector="design") == 1
    assert sample("sbcc_advice_seconds", stage="claim", stat="median") == 6 * H
    assert sample("sbcc_advice_seconds", stage="claim", stat="mean") == 24.8 * H
    assert sample("sbcc_advice_seconds", stage="answer", stat="median") == 72 * H
    assert sample("sbcc_advice_seconds", stage="answer", stat="mean") == 92 * H
    assert sample("sbcc_advice_outcomes", outcome="helped") == 2
    assert sample("sbcc_advice_outcomes", outcome="referred") == 1
    assert sample("sbcc_advice_outcomes", outcome="no_reply") == 0
    assert sample("sbcc_advice_rating", stat="count") == 4
    assert sample("sbcc_advice_rating", stat="average") == 2.75

    # what is gone disappears: the old request deleted, every other one, then all
    async with seeded_db.session() as s:
        await s.execute(delete(AdvisoryRequest).where(AdvisoryRequest.ref == "ADV-7"))
        await refresh_gauges(s, metrics)
    assert sample("sbcc_advice_requests", status="closed", location="szczecin",
                  sector="design") == 1
    assert sample("sbcc_advice_seconds", stage="claim", stat="median") == 5 * H
    async with seeded_db.session() as s:
        await s.execute(delete(AdvisoryRequest))
        await refresh_gauges(s, metrics)
    assert sample("sbcc_advice_requests", status="closed", location="szczecin",
                  sector="design") is None
    assert sample("sbcc_advice_seconds", stage="claim", stat="median") is None
    assert sample("sbcc_advice_rating", stat="average") is None
    assert sample("sbcc_advice_rating", stat="count") == 0
    assert sample("sbcc_advice_outcomes", outcome="helped") == 0
