"""Putting two (or three) members in touch: why they fit, in which language to introduce
them, a private room with an introduction, and the record of the connection."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Connection, Member, MemberTag
from bot.deps import Deps
from bot.errors import UserError
from bot.events import Outgoing
from bot.features.matchmaking.matching import Fit, spoken
from bot.features.matchmaking.messages import introduction
from bot.i18n import N_, SUPPORTED_LANGUAGES
from bot.members import MemberService
from rooms.private import private_room


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


class ConnectionService:
    def __init__(self, session: AsyncSession, deps: Deps) -> None:
        self.session = session
        self.deps = deps
        self.network = deps.config.network
        self.members = MemberService(session, deps.clock)

    async def connect(self, sender: str, target: str, note: str | None, key: str,
                      txn_id: str) -> Member:
        """`!connect`: check that `target` takes introductions, open a room for the two
        (once per `key`, the command's event), introduce them there and record it.
        Returns the member introduced."""
        prefix = self.deps.config.command_prefix
        if target == sender:
            raise UserError(N_("That is you. Try %(match)s to find someone."),
                            match=f"{prefix}match")
        me = await self.members.get_or_create(sender)
        other = await self.members.get(target)
        if other is None:
            raise UserError(N_("I have not met %(user)s yet, so I cannot introduce you."),
                            user=target)
        if not other.connect_ok:
            raise UserError(N_("%(user)s is not taking introductions at the moment — sorry."),
                            user=other.display_name or target)
        room_id = await self.open_room([me, other], key)
        await self.introduce(room_id, [me, other], note, txn_id)
        self.record(me, other, room_id, note, "connect")
        return other

    async def _tags(self, mxid: str) -> dict[str, set[str]]:
        rows = await self.session.execute(select(MemberTag.kind, MemberTag.canonical).where(
            MemberTag.mxid == mxid))
        out: dict[str, set[str]] = {"offer": set(), "need": set()}
        for kind, tag in rows.all():
            out[kind].add(tag)
        return out

    def _cross_border(self, a: Member, b: Member) -> bool:
        ca, cb = self.network.country(a.location), self.network.country(b.location)
        return bool(ca and cb and ca != cb)

    async def fit(self, a: Member, b: Member) -> Fit:
        ta, tb = await self._tags(a.mxid), await self._tags(b.mxid)
        return Fit(tuple(sorted(ta["offer"] & tb["need"])), tuple(sorted(tb["offer"] & ta["need"])),
                   tuple(sorted(spoken(a) & spoken(b))), self._cross_border(a, b))

    async def open_room(self, members: Sequence[Member], alias_key: str) -> str:
        """A private room for the members ("Ala & Udo"), created once per `alias_key`."""
        name = " & ".join(m.display_name or m.mxid for m in members)
        return await private_room(self.deps.gateway, self.deps.config.matrix.server_name,
                                  "c", alias_key, name=name, invite=[m.mxid for m in members])

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
