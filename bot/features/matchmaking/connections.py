"""Putting two (or three) members in touch: why they fit, in which language to introduce
them, a private room with an introduction, and the record of the connection.

A room is made so that a failure leaves nothing half-made behind: the note is checked
first, the room is created without invitations (found again by a deterministic alias: one
room per pair for `!connect`, one per group for a round), the members are invited, then
the introduction is posted (after the invitations, so that in an encrypted room it is
encrypted for them too), and the connection is recorded last. Interrupted anywhere, the
next attempt finds the same room, its introduction folds into the first (transaction ids
from the command), and only who is not in the room yet is invited.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Connection, Member
from bot.deps import Deps
from bot.errors import BadArgument, GatewayError, HomeserverUnavailable, UserError
from bot.events import Outgoing
from bot.features.matchmaking.config import MatchmakingConfig
from bot.features.matchmaking.matching import Fit, canonical_tags, spoken
from bot.features.matchmaking.messages import introduction
from bot.formatting import Rich, markup
from bot.i18n import N_, SUPPORTED_LANGUAGES
from bot.members import MemberService, is_former
from bot.text import clean_block, clean_name
from rooms.private import private_room

log = logging.getLogger(__name__)
MAX_NOTE_LENGTH = 500
CONNECT_WINDOW = timedelta(days=1)  # `connects_per_day` counts the last 24 hours
MAX_ROOM_NAME = 100


def pair_key(a: str, b: str) -> str:
    """The alias key of a pair's `!connect` room: the same whoever asks first."""
    return "\n".join(sorted((a, b)))


def room_link(room_id: str) -> Rich:
    url = f"https://matrix.to/#/{quote(room_id, safe='!:')}"
    return Rich(url, markup('<a href="%(url)s">%(url)s</a>', url=url))


def check_note(note: str | None) -> str | None:
    """The note of `!connect`, cleaned (no control or bidi characters) and bounded."""
    text = clean_block(note or "")
    if len(text) > MAX_NOTE_LENGTH:
        raise BadArgument(N_("That note is %(length)d characters; a note may have at most "
                             "%(max)d."), length=len(text), max=MAX_NOTE_LENGTH)
    return text or None


def common_locale(members: Sequence[Member], default: str) -> str:
    """A language every member reads and the bot speaks: the first member's choice when
    everyone reads it, else any shared one, else the configured default."""
    readers = [spoken(m) for m in members]
    preferred = [m.language for m in members if m.language]
    shared = set.intersection(*readers) if readers and all(readers) else set()
    for code in [*preferred, *sorted(shared)]:
        if code in SUPPORTED_LANGUAGES and code in shared:
            return code
    if len({m.language for m in members}) == 1 and members[0].language:
        return members[0].language
    return default


@dataclass(frozen=True)
class Connected:
    """What `!connect` did: the member introduced, their room, and whether the pair already
    had it (nothing new was opened or recorded)."""

    member: Member
    room_id: str
    reused: bool


class ConnectionService:
    def __init__(self, session: AsyncSession, deps: Deps,
                 per_day: int = MatchmakingConfig.connects_per_day) -> None:
        self.session = session
        self.deps = deps
        self.per_day = per_day
        self.network = deps.config.network
        self.members = MemberService(session, deps.clock)

    async def connect(self, sender: str, target: str, note: str | None,
                      txn_id: str) -> Connected:
        """`!connect`: check everything (the note, that `target` takes introductions, the
        sender's daily limit), then open the pair's room, introduce them there, invite them
        and record it. A pair that already has its room gets it again, nothing new."""
        prefix = self.deps.config.command_prefix
        if target == sender:
            raise UserError(N_("That is you. Try %(match)s to find someone."),
                            match=f"{prefix}match")
        text = check_note(note)
        other = None if is_former(target) else await self.members.get(target)
        if other is None:
            raise UserError(N_("I have not met %(user)s yet, so I cannot introduce you."),
                            user=target)
        if not other.connect_ok:
            raise UserError(N_("%(user)s is not taking introductions at the moment — sorry."),
                            user=other.display_name or target)
        me = await self.members.get_or_create(sender)
        existing = await self.room_of(sender, other.mxid)
        if existing is not None:
            try:
                await self.invite(existing, [me])  # back in, if they left; never the other
            except HomeserverUnavailable:
                raise
            except GatewayError as exc:
                log.warning("!connect: could not invite back to %s: %s", existing, exc)
            return Connected(other, existing, reused=True)
        await self._within_limit(sender)
        room_id = await self.open_room([me, other], pair_key(sender, other.mxid))
        try:  # invited first: in an encrypted room the introduction is then theirs to read
            await self.invite(room_id, [other, me])
        except HomeserverUnavailable:
            raise
        except GatewayError as exc:
            log.warning("!connect: could not invite to %s: %s", room_id, exc)
            raise UserError(N_("I could not invite %(user)s: their server refused. Nothing "
                               "was recorded; try again later."),
                            user=other.display_name or other.mxid) from exc
        await self.introduce(room_id, [me, other], text, txn_id)
        self.record(me, other, room_id, text, "connect")
        return Connected(other, room_id, reused=False)

    async def room_of(self, a: str, b: str) -> str | None:
        """The room `!connect` opened for the pair before (asked by either of them)."""
        return await self.session.scalar(
            select(Connection.room_id).where(
                Connection.origin == "connect", Connection.room_id.is_not(None),
                or_(and_(Connection.a == a, Connection.b == b),
                    and_(Connection.a == b, Connection.b == a)))
            .order_by(Connection.created_at).limit(1))

    async def _within_limit(self, sender: str) -> None:
        since = self.deps.clock() - CONNECT_WINDOW
        opened = await self.session.scalar(
            select(func.count()).select_from(Connection).where(
                Connection.a == sender, Connection.origin == "connect",
                Connection.created_at > since)) or 0
        if opened >= self.per_day:
            raise UserError(N_("You can open at most %(max)d introductions a day; try again "
                               "tomorrow."), max=self.per_day)

    def _cross_border(self, a: Member, b: Member) -> bool:
        ca, cb = self.network.country(a.location), self.network.country(b.location)
        return bool(ca and cb and ca != cb)

    async def fit(self, a: Member, b: Member) -> Fit:
        ta = await canonical_tags(self.session, a.mxid)
        tb = await canonical_tags(self.session, b.mxid)
        return Fit(tuple(sorted(ta["offer"] & tb["need"])), tuple(sorted(tb["offer"] & ta["need"])),
                   tuple(sorted(spoken(a) & spoken(b))), self._cross_border(a, b))

    async def open_room(self, members: Sequence[Member], alias_key: str) -> str:
        """A private room for the members ("Ala & Udo"), created once per `alias_key`, with
        nobody invited yet (see `invite`)."""
        name = clean_name(" & ".join(m.display_name or m.mxid for m in members),
                          MAX_ROOM_NAME) or "sbcc"
        config = self.deps.config.matrix
        return await private_room(self.deps.gateway, config.server_name, "c", alias_key,
                                  name=name, invite=(),
                                  encrypted=config.encryption.encrypt_private_rooms)

    async def invite(self, room_id: str, members: Sequence[Member]) -> None:
        """Invite those of `members` who are not in the room yet, in the order given."""
        gateway = self.deps.gateway
        joined = await gateway.joined_members(room_id)
        for member in members:
            if member.mxid not in joined:
                await gateway.invite(room_id, member.mxid)

    async def introduce(self, room_id: str, members: Sequence[Member], note: str | None,
                        txn_id: str) -> None:
        """Post the introduction in the new room, in a language they all read."""
        locale = common_locale(members, self.deps.config.default_language)
        fits = [(a, b, await self.fit(a, b))
                for i, a in enumerate(members) for b in members[i + 1:]]
        text, html = introduction(self.deps.translator.bind(locale), members, fits, note,
                                  self.network, self.deps.config.command_prefix)
        await self.deps.gateway.send(Outgoing(room_id, text, html,
                                              mentions=tuple(m.mxid for m in members),
                                              txn_id=txn_id))

    def record(self, a: Member, b: Member, room_id: str | None, note: str | None,
               origin: str, round_id: int | None = None) -> Connection:
        connection = Connection(a=a.mxid, b=b.mxid, room_id=room_id, note=note, origin=origin,
                                round_id=round_id, cross_border=self._cross_border(a, b),
                                created_at=self.deps.clock())
        self.session.add(connection)
        return connection
