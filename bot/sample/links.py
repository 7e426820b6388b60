"""Links between members: connections, and collaborations (most grown from a connection)
with their members, history and showcase consent."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Collaboration,
    CollaborationEvent,
    CollaborationMember,
    Connection,
    Member,
)
from bot.features.profiles.introductions import tags_meet
from bot.sample.members import Index
from bot.sample.people import Generator, Person
from bot.sample.writing import Writer, next_id

MAX_CONNECTION_TRIES = 8

TITLES: dict[str, tuple[str, ...]] = {
    "design": ("Baltic Coast Visual Identity", "Amber Road documentary", "Harbour light "
               "photo series", "Shared design sprint {a}–{b}"),
    "games": ("Hanseatic trade game", "AR walk through old {a}", "Serious game for coastal "
              "schools", "{a}–{b} game jam"),
    "heritage": ("Digital archive of fishing villages", "Travelling exhibition {a}–{b}",
                 "Museum education kit", "Oral history of the lagoon"),
    "tourism": ("Creative routes along the coast", "Festival exchange {a}–{b}", "Slow "
                "tourism guide", "Lighthouse weekend"),
    "music": ("Baltic sound walk", "Choir exchange {a}–{b}", "Summer stage co-production",
              "Field recordings of the coast"),
    "crafts": ("Amber and textile collection", "Makers' market {a}–{b}", "Upcycled furniture "
               "line", "Ceramics residency"),
    "business": ("Joint funding application", "Export pilot {a}–{b}", "Creative "
                 "incubator exchange", "Mentoring programme for start-ups"),
}
ANY_TITLES = ("Cross-border pilot {a}–{b}", "Joint workshop series", "Shared showcase "
              "{a}–{b}", "Knowledge exchange")
NOTES = ("Kick-off call done.", "Funding application sent.", "First prototype ready.",
         "Met at the forum.", "Partners agreed on the schedule.")
STATUS_SHARES = (("planned", 0.25), ("active", 0.45), ("done", 0.25), ("dropped", 0.05))


@dataclass(frozen=True)
class Link:
    id: int
    a: int
    b: int
    at: datetime


async def write_connections(writer: Writer, gen: Generator, index: Index) -> list[Link]:
    """`!connect`s between someone who needs a tag and someone who offers it, across
    borders when there is such a someone (seven in ten)."""
    rng = gen.rng(3)
    first = await next_id(writer.session, Connection)
    links: list[Link] = []
    rows: list[dict[str, Any]] = []
    seen_pairs: set[tuple[int, int]] = set()
    for _ in range(gen.count // 4):
        a = rng.randrange(gen.count)
        needs = gen.person(a).canonical_needs
        offerers = index.offerers.get(rng.choice(needs)) if needs else None
        if not offerers:
            continue
        b = -1
        want_abroad = rng.random() < 0.7
        for _try in range(MAX_CONNECTION_TRIES):
            c = offerers[rng.randrange(len(offerers))]
            if c == a:
                continue
            abroad = gen.country(index.locations[c]) != gen.country(index.locations[a])
            b = c
            if abroad or not want_abroad:
                break
        pair = (min(a, b), max(a, b))
        if b < 0 or pair in seen_pairs:
            continue
        seen_pairs.add(pair)
        latest = min(index.seen[a], index.seen[b])  # seconds ago the later one arrived
        recent = rng.random() < 0.2  # one in five in the last week
        at = gen.now - timedelta(seconds=rng.uniform(
            60, max(120.0, min(latest, 7 * 86400) if recent else latest) - 60))
        link = Link(first + len(links), a, b, at)
        links.append(link)
        ca, cb = gen.country(index.locations[a]), gen.country(index.locations[b])
        rows.append({"id": link.id, "a": gen.ids[a], "b": gen.ids[b],
                     "room_id": None, "note": None, "origin": "connect", "round_id": None,
                     "cross_border": bool(ca and cb and ca != cb), "created_at": at})
    await writer.add(Connection, rows)
    return links


async def write_collaborations(writer: Writer, gen: Generator, links: list[Link]
                               ) -> tuple[tuple[int, ...], set[int]]:
    """Collaborations of two or three, most grown from a connection; the recorder confirmed
    at once, most others later, some not yet."""
    rng = gen.rng(4)
    first = await next_id(writer.session, Collaboration)
    collabs: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    collaborators: set[int] = set()
    ids: list[int] = []
    used: dict[str | None, int] = {}
    for _ in range(max(3, gen.count // 5) if gen.count >= 4 else 0):
        if links and rng.random() < 0.75:
            link = links[rng.randrange(len(links))]
            group, origin, origin_id, after = [link.a, link.b], "connection", link.id, link.at
        else:
            group = list(dict.fromkeys(rng.randrange(gen.count) for _ in range(2)))
            if len(group) < 2:
                continue
            origin, origin_id = "direct", None
            after = max(gen.person(m).first_seen for m in group)
        if rng.random() < 0.25:
            extra = rng.randrange(gen.count)
            if extra not in group:
                group.append(extra)
                after = max(after, gen.person(extra).first_seen)
        persons = [gen.person(m) for m in group]
        span = max(3600.0, (gen.now - after).total_seconds() - 86400)
        recent = rng.random() < 0.25  # recorded in the last ten days
        created = gen.now - timedelta(seconds=rng.uniform(
            3600, min(span, 10 * 86400) if recent else span))
        cid = first + len(ids)
        topic = _topic(gen, persons)
        places = [gen.spec(p).name for p in persons]
        titles = TITLES.get(topic or "", ANY_TITLES)
        used[topic] = used.get(topic, rng.randrange(len(titles))) + 1  # each title in turn
        title = titles[used[topic] % len(titles)].format(
            a=places[0], b=next((pl for pl in places if pl != places[0]), places[-1]))
        status = _pick_status(rng)
        countries = {gen.country(p.location) for p in persons} - {None}
        collabs.append({"id": cid, "title": title, "status": status, "origin": origin,
                        "origin_id": origin_id, "topic": topic, "created_by": persons[0].mxid,
                        "created_at": created, "cross_border": len(countries) > 1,
                        "request_event_id": None, "request_room_id": None})
        events.append({"collaboration_id": cid, "at": created, "by": persons[0].mxid,
                       "kind": "created", "status": "planned", "text": None})
        left = (gen.now - created).total_seconds()
        for k, p in enumerate(persons):
            confirmed: datetime | None = created
            if k:
                confirmed = (created + timedelta(seconds=rng.uniform(60, max(120.0, left / 3)))
                             if rng.random() < 0.85 else None)
                if confirmed is not None:
                    events.append({"collaboration_id": cid, "at": confirmed, "by": p.mxid,
                                   "kind": "confirm", "status": None, "text": None})
            people.append({"collaboration_id": cid, "mxid": p.mxid,
                           "location": gen.spec(p).key, "confirmed_at": confirmed})
        steps = {"planned": [], "active": ["active"], "done": ["active", "done"],
                 "dropped": ["dropped"]}[status]
        for s, step in enumerate(steps, start=1):
            at = created + timedelta(seconds=left * (0.4 + 0.25 * s) * rng.uniform(0.8, 1.0))
            events.append({"collaboration_id": cid, "at": min(at, gen.now), "by":
                           rng.choice(persons).mxid, "kind": "status", "status": step,
                           "text": None})
        if rng.random() < 0.3:
            events.append({"collaboration_id": cid, "at": created + timedelta(seconds=left / 2),
                           "by": rng.choice(persons).mxid, "kind": "note", "status": None,
                           "text": rng.choice(NOTES)})
        ids.append(cid)
        collaborators.update(group)
    await writer.add(Collaboration, collabs)
    await writer.add(CollaborationMember, people)
    await writer.add(CollaborationEvent, events)
    return tuple(ids), collaborators


def _topic(gen: Generator, persons: Sequence[Person]) -> str | None:
    tags = [t for p in persons for t in (*p.canonical_offers, *p.canonical_needs)]
    for topic in gen.network.topics:
        if tags_meet(tags, topic.tags):
            return topic.key
    return None


def _pick_status(rng: random.Random) -> str:
    x = rng.random()
    for status, share in STATUS_SHARES:
        if x < share:
            return status
        x -= share
    return STATUS_SHARES[-1][0]


async def consent_collaborators(session: AsyncSession, gen: Generator, index: Index,
                                collaborators: set[int]) -> None:
    """Three in four who collaborate agreed to the showcase (those drawn below 0.75; the
    others' choice stays as drawn): `!consent showcase on`."""
    agreed = sorted(i for i in collaborators if 0.3 <= index.consents[i] < 0.75)
    for start in range(0, len(agreed), 1000):
        part = [gen.ids[i] for i in agreed[start:start + 1000]]
        await session.execute(update(Member).where(Member.mxid.in_(part))
                              .values(showcase=True))
