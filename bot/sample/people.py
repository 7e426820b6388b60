"""The sample's people: names, organisations and words per country, and the `Generator`
that derives each member (a `Person`) from (seed, index) without touching the database."""

from __future__ import annotations

import bisect
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Config
from bot.features.profiles.config import TagsConfig
from rooms.topology import NetworkConfig, RoomSpec

HISTORY_DAYS = 180  # members arrived over the last half year
NEW_SHARE = 0.15  # of them within the last week

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

    def rng(self, stream: int, index: int = 0) -> random.Random:
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
        rng = self.rng(0, index)
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
            base = ascii_name(_name(self.rng(0, i), spec)) or "member"
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
