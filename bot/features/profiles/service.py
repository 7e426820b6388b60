"""Profiles: organisation, location, spoken languages, timezone, bio, and what a member
offers and needs (normalised tags). How a profile reads (its card) is in `messages`.

The parsing functions are pure and raise `BadArgument` with a message naming the bad
piece; `ProfileService` validates everything before it changes a row, so a rejected
command leaves the profile as it was. Every text stored goes through `bot.text` (control
and bidirectional characters out); "-" alone is never a value: it clears the field.

Who sees what (the README's table): name, organisation, location and offers are public —
what the showcase may show of a member who agreed (`PUBLIC_FIELDS`); needs, bio, spoken
languages and timezone are for the network's members only (`MEMBERS_ONLY_FIELDS`). Outside
the showcase, every card and list is for members only (`!profile @x`, `!find`, `!match`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import available_timezones

from babel import Locale, UnknownLocaleError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Member, MemberTag
from bot.errors import BadArgument, UsageError, UserError
from bot.i18n import N_
from bot.members import MemberService, note_change
from bot.text import clean_block, clean_line, shown

if TYPE_CHECKING:
    from rooms.topology import RoomSpec

KINDS = ("offer", "need")
MAX_TAGS_PER_KIND = 20
MAX_TAG_LENGTH = 32
MAX_ORG_LENGTH = 200
MAX_BIO_LENGTH = 1000
MAX_LANGUAGES = 8

CLEAR = "-"  # `!set org -`: the field is cleared; never stored as a value
CLEARABLE = ("organisation", "location", "languages", "timezone", "bio")
PUBLIC_FIELDS = ("display_name", "organisation", "location", "offers")
MEMBERS_ONLY_FIELDS = ("needs", "bio", "languages", "timezone")

TAG_PUNCTUATION = frozenset(" -&+/.")
TAG_SEPARATORS = re.compile(r"[,;]")
LANGUAGE_SEPARATORS = re.compile(r"[\s,;]+")


def is_clear(value: str) -> bool:
    """Whether a typed value asks to clear the field ("-")."""
    return value.strip() == CLEAR


def _shown(value: str) -> str:
    """A rejected value as an error repeats it: short, and without control or bidi
    characters that could reorder the message around it."""
    return shown(clean_line(value))


def _char(ch: str) -> str:
    """One character as an error names it: itself, or U+XXXX when it is invisible."""
    return f"U+{ord(ch):04X}" if unicodedata.category(ch)[0] in "CZ" else ch


# -- tags ------------------------------------------------------------------------------


def normalise_tag(raw: str) -> str:
    """A tag as stored: "  #3D   Animation " → "3d animation". Raises BadArgument naming
    the tag when it is empty, too long, or has characters other than letters, digits,
    spaces and - & + / ."""
    text = unicodedata.normalize("NFKC", raw).strip().lstrip("#")
    tag = unicodedata.normalize("NFC", " ".join(text.split()).casefold())
    if not tag:
        raise BadArgument(N_("“%(tag)s” is not a tag: a tag needs at least one letter or "
                             "digit."), tag=_shown(raw))
    if len(tag) > MAX_TAG_LENGTH:
        raise BadArgument(N_("The tag “%(tag)s” is too long: at most %(max)d characters."),
                          tag=_shown(tag), max=MAX_TAG_LENGTH)
    for ch in tag:
        category = unicodedata.category(ch)
        if ch not in TAG_PUNCTUATION and category[0] not in "LNM":
            raise BadArgument(N_("The tag “%(tag)s” contains “%(char)s”. Tags may use letters, "
                                 "digits, spaces and - & + / ."), tag=_shown(tag), char=_char(ch))
    if not any(unicodedata.category(ch)[0] in "LN" for ch in tag):
        raise BadArgument(N_("“%(tag)s” is not a tag: a tag needs at least one letter or "
                             "digit."), tag=_shown(raw))
    return tag


def split_tags(text: str) -> list[str]:
    """The tags of a list as typed: separated by commas or semicolons, empty ones dropped."""
    return [part for part in TAG_SEPARATORS.split(text) if part and not part.isspace()]


def parse_tags(text: str) -> list[str]:
    """Tags separated by commas or semicolons, normalised, duplicates dropped (first wins).
    Counted as typed, before any is normalised: a list of thousands is refused at once."""
    parts = split_tags(text)
    if not parts:
        raise UsageError(N_("Which tags? Separate them with commas, for example: "
                            "%(example)s"), example="video, 3d animation, funding")
    if len(parts) > MAX_TAGS_PER_KIND:
        raise BadArgument(N_("Too many tags at once (%(count)d): a list holds at most "
                             "%(max)d."), count=len(parts), max=MAX_TAGS_PER_KIND)
    tags: list[str] = []
    for part in parts:
        tag = normalise_tag(part)
        if tag not in tags:
            tags.append(tag)
    return tags


# -- languages, timezones --------------------------------------------------------------


def parse_languages(text: str) -> list[str]:
    """Spoken languages as two-letter ISO 639-1 codes ("PL, en de-DE" → pl, en, de)."""
    codes: list[str] = []
    for raw in LANGUAGE_SEPARATORS.split(text.strip()):
        if not raw:
            continue
        primary = raw.replace("-", "_").split("_")[0].lower()
        try:
            if not re.fullmatch(r"[a-z]{2}", primary):
                raise ValueError(primary)
            code = Locale.parse(primary).language
        except (ValueError, UnknownLocaleError):
            raise BadArgument(N_("“%(code)s” is not a language code I know. Use two-letter "
                                 "codes like pl, de, en, lt, sv, uk."),
                              code=_shown(raw)) from None
        if len(code) != 2:
            raise BadArgument(N_("“%(code)s” is not a language code I know. Use two-letter "
                                 "codes like pl, de, en, lt, sv, uk."), code=_shown(raw))
        if code not in codes:
            codes.append(code)
    if not codes:
        raise UsageError(N_("Which languages? For example: %(example)s"), example="pl, en")
    if len(codes) > MAX_LANGUAGES:
        raise BadArgument(N_("Too many languages (%(count)d): at most %(max)d."),
                          count=len(codes), max=MAX_LANGUAGES)
    return codes


@cache
def _timezones() -> dict[str, str]:
    """Every IANA timezone the system knows, by its case-folded name."""
    return {name.casefold(): name for name in available_timezones()
            if name not in ("localtime", "Factory")}


def parse_timezone(text: str) -> str:
    """An IANA timezone like Europe/Warsaw (any case), in its canonical spelling."""
    name = _timezones().get(text.strip().casefold())
    if name is None:
        raise BadArgument(N_("“%(tz)s” is not a timezone I know. Use Area/City, for example "
                             "Europe/Warsaw or Europe/Berlin."), tz=_shown(text))
    return name


def language_names(codes: Iterable[str], locale: str) -> list[str]:
    """Language names as `locale` writes them in a list ("polski", "Polish")."""
    names = Locale.parse(locale).languages
    return [names.get(code) or code for code in codes]


def stored_languages(stored: str | None) -> list[str]:
    """The codes of a member's stored spoken languages ("pl,en" → pl, en)."""
    return [code for code in (stored or "").split(",") if code]


def removal_tags(text: str) -> list[str]:
    """The tags to remove, as typed and separated like `parse_tags`: normalised where they
    can be, else kept as typed (they cannot be in the list, and are reported as not there);
    duplicates dropped."""
    wanted: dict[str, None] = {}
    for part in dict.fromkeys(split_tags(text)):
        wanted.setdefault(_removal_tag(part))
    return list(wanted)


def _removal_tag(part: str) -> str:
    try:
        return normalise_tag(part)
    except BadArgument:
        return _shown(part)  # cannot be stored; reported as not there


# -- the service -----------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    member: Member
    offers: list[str]
    needs: list[str]


@dataclass(frozen=True)
class TagChange:
    """What `!offer`/`!need` changed: the tags added (or removed), those already there (or
    not there), and how many the list holds now."""

    changed: list[str]
    unchanged: list[str]
    total: int


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"tag kind must be one of {KINDS}, not {kind!r}")
    return kind


class ProfileService:
    def __init__(self, session: AsyncSession, clock: Callable[[], datetime],
                 canonical: Callable[[str], str] = lambda tag: tag) -> None:
        """`canonical` maps a tag to the one matching compares (tag synonyms)."""
        self.session = session
        self.clock = clock
        self.canonical = canonical
        self.members = MemberService(session, clock)

    async def get(self, mxid: str) -> Profile | None:
        """The member and their tags, or None when the bot has never met them."""
        member = await self.members.get(mxid)
        if member is None:
            return None
        return Profile(member, await self.tags(mxid, "offer"), await self.tags(mxid, "need"))

    async def find(self, mxid: str) -> Profile:
        """Someone's profile, named as typed (a server may be written in capitals); a
        `UserError` when the bot has never met them."""
        found = await self.get(mxid)
        if found is None and mxid.lower() != mxid:
            found = await self.get(mxid.lower())
        if found is None:
            raise UserError(N_("I have not met %(user)s yet, so I know nothing about them."),
                            user=mxid)
        return found

    async def set_organisation(self, mxid: str, text: str) -> str:
        value = clean_line(text)
        if not value or value == CLEAR:
            raise UsageError(N_("Which organisation? For example: %(example)s"),
                             example="Studio Nord")
        if len(value) > MAX_ORG_LENGTH:
            raise BadArgument(N_("That is %(length)d characters; an organisation's name may "
                                 "have at most %(max)d."), length=len(value), max=MAX_ORG_LENGTH)
        member = await self.members.get_or_create(mxid)
        member.organisation = value
        return value

    async def set_location(self, mxid: str, spec: RoomSpec) -> RoomSpec:
        """Move the member to a configured location (found with `network.find_location`)."""
        member = await self.members.get_or_create(mxid)
        await self.members.set_location(member, spec.key)
        return spec

    async def set_languages(self, mxid: str, text: str) -> list[str]:
        codes = parse_languages(text)
        member = await self.members.get_or_create(mxid)
        member.languages = ",".join(codes)
        return codes

    async def set_timezone(self, mxid: str, text: str) -> str:
        name = parse_timezone(text)
        member = await self.members.get_or_create(mxid)
        member.timezone = name
        return name

    async def set_bio(self, mxid: str, text: str) -> str:
        value = clean_block(text)
        if not value or value == CLEAR:
            raise UsageError(N_("What should your bio say? A few sentences about you and "
                                "your work."))
        if len(value) > MAX_BIO_LENGTH:
            raise BadArgument(N_("That is %(length)d characters; a bio may have at most "
                                 "%(max)d."), length=len(value), max=MAX_BIO_LENGTH)
        member = await self.members.get_or_create(mxid)
        member.bio = value
        return value

    async def clear(self, mxid: str, field: str) -> None:
        """Take one field off the member's profile (`!set org -`); a member the bot has
        never met has nothing to clear, and is not recorded for asking."""
        if field not in CLEARABLE:
            raise ValueError(f"field must be one of {CLEARABLE}, not {field!r}")
        member = await self.members.get(mxid)
        if member is None:
            return
        if field == "location":
            await self.members.set_location(member, None)
        else:
            setattr(member, field, None)

    async def set_connect(self, mxid: str, on: bool) -> bool:
        """Whether others may open an introduction with the member and see them in matches."""
        member = await self.members.get_or_create(mxid)
        member.connect_ok = on
        return on

    async def tags(self, mxid: str, kind: str) -> list[str]:
        """The member's tags of one kind, sorted (the same on every database)."""
        rows = await self.session.scalars(
            select(MemberTag.tag).where(MemberTag.mxid == mxid, MemberTag.kind == _kind(kind)))
        return sorted(rows)

    async def add_tags(self, mxid: str, kind: str,
                       tags: Sequence[str]) -> tuple[list[str], list[str]]:
        """Add tags (normalised here too); returns (added, already there), in given order.
        Nothing is added when the list would grow past MAX_TAGS_PER_KIND."""
        wanted: list[str] = []
        for raw in tags:
            tag = normalise_tag(raw)
            if tag not in wanted:
                wanted.append(tag)
        member = await self.members.get_or_create(mxid)
        existing = set(await self.tags(mxid, kind))
        added = [t for t in wanted if t not in existing]
        already = [t for t in wanted if t in existing]
        if len(existing) + len(added) > MAX_TAGS_PER_KIND:
            raise UserError(N_("A list holds at most %(max)d tags and that would make "
                               "%(total)d. Free places left: %(left)d."),
                            max=MAX_TAGS_PER_KIND, total=len(existing) + len(added),
                            left=MAX_TAGS_PER_KIND - len(existing))
        self.session.add_all(MemberTag(mxid=mxid, kind=kind, tag=t, canonical=self.canonical(t),
                                       location=member.location) for t in added)
        if added:
            note_change(self.session, mxid)
        await self.session.flush()
        return added, already

    async def add(self, mxid: str, kind: str, text: str) -> TagChange:
        """`!offer`/`!need` with tags: the tags typed (see `parse_tags`) added at once, or
        none of them (a bad tag or too many rejects the whole list)."""
        added, already = await self.add_tags(mxid, kind, parse_tags(text))
        return TagChange(added, already, len(await self.tags(mxid, kind)))

    async def remove(self, mxid: str, kind: str, tags: Sequence[str]) -> TagChange:
        """Remove tags (as typed) in one statement, however many were typed; those not in
        the list come back as `unchanged`."""
        wanted = list(dict.fromkeys(_removal_tag(tag) for tag in tags))
        stored = set(await self.tags(mxid, kind))
        removed = [tag for tag in wanted if tag in stored]
        missing = [tag for tag in wanted if tag not in stored]
        if removed:  # at most MAX_TAGS_PER_KIND: only what is stored
            await self.session.execute(delete(MemberTag).where(
                MemberTag.mxid == mxid, MemberTag.kind == _kind(kind),
                MemberTag.tag.in_(removed)))
            note_change(self.session, mxid)
        return TagChange(removed, missing, len(stored) - len(removed))

    async def remove_tag(self, mxid: str, kind: str, tag: str) -> bool:
        """Remove one tag (given as typed); False when it was not there."""
        return bool((await self.remove(mxid, kind, [tag])).changed)
