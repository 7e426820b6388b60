"""Matchmaking rounds: who takes part, the pairing, private rooms with introductions, the
"did you meet?" follow-up and its answers.

Every step is resumable and keyed, so a crash repeats nothing: a round is keyed by what
started it (a command's event id, or the ISO week of a scheduled round); a group's room by
its round and members (a deterministic alias); messages by transaction ids derived from the
group's id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import MatchRound, Member, MemberTag, RoomMembership, RoundAnswer, RoundGroup
from bot.deps import Deps
from bot.errors import GatewayError
from bot.events import Outgoing, Reaction, RoomEvent
from bot.features.matchmaking.config import MatchmakingConfig
from bot.features.matchmaking.connections import ConnectionService, common_locale
from bot.features.matchmaking.messages import NO, YES, did_you_meet
from bot.features.matchmaking.pairing import Participant, is_cross_border, make_groups, pairs_of
from bot.members import FORMER, MemberService, is_former
from rooms.network import NetworkRooms

log = logging.getLogger(__name__)
YES_KEYS = frozenset({"✅", "✔", "👍", "☑"})  # compared without emoji variation selectors
NO_KEYS = frozenset({"❌", "✖", "👎", "❎"})


def answer_of(key: str) -> bool | None:
    """✅ (and friends) is yes, ❌ (and friends) is no; any other reaction is no answer."""
    bare = key.replace("\ufe0f", "")
    if bare in YES_KEYS:
        return True
    if bare in NO_KEYS:
        return False
    return None


@dataclass(frozen=True)
class RoundStats:
    rounds: int
    groups: int
    answered: int
    met: int
    cross_border: int


class RoundRunner:
    """Runs rounds in short transactions of its own (never inside a command's); one for the
    bot's lifetime, made in the feature's `setup`."""

    def __init__(self, deps: Deps, config: MatchmakingConfig,
                 canonical: Callable[[str], str]) -> None:
        """`canonical` maps a tag to the one matching compares (tag synonyms)."""
        self.deps = deps
        self.config = config
        self.canonical = canonical
        self.network = deps.config.network

    async def participants(self, session: AsyncSession, scope: str | None) -> list[Member]:
        """Who opted in (and takes introductions): everyone, or those of one location
        ("location:szczecin"), or of one topic ("topic:design": its room's members and
        whoever has one of its tags). Never the stand-in of a forgotten member."""
        query = select(Member).where(Member.rounds.is_(True), Member.connect_ok.is_(True),
                                     ~Member.mxid.startswith(FORMER, autoescape=True))
        if scope and scope.startswith("location:"):
            query = query.where(Member.location == scope.split(":", 1)[1])
        elif scope and scope.startswith("topic:"):
            spec = self.network.room_by_key(scope.split(":", 1)[1])
            room_id = await NetworkRooms(session, self.network).room_id(spec) if spec else None
            in_room = select(RoomMembership.mxid).where(RoomMembership.room_id == room_id,
                                                        RoomMembership.until.is_(None))
            tagged = select(MemberTag.mxid).where(MemberTag.canonical.in_(
                [self.canonical(t) for t in (spec.tags if spec else ())]))
            query = query.where(Member.mxid.in_(in_room) | Member.mxid.in_(tagged))
        return list((await session.scalars(query.order_by(Member.mxid))).all())

    async def recent_pairs(self, session: AsyncSession) -> set[frozenset[str]]:
        keep = self.config.history_rounds
        if keep == 0:
            return set()
        recent = select(MatchRound.id).order_by(MatchRound.started_at.desc()).limit(keep)
        rows = await session.scalars(select(RoundGroup.members).where(
            RoundGroup.round_id.in_(recent)))
        return {p for members in rows
                for p in pairs_of(tuple(m for m in members.split() if not is_former(m)))}

    async def start(self, key: str, scope: str | None, started_by: str | None
                    ) -> tuple[int, int] | None:
        """Create (or find, for the same key) a round and its groups; then open the rooms.
        Returns (round id, people) or None when fewer than two take part."""
        deps = self.deps
        async with deps.db.session() as session:
            existing = await session.scalar(select(MatchRound).where(
                MatchRound.scheduled_for == key))
            if existing is None:
                people = await self.participants(session, scope)
                if len(people) < 2:
                    return None
                countries = {m.mxid: self.network.country(m.location) for m in people}
                recent = await self.recent_pairs(session)
                now = deps.clock()
                existing = MatchRound(scope=scope, started_at=now, started_by=started_by,
                                      scheduled_for=key, followed_up=False,
                                      followup_at=now + timedelta(days=self.config.followup_days))
                session.add(existing)
                await session.flush()
                groups = make_groups([Participant(m.mxid, countries[m.mxid], m.location)
                                      for m in people], recent, seed=existing.id)
                session.add_all(RoundGroup(round_id=existing.id, members=" ".join(g),
                                           cross_border=is_cross_border(g, countries))
                                for g in groups)
            round_id, followup_at = existing.id, existing.followup_at
        paired = await self.open_rooms(round_id)
        self.schedule_follow_up(round_id, followup_at)
        return round_id, paired

    async def open_rooms(self, round_id: int) -> int:
        """Give every group of the round its room and introduction (skipping done ones)."""
        async with self.deps.db.session() as session:
            groups = (await session.scalars(select(RoundGroup).where(
                RoundGroup.round_id == round_id).order_by(RoundGroup.id))).all()
        for group in groups:
            if group.room_id is None:
                try:
                    await self._open(group.id, round_id)
                except GatewayError as exc:  # one group's trouble never stops the others
                    log.warning("round %d: no room for group %d (%s)", round_id, group.id, exc)
        return sum(len(g.members.split()) for g in groups)

    async def _open(self, group_id: int, round_id: int) -> None:
        """The group's room: created without invitations, the members invited, then the
        introduction posted (encrypted for them too), the connections recorded last (each
        step found again or folded into the first when an interrupted round is finished)."""
        async with self.deps.db.session() as session:
            group = await session.get_one(RoundGroup, group_id)
            members = await _present(session, group.members)
            if len(members) < 2:  # someone asked to be forgotten since the pairing
                log.info("round %d: group %d has nobody left to introduce", round_id, group_id)
                return
            service = ConnectionService(session, self.deps)
            room_id = await service.open_room(members, f"round:{round_id}:{group.members}")
            await service.invite(room_id, members)  # first: the introduction is theirs too
            await service.introduce(room_id, members, None, f"sbcc.round.{group_id}.intro")
            group.room_id = room_id
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    service.record(a, b, room_id, None, "round", round_id)

    # -- the follow-up ----------------------------------------------------------------------

    def schedule_follow_up(self, round_id: int, when: datetime) -> None:
        """Ask "did you meet?" at `when` (a job rebuilt from the rows at every start)."""
        scheduler = self.deps.scheduler
        if scheduler is None:
            return
        job_id = f"round-followup:{round_id}"
        if scheduler.get_job(job_id) is None:
            scheduler.add_job(self.follow_up, "date", run_date=when, id=job_id,
                              args=[round_id], misfire_grace_time=None)

    async def schedule_pending(self) -> None:
        """At start: rebuild the follow-up jobs from the database (overdue ones run now)."""
        async with self.deps.db.session() as session:
            rounds = (await session.execute(select(MatchRound.id, MatchRound.followup_at).where(
                MatchRound.followed_up.is_(False)))).all()
        now = self.deps.clock()
        for round_id, when in rounds:
            await self.open_rooms(round_id)  # finish a round a crash interrupted
            self.schedule_follow_up(round_id, max(when, now))

    async def follow_up(self, round_id: int) -> None:
        """Ask every group "did you meet?" with ✅ / ❌ to react with."""
        async with self.deps.db.session() as session:
            groups = (await session.scalars(select(RoundGroup).where(
                RoundGroup.round_id == round_id, RoundGroup.room_id.is_not(None),
                RoundGroup.question_event_id.is_(None)))).all()
        for group in groups:
            try:
                await self._ask(group.id)
            except GatewayError as exc:
                log.warning("round %d: cannot ask group %d (%s)", round_id, group.id, exc)
        async with self.deps.db.session() as session:
            row = await session.get(MatchRound, round_id)
            if row is not None:
                row.followed_up = True
        log.info("asked the groups of round %d whether they met", round_id)

    async def _ask(self, group_id: int) -> None:
        deps = self.deps
        async with deps.db.session() as session:
            group = await session.get_one(RoundGroup, group_id)
            room_id = group.room_id
            assert room_id is not None  # only groups with a room are asked
            members = await _present(session, group.members)
            if len(members) < 2:  # nobody left to have met
                return
            tr = deps.translator.bind(common_locale(members, deps.config.default_language))
            text, html = did_you_meet(tr)
            event_id = await deps.gateway.send(Outgoing(
                room_id, text, html, mentions=tuple(m.mxid for m in members),
                txn_id=f"sbcc.round.{group_id}.ask"))
            group.question_event_id = event_id
        # recorded first, so an answer given the moment the question appears is understood;
        # the two prompts after (a resend folds into the first by its transaction id)
        for key, suffix in ((YES, "yes"), (NO, "no")):
            await deps.gateway.react(room_id, event_id, key, f"sbcc.round.{group_id}.ask.{suffix}")

    # -- answers and figures -------------------------------------------------------------

    async def on_event(self, event: RoomEvent) -> None:
        """A reaction to a "did you meet?" question is an answer (the latest one counts)."""
        if not isinstance(event, Reaction) or event.sender == self.deps.gateway.user_id:
            return
        met = answer_of(event.key)
        if met is None:
            return
        async with self.deps.db.session() as session:
            group = await session.scalar(select(RoundGroup).where(
                RoundGroup.question_event_id == event.relates_to))
            if group is None or event.sender not in group.members.split():
                return
            answer = await session.get(RoundAnswer, (group.id, event.sender))
            if answer is None:
                session.add(RoundAnswer(group_id=group.id, mxid=event.sender, met=met,
                                        answered_at=self.deps.clock()))
            else:
                answer.met, answer.answered_at = met, self.deps.clock()
        log.info("%s answered %s for group %d", event.sender, "met" if met else "not met",
                 group.id)


async def _present(session: AsyncSession, group_members: str) -> list[Member]:
    """The members of a group the bot still knows (not forgotten since), in its order."""
    found = []
    for mxid in group_members.split():
        member = None if is_former(mxid) else await session.get(Member, mxid)
        if member is not None:
            found.append(member)
    return found


async def round_stats(session: AsyncSession) -> RoundStats:
    rounds = await session.scalar(select(func.count()).select_from(MatchRound)) or 0
    groups = await session.scalar(select(func.count()).select_from(RoundGroup)) or 0
    cross = await session.scalar(select(func.count()).select_from(RoundGroup).where(
        RoundGroup.cross_border.is_(True))) or 0
    answered = await session.scalar(select(func.count(func.distinct(RoundAnswer.group_id))))
    met = await session.scalar(select(func.count(func.distinct(RoundAnswer.group_id))).where(
        RoundAnswer.met.is_(True)))
    return RoundStats(rounds, groups, answered or 0, met or 0, cross)


class Rounds:
    """`ctx.services.rounds`: who takes part, how the rounds went, and a round started now
    (by the app-scoped runner, in transactions of its own)."""

    def __init__(self, session: AsyncSession, runner: RoundRunner,
                 clock: Callable[[], datetime]) -> None:
        self.session = session
        self.runner = runner
        self.members = MemberService(session, clock)

    async def takes_part(self, mxid: str) -> bool:
        member = await self.members.get(mxid)
        return bool(member and member.rounds)

    async def take_part(self, mxid: str, on: bool) -> bool:
        member = await self.members.get_or_create(mxid)
        member.rounds = on
        return on

    async def stats(self) -> RoundStats:
        return await round_stats(self.session)

    async def start(self, key: str, scope: str | None, started_by: str
                    ) -> tuple[int, int] | None:
        """A round now, for everyone who opted in or one scope ("location:x", "topic:x"):
        (round id, people paired), or None when fewer than two take part."""
        return await self.runner.start(key, scope, started_by)
