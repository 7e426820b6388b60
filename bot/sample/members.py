"""Writing the members, their tags and room stays, and the compact `Index` of them that
relations are drawn from."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.db.models import Member, MemberTag, RoomMembership
from bot.sample.people import Generator
from bot.sample.writing import Writer
from rooms.network import room_key

CHUNK = 5_000  # members generated and written at a time


@dataclass
class Index:
    """What relations are drawn from, compact enough for a million members: each one's
    location and arrival, and who offers each canonical tag."""

    locations: array = field(default_factory=lambda: array("H"))
    seen: array = field(default_factory=lambda: array("d"))  # seconds before now
    consents: array = field(default_factory=lambda: array("d"))  # see `Person.consents`
    offerers: dict[str, array] = field(default_factory=dict)
    needers: dict[str, array] = field(default_factory=dict)
    room_members: dict[str, int] = field(default_factory=dict)  # room id → open stays
    newcomers: list[str] = field(default_factory=list)


async def write_members(writer: Writer, gen: Generator, rooms: dict[str, str]) -> Index:
    index = Index()
    # `tags_meet` for every member and topic, as sets: a tag or a word of it is the topic's
    topics = [(frozenset(t.tags), rooms.get(room_key(t))) for t in gen.network.topics]
    for start in range(0, gen.count, CHUNK):
        members: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        stays: list[dict[str, Any]] = []
        rng = gen.rng(2, start)  # room stays: one stream per chunk
        for i in range(start, min(start + CHUNK, gen.count)):
            p = gen.person(i)
            spec = gen.spec(p)
            members.append({
                "mxid": p.mxid, "display_name": p.name, "language": p.language,
                "timezone": spec.timezone, "first_seen": p.first_seen,
                "organisation": p.organisation, "location": spec.key,
                "languages": p.languages, "bio": p.bio, "intro_at": p.intro_at,
                "connect_ok": p.connect_ok, "rounds": p.rounds,
                "showcase": p.consents < 0.3})
            for kind, written in (("offer", p.offers), ("need", p.needs)):
                for tag in written:
                    canonical = gen.tags.canonical(tag)
                    tags.append({"mxid": p.mxid, "kind": kind, "tag": tag,
                                 "canonical": canonical, "location": spec.key})
                    book = index.offerers if kind == "offer" else index.needers
                    book.setdefault(canonical, array("I")).append(i)
            index.locations.append(p.location)
            index.seen.append((gen.now - p.first_seen).total_seconds())
            index.consents.append(p.consents)
            if (gen.now - p.first_seen) < timedelta(days=7) and len(index.newcomers) < 20:
                index.newcomers.append(p.mxid)
            home = rooms.get(room_key(spec))
            if home:
                stays.append({"room_id": home, "mxid": p.mxid, "since": p.first_seen,
                              "until": None, "ended": None, "imported": False})
                index.room_members[home] = index.room_members.get(home, 0) + 1
            mine = {*p.offers, *p.needs, *p.canonical_offers, *p.canonical_needs}
            words = mine.union(*(t.replace("/", " ").split() for t in mine))
            for topic_tags, room_id in topics:
                if room_id is None or topic_tags.isdisjoint(words) or rng.random() > 0.6:
                    continue
                since = p.first_seen + timedelta(seconds=rng.uniform(
                    60, max(120.0, (gen.now - p.first_seen).total_seconds() / 2)))
                left = rng.random() < 0.05
                until = since + (gen.now - since) / 2 if left else None
                stays.append({"room_id": room_id, "mxid": p.mxid, "since": since,
                              "until": until, "ended": "leave" if left else None,
                              "imported": False})
                if not left:
                    index.room_members[room_id] = index.room_members.get(room_id, 0) + 1
        await writer.add(Member, members)
        await writer.add(MemberTag, tags)
        await writer.add(RoomMembership, stays)
    return index
