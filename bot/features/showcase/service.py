"""The public showcase: only what members agreed to show (`Member.showcase`, off by default).

A member who opted in is shown by name, organisation, location and offers. The name is the
display name, else the localpart of the Matrix ID ("ala" of "@ala:example.org"); the full
Matrix ID, needs, bio, languages and timezone are never shown. A collaboration is shown only
when EVERY one of its members confirmed being part of it (`!collab confirm`, ✅) AND opted
in (a member the bot has no row for — one who asked to be forgotten, too — counts as not
having opted in), with its title, status, date, and its members' names and the locations
they had when it was recorded; its notes and history are never shown.

Every list is bounded (`MEMBERS_PER_PAGE`, `COLLABORATIONS_PER_PAGE`) and paged. Queries:
tags by the `member_tags` primary key (mxid, kind, tag), collaborations newest first by
`ix_collaborations_created_at`, the consent check of a collaboration by the
`collaboration_members` primary key and `members.mxid`. Opted-in members are found by
filtering `members.showcase`, which has no index of its own (a scan of the members table:
thousands of rows, not millions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Collaboration, CollaborationMember, Member, MemberTag
from bot.features.collaborations.service import Page
from bot.members import is_former

MEMBERS_PER_PAGE = 200
COLLABORATIONS_PER_PAGE = 100
FEED_SIZE = 50
MAX_PAGE = 10_000

def public_name(mxid: str, display_name: str | None) -> str:
    """How the showcase names a member: the display name, else the Matrix ID's localpart."""
    name = " ".join((display_name or "").split())
    return name or mxid.removeprefix("@").split(":", 1)[0]


@dataclass(frozen=True)
class ShowcaseMember:
    name: str
    organisation: str | None
    location: str | None  # a location key; labels are the reader's language's
    offers: list[str]


@dataclass(frozen=True)
class ShowcasePerson:
    """A member of a shown collaboration, with where they were when it was recorded."""

    name: str
    location: str | None


@dataclass(frozen=True)
class ShowcaseCollaboration:
    id: int
    title: str
    status: str
    created_at: datetime
    members: list[ShowcasePerson]


def _all_members_consented() -> ColumnElement[bool]:
    """SQL: the collaboration in the outer query has members, and every one of them has
    confirmed being part of it and has a member row with `showcase` true."""
    refusing = (
        select(CollaborationMember.collaboration_id)
        .outerjoin(Member, Member.mxid == CollaborationMember.mxid)
        .where(CollaborationMember.collaboration_id == Collaboration.id,
               or_(CollaborationMember.confirmed_at.is_(None), Member.mxid.is_(None),
                   Member.showcase.is_not(True)))
    )
    anyone = select(CollaborationMember.collaboration_id).where(
        CollaborationMember.collaboration_id == Collaboration.id)
    return and_(exists(anyone), ~exists(refusing))


class ShowcaseService:
    """What the public showcase shows (read only; consent is `ConsentService`'s)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def members(self, page: int = 1,
                      per_page: int | None = None) -> Page[ShowcaseMember]:
        """Opted-in members by name (case-insensitive), one page of them."""
        per_page = per_page or MEMBERS_PER_PAGE
        shown = Member.showcase.is_(True)
        total = await self.session.scalar(
            select(func.count()).select_from(Member).where(shown)) or 0
        # by the name shown: the display name, else the MXID without its "@"
        name = func.lower(func.coalesce(Member.display_name, func.substr(Member.mxid, 2)))
        rows = list(await self.session.scalars(
            select(Member).where(shown).order_by(name, Member.mxid)
            .limit(per_page).offset(_offset(page, per_page))))
        offers = await self._offers([m.mxid for m in rows])
        items = [ShowcaseMember(public_name(m.mxid, m.display_name), m.organisation,
                                m.location, offers.get(m.mxid, [])) for m in rows]
        return Page(items, total)

    async def collaborations(self, page: int = 1,
                             per_page: int | None = None) -> Page[ShowcaseCollaboration]:
        """Collaborations whose every member confirmed and opted in, newest first, one page
        of them."""
        per_page = per_page or COLLABORATIONS_PER_PAGE
        where = _all_members_consented()
        total = await self.session.scalar(
            select(func.count()).select_from(Collaboration).where(where)) or 0
        rows = list(await self.session.scalars(
            select(Collaboration).where(where)
            .order_by(Collaboration.created_at.desc(), Collaboration.id.desc())
            .limit(per_page).offset(_offset(page, per_page))))
        people = await self._people([c.id for c in rows])
        items = [ShowcaseCollaboration(c.id, c.title, c.status, c.created_at,
                                       people.get(c.id, [])) for c in rows]
        # a member who withdrew (or left) between the two queries of this transaction is not
        # shown half: a collaboration is shown with all its members or not at all
        return Page([c for c in items if c.members], total)

    async def feed(self) -> list[ShowcaseCollaboration]:
        """The newest FEED_SIZE collaborations of the showcase (for the Atom feed)."""
        return (await self.collaborations(1, FEED_SIZE)).items

    async def _offers(self, mxids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if not mxids:
            return out
        rows = await self.session.execute(
            select(MemberTag.mxid, MemberTag.tag)
            .where(MemberTag.mxid.in_(list(mxids)), MemberTag.kind == "offer"))
        for mxid, tag in rows:
            out.setdefault(mxid, []).append(tag)
        return {mxid: sorted(tags) for mxid, tags in out.items()}

    async def _people(self, ids: Sequence[int]) -> dict[int, list[ShowcasePerson]]:
        if not ids:
            return {}
        rows = await self.session.execute(
            select(CollaborationMember.collaboration_id, CollaborationMember.mxid,
                   CollaborationMember.location, CollaborationMember.confirmed_at,
                   Member.display_name, Member.showcase)
            .outerjoin(Member, Member.mxid == CollaborationMember.mxid)
            .where(CollaborationMember.collaboration_id.in_(list(ids))))
        out: dict[int, list[tuple[str, ShowcasePerson]]] = {}
        refused: set[int] = set()
        for cid, mxid, location, confirmed_at, display_name, showcase in rows:
            if not showcase or confirmed_at is None or is_former(mxid):
                refused.add(cid)
                continue
            out.setdefault(cid, []).append(
                (mxid, ShowcasePerson(public_name(mxid, display_name), location)))
        return {cid: [p for _, p in sorted(people, key=lambda mp: (mp[1].name.casefold(),
                                                                   mp[0]))]
                for cid, people in out.items() if cid not in refused}


def _offset(page: int, per_page: int) -> int:
    return (min(max(page, 1), MAX_PAGE) - 1) * per_page
