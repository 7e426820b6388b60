"""A living network to look at and to measure: sample members, their profiles, rooms,
connections, collaborations, events and activity, deterministic from a seed. Used by
`sbcc-bot demo --sample` and by the benchmarks.

    sample = await fill(db, config, members=40, seed=7)             # invented accounts
    sample = await fill(db, config, user_ids=registered, seed=7)    # real accounts
    await starter_profile(db, config, "@coordinator:demo", sample)  # `!match` answers at once

`fill(db, config, *, members=40, seed=7, now=None, user_ids=None,
server="sample.sbcc.example") -> Sample` writes, in one transaction, rows as the bot's own
services write them (same columns, same status values):

- `members` — one per person: a plausible name for their location's country, their
  organisation, location, language (the room's, as arrivals set it, or English), timezone,
  spoken languages, `first_seen` over the last half year (about one in seven within the
  last week), a bio and `intro_at` for half of them (most newcomers), `connect_ok` (mostly on),
  `rounds` (about a third) and `showcase` consent (about a third; three in four of those in a
  collaboration — nobody is on the showcase without it). The members are `user_ids` when
  given (then `members` is their count), else invented `@first.last:<server>`.
- `member_tags` — 1–4 offers and 1–3 needs each, from the configured topic tags and tag
  synonyms (sometimes written as a local synonym, "wideo"), with a long tail of compound
  tags ("documentary film") that grows with the network; `canonical` after the synonyms,
  `location` copied, as `ProfileService.add_tags` does.
- `network_rooms` — the provisioned rooms are used as they are; in a database where none is
  recorded (tests, benchmarks) stand-ins `!sample-<key>:<server>` are recorded, with their
  room settings, as provisioning would.
- `room_memberships` — everyone in their location room since `first_seen` (not imported:
  they arrived), and in the topic rooms their tags meet; a few topic stays ended (leave).
- `connections` — about one per four members (one in five in the last week), `origin`
  "connect", mostly across borders between someone who needs a tag and someone who offers
  it (`room_id` empty: no room was opened for sample members).
- `collaborations` with their members and history — about one per five members, two or
  three people each, most from a connection; planned, active, done or dropped; the
  recorder confirmed, most others confirmed later, some not yet (then shown to its
  members only, never on the showcase or in the digest).
- `forum_events` with `rsvps` and `reminders` — the annual forum about three weeks ahead
  with a capacity (extra yeses wait in line), an online meetup in about nine days, a
  workshop three weeks ago; pending reminders planned as `ForumService.plan_reminders`
  would (at most 2 000 answers per event, however large the network).
- `room_activity` — messages per day in the location and topic rooms over the last eight
  weeks (added to any counts already there).

Not written: introduction cards and event announcements (they point at Matrix messages that
do not exist), matchmaking rounds (the bot would open rooms for them), advisory requests
and strategies.

A second `fill` over the same accounts writes nothing: when any of its members is already
in the database it returns at once with `Sample.filled` False. Fast for large networks:
members are generated in chunks and written with bulk `insert()`s (no ORM objects), on
SQLite and PostgreSQL; each member is a pure function of (seed, index), so relations are
drawn without keeping whole profiles in memory.
"""

from __future__ import annotations

import bisect
import random
import time
import unicodedata
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as wall_clock
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.db import Database
from bot.db.models import (
    Collaboration,
    CollaborationEvent,
    CollaborationMember,
    Connection,
    ForumEvent,
    Member,
    MemberTag,
    Reminder,
    RoomActivity,
    RoomMembership,
    Rsvp,
)
from bot.deps import utcnow
from bot.features.digest.config import DigestConfig
from bot.features.forums.config import ForumsConfig
from bot.features.forums.service import local_start, reminder_due
from bot.features.profiles.config import TagsConfig
from bot.features.profiles.introductions import tags_meet
from bot.features.profiles.service import ProfileService
from bot.members import MemberService
from rooms.network import NetworkRooms, room_key
from rooms.settings import RoomSettingsService
from rooms.topology import NetworkConfig, RoomSpec

DEFAULT_SERVER = "sample.sbcc.example"
CHUNK = 5_000  # members generated and written at a time
INSERT_ROWS = 20_000  # rows per insert statement
HISTORY_DAYS = 180  # members arrived over the last half year
NEW_SHARE = 0.15  # of them within the last week
ACTIVITY_DAYS = 56  # the digest's chart: eight weeks
MAX_ANSWERS = 2_000  # RSVPs per event, however large the network
MAX_CONNECTION_TRIES = 8

# -- names, organisations, words ------------------------------------------------------------

# first names (female, male) and surnames (female form, male form) per country
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "PL": (("Anna", "Katarzyna", "Magdalena", "Agnieszka", "Joanna", "Zofia", "Marta",
            "Aleksandra", "Ewa", "Natalia", "Julia", "Małgorzata"),
           ("Piotr", "Tomasz", "Paweł", "Michał", "Krzysztof", "Jakub", "Łukasz", "Marcin",
            "Kamil", "Wojciech", "Bartosz", "Grzegorz"),
           (("Kowalska", "Kowalski"), ("Nowak", "Nowak"), ("Wiśniewska", "Wiśniewski"),
            ("Wójcik", "Wójcik"), ("Kamińska", "Kamiński"), ("Lewandowska", "Lewandowski"),
            ("Zielińska", "Zieliński"), ("Szymańska", "Szymański"), ("Dąbrowska", "Dąbrowski"),
            ("Kozłowska", "Kozłowski"), ("Mazur", "Mazur"), ("Jankowska", "Jankowski"))),
    "DE": (("Anna", "Lena", "Sophie", "Katrin", "Julia", "Sabine", "Laura", "Miriam", "Jana",
            "Franziska", "Maren", "Ulrike"),
           ("Jan", "Lukas", "Felix", "Tobias", "Stefan", "Matthias", "Jonas", "Sven", "Udo",
            "Henrik", "Florian", "Torsten"),
           tuple((n, n) for n in ("Müller", "Schmidt", "Schneider", "Fischer", "Weber",
                                  "Meyer", "Wagner", "Becker", "Hoffmann", "Krüger",
                                  "Petersen", "Hansen"))),
    "LT": (("Rūta", "Eglė", "Aistė", "Ieva", "Greta", "Indrė", "Jurgita", "Lina", "Austėja",
            "Gabija"),
           ("Jonas", "Tomas", "Mantas", "Lukas", "Darius", "Paulius", "Rokas", "Vytautas",
            "Mindaugas", "Karolis"),
           (("Kazlauskienė", "Kazlauskas"), ("Jankauskaitė", "Jankauskas"),
            ("Petrauskienė", "Petrauskas"), ("Stankevičiūtė", "Stankevičius"),
            ("Vasiliauskienė", "Vasiliauskas"), ("Žukauskaitė", "Žukauskas"),
            ("Butkienė", "Butkus"), ("Paulauskaitė", "Paulauskas"))),
    "SE": (("Anna", "Elin", "Maja", "Sara", "Karin", "Ingrid", "Linnea", "Emma", "Frida",
            "Sofia", "Astrid", "Johanna"),
           ("Erik", "Lars", "Johan", "Oskar", "Nils", "Anders", "Henrik", "Magnus", "Per",
            "Olof", "Gustav", "Viktor"),
           tuple((n, n) for n in ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson",
                                  "Larsson", "Olsson", "Persson", "Svensson", "Lindqvist",
                                  "Berg", "Holm"))),
}
ANY_NAMES = (("Maria", "Eva", "Nina", "Laura", "Alice"), ("Adam", "Daniel", "Martin", "Peter",
                                                          "David"),
             tuple((n, n) for n in ("Berger", "Novak", "Larsen", "Kovacs", "Meier")))

ORG_FORMS: dict[str, tuple[str, ...]] = {
    "PL": ("Studio {w}", "Pracownia {w}", "Fundacja {w}", "{w} Media", "{w} sp. z o.o.",
           "Muzeum {p}"),
    "DE": ("Studio {w}", "{w} GmbH", "Kreativhaus {w}", "{w} Medien", "Atelier {w}",
           "Kunstverein {p}"),
    "LT": ("Studija {w}", "{w} UAB", "VšĮ {w}", "{w} Media", "Dirbtuvės {w}",
           "{p} muziejus"),
    "SE": ("Studio {w}", "{w} AB", "Ateljé {w}", "{w} Media", "Föreningen {w}",
           "{p} museum"),
}
ANY_ORG_FORMS = ("Studio {w}", "{w} Media", "{w} Lab")
ORG_WORDS = ("Nord", "Bursztyn", "Fala", "Kompas", "Latarnia", "Mewa", "Wydma", "Ostsee",
             "Hafen", "Welle", "Leuchtturm", "Gintaras", "Banga", "Marios", "Vėjas", "Kust",
             "Våg", "Fyr", "Ankare", "Skär", "Baltica", "Horizon", "Pixel", "Loom", "Echo",
             "Tide", "Dune", "Amber", "Sail", "Flux")

BIOS: dict[str, str] = {
    "en": "{org} — we work on {offers}. Looking for partners in {needs}.",
    "pl": "{org} — zajmujemy się: {offers}. Szukamy partnerów: {needs}.",
    "de": "{org} — wir arbeiten an: {offers}. Wir suchen Partner für: {needs}.",
    "lt": "{org} — mūsų sritys: {offers}. Ieškome partnerių: {needs}.",
    "sv": "{org} — vi arbetar med: {offers}. Vi söker partner inom: {needs}.",
}

# how members of a language write a head tag, used only when the configured synonyms map it
# back to that head (so matching still meets them)
LOCAL_WORDS: dict[str, dict[str, str]] = {
    "pl": {"video": "wideo", "design": "projektowanie", "photo": "fotografia", "games": "gry",
           "music": "muzyka", "tourism": "turystyka", "translation": "tłumaczenie"},
    "de": {"design": "gestaltung", "photo": "fotografie", "games": "spiele", "music": "musik",
           "tourism": "tourismus", "translation": "übersetzung"},
    "lt": {"video": "filmas", "design": "dizainas", "photo": "fotografija",
           "music": "muzika", "tourism": "turizmas", "marketing": "rinkodara"},
    "sv": {"design": "formgivning", "photo": "fotografi", "games": "spel",
           "tourism": "turism", "marketing": "marknadsföring"},
}
# compound tags of a larger network's long tail: "<modifier> <head tag>"
MODIFIERS = ("digital", "interactive", "3d", "documentary", "sustainable", "immersive",
             "contemporary", "traditional", "experimental", "community", "outdoor", "mobile",
             "nordic", "baltic", "rural", "urban", "historic", "indie", "live", "youth",
             "accessible", "cross-media", "circular", "applied", "european")
EXTRA_TAGS = ("translation", "web development", "branding", "illustration", "copywriting",
              "social media", "product design", "architecture", "coworking", "residencies")

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
class Sample:
    """What `fill` did. `filled` False: the database already held these members and nothing
    was written (the other fields then describe the sample as it would have been)."""

    filled: bool
    members: int
    counts: dict[str, int]  # rows written, by table
    rooms: dict[str, str]  # network room key ("location:szczecin") → room id used
    matchable: tuple[str, ...]  # members whose needs someone in another country offers
    newcomers: tuple[str, ...]  # members who arrived within the last week
    collaborations: tuple[int, ...]  # numbers of the collaborations written
    forums: tuple[int, ...]  # numbers of the events written, the annual forum first
    popular_offers: tuple[str, ...]  # the most offered canonical tags, most first
    popular_needs: tuple[str, ...]  # the most needed canonical tags, most first
    seconds: float = 0.0
    mxids: Sequence[str] = field(default=(), repr=False)  # every member, by index


@dataclass(frozen=True)
class Person:
    """One sample member, a pure function of (seed, index)."""

    index: int
    mxid: str
    name: str
    location: int  # index into the network's locations
    first_seen: datetime
    language: str | None
    languages: str
    organisation: str
    offers: tuple[str, ...]  # as written
    needs: tuple[str, ...]
    canonical_offers: tuple[str, ...]
    canonical_needs: tuple[str, ...]
    bio: str | None
    intro_at: datetime | None
    connect_ok: bool
    rounds: bool
    consents: float  # draw against the showcase share (below it: consented)


def ascii_name(text_: str) -> str:
    """"Łukasz Wiśniewski" → "lukasz.wisniewski": a localpart Matrix allows."""
    plain = text_.replace("ł", "l").replace("Ł", "L").replace("ß", "ss")
    plain = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode()
    return ".".join(part for part in plain.lower().replace("-", " ").split())


class Generator:
    """The sample's people and relations, drawn from a seed; nothing here touches the
    database."""

    def __init__(self, config: Config, members: int, seed: int, now: datetime,
                 user_ids: Sequence[str] | None, server: str) -> None:
        self.network: NetworkConfig = config.network
        if not self.network.locations:
            raise ValueError("the sample needs a network with locations (network.locations)")
        self.locations = self.network.locations
        self.tags = config.section(TagsConfig)
        self.seed = seed
        self.now = now
        self.server = server
        self.user_ids = list(user_ids) if user_ids is not None else None
        self.count = len(self.user_ids) if self.user_ids is not None else members
        self.vocabulary = self._vocabulary()
        weights = [1 / (rank + 1) for rank in range(len(self.vocabulary))]
        total = 0.0
        self.cumulative = []
        for w in weights:
            total += w
            self.cumulative.append(total)
        self.total = total
        self.ids = self.user_ids if self.user_ids is not None else self._invented_ids()

    def _vocabulary(self) -> list[str]:
        """Head tags first (the topics' tags and the synonyms' heads), then a long tail of
        compound tags that grows with the network (a few dozen members share few tags)."""
        heads: list[str] = []
        for topic in self.network.topics:
            heads.extend(topic.tags)
        heads.extend(self.tags.synonyms)
        heads.extend(EXTRA_TAGS)
        heads = list(dict.fromkeys(c for t in heads if (c := _clean_tag(t))))
        base = heads[:40] or ["design", "video", "funding"]
        tail = [f"{m} {h}" for h in base for m in MODIFIERS if len(f"{m} {h}") <= 32]
        random.Random(self.seed).shuffle(tail)
        return heads + tail[: self.count // 20]

    def _tag(self, rng: random.Random) -> str:
        return self.vocabulary[min(bisect.bisect_left(self.cumulative, rng.random() * self.total),
                                   len(self.vocabulary) - 1)]

    def _rng(self, stream: int, index: int = 0) -> random.Random:
        """The random numbers of one stream (0: a member, 1: where they live, …) and index,
        the same in every process and Python version."""
        return random.Random((self.seed * 1_000_003 + stream) * 10_000_019 + index)

    def spec(self, person: Person) -> RoomSpec:
        return self.locations[person.location]

    def country(self, location: int) -> str | None:
        return self.locations[location].country

    def location_of(self, index: int) -> int:
        """Where member `index` is (the first of each location for a small network, so every
        location has people); cheap, as relations ask it often."""
        if index < len(self.locations):
            return index
        return int(_mix(self.seed, index) * len(self.locations))

    def person(self, index: int) -> Person:
        rng = self._rng(0, index)
        location = self.location_of(index)
        spec = self.locations[location]
        name = _name(rng, spec)
        mxid = self.ids[index]
        # arrived: one in seven within the last week, the rest over half a year
        if rng.random() < NEW_SHARE:
            first_seen = self.now - timedelta(seconds=rng.uniform(3600, 7 * 86400 - 3600))
        else:
            first_seen = self.now - timedelta(seconds=rng.uniform(7 * 86400, HISTORY_DAYS
                                                                  * 86400))
        local = spec.language or "en"
        language = local if rng.random() < 0.75 else "en"
        spoken = [local] + (["en"] if local != "en" and rng.random() < 0.85 else [])
        if rng.random() < 0.15:
            spoken.append(rng.choice([c for c in ("de", "pl", "sv", "lt", "en")
                                      if c not in spoken]))
        forms = ORG_FORMS.get(spec.country or "", ANY_ORG_FORMS)
        organisation = rng.choice(forms).format(w=rng.choice(ORG_WORDS), p=spec.name)
        offers = self._draw(rng, rng.randint(1, 4), ())
        needs = self._draw(rng, rng.randint(1, 3), offers)
        written_offers = tuple(self._written(t, local, rng) for t in offers)
        written_needs = tuple(self._written(t, local, rng) for t in needs)
        intro_at = None
        bio = None
        new = self.now - first_seen < timedelta(days=7)
        if rng.random() < (0.8 if new else 0.5):  # newcomers introduce themselves
            intro_at = min(first_seen + timedelta(seconds=rng.uniform(600, 3 * 86400)),
                           self.now - timedelta(minutes=5))
            bio = BIOS.get(language, BIOS["en"]).format(
                org=organisation, offers=", ".join(written_offers),
                needs=", ".join(written_needs))
        return Person(index=index, mxid=mxid, name=name, location=location,
                      first_seen=first_seen, language=language, languages=",".join(spoken),
                      organisation=organisation, offers=written_offers, needs=written_needs,
                      canonical_offers=tuple(dict.fromkeys(self.tags.canonical(t)
                                                           for t in written_offers)),
                      canonical_needs=tuple(dict.fromkeys(self.tags.canonical(t)
                                                          for t in written_needs)),
                      bio=bio, intro_at=intro_at, connect_ok=rng.random() < 0.95,
                      rounds=rng.random() < 0.3, consents=rng.random())

    def _draw(self, rng: random.Random, n: int, exclude: Sequence[str]) -> tuple[str, ...]:
        out: list[str] = []
        for _ in range(n * 5):
            tag = self._tag(rng)
            if tag not in out and tag not in exclude:
                out.append(tag)
            if len(out) == n:
                break
        if not out:  # the popular tags were taken: the first free one (there are dozens)
            out.append(next(t for t in self.vocabulary if t not in exclude))
        return tuple(out)

    def _written(self, tag: str, language: str, rng: random.Random) -> str:
        """Sometimes the local word for a head tag ("wideo"), when the synonyms know it."""
        word = LOCAL_WORDS.get(language, {}).get(tag)
        if word and self.tags.canonical(word) == self.tags.canonical(tag) \
                and rng.random() < 0.3:
            return word
        return tag

    def _invented_ids(self) -> list[str]:
        """`@anna.kowalska:<server>` from each member's name (a second Anna Kowalska is
        `anna.kowalska2`); in a large network the index makes them unique instead."""
        taken: dict[str, int] = {}
        out = []
        for i in range(self.count):
            spec = self.locations[self.location_of(i)]
            base = ascii_name(_name(self._rng(0, i), spec)) or "member"
            if self.count > 20_000:
                out.append(f"@{base}.{i}:{self.server}")
                continue
            n = taken.get(base, 0) + 1
            taken[base] = n
            out.append(f"@{base}{n if n > 1 else ''}:{self.server}")
        return out


def _mix(seed: int, index: int) -> float:
    """A number in [0, 1) for (seed, index), spread like a random one (splitmix64)."""
    z = (seed * 0x9E3779B97F4A7C15 + index * 0xBF58476D1CE4E5B9 + 1) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return ((z ^ (z >> 31)) >> 11) / float(1 << 53)


def _name(rng: random.Random, spec: RoomSpec) -> str:
    """A plausible name for the location's country (the first draws of a member's
    numbers)."""
    female, male, surnames = NAMES.get(spec.country or "", ANY_NAMES)
    woman = rng.random() < 0.5
    first = rng.choice(female if woman else male)
    return f"{first} {rng.choice(surnames)[0 if woman else 1]}"


def _clean_tag(tag: str) -> str:
    """A tag as `normalise_tag` stores it (the config's tags are plain already)."""
    return " ".join(tag.casefold().lstrip("#").split())[:32]


def _chunks(rows: Sequence[dict[str, Any]], size: int = INSERT_ROWS
            ) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


class Writer:
    """Bulk inserts within one session, counted by table."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.counts: dict[str, int] = {}

    async def add(self, model: Any, rows: Sequence[dict[str, Any]]) -> None:
        if rows:  # the table's core insert: executemany, without the ORM's bulk path
            conn = await self.session.connection()
            for part in _chunks(rows):
                await conn.execute(model.__table__.insert(), list(part))
        name = model.__tablename__
        self.counts[name] = self.counts.get(name, 0) + len(rows)


async def fill(db: Database, config: Config, *, members: int = 40, seed: int = 7,
               now: datetime | None = None, user_ids: Sequence[str] | None = None,
               server: str = DEFAULT_SERVER) -> Sample:
    """Fill the database with a living network (see the module's docstring); returns what
    was written. Deterministic for a seed, `now` and the configuration."""
    started = time.perf_counter()
    now = now or utcnow()
    gen = Generator(config, members, seed, now, user_ids, server)
    mxids = gen.ids
    async with db.session() as session:
        existing = await session.scalar(
            select(func.count()).select_from(Member).where(Member.mxid.in_(mxids[:1000])))
        rooms = await _rooms(session, config.network, now, server)
        if existing:
            return await _summary(session, gen, mxids, rooms, {}, (), (), filled=False,
                                  started=started)
        writer = Writer(session)
        index = await _write_members(writer, gen, rooms)
        connections = await _write_connections(writer, gen, index)
        collabs, collaborators = await _write_collaborations(writer, gen, connections)
        await _consent_collaborators(session, gen, index, collaborators)
        forums = await _write_forums(writer, gen, config, rooms)
        await _write_activity(writer, gen, config, rooms, index)
        if db.dialect == "postgresql":  # rows numbered here: keep the sequences ahead
            for model in (Connection, Collaboration, ForumEvent):
                name = model.__tablename__
                await session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM \"{name}\"))"))
        return await _summary(session, gen, mxids, rooms, writer.counts, collabs, forums,
                              filled=True, started=started, index=index)


async def _rooms(session: AsyncSession, network: NetworkConfig, now: datetime,
                 server: str) -> dict[str, str]:
    """The network's rooms by key: those provisioned, else stand-ins recorded now."""
    known = await NetworkRooms(session, network).known()
    if known:
        return {room_key(r.spec): r.room_id for r in known}
    rooms = NetworkRooms(session, network)
    settings = RoomSettingsService(session)
    out = {}
    for spec in (network.space, *network.rooms):
        if spec is None:
            continue
        key = room_key(spec)
        room_id = f"!sample-{key.replace(':', '-')}:{server}"
        await rooms.record(spec, room_id, None, now)
        if spec.language or spec.timezone:
            await settings.set(room_id, language=spec.language, timezone=spec.timezone)
        out[key] = room_id
    await session.flush()
    return out


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


async def _write_members(writer: Writer, gen: Generator, rooms: dict[str, str]) -> Index:
    index = Index()
    # `tags_meet` for every member and topic, as sets: a tag or a word of it is the topic's
    topics = [(frozenset(t.tags), rooms.get(room_key(t))) for t in gen.network.topics]
    for start in range(0, gen.count, CHUNK):
        members: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        stays: list[dict[str, Any]] = []
        rng = gen._rng(2, start)  # room stays: one stream per chunk
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


@dataclass(frozen=True)
class Link:
    id: int
    a: int
    b: int
    at: datetime


async def _next_id(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0) + 1


async def _write_connections(writer: Writer, gen: Generator, index: Index) -> list[Link]:
    """`!connect`s between someone who needs a tag and someone who offers it, across
    borders when there is such a someone (seven in ten)."""
    rng = gen._rng(3)
    first = await _next_id(writer.session, Connection)
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


async def _write_collaborations(writer: Writer, gen: Generator, links: list[Link]
                                ) -> tuple[tuple[int, ...], set[int]]:
    """Collaborations of two or three, most grown from a connection; the recorder confirmed
    at once, most others later, some not yet."""
    rng = gen._rng(4)
    first = await _next_id(writer.session, Collaboration)
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


async def _consent_collaborators(session: AsyncSession, gen: Generator, index: Index,
                                 collaborators: set[int]) -> None:
    """Three in four who collaborate agreed to the showcase (those drawn below 0.75; the
    others' choice stays as drawn): `!consent showcase on`."""
    agreed = sorted(i for i in collaborators if 0.3 <= index.consents[i] < 0.75)
    for start in range(0, len(agreed), 1000):
        part = [gen.ids[i] for i in agreed[start:start + 1000]]
        await session.execute(update(Member).where(Member.mxid.in_(part))
                              .values(showcase=True))


async def _write_forums(writer: Writer, gen: Generator, config: Config,
                        rooms: dict[str, str]) -> tuple[int, ...]:
    """The annual forum (three weeks ahead, with a capacity), an online meetup (nine days
    ahead) and a workshop three weeks ago, with answers and the reminders they plan."""
    rng = gen._rng(5)
    forums_config = config.section(ForumsConfig)
    first = await _next_id(writer.session, ForumEvent)
    by = config.coordinators[0] if config.coordinators else gen.ids[0]
    n_loc = len(gen.locations)
    year = gen.now.year
    plans = [
        (f"{gen.network.name} Forum {year}", gen.locations[0], 21, "10:00",
         max(10, round(gen.count * 0.25)), None, 0.45),
        ("Cross-border matchmaking breakfast", gen.locations[2 % n_loc], 9, "09:00", None,
         "https://meet.example.org/sbcc-breakfast", 0.15),
        ("Workshop: funding for creative projects", gen.locations[1 % n_loc], -20, "14:00",
         40, None, 0.1),
    ]
    events: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    reminders: list[dict[str, Any]] = []
    ids = []
    for n, (title, spec, days, clock, capacity, url, share) in enumerate(plans):
        fid = first + n
        tz = spec.timezone or "UTC"
        day = (gen.now + timedelta(days=days)).astimezone(ZoneInfo(tz)).date()
        hh, mm = (int(x) for x in clock.split(":"))
        starts = local_start(day, wall_clock(hh, mm), tz)
        created = min(gen.now - timedelta(days=2), starts - timedelta(days=30))
        events.append({"id": fid, "title": title, "location": spec.key, "timezone": tz,
                       "starts_at": starts, "capacity": capacity, "online_url": url,
                       "status": "scheduled", "created_by": by, "created_at": created,
                       "trigger": f"$sample-forum-{fid}-{gen.seed}:{gen.server}"})
        ids.append(fid)
        count = min(MAX_ANSWERS, round(gen.count * share))
        chosen = sorted(rng.sample(range(gen.count), min(count, gen.count)))
        rows = []
        for m in chosen:
            x = rng.random()
            answer = "yes" if x < 0.6 else "maybe" if x < 0.85 else "no"
            answered = created + (min(gen.now, starts) - created) * rng.random()
            p_loc = gen.locations[gen.location_of(m)]
            rows.append({"forum_id": fid, "mxid": gen.ids[m], "answer": answer,
                         "waitlisted": False, "answered_at": answered,
                         "room_id": rooms.get(room_key(p_loc)), "reaction_event_id": None})
        if capacity is not None:  # first come, first served; the rest wait in line
            taken = 0
            for row in sorted(rows, key=lambda r: (r["answered_at"], r["mxid"])):
                if row["answer"] == "yes":
                    row["waitlisted"] = taken >= capacity
                    taken += 1
        answers.extend(rows)
        targets = [r["mxid"] for r in rows if r["answer"] in ("yes", "maybe")
                   and not r["waitlisted"]]
        room_id = rooms.get(room_key(spec))
        if room_id:
            targets.append(room_id)
        for offset in forums_config.reminders:
            due = reminder_due(starts, tz, offset)
            if due > gen.now:
                reminders.extend({"forum_id": fid, "offset": offset.text, "target": t,
                                  "due_at": due, "state": "pending", "sent_at": None}
                                 for t in targets)
    await writer.add(ForumEvent, events)
    await writer.add(Rsvp, answers)
    await writer.add(Reminder, reminders)
    return tuple(ids)


async def _write_activity(writer: Writer, gen: Generator, config: Config,
                          rooms: dict[str, str], index: Index) -> None:
    """Messages per day in the location and topic rooms, weekdays busier, growing a little
    towards today; added to what is counted already."""
    rng = gen._rng(6)
    tz = ZoneInfo(config.section(DigestConfig).timezone)
    today = gen.now.astimezone(tz).date()
    rows: list[dict[str, Any]] = []
    for spec in (*gen.network.locations, *gen.network.topics):
        room_id = rooms.get(room_key(spec))
        if room_id is None:
            continue
        people = index.room_members.get(room_id, 0)
        for back in range(ACTIVITY_DAYS):
            day: date = today - timedelta(days=back)
            weekday = 1.0 if day.weekday() < 5 else 0.35
            growth = 1.0 - back / (ACTIVITY_DAYS * 2)
            mean = max(0.5, people * 0.4) * weekday * growth
            count = int(rng.gauss(mean, mean / 3) + 0.5)
            if count > 0:
                rows.append({"room_id": room_id, "day": day, "count": count})
    dialect = postgresql if writer.session.get_bind().dialect.name == "postgresql" else sqlite
    for part in _chunks(rows):
        stmt = dialect.insert(RoomActivity)
        stmt = stmt.on_conflict_do_update(index_elements=["room_id", "day"],
                                          set_={"count": RoomActivity.count
                                                + stmt.excluded.count})
        await writer.session.execute(stmt, list(part))
    writer.counts["room_activity"] = len(rows)


async def _summary(session: AsyncSession, gen: Generator, mxids: list[str],
                   rooms: dict[str, str], counts: dict[str, int], collabs: tuple[int, ...],
                   forums: tuple[int, ...], *, filled: bool, started: float,
                   index: Index | None = None) -> Sample:
    offers: dict[str, int] = {}
    needs: dict[str, int] = {}
    matchable: list[str] = []
    if index is not None:
        offers = {t: len(v) for t, v in index.offerers.items()}
        needs = {t: len(v) for t, v in index.needers.items()}
        for i in range(min(gen.count, 2_000)):
            p = gen.person(i)
            home = gen.country(p.location)
            if any(gen.country(index.locations[o]) != home
                   for t in p.canonical_needs for o in index.offerers.get(t, ())[:50]):
                matchable.append(mxids[i])
            if len(matchable) == 5:
                break
    return Sample(
        filled=filled, members=gen.count, counts=counts, rooms=rooms,
        matchable=tuple(matchable), newcomers=tuple(index.newcomers if index else ()),
        collaborations=collabs, forums=forums,
        popular_offers=tuple(sorted(offers, key=lambda t: (-offers[t], t))[:5]),
        popular_needs=tuple(sorted(needs, key=lambda t: (-needs[t], t))[:5]),
        seconds=time.perf_counter() - started, mxids=mxids)


async def starter_profile(db: Database, config: Config, mxid: str, sample: Sample) -> bool:
    """Give a real account (the demo's coordinator) a profile that meets the sample — at the
    first location, offering what the sample needs most and needing what it offers most —
    through the same services the commands use, so `!match` answers at once. An account
    that already offers or needs something is left as it is (False)."""
    canonical = config.section(TagsConfig).canonical
    async with db.session() as session:
        profiles = ProfileService(session, utcnow, canonical)
        if await profiles.tags(mxid, "offer") or await profiles.tags(mxid, "need"):
            return False
        member = await MemberService(session, utcnow).get_or_create(mxid)
        if member.location is None and config.network.locations:
            await profiles.set_location(mxid, config.network.locations[0])
        member.organisation = member.organisation or "SBCC Secretariat"
        needs = [t for t in sample.popular_offers][:2]
        offers = [t for t in sample.popular_needs if t not in needs][:2]
        if offers:
            await profiles.add_tags(mxid, "offer", offers)
        if needs:
            await profiles.add_tags(mxid, "need", needs)
    return True
