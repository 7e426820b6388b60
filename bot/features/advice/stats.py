"""The advisory figures: how many requests, in which states, how soon they were claimed and
answered, how they ended and how their senders rated them — over all requests, per location
and per sector. `figures` reads them for a window of creation dates, `stats_reply` is what
`!advice stats` answers, `refresh_gauges` feeds the Prometheus gauges.

Counts, outcomes and ratings are SQL aggregates; times to claim and to answer are computed
here from the few timestamps each request has (medians need every duration, and requests are
few — thousands at most). No question, name or address is read.

Time to claim is from a request's arrival to its first claim, time to answer from its arrival
to its first answer; a request counts in them once it has that time. Outcomes are those of
requests that are closed now (a reopened request has none until it is closed again).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from babel.dates import format_timedelta
from babel.numbers import format_decimal
from sqlalchemy import ColumnElement, func, or_, select

from bot.dates import date_locale
from bot.db.models import AdvisoryRequest
from bot.features.advice.messages import SECTOR_LABELS, STATE_NAMES
from bot.formatting import escape
from bot.i18n import N_, BoundTranslator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.metrics import Metrics
    from rooms.topology import NetworkConfig

# (key, label): how a closed request ended; the key is stored, the label translated when shown.
OUTCOMES: tuple[tuple[str, str], ...] = (
    ("helped", N_("helped")),
    ("referred", N_("referred")),
    ("declined", N_("declined")),
    ("no_reply", N_("no reply")),
)
OUTCOME_LABELS = dict(OUTCOMES)

STATES = ("new", "claimed", "answered", "closed")  # a request's states, in their order
OPEN_STATES = ("new", "claimed", "answered")  # not closed yet

Reply = tuple[str, str]  # plain text and HTML
UNIT_SECONDS = {"day": 86400, "hour": 3600, "minute": 60}


@dataclass
class RequestFigures:
    """The figures of some requests. Times are in seconds, None when no request has one;
    `claimed`/`answered` say how many requests the times are over."""

    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    claimed: int = 0
    claim_median: float | None = None
    claim_mean: float | None = None
    answered: int = 0
    answer_median: float | None = None
    answer_mean: float | None = None
    outcomes: dict[str, int] = field(default_factory=dict)  # of the closed requests
    ratings: int = 0
    rating_average: float | None = None

    @property
    def open(self) -> int:
        return sum(self.by_status.get(state, 0) for state in OPEN_STATES)


@dataclass
class Breakdown(RequestFigures):
    """The figures of one location's requests (`key` None: no location given) or one
    sector's."""

    key: str | None = None


@dataclass
class AdviceFigures(RequestFigures):
    """All requests of the window, then per location and per sector (only those with
    requests; the most requests first)."""

    by_location: list[Breakdown] = field(default_factory=list)
    by_sector: list[Breakdown] = field(default_factory=list)


@dataclass
class _Tally:
    """Figures while they are being added up."""

    total: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    claims: list[float] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    ratings: int = 0
    rating_sum: int = 0

    def fill(self, figures: RequestFigures) -> None:
        figures.total = self.total
        figures.by_status = dict(self.by_status)
        figures.claimed, figures.claim_median, figures.claim_mean = _times(self.claims)
        figures.answered, figures.answer_median, figures.answer_mean = _times(self.answers)
        figures.outcomes = dict(self.outcomes)
        figures.ratings = self.ratings
        figures.rating_average = self.rating_sum / self.ratings if self.ratings else None


def _times(seconds: list[float]) -> tuple[int, float | None, float | None]:
    if not seconds:
        return 0, None, None
    return len(seconds), statistics.median(seconds), statistics.fmean(seconds)


def elapsed(start: datetime, end: datetime | None) -> float | None:
    """From `start` to `end`, never below zero (clocks disagree now and then)."""
    return None if end is None else max(0.0, (end - start).total_seconds())


def _window(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    created = AdvisoryRequest.created_at
    return [*([created >= since] if since is not None else []),
            *([created < until] if until is not None else [])]


@dataclass(frozen=True)
class _Group:
    """One row of the grouped counts."""

    location: str | None
    sector: str
    status: str
    outcome: str | None
    count: int
    ratings: int
    rating_sum: int


async def _groups(session: AsyncSession, since: datetime | None, until: datetime | None
                  ) -> list[_Group]:
    r = AdvisoryRequest
    rows = await session.execute(
        select(r.location, r.sector, r.status, r.outcome, func.count(), func.count(r.rating),
               func.coalesce(func.sum(r.rating), 0))
        .where(*_window(since, until))
        .group_by(r.location, r.sector, r.status, r.outcome))
    return [_Group(location or None, sector, status, outcome, int(n), int(rated),
                   int(total or 0))
            for location, sector, status, outcome, n, rated, total in rows.all()]


async def _figures(session: AsyncSession, since: datetime | None, until: datetime | None,
                   groups: list[_Group]) -> AdviceFigures:
    r = AdvisoryRequest
    overall = _Tally()
    locations: dict[str | None, _Tally] = {}
    sectors: dict[str, _Tally] = {}
    for g in groups:
        for tally in (overall, locations.setdefault(g.location, _Tally()),
                      sectors.setdefault(g.sector, _Tally())):
            tally.total += g.count
            tally.by_status[g.status] += g.count
            if g.status == "closed" and g.outcome:
                tally.outcomes[g.outcome] += g.count
            tally.ratings += g.ratings
            tally.rating_sum += g.rating_sum
    times = await session.execute(
        select(r.location, r.sector, r.created_at, r.claimed_at, r.answered_at)
        .where(*_window(since, until), or_(r.claimed_at.is_not(None),
                                           r.answered_at.is_not(None))))
    for location, sector, created, claimed, answered in times.all():
        for tally in (overall, locations.setdefault(location or None, _Tally()),
                      sectors.setdefault(sector, _Tally())):
            if (claim := elapsed(created, claimed)) is not None:
                tally.claims.append(claim)
            if (answer := elapsed(created, answered)) is not None:
                tally.answers.append(answer)
    result = AdviceFigures()
    overall.fill(result)

    def rows(tallies: dict[str | None, _Tally] | dict[str, _Tally]) -> list[Breakdown]:
        made = []
        for key, tally in tallies.items():
            row = Breakdown(key=key)
            tally.fill(row)
            made.append(row)
        # the most requests first; "no location" after the places of the same count
        return sorted(made, key=lambda b: (-b.total, b.key is None, b.key or ""))

    result.by_location = rows(locations)
    result.by_sector = rows(sectors)
    return result


async def figures(session: AsyncSession, *, since: datetime | None = None,
                  until: datetime | None = None) -> AdviceFigures:
    """The figures of the requests that arrived in [since, until) (None: no bound)."""
    return await _figures(session, since, until, await _groups(session, since, until))


async def refresh_gauges(session: AsyncSession, metrics: Metrics) -> None:
    """Set the advisory gauges from all requests ever made. Every gauge is cleared first,
    so a combination of labels that no longer occurs disappears."""
    groups = await _groups(session, None, None)
    result = await _figures(session, None, None, groups)
    cells: Counter[tuple[str, str, str]] = Counter()
    for g in groups:
        cells[(g.status, g.location or "", g.sector)] += g.count
    metrics.advice_requests.clear()
    for (status, location, sector), n in cells.items():
        metrics.advice_requests.labels(status=status, location=location, sector=sector).set(n)
    metrics.advice_seconds.clear()
    for stage, median, mean in (("claim", result.claim_median, result.claim_mean),
                                ("answer", result.answer_median, result.answer_mean)):
        for stat, value in (("median", median), ("mean", mean)):
            if value is not None:
                metrics.advice_seconds.labels(stage=stage, stat=stat).set(value)
    metrics.advice_outcomes.clear()
    for outcome in {*OUTCOME_LABELS, *result.outcomes}:
        metrics.advice_outcomes.labels(outcome=outcome).set(result.outcomes.get(outcome, 0))
    metrics.advice_rating.clear()
    metrics.advice_rating.labels(stat="count").set(result.ratings)
    if result.rating_average is not None:
        metrics.advice_rating.labels(stat="average").set(result.rating_average)


# -- how the figures read -----------------------------------------------------------------

def duration(seconds: float, locale: str) -> str:
    """A time in the reader's language, plural forms from CLDR: minutes under two hours
    ("90 minutes"), hours under two days ("36 hours"), then days and hours ("2 days 8
    hours"); rounded to the minute or the hour."""
    loc = date_locale(locale)

    def unit(n: int, name: Literal["day", "hour", "minute"]) -> str:
        # this unit and no other: no threshold is ever reached before its granularity
        return format_timedelta(timedelta(seconds=n * UNIT_SECONDS[name]),
                                threshold=math.inf, granularity=name, locale=loc)

    minutes = round(seconds / 60)
    if minutes < 120:
        return unit(max(1, minutes), "minute")
    hours = round(seconds / 3600)
    if hours < 48:
        return unit(hours, "hour")
    days, rest = divmod(hours, 24)
    return f"{unit(days, 'day')} {unit(rest, 'hour')}" if rest else unit(days, "day")


def rating(average: float, locale: str) -> str:
    """An average rating with one decimal, as the reader writes numbers ("4,5")."""
    return format_decimal(average, format="0.0", locale=date_locale(locale))


def state_label(tr: BoundTranslator, state: str) -> str:
    label = STATE_NAMES.get(state)
    return tr(label) if label else state


def outcome_label(tr: BoundTranslator, outcome: str) -> str:
    label = OUTCOME_LABELS.get(outcome)
    return tr(label) if label else outcome


def sector_label(tr: BoundTranslator, sector: str) -> str:
    label = SECTOR_LABELS.get(sector)
    return tr(label) if label else sector


def outcome_counts(tr: BoundTranslator, outcomes: dict[str, int], *, zeros: bool) -> str:
    """"helped: 2, referred: 1" — the known outcomes in their order (`zeros`: those that
    did not occur too), then any other."""
    keys = [key for key, _ in OUTCOMES] + sorted(set(outcomes) - set(OUTCOME_LABELS))
    return ", ".join(f"{outcome_label(tr, key)}: {outcomes.get(key, 0)}" for key in keys
                     if zeros or outcomes.get(key))


def _overall(tr: BoundTranslator, f: AdviceFigures) -> list[str]:
    loc = tr.locale
    keys = [*STATES, *sorted(set(f.by_status) - set(STATES))]
    states = ", ".join(f"{state_label(tr, key)}: {f.by_status[key]}" for key in keys
                       if f.by_status.get(key))
    lines = [tr.ngettext("%(num)d request (%(states)s).", "%(num)d requests (%(states)s).",
                         f.total, states=states)]
    if f.claim_median is not None and f.claim_mean is not None:
        lines.append(tr.ngettext(
            "Time to claim: median %(median)s, mean %(mean)s (over %(num)d request).",
            "Time to claim: median %(median)s, mean %(mean)s (over %(num)d requests).",
            f.claimed, median=duration(f.claim_median, loc), mean=duration(f.claim_mean, loc)))
    if f.answer_median is not None and f.answer_mean is not None:
        lines.append(tr.ngettext(
            "Time to answer: median %(median)s, mean %(mean)s (over %(num)d request).",
            "Time to answer: median %(median)s, mean %(mean)s (over %(num)d requests).",
            f.answered, median=duration(f.answer_median, loc),
            mean=duration(f.answer_mean, loc)))
    if f.outcomes:
        lines.append(tr(N_("Outcomes of the closed requests: %(outcomes)s."),
                        outcomes=outcome_counts(tr, f.outcomes, zeros=True)))
    if f.rating_average is not None:
        lines.append(tr.ngettext(
            "Rating: %(average)s of 5 on average (%(num)d rating).",
            "Rating: %(average)s of 5 on average (%(num)d ratings).",
            f.ratings, average=rating(f.rating_average, loc)))
    return lines


def _row(tr: BoundTranslator, row: Breakdown) -> str:
    """"5 requests; claimed in 5 hours; answered in 2 days; helped: 2; rated 4.5 of 5 by
    2 requesters" — what the row has (its times are medians)."""
    parts = [tr.ngettext("%(num)d request", "%(num)d requests", row.total)]
    if row.claim_median is not None:
        parts.append(tr(N_("claimed in %(time)s"), time=duration(row.claim_median, tr.locale)))
    if row.answer_median is not None:
        parts.append(tr(N_("answered in %(time)s"),
                        time=duration(row.answer_median, tr.locale)))
    if row.outcomes:
        parts.append(outcome_counts(tr, row.outcomes, zeros=False))
    if row.rating_average is not None:
        parts.append(tr.ngettext("rated %(average)s of 5 by %(num)d requester",
                                 "rated %(average)s of 5 by %(num)d requesters", row.ratings,
                                 average=rating(row.rating_average, tr.locale)))
    return "; ".join(parts)


def stats_reply(tr: BoundTranslator, network: NetworkConfig, figures: AdviceFigures, *,
                days: int | None) -> Reply:
    """What `!advice stats [days]` answers: the figures of the requests that arrived in the
    last `days` days (None: ever), then per location and per sector, as text and HTML."""
    if days is None:
        title = tr(N_("Advisory requests, all time"))
    else:
        title = tr.ngettext("Advisory requests, last %(num)d day",
                            "Advisory requests, last %(num)d days", days)
    if not figures.total:
        empty = (tr(N_("No requests yet.")) if days is None
                 else tr(N_("No requests in this period.")))
        return (f"{title}\n{empty}",
                f"<p><b>{escape(title)}</b><br>{escape(empty)}</p>")
    overall = _overall(tr, figures)
    text = [title, *overall]
    html = [f"<p><b>{escape(title)}</b><br>" + "<br>".join(escape(line) for line in overall)
            + "</p>"]
    groups = (
        (tr(N_("By location (times are medians):")),
         [(network.place(row.key, tr.locale) if row.key else tr(N_("no location given")),
           row) for row in figures.by_location]),
        (tr(N_("By sector (times are medians):")),
         [(sector_label(tr, row.key or ""), row) for row in figures.by_sector]),
    )
    for heading, rows in groups:
        if not rows:
            continue
        text.extend(["", heading])
        items = []
        for name, row in rows:
            line = _row(tr, row)
            text.append(f"• {name}: {line}")
            items.append(f"<li><b>{escape(name)}</b>: {escape(line)}</li>")
        html.append(f"<p><b>{escape(heading)}</b></p><ul>{''.join(items)}</ul>")
    return "\n".join(text), "".join(html)
