"""Joint strategies: a process per strategy, moving through proposals → discussion → vote
→ result; proposals from members of the covered locations, posted in their location room
and mirrored into the others; endorsements by 👍 on any copy; coordinators' answers; a vote
per section on native polls (or `!vote`), each member's latest vote counted once across
rooms, none after the deadline; results by section and location.

`StrategyService` is built per command (one transaction). What a phase change sets off —
announcements in every covered room, the polls, their end and the results, reminders — are
`StrategyDue` rows recorded here and sent once by `StrategyDues` (`dues.py`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

import bot.features.strategies.messages as messages
from bot.db.models import (
    Endorsement,
    Member,
    Proposal,
    ProposalCopy,
    ProposalVersion,
    RoomMembership,
    StrategyDue,
    StrategyPhaseEnd,
    StrategyPoll,
    StrategyProcess,
    StrategyVote,
)
from bot.errors import GatewayError, HomeserverUnavailable, UserError
from bot.events import Outgoing
from bot.features.strategies.config import SECTION_RE, StrategiesConfig
from bot.features.strategies.document import PHASES, ProposalEntry, StrategyDocument
from bot.i18n import N_
from bot.text import clean_block, clean_line
from rooms.network import NetworkRooms
from rooms.topology import RoomSpec

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

TITLE_MIN, TITLE_MAX = 3, 200
TEXT_MIN, TEXT_MAX = 10, 2000
REASON_MAX = 500
NO_SUCH = N_("There is no strategy #%(id)s.")
CANDIDATES = ("open", "accepted")  # what goes to the vote
BALLOT_MAX = 20  # answers a native poll may have


def room_tag(room_id: str) -> str:
    """A short, stable stand-in for a room id inside transaction ids."""
    return hashlib.sha256(room_id.encode()).hexdigest()[:12]


def split_keys(text: str) -> list[str]:
    return [k for k in (p.strip() for p in text.split(",")) if k]


@dataclass(frozen=True)
class Where:
    """Where a member takes part: a covered location and its room."""

    location: RoomSpec
    room_id: str


class StrategyService:
    def __init__(self, session: AsyncSession, deps: Deps, config: StrategiesConfig) -> None:
        self.session = session
        self.deps = deps
        self.config = config
        self.network = deps.config.network

    # -- processes --------------------------------------------------------------------------

    async def get(self, process_id: int) -> StrategyProcess:
        process = await self.session.get(StrategyProcess, process_id)
        if process is None:
            raise UserError(NO_SUCH, id=process_id)
        return process

    async def listing(self) -> list[tuple[StrategyProcess, int]]:
        counts = dict((await self.session.execute(
            select(Proposal.process_id, func.count()).group_by(Proposal.process_id))).all())
        processes = (await self.session.scalars(
            select(StrategyProcess).order_by(StrategyProcess.id))).all()
        return [(p, counts.get(p.id, 0)) for p in processes]

    def locations_of(self, process: StrategyProcess) -> list[RoomSpec]:
        return [self.network.location_by_key[k] for k in split_keys(process.locations)
                if k in self.network.location_by_key]

    async def rooms_of(self, process: StrategyProcess) -> list[tuple[RoomSpec, str]]:
        """The covered locations with their provisioned rooms."""
        rooms = NetworkRooms(self.session, self.network)
        found = []
        for spec in self.locations_of(process):
            room_id = await rooms.room_id(spec)
            if room_id is not None:
                found.append((spec, room_id))
        return found

    async def create(self, title: str, locations: list[str], sections: list[str], by: str
                     ) -> StrategyProcess:
        clean = clean_line(title)
        if not TITLE_MIN <= len(clean) <= TITLE_MAX:
            raise UserError(N_("A title needs between %(min)d and %(max)d characters."),
                            min=TITLE_MIN, max=TITLE_MAX)
        keys = []
        for raw in locations:
            keys.append(self.network.find_location(raw).key)
        keys = list(dict.fromkeys(keys))
        if not keys:
            raise UserError(N_("Which locations take part? For example: %(example)s"),
                            example="locations=szczecin,rostock")
        names = list(dict.fromkeys(s.lower() for s in sections)) or list(self.config.sections)
        for name in names:
            if not SECTION_RE.match(name):
                raise UserError(N_("“%(value)s” cannot be a section: use a short word of "
                                   "letters, digits and -, like culture."), value=name[:40])
        if len(names) > 12:
            raise UserError(N_("At most %(max)d sections."), max=12)
        now = self.deps.clock()
        process = StrategyProcess(title=clean, locations=",".join(keys),
                                  sections=",".join(names), phase="proposals", public=False,
                                  key=secrets.token_urlsafe(24), created_by=by,
                                  created_at=now, phase_since=now)
        self.session.add(process)
        await self.session.flush()
        await self._announce(process)
        return process

    async def ends(self, process: StrategyProcess) -> dict[str, datetime]:
        rows = (await self.session.scalars(select(StrategyPhaseEnd).where(
            StrategyPhaseEnd.process_id == process.id))).all()
        return {r.phase: r.ends_at for r in rows}

    async def set_end(self, process: StrategyProcess, phase: str, when: datetime) -> None:
        if phase not in PHASES[:-1]:
            raise UserError(N_("Dates are set for the phases proposals, discussion and vote "
                               "(each ends when the next begins)."))
        if PHASES.index(phase) < PHASES.index(process.phase):
            raise UserError(N_("The %(phase)s phase is over already."), phase=phase)
        if when <= self.deps.clock():
            raise UserError(N_("That moment is past: choose one in the future."))
        ends = await self.ends(process)
        order = PHASES.index(phase)
        earlier = [ends[p] for p in PHASES[:order] if p in ends]
        later = [ends[p] for p in PHASES[order + 1:-1] if p in ends]
        if (earlier and when <= max(earlier)) or (later and when >= min(later)):
            raise UserError(N_("Phases end in their order: proposals, then discussion, then "
                               "the vote."))
        row = await self.session.get(StrategyPhaseEnd, (process.id, phase))
        if row is None:
            self.session.add(StrategyPhaseEnd(process_id=process.id, phase=phase, ends_at=when))
        else:
            row.ends_at = when
        await self.session.flush()

    async def advance(self, process: StrategyProcess, phase: str) -> StrategyProcess:
        """Move on to `phase` (forward only), announcing it in every covered room; the vote
        opens the polls, the result ends them."""
        if phase not in PHASES:
            raise UserError(N_("“%(value)s” is not a phase: use %(phases)s."),
                            value=phase[:20], phases=", ".join(PHASES))
        if PHASES.index(phase) <= PHASES.index(process.phase):
            raise UserError(N_("Strategy #%(id)d is in the %(phase)s phase already; phases "
                               "only move forward."), id=process.id, phase=process.phase)
        if phase == "vote":
            await self._check_ballots(process)
        # guarded by the phase it was read in: a job and a coordinator moving the same
        # process at once cannot move it twice, nor back
        before, now = process.phase, self.deps.clock()
        moved = await self.session.execute(
            update(StrategyProcess).where(StrategyProcess.id == process.id,
                                          StrategyProcess.phase == before)
            .values(phase=phase, phase_since=now).execution_options(
                synchronize_session=False))
        if not getattr(moved, "rowcount", 0):
            raise UserError(N_("Strategy #%(id)d has just moved on; see %(usage)s."),
                            id=process.id, usage=f"!strategy show {process.id}")
        process.phase, process.phase_since = phase, now
        if phase == "vote":
            await self._open_polls(process)
        await self._announce(process)  # announced first: "the results follow" comes first
        if phase == "result":
            self._due(process, "end", "end")
        await self.session.flush()
        return process

    async def _check_ballots(self, process: StrategyProcess) -> None:
        for section in split_keys(process.sections):
            if len(await self.candidates(process, section)) > BALLOT_MAX:
                raise UserError(N_("“%(section)s” has more than %(max)d proposals for its "
                                   "poll: merge or decline some first."),
                                section=section, max=BALLOT_MAX)

    def _due(self, process: StrategyProcess, kind: str, key: str) -> None:
        self.session.add(StrategyDue(process_id=process.id, kind=kind, key=key[:300],
                                     state="sending", created_at=self.deps.clock()))

    async def _announce(self, process: StrategyProcess) -> None:
        for _spec, room_id in await self.rooms_of(process):
            exists = await self.session.scalar(select(StrategyDue.id).where(
                StrategyDue.process_id == process.id, StrategyDue.kind == "announce",
                StrategyDue.key == f"{process.phase}|{room_id}"))
            if exists is None:
                self._due(process, "announce", f"{process.phase}|{room_id}")
        await self.session.flush()

    async def _open_polls(self, process: StrategyProcess) -> None:
        for section in split_keys(process.sections):
            candidates = await self.candidates(process, section)
            answers = {str(p.number): p.number for p in candidates}
            for _spec, room_id in await self.rooms_of(process):
                self.session.add(StrategyPoll(process_id=process.id, section=section,
                                              room_id=room_id, answers=json.dumps(answers)))
        await self.session.flush()

    async def set_public(self, process: StrategyProcess, public: bool) -> None:
        process.public = public
        await self.session.flush()

    # -- proposals --------------------------------------------------------------------------

    async def where(self, process: StrategyProcess, mxid: str, room_id: str) -> Where:
        """Where `mxid` takes part in `process`: the covered location room they write in,
        else their profile's location, else the one covered location room they are in."""
        rooms = await self.rooms_of(process)
        joined = await self._rooms_in(mxid, [covered for _spec, covered in rooms])
        inside = [(spec, covered) for spec, covered in rooms if covered in joined]
        for spec, covered in inside:
            if covered == room_id:
                return Where(spec, covered)
        member = await self.session.get(Member, mxid)
        for spec, covered in inside:
            if member is not None and member.location == spec.key:
                return Where(spec, covered)
        if len(inside) == 1:
            return Where(*inside[0])
        raise UserError(N_("Strategy #%(id)d is written by members of %(places)s: take part "
                           "from your location room."), id=process.id,
                        places=", ".join(self.network.place(s.key) or s.key
                                         for s in self.locations_of(process)))

    async def _rooms_in(self, mxid: str, room_ids: list[str]) -> set[str]:
        """Which of `room_ids` `mxid` is in now (one query)."""
        return set((await self.session.scalars(select(RoomMembership.room_id).where(
            RoomMembership.room_id.in_(room_ids), RoomMembership.mxid == mxid,
            RoomMembership.until.is_(None)))).all())

    async def open_for_proposals(self, mxid: str, room_id: str) -> StrategyProcess:
        """The one process open for proposals that `mxid` can write to from here."""
        found = []
        for process in (await self.session.scalars(select(StrategyProcess).where(
                StrategyProcess.phase == "proposals").order_by(StrategyProcess.id))).all():
            try:
                await self.where(process, mxid, room_id)
            except UserError:
                continue
            found.append(process)
        if not found:
            raise UserError(N_("No strategy is taking proposals from you now."))
        if len(found) > 1:
            raise UserError(N_("Several strategies take proposals now (%(ids)s): name one, "
                               "for example %(example)s"),
                            ids=", ".join(f"#{p.id}" for p in found),
                            example=f"!propose {found[0].id} culture …")
        return found[0]

    def _check_text(self, text: str) -> str:
        clean = clean_block(text)
        if not TEXT_MIN <= len(clean) <= TEXT_MAX:
            raise UserError(N_("A proposal needs between %(min)d and %(max)d characters; this "
                               "one has %(length)d."), min=TEXT_MIN, max=TEXT_MAX,
                            length=len(clean))
        return clean

    async def propose(self, process: StrategyProcess, section: str, text: str, author: str,
                      room_id: str, txn_base: str) -> Proposal:
        if process.phase != "proposals":
            raise UserError(N_("Strategy #%(id)d takes no new proposals now (it is in the "
                               "%(phase)s phase)."), id=process.id, phase=process.phase)
        sections = split_keys(process.sections)
        if section.lower() not in sections:
            raise UserError(N_("“%(value)s” is not a section of this strategy: use %(sections)s."),
                            value=section[:40], sections=", ".join(sections))
        clean = self._check_text(text)
        where = await self.where(process, author, room_id)
        number = (await self.session.scalar(select(func.max(Proposal.number)).where(
            Proposal.process_id == process.id)) or 0) + 1
        item = Proposal(process_id=process.id, number=number, section=section.lower(),
                        location=where.location.key, author=author, text=clean,
                        created_at=self.deps.clock(), status="open")
        self.session.add(item)
        await self.session.flush()
        await self._post(process, item, where.room_id, txn_base)
        return item

    async def _post(self, process: StrategyProcess, item: Proposal, origin_room: str,
                    txn_base: str) -> None:
        """The proposal in its room, then a copy in each other covered room."""
        rooms = await self.rooms_of(process)
        ordered = sorted(rooms, key=lambda r: r[1] != origin_room)
        for n, (_spec, room_id) in enumerate(ordered):
            origin = room_id == origin_room
            tr = self.deps.translator.bind(await self.deps.locales(self.session).room(room_id))
            text, html = messages.proposal(tr, self.network, process, item, origin=origin)
            try:
                event_id: str | None = await self.deps.gateway.send(Outgoing(
                    room_id, text, html, txn_id=f"{txn_base}.p{n}"))
            except HomeserverUnavailable:
                raise  # the command is tried again; the same txn ids fold the resends
            except GatewayError as exc:  # one room refusing must not stop the others
                log.warning("proposal %d not posted in %s: %s", item.id, room_id, exc)
                event_id = None
            self.session.add(ProposalCopy(proposal_id=item.id, room_id=room_id,
                                          event_id=event_id, origin=origin))
        await self.session.flush()

    async def proposal(self, process: StrategyProcess, number: int) -> Proposal:
        item = await self.session.scalar(select(Proposal).where(
            Proposal.process_id == process.id, Proposal.number == number))
        if item is None:
            raise UserError(N_("Strategy #%(id)d has no proposal %(number)d."), id=process.id,
                            number=number)
        return item

    async def amend(self, process: StrategyProcess, number: int, text: str, by: str
                    ) -> Proposal:
        item = await self.proposal(process, number)
        if item.author != by:
            raise UserError(N_("Only its author amends a proposal."))
        if process.phase != "proposals":
            raise UserError(N_("Proposals are amended only in the proposals phase."))
        clean = self._check_text(text)
        self.session.add(ProposalVersion(proposal_id=item.id, text=item.text,
                                         replaced_at=self.deps.clock()))
        item.text = clean
        await self.session.flush()
        await self.refresh(process, item)
        return item

    async def refresh(self, process: StrategyProcess, item: Proposal) -> None:
        """Edit every copy of the proposal to show it as it is now."""
        versions = await self.session.scalar(select(func.count()).select_from(
            ProposalVersion).where(ProposalVersion.proposal_id == item.id)) or 0
        answered = int(item.answered_at.timestamp() * 1_000_000) if item.answered_at else 0
        stamp = f"{versions}.{item.status}.{answered}"
        for copy in (await self.session.scalars(select(ProposalCopy).where(
                ProposalCopy.proposal_id == item.id))).all():
            if copy.event_id is None:
                continue
            tr = self.deps.translator.bind(
                await self.deps.locales(self.session).room(copy.room_id))
            text, html = messages.proposal(tr, self.network, process, item, origin=copy.origin)
            try:
                await self.deps.gateway.send(Outgoing(
                    copy.room_id, text, html, replaces=copy.event_id,
                    txn_id=f"sbcc.strategy.{item.id}.{room_tag(copy.room_id)}.{stamp}"))
            except HomeserverUnavailable:
                raise
            except GatewayError as exc:
                log.warning("proposal %d not edited in %s: %s", item.id, copy.room_id, exc)

    async def answer(self, process: StrategyProcess, number: int, verdict: str,
                     rest: str, by: str) -> Proposal:
        item = await self.proposal(process, number)
        if process.phase in ("vote", "result"):
            raise UserError(N_("The vote has begun: proposals are no longer answered."))
        verdict = verdict.lower()
        if verdict == "accept":
            item.status, item.reason, item.merged_into = "accepted", None, None
        elif verdict == "decline":
            reason = clean_line(rest)
            if not reason:
                raise UserError(N_("Say why it is declined, for example: %(example)s"),
                                example=f"!strategy answer {process.id} {number} decline "
                                        "covered by proposal 2")
            if len(reason) > REASON_MAX:
                raise UserError(N_("A reason may have at most %(max)d characters."),
                                max=REASON_MAX)
            item.status, item.reason, item.merged_into = "declined", reason, None
        elif verdict == "merge":
            target_text = rest.strip().lstrip("#")
            if not (target_text.isascii() and target_text.isdecimal()) or len(target_text) > 6:
                raise UserError(N_("Merge into which proposal? For example: %(example)s"),
                                example=f"!strategy answer {process.id} {number} merge 2")
            target = await self.proposal(process, int(target_text))
            if target.id == item.id or target.status == "merged":
                raise UserError(N_("A proposal merges into another one that stands."))
            item.status, item.reason, item.merged_into = "merged", None, target.number
        else:
            raise UserError(N_("Answer with accept, decline <reason> or merge <number>."))
        item.answered_by, item.answered_at = by, self.deps.clock()
        await self.session.flush()
        await self.refresh(process, item)
        return item

    # -- endorsements ---------------------------------------------------------------------

    async def copy_of(self, event_id: str) -> ProposalCopy | None:
        return await self.session.scalar(select(ProposalCopy).where(
            ProposalCopy.event_id == event_id))

    async def endorse(self, copy: ProposalCopy, mxid: str, reaction_id: str) -> bool:
        """👍 on a copy: counted once per member; False when it changes nothing."""
        item = await self.session.get(Proposal, copy.proposal_id)
        process = await self.session.get(StrategyProcess, item.process_id) if item else None
        if item is None or process is None or process.phase == "result":
            return False
        if await self.session.get(Endorsement, (item.id, mxid)) is not None:
            return False
        try:
            await self.where(process, mxid, copy.room_id)
        except UserError:
            return False  # only members of the covered locations endorse
        self.session.add(Endorsement(proposal_id=item.id, mxid=mxid, event_id=reaction_id,
                                     at=self.deps.clock()))
        await self.session.flush()
        return True

    async def withdraw(self, reaction_id: str, mxid: str) -> bool:
        result = await self.session.execute(delete(Endorsement).where(
            Endorsement.event_id == reaction_id, Endorsement.mxid == mxid))
        return bool(getattr(result, "rowcount", 0))

    # -- votes ------------------------------------------------------------------------------

    async def candidates(self, process: StrategyProcess, section: str) -> list[Proposal]:
        return list((await self.session.scalars(select(Proposal).where(
            Proposal.process_id == process.id, Proposal.section == section,
            Proposal.status.in_(CANDIDATES)).order_by(Proposal.number))).all())

    async def vote_deadline(self, process: StrategyProcess) -> datetime | None:
        """When votes stop counting: the vote's end date, or when it was ended by hand."""
        if process.phase == "result":
            ends = (await self.ends(process)).get("vote")
            return min(ends, process.phase_since) if ends else process.phase_since
        return (await self.ends(process)).get("vote")

    async def record_vote(self, process: StrategyProcess, section: str, mxid: str,
                          number: int | None, location: str, event_id: str,
                          at: datetime) -> bool:
        """A member's vote (None: withdrawn); only a later one replaces an earlier one."""
        deadline = await self.vote_deadline(process)
        if process.phase not in ("vote", "result") or (deadline is not None and at > deadline):
            return False
        row = await self.session.get(StrategyVote, (process.id, section, mxid))
        if row is not None and row.voted_at > at:
            return False  # an older response arriving late
        if number is None:
            if row is not None:
                await self.session.delete(row)
            return row is not None
        if row is None:
            self.session.add(StrategyVote(process_id=process.id, section=section, mxid=mxid,
                                          proposal=number, location=location,
                                          event_id=event_id, voted_at=at))
        else:
            row.proposal, row.location, row.event_id, row.voted_at = (
                number, location, event_id, at)
        await self.session.flush()
        return True

    async def vote_by_command(self, process: StrategyProcess, number: int, mxid: str,
                              room_id: str, event_id: str) -> Proposal:
        if process.phase != "vote":
            raise UserError(N_("Strategy #%(id)d is not voting now (it is in the %(phase)s "
                               "phase)."), id=process.id, phase=process.phase)
        item = await self.proposal(process, number)
        if item.status not in CANDIDATES:
            raise UserError(N_("Proposal %(number)d is not on the ballot."), number=number)
        where = await self.where(process, mxid, room_id)
        if not await self.record_vote(process, item.section, mxid, number,
                                      where.location.key, event_id, self.deps.clock()):
            raise UserError(N_("The vote of strategy #%(id)d is over: your vote was not "
                               "counted."), id=process.id)
        return item

    async def apply_response(self, poll: StrategyPoll, sender: str, answers: tuple[str, ...],
                             event_id: str, at: datetime) -> bool:
        """A poll response from a member's client: their choice (or withdrawal, when it
        names no answer) for the poll's section; False when it does not count (not a
        member of a covered location, an unknown answer, after the deadline)."""
        process = await self.session.get(StrategyProcess, poll.process_id)
        if process is None or sender == self.deps.gateway.user_id:
            return False
        choices: dict[str, int] = json.loads(poll.answers)
        number = None
        if answers:
            if answers[0] not in choices:
                return False
            number = choices[answers[0]]
        try:
            where = await self.where(process, sender, poll.room_id)
        except UserError:
            return False
        return await self.record_vote(process, poll.section, sender, number,
                                      where.location.key, event_id, at)

    async def poll(self, event_id: str) -> StrategyPoll | None:
        return await self.session.scalar(select(StrategyPoll).where(
            StrategyPoll.event_id == event_id))

    async def tallies(self, process: StrategyProcess
                      ) -> dict[str, list[tuple[Proposal, dict[str, int]]]]:
        """Per section, the ballot's proposals with their votes by location, most first."""
        counts: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
        for section, number, location, n in (await self.session.execute(
                select(StrategyVote.section, StrategyVote.proposal, StrategyVote.location,
                       func.count()).where(StrategyVote.process_id == process.id)
                .group_by(StrategyVote.section, StrategyVote.proposal,
                          StrategyVote.location))).all():
            counts[(section, number)][location] = n
        out: dict[str, list[tuple[Proposal, dict[str, int]]]] = {}
        for section in split_keys(process.sections):
            rows = [(p, counts.get((section, p.number), {}))
                    for p in await self.candidates(process, section)]
            rows.sort(key=lambda r: (-sum(r[1].values()), r[0].number))
            out[section] = rows
        return out

    # -- the document ---------------------------------------------------------------------

    async def document(self, process_id: int) -> StrategyDocument | None:
        process = await self.session.get(StrategyProcess, process_id)
        if process is None:
            return None
        proposals = (await self.session.scalars(select(Proposal).where(
            Proposal.process_id == process.id).order_by(Proposal.section,
                                                        Proposal.number))).all()
        ids = [p.id for p in proposals]
        endorsed = dict((await self.session.execute(
            select(Endorsement.proposal_id, func.count()).where(
                Endorsement.proposal_id.in_(ids)).group_by(Endorsement.proposal_id))).all())
        amended = dict((await self.session.execute(
            select(ProposalVersion.proposal_id, func.count()).where(
                ProposalVersion.proposal_id.in_(ids)).group_by(
                    ProposalVersion.proposal_id))).all())
        tallies = await self.tallies(process)
        votes = {(s, p.number): by for s, rows in tallies.items() for p, by in rows}
        voters = dict((await self.session.execute(
            select(StrategyVote.location, func.count(func.distinct(StrategyVote.mxid)))
            .where(StrategyVote.process_id == process.id)
            .group_by(StrategyVote.location))).all())
        order = {s: n for n, s in enumerate(split_keys(process.sections))}
        entries = [ProposalEntry(
            number=p.number, section=p.section, location=p.location,
            place=self.network.place(p.location) or p.location, text=p.text,
            amended=amended.get(p.id, 0), endorsements=endorsed.get(p.id, 0),
            status=p.status, reason=p.reason, merged_into=p.merged_into,
            votes=dict(votes.get((p.section, p.number), {})),
            votes_total=sum(votes.get((p.section, p.number), {}).values()))
            for p in sorted(proposals, key=lambda p: (order.get(p.section, 99), p.number))]
        return StrategyDocument(
            id=process.id, title=process.title, phase=process.phase, public=process.public,
            created_at=process.created_at,
            locations=[(s.key, self.network.place(s.key) or s.key)
                       for s in self.locations_of(process)],
            sections=split_keys(process.sections), phase_ends=await self.ends(process),
            proposals=entries, voters=voters)

    async def key_of(self, process_id: int) -> str | None:
        process = await self.session.get(StrategyProcess, process_id)
        return None if process is None else process.key

    async def open_processes(self) -> list[StrategyProcess]:
        return list((await self.session.scalars(select(StrategyProcess).where(
            StrategyProcess.phase != "result").order_by(StrategyProcess.id))).all())
