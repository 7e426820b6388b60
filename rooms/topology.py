"""The network's topology as configured: the Space, location rooms, topic rooms and the
partners room, validated (keys, languages, timezones, aliases) with clear messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from babel import Locale

from bot.config_reader import ConfigSection
from bot.errors import BadArgument, UserError
from bot.i18n import N_, SUPPORTED_LANGUAGES

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
ALIAS_RE = re.compile(r"^[a-z0-9._=/-]{1,64}$")
ROOM_REF_RE = re.compile(r"^(#[^\s:]+:[A-Za-z0-9.\-]+(:\d+)?|![^\s]+)$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class RoomSpec:
    """One network room: created under `alias` on the bot's server, or adopted (`room`)."""

    key: str
    kind: str  # space | location | topic | partners
    name: str
    topic: str = ""
    alias: str | None = None  # localpart on the bot's server
    room: str | None = None  # an existing room anywhere: #alias:server or !room_id
    language: str | None = None
    timezone: str | None = None
    country: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class NetworkConfig:
    name: str = "South Baltic Creative Clusters"
    space: RoomSpec | None = None
    locations: tuple[RoomSpec, ...] = ()
    topics: tuple[RoomSpec, ...] = ()
    partners: RoomSpec | None = None
    advisory: RoomSpec | None = None  # where advisory requests from the web form arrive
    # seconds after a welcome during which later joins are added to it (by an edit)
    welcome_delay: int = 60
    location_by_key: dict[str, RoomSpec] = field(default_factory=dict, compare=False)

    @property
    def rooms(self) -> tuple[RoomSpec, ...]:
        """Every room of the network except the Space, in display order."""
        extra = tuple(r for r in (self.partners, self.advisory) if r is not None)
        return (*self.locations, *self.topics, *extra)

    @property
    def configured(self) -> bool:
        return self.space is not None

    def room_by_key(self, key: str) -> RoomSpec | None:
        """A room named as config and commands name rooms: partners, advisory, a location's
        key or a topic's key."""
        if key == "partners":
            return self.partners
        if key == "advisory":
            return self.advisory
        if key in self.location_by_key:
            return self.location_by_key[key]
        return next((t for t in self.topics if t.key == key), None)

    @property
    def room_keys(self) -> list[str]:
        """Every key `room_by_key` knows."""
        return [*(k for k, r in (("partners", self.partners), ("advisory", self.advisory))
                  if r is not None), *self.location_by_key, *(t.key for t in self.topics)]

    def find_location(self, value: str) -> RoomSpec:
        """A configured location by key or by name, in any case."""
        wanted = value.strip().casefold()
        for spec in self.locations:
            if wanted in (spec.key.casefold(), spec.name.casefold()):
                return spec
        if not self.locations:
            raise UserError(N_("This network has no locations configured yet."))
        shown = " ".join(value.split())
        raise BadArgument(N_("“%(value)s” is not one of our locations. Choose one of: "
                             "%(choices)s."), value=shown if len(shown) <= 40 else
                          shown[:39] + "…",
                          choices=", ".join(spec.key for spec in self.locations))

    def find_topic(self, value: str) -> RoomSpec:
        """A configured topic by its key ("#design" or "design", any case)."""
        wanted = value.strip().lstrip("#").casefold()
        for spec in self.topics:
            if spec.key.casefold() == wanted:
                return spec
        if not self.topics:
            raise UserError(N_("This network has no topics configured yet."))
        raise BadArgument(N_("“%(value)s” is not one of our topics. Choose one of: "
                             "%(choices)s."), value=value.strip()[:40],
                          choices=", ".join(spec.key for spec in self.topics))

    def place(self, key: str | None, locale: str | None = None) -> str:
        """How a location reads: "Szczecin, Polska" for a reader of `locale`, without one
        "Szczecin (PL)"; a key no longer configured as it is."""
        spec = self.location_by_key.get(key or "")
        if spec is None:
            return key or ""
        if not spec.country:
            return spec.name
        if locale is None:
            return f"{spec.name} ({spec.country})"
        country = Locale.parse(locale).territories.get(spec.country)
        return f"{spec.name}, {country}" if country else spec.name

    def country(self, key: str | None) -> str | None:
        """The country code of a location key, None for none."""
        spec = self.location_by_key.get(key or "")
        return spec.country if spec else None


def _room(sec: ConfigSection, kind: str, fixed_key: str | None = None) -> RoomSpec:
    key = fixed_key or sec.string("key", required=True) or "?"
    if fixed_key is None and key != "?" and not KEY_RE.match(key):
        sec.fail("key", "must be lower-case letters, digits, - or _ (at most 32)")
    name = sec.string("name", required=kind in ("location", "topic")) or (
        {"partners": "Partners", "advisory": "Advisory"}.get(kind, key))
    alias = sec.string("alias")
    room = sec.string("room")
    if alias and room:
        sec.fail("room", "give either alias (to create the room) or room (to adopt one)")
    if not alias and not room:
        sec.fail("alias", "is required (or room: an existing #alias:server or !room_id)")
    if alias and not ALIAS_RE.match(alias):
        sec.fail("alias", "must be an alias localpart like sbcc-rostock (no # or :server)")
    if room and not ROOM_REF_RE.match(room):
        sec.fail("room", "must be a room alias (#name:server) or a room id (!id)")
    language = sec.string("language")
    if language is not None and language not in SUPPORTED_LANGUAGES:
        sec.fail("language", f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
    if kind == "location" and language is None:
        sec.fail("language", "is required for a location")
    country = sec.string("country")
    if kind == "location":
        if country is None:
            sec.fail("country", "is required for a location")
        elif not COUNTRY_RE.match(country):
            sec.fail("country", "must be a two-letter country code like PL")
    timezone = sec.timezone("timezone")
    if kind == "location" and timezone is None and "timezone" not in sec.data:
        sec.fail("timezone", "is required for a location")
    tags = tuple(t.lower() for t in sec.strings("tags")) if kind == "topic" else ()
    topic = sec.string("topic", "") or ""
    sec.finish()
    return RoomSpec(key, kind, name, topic, alias, room, language, timezone,
                    country if kind == "location" else None, tags)


def parse_network(sec: ConfigSection) -> NetworkConfig:
    name = sec.string("name", NetworkConfig.name)
    space_sec = sec.get("space")
    space = _room(sec.section("space"), "space", "space") if space_sec is not None else None
    locations = tuple(_room(s, "location") for s in sec.items("locations"))
    topics = tuple(_room(s, "topic") for s in sec.items("topics"))
    partners_raw = sec.get("partners_room")
    partners = (_room(sec.section("partners_room"), "partners", "partners")
                if partners_raw is not None else None)
    advisory = (_room(sec.section("advisory_room"), "advisory", "advisory")
                if sec.get("advisory_room") is not None else None)
    delay = sec.integer("welcome_delay", NetworkConfig.welcome_delay, maximum=3600)
    if (locations or topics or partners) and space is None:
        sec.fail("space", "is required when rooms are configured")
    seen_keys: dict[str, str] = {}
    seen_aliases: dict[str, str] = {}
    for spec in (*((space,) if space else ()), *locations, *topics,
                 *(r for r in (partners, advisory) if r is not None)):
        if spec.key in seen_keys and spec.kind in ("location", "topic"):
            sec.fail(f"{spec.kind}s", f"the key '{spec.key}' is used twice")
        seen_keys.setdefault(spec.key, spec.kind)
        if spec.alias:
            if spec.alias in seen_aliases:
                sec.fail(f"{spec.kind}s" if spec.kind in ("location", "topic") else spec.kind,
                         f"the alias '{spec.alias}' is used by both '{seen_aliases[spec.alias]}'"
                         f" and '{spec.key}'")
            seen_aliases.setdefault(spec.alias, spec.key)
    sec.finish()
    if space is not None and "name" not in (space_sec or {}):
        space = RoomSpec(space.key, space.kind, name, space.topic, space.alias, space.room)
    return NetworkConfig(name, space, locations, topics, partners, advisory, delay,
                         {loc.key: loc for loc in locations})
