"""Putting two (or three) members in touch: why they fit, in which language to introduce
them, a private room with an introduction, and the record of the connection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Connection, Member, MemberTag
from bot.deps import Deps
from bot.events import Outgoing
from bot.features.matchmaking.matching import spoken
from bot.features.profiles.config import TagsConfig
from bot.formatting import Rich, fill, pill
from bot.i18n import N_, SUPPORTED_LANGUAGES, language_name
from rooms.private import private_room


@dataclass(frozen=True)
class Fit:
    """Why two members fit: what each offers that the other needs, and what they share."""

    a_gives: tuple[str, ...]  # a offers, b needs
    b_gives: tuple[str, ...]  # b offers, a needs
    shared_languages: tuple[str, ...]
    cross_border: bool


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
        self.canonical = deps.config.section(TagsConfig).canonical

    async def _tags(self, mxid: str) -> dict[str, set[str]]:
        rows = await self.session.execute(select(MemberTag.kind, MemberTag.canonical).where(
            MemberTag.mxid == mxid))
        out: dict[str, set[str]] = {"offer": set(), "need": set()}
        for kind, tag in rows.all():
            out[kind].add(tag)
        return out

    def _country(self, member: Member) -> str | None:
        spec = self.deps.config.network.location_by_key.get(member.location or "")
        return spec.country if spec else None

    async def fit(self, a: Member, b: Member) -> Fit:
        ta, tb = await self._tags(a.mxid), await self._tags(b.mxid)
        ca, cb = self._country(a), self._country(b)
        return Fit(tuple(sorted(ta["offer"] & tb["need"])), tuple(sorted(tb["offer"] & ta["need"])),
                   tuple(sorted(spoken(a) & spoken(b))), bool(ca and cb and ca != cb))

    def explain(self, a: Member, b: Member, fit: Fit, locale: str) -> list[tuple[str, str]]:
        """Lines (text, html) saying why a and b fit, in `locale`."""
        tr = self.deps.translator
        lines: list[tuple[str, str]] = []
        pa, pb = pill(a.mxid, a.display_name), pill(b.mxid, b.display_name)
        if fit.a_gives:
            lines.append(fill(tr.gettext(N_("%(giver)s offers %(tags)s, which %(taker)s needs."),
                                         locale), giver=pa, taker=pb,
                              tags=", ".join(fit.a_gives)))
        if fit.b_gives:
            lines.append(fill(tr.gettext(N_("%(giver)s offers %(tags)s, which %(taker)s needs."),
                                         locale), giver=pb, taker=pa,
                              tags=", ".join(fit.b_gives)))
        places = [self._place(m, locale) for m in (a, b)]
        if all(places):
            lines.append(fill(tr.gettext(N_("From %(first)s and %(second)s."), locale),
                              first=places[0], second=places[1]))
        if fit.shared_languages:
            names = ", ".join(language_name(c, locale) for c in fit.shared_languages)
            lines.append(fill(tr.gettext(N_("You both read: %(languages)s."), locale),
                              languages=names))
        return lines

    def _place(self, member: Member, locale: str) -> str | None:
        spec = self.deps.config.network.location_by_key.get(member.location or "")
        return f"{spec.name} ({spec.country})" if spec else None

    async def open_room(self, members: Sequence[Member], alias_key: str, name: str) -> str:
        """A private room for the members, created once per `alias_key`."""
        return await private_room(self.deps.gateway, self.deps.config.matrix.server_name,
                                  "c", alias_key, name=name, invite=[m.mxid for m in members])

    async def introduce(self, room_id: str, members: Sequence[Member], note: str | None,
                        txn_id: str) -> tuple[str, str]:
        """Post the introduction in the new room; returns the locale used."""
        locale = common_locale(members, self.deps.config.default_language)
        tr = self.deps.translator
        title_t, title_h = fill(tr.gettext(N_("Meet each other: %(names)s!"), locale),
                                names=_names(members))
        parts = [(title_t, title_h)]
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                parts += self.explain(a, b, await self.fit(a, b), locale)
        if note:
            parts.append(fill(tr.gettext(N_("A note from %(who)s: %(note)s"), locale),
                              who=pill(members[0].mxid, members[0].display_name), note=note))
        parts.append(fill(tr.gettext(N_("Say hello and find a time to talk. When you start "
                                        "working together, record it with %(collab)s."),
                                     locale),
                          collab=f"{self.deps.config.command_prefix}collab add"))
        text = "\n".join(t for t, _ in parts)
        html = "<br>".join(h for _, h in parts)
        await self.deps.gateway.send(Outgoing(room_id, text, html,
                                              mentions=tuple(m.mxid for m in members),
                                              txn_id=txn_id))
        return locale

    def record(self, a: Member, b: Member, room_id: str | None, note: str | None,
               origin: str, round_id: int | None = None) -> Connection:
        ca, cb = self._country(a), self._country(b)
        connection = Connection(a=a.mxid, b=b.mxid, room_id=room_id, note=note, origin=origin,
                                round_id=round_id, cross_border=bool(ca and cb and ca != cb),
                                created_at=self.deps.clock())
        self.session.add(connection)
        return connection


def _names(members: Sequence[Member]) -> Rich:
    pills = [pill(m.mxid, m.display_name) for m in members]
    return Rich(" & ".join(p.text for p in pills), " &amp; ".join(p.html for p in pills))


